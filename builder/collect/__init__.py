"""Stage 1, the collection: which images there are, their stable ids, metadata and content hashes; readers of
published collection data (sources/).
"""

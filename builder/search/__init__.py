"""Stage 4, the neighbours: k-means cells, Annoy and exact search with a measured recall, retrieval refinements."""

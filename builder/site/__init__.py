"""Stage 6, the site: page models, pages, charts, the explorer's data, rendering, publishing; the report of `vsis
evaluate`.
"""

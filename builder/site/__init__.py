"""Stage 6, the site: the overview, explorer, list and compare pages, rendering the products it is given
(pagekit/product.py), publishing, the size budget.
"""

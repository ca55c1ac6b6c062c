"""IIIF out, a product of the site: site/iiif/ holds a IIIF Presentation 3.0 collection of the published items,
a manifest an item (presentation.py), so that IIIF viewers can open the collection; product.py hands it to the
site."""

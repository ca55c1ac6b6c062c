"""The map, a product of the site: a 2-D layout per network that keeps neighbours together (embed.py, stage.py),
its clusters (clusters.py), the thumbnails in map order (atlas.py), the page's data (data.py), picture
(picture.py) and model (model.py), handed to the site by product.py."""

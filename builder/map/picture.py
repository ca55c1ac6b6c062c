"""A still picture of the map for the overview page: the first network's layout, each point in its legend
colour, drawn at build time (a PNG, a few tens of kilobytes whatever the collection's size), so the overview
shows the collection at a glance without loading the map's data."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from builder.map.embed import GRID
from builder.map.model import MapPage

SIDE = 480  # pixels: the picture is square, as the layout's grid is


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def map_picture(model_map: MapPage, side: int = SIDE) -> bytes:
    """PNG bytes: points of 2 pixels (3 under 5,000 images, 5 under 500: a small collection is not lost in
    white), later items over earlier ones."""
    _name, points = model_map.layouts[0]
    dot = 5 if len(points) < 500 else 3 if len(points) < 5000 else 2
    image = np.full((side, side, 3), 255, dtype=np.uint8)
    colours = np.array([_rgb(c.colour) for c in model_map.legend], dtype=np.uint8)[model_map.codes]
    at = (points.astype(np.int64) * (side - dot)) // GRID
    for dy in range(dot):
        for dx in range(dot):
            image[at[:, 1] + dy, at[:, 0] + dx] = colours
    buf = io.BytesIO()
    Image.fromarray(image, "RGB").save(buf, format="PNG")
    return buf.getvalue()

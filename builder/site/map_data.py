"""What map.html reads, as script files (file:// refuses fetch()), like the explorer's (explorer_data.py).

The map needs every point before it can draw, so the points are published as compactly as they can be, in
shards of MAP_SHARD items, and nothing else that grows with the collection comes before the first draw:

- `data/map/index.js`: `window.VSIS_MAP`: the networks, the collection's size, the shard size, the legend
  (label, colour, count) and the files' patterns.
- `data/map/layout/<network>/<n>.js`: the items n*MAP_SHARD ... as `xy`, base64 of little-endian 16-bit
  integers x0, y0, x1, y1, ... on the grid 0 ... `grid` (4 bytes a point, 5.3 as base64).
- `data/map/codes/<n>.js`: `c`, base64 of one byte per item: its legend entry (its colour).
- `data/map/ids/<n>.js`: `id`, the items' ids: loaded only when the map is zoomed in far enough to show
  thumbnails, which are named by id.

Everything else the map shows comes from the explorer's files: an item's metadata from its items shard (on
hover and selection), its neighbours from its network's shard, the search from search.js (on the first
search), the pages' and thumbnails' patterns from data/index.js.
"""

from __future__ import annotations

import base64

import numpy as np

from builder.layout.embed import GRID
from builder.site.explorer_data import json_for_script
from builder.site.model import MapPage, PageItem

MAP_SHARD = 10_000  # items per file: 53 KB of coordinates per network, 13 KB of colours
MAP_FILES = {
    "layout": "data/map/layout/{network}/{n}.js",
    "codes": "data/map/codes/{n}.js",
    "ids": "data/map/ids/{n}.js",
}
DATASET = "collection"  # the explorer's dataset whose items the map shows (explorer_data.py)


def _shard(name: str, payload: object) -> str:
    return f"VSIS_SHARD({json_for_script(name)},{json_for_script(payload)});\n"


def encode_points(points: np.ndarray) -> str:
    """(n, 2) grid coordinates as base64 of little-endian uint16, x and y interleaved."""
    return base64.b64encode(np.ascontiguousarray(points, dtype="<u2").tobytes()).decode("ascii")


def decode_points(text: str) -> np.ndarray:
    """encode_points undone: for tests and benchmarks reading a site back."""
    return np.frombuffer(base64.b64decode(text), dtype="<u2").reshape(-1, 2)


def map_files(model_map: MapPage, items: list[PageItem]) -> dict[str, str]:
    """Site path -> text of every map data file."""
    n = len(items)
    files: dict[str, str] = {}
    starts = range(0, n, MAP_SHARD)
    for s, start in enumerate(starts):
        rows = slice(start, start + MAP_SHARD)
        for network, points in model_map.layouts:
            path = MAP_FILES["layout"].format(network=network, n=s)
            files[path] = _shard(path, {"xy": encode_points(points[rows])})
        path = MAP_FILES["codes"].format(n=s)
        codes = np.ascontiguousarray(model_map.codes[rows], dtype=np.uint8).tobytes()
        files[path] = _shard(path, {"c": base64.b64encode(codes).decode("ascii")})
        path = MAP_FILES["ids"].format(n=s)
        files[path] = _shard(path, {"id": [i.id for i in items[rows]]})
    index = {
        "dataset": DATASET,
        "size": n,
        "shard": MAP_SHARD,
        "shards": len(starts),
        "grid": GRID,
        "networks": [network for network, _ in model_map.layouts],
        "legend": [{"label": c.label, "colour": c.colour, "count": c.count} for c in model_map.legend],
        "files": MAP_FILES,
    }
    files["data/map/index.js"] = f"window.VSIS_MAP = {json_for_script(index)};\n"
    return files

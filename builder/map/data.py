"""What map.html reads, as script files (file:// refuses fetch()), like the explorer's (explorer_data.py).

The map needs every point before it can draw, so the points are published as compactly as they can be, in
shards of MAP_SHARD items (more where that would make over MAP_FILES_MOST files: shard_size), and nothing else
that grows with the collection comes before the first draw:

- `data/map/index.js`: `window.VSIS_MAP`: the networks, the collection's size, the shard size, the legend
  (label, colour, count) and the files' patterns.
- `data/map/layout/<network>/<n>.js`: the items n*MAP_SHARD ... as `xy`, base64 of little-endian 16-bit
  integers x0, y0, x1, y1, ... on the grid 0 ... `grid` (4 bytes a point, 5.3 as base64).
- `data/map/codes/<n>.js`: `c`, base64 of one byte per item: its legend entry (its colour).
- `data/map/ids/<n>.js`: `id`, the items' ids: loaded only when the map is zoomed in far enough to show
  thumbnails, which are named by id.
- `data/map/slots/<network>/<n>.js`: `s`, base64 of little-endian 32-bit integers: each item's cell number
  in the network's atlases (map/atlas.py): loaded only at a middle zoom, with the atlases.
- `data/map/coarse/<network>/<n>.js`: `image`, base64 of the network's coarse atlas n (map/atlas.py), whose
  pixels the page reads: a browser refuses that for an image file from file://, not for data it decodes.
- `data/map/time/<network>/<n>.js`: `xy`, as the layout's: the network's time layout (map/timeline.py),
  loaded only when the time layout is chosen.

The index also holds, per network, its hotspots (`hotspots`: label, count, representative item and its id,
middle and extent on the grid; a few dozen entries whatever the collection's size) and, under `atlas`, the atlases'
geometry, format (`mime`) and file pattern (`atlases/<network>/<n>.webp`, map/atlas.py): images, loaded only
once every point is drawn, and only those of a view. Where the collection has facets, `colourings` holds per
facet its legend (label, colour, count of the points of that colour, and the value it filters by) and each
of its values' legend entry: which facet value an item has comes from the explorer's facet files
(site/facet_data.py), loaded when the map is first coloured or filtered by it. `time` holds the time layout's
axis (timeline.TimeAxis: its columns' geometry on the grid, the years labelled, the undated column), or null.

Everything else the map shows comes from the explorer's files: an item's metadata from its items shard (on
hover and selection), its neighbours from its network's shard, the search from search.js (on the first
search), the pages' and thumbnails' patterns from data/index.js.
"""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from builder.map.embed import GRID
from builder.map.model import MapAtlas, MapCategory, MapColouring, MapHotspot, MapPage
from builder.map.timeline import TimeAxis
from builder.pagekit.datafiles import global_script, shard_script
from builder.pagekit.item import PageItem

MAP_SHARD = 10_000  # items per file: 53 KB of coordinates per network, 13 KB of colours
MAP_FILES_MOST = 32  # files a kind at most: a million points in 10,000s were 200 requests before the first draw
MAP_FILES = {
    "layout": "data/map/layout/{network}/{n}.js",
    "codes": "data/map/codes/{n}.js",
    "ids": "data/map/ids/{n}.js",
}
SLOTS_FILE = "data/map/slots/{network}/{n}.js"  # published with the atlases
TIME_FILE = "data/map/time/{network}/{n}.js"  # published where the time layout is
COARSE_FILE = "data/map/coarse/{network}/{n}.js"
DATASET = "collection"  # the explorer's dataset whose items the map shows (explorer_data.py)


def encode_points(points: np.ndarray) -> str:
    """(n, 2) grid coordinates as base64 of little-endian uint16, x and y interleaved."""
    return base64.b64encode(np.ascontiguousarray(points, dtype="<u2").tobytes()).decode("ascii")


def decode_points(text: str) -> np.ndarray:
    """encode_points undone: for tests and benchmarks reading a site back."""
    return np.frombuffer(base64.b64decode(text), dtype="<u2").reshape(-1, 2)


def _hotspot(h: MapHotspot, items: list[PageItem]) -> dict[str, object]:
    """A hotspot with its representative's id (its thumbnail's name): the list shows it before any ids load."""
    return {"label": h.label, "count": h.count, "item": h.item, "id": items[h.item].id, "x": h.x, "y": h.y,
            "extent": h.extent}  # fmt: skip


def _atlas(atlas: MapAtlas | None) -> dict[str, int | str] | None:
    if atlas is None:
        return None
    return {"count": atlas.count, "cell": atlas.cell, "perRow": atlas.per_row, "perAtlas": atlas.per_atlas,
            "coarseCell": atlas.coarse_cell, "mime": atlas.mime}  # fmt: skip


def _entry(c: MapCategory) -> dict[str, object]:
    """A legend entry; `value` only where it filters by one."""
    return {"label": c.label, "colour": c.colour, "count": c.count, **({"value": c.value} if c.value else {})}


def _colouring(c: MapColouring) -> dict[str, object]:
    return {"key": c.key, "label": c.label, "legend": [_entry(e) for e in c.legend], "entries": list(c.entries),
            "none": c.none}  # fmt: skip


def _time(axis: TimeAxis | None) -> dict[str, object] | None:
    """The time layout's axis, on the grid (whole units, but for the columns' spacing and width)."""
    if axis is None:
        return None
    undated = None
    if axis.undated is not None:
        x0, x1, count = axis.undated
        undated = {"x0": round(x0, 2), "x1": round(x1, 2), "count": count}
    return {"start": axis.start, "bin": axis.bin, "columns": axis.columns, "left": round(axis.left, 2),
            "pitch": round(axis.pitch, 4), "width": round(axis.width, 4), "cell": round(axis.cell, 4),
            "baseline": round(axis.baseline, 2),
            "undated": undated,
            "ticks": [{"label": label, "x": round(x, 2)} for label, x in axis.ticks]}  # fmt: skip


def _atlas_files(atlas: MapAtlas) -> dict[str, str]:
    return {"atlas": atlas.path, "coarse": COARSE_FILE, "slots": SLOTS_FILE}


def shard_size(n: int) -> int:
    """Items a map data file: MAP_SHARD, or as many as keep n within MAP_FILES_MOST files (at a million points,
    the points' and colours' 200 files took 1.7 of the 1.9 s before the first draw over 127.0.0.1; in 64
    files, every point was drawn after 0.8 to 1.3 s)."""
    return max(MAP_SHARD, -(-n // MAP_FILES_MOST))


def map_files(model_map: MapPage, items: list[PageItem]) -> dict[str, str]:
    """Site path -> text of every map data file."""
    n = len(items)
    files: dict[str, str] = {}
    shard = shard_size(n)
    starts = range(0, n, shard)
    for s, start in enumerate(starts):
        rows = slice(start, start + shard)
        for network, points in model_map.layouts:
            path = MAP_FILES["layout"].format(network=network, n=s)
            files[path] = shard_script(path, {"xy": encode_points(points[rows])})
        for network, points in model_map.time.points if model_map.time else []:
            path = TIME_FILE.format(network=network, n=s)
            files[path] = shard_script(path, {"xy": encode_points(points[rows])})
        path = MAP_FILES["codes"].format(n=s)
        codes = np.ascontiguousarray(model_map.codes[rows], dtype=np.uint8).tobytes()
        files[path] = shard_script(path, {"c": base64.b64encode(codes).decode("ascii")})
        path = MAP_FILES["ids"].format(n=s)
        files[path] = shard_script(path, {"id": [i.id for i in items[rows]]})
        for network, slots in model_map.atlas.slots if model_map.atlas else []:
            path = SLOTS_FILE.format(network=network, n=s)
            cells = np.ascontiguousarray(slots[rows], dtype="<u4").tobytes()
            files[path] = shard_script(path, {"s": base64.b64encode(cells).decode("ascii")})
    for network, sheets in model_map.atlas.coarse if model_map.atlas else []:
        for s, location in enumerate(sheets):
            path = COARSE_FILE.format(network=network, n=s)
            image = base64.b64encode(Path(location).read_bytes()).decode("ascii")
            files[path] = shard_script(path, {"image": image})
    index = {
        "dataset": DATASET,
        "size": n,
        "shard": shard,
        "shards": len(starts),
        "grid": GRID,
        "networks": [network for network, _ in model_map.layouts],
        "legend": [_entry(c) for c in model_map.legend],
        "legendFacet": model_map.category_facet,
        "colourings": [_colouring(c) for c in model_map.colourings],
        "time": _time(model_map.time.axis if model_map.time else None),
        "files": {
            **MAP_FILES,
            **(_atlas_files(model_map.atlas) if model_map.atlas else {}),
            **({"time": TIME_FILE} if model_map.time else {}),
        },
        "hotspots": {network: [_hotspot(h, items) for h in spots] for network, spots in model_map.hotspots},
        "atlas": _atlas(model_map.atlas),
    }
    files["data/map/index.js"] = global_script("VSIS_MAP", index)
    return files

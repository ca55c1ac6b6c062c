"""The map's thumbnail atlases: every image of the collection as a small cell in a few large sprite sheets, so
that at a middle zoom map.html draws thousands of images from a few files instead of thousands of files.

Per network, the cells follow the network's map: the items in the order of a Hilbert curve through their
places on the 16-bit grid (map_order), cut into atlases of per_atlas cells. A stretch of the curve is a
compact patch of the map, so the images of a view lie in a few atlases; in the collection's order, which the
atlases followed before, a view of 4,000 images at 100,000 touched all 25. Item i's cell is number
slots[i] in that order: atlas slots[i] // per_atlas, at column j % per_row and row j // per_row of it
(j = slots[i] % per_atlas); the page reads the slots from data/map/slots/ (map/data.py). Each cell is
the image's thumbnail (the very file the site publishes) fitted into CELL x CELL pixels, its aspect kept,
centred on white (the thumbnails are flattened on white already, inputs/images.py). Each network has its
own atlases, so a site of two networks publishes the cells twice.

Why 2048 pixels a side at most: it is within the texture limit of every GPU a browser runs on (WebGL's
MAX_TEXTURE_SIZE is 4096 or more on practically every device, 2048 on the oldest phones; PixPlot's
8192-pixel textures are what broke on laptops), and one decoded atlas is 16 MB, a cost a phone bears.

Each atlas has a coarse copy, the same sheet reduced COARSE times (box filter: CELL / COARSE = 8-pixel
cells, a sixteenth of the pixels, the same cell numbers): what the map draws zoomed out, where points lie 8
pixels apart or more but too many are in view for the 32-pixel cells. The page reads their pixels, which a
browser refuses for an image from file://, so they are published inside data files (map/data.py).

They are written in the thumbnails' format with its fixed settings (WebP at quality 75 by default: 211
bytes a cell over the bundled sample's 894 thumbnails, against 361 for JPEG at 85 and 1,123 for PNG), so the
same thumbnails give the same bytes. Each atlas is remembered in the cache by the thumbnails it holds (their
cache keys, which name their content and settings) and its geometry: a rebuild that changes none of its
images makes it no more.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from builder.cache import BlobStore, CacheLayout, stored_name
from builder.inputs.images import ThumbFormat
from builder.progress import Reporter

ATLAS_VERSION = "1"  # bump when the cells' making changes
CELL = 32  # pixels: a cell's side
SIDE = 2048  # pixels: an atlas' side at most
ATLAS_PATH = "atlases/{network}/{n}{suffix}"  # in the site
COARSE = 4  # a coarse atlas is its atlas reduced this many times: 8-pixel cells
CURVE_BITS = 16  # the Hilbert curve's order: one step per point of the 16-bit grid (map/embed.py GRID)


@dataclass(frozen=True)
class AtlasGrid:
    """How cells are laid out: per_row cells a row, per_atlas cells an atlas (the last one has fewer rows)."""

    cell: int = CELL
    side: int = SIDE

    @property
    def per_row(self) -> int:
        return self.side // self.cell

    @property
    def per_atlas(self) -> int:
        return self.per_row * self.per_row

    def place(self, i: int) -> tuple[int, int, int]:
        """(atlas, x, y): where item i's cell lies, its top left corner in pixels."""
        j = i % self.per_atlas
        return i // self.per_atlas, (j % self.per_row) * self.cell, (j // self.per_row) * self.cell

    def count(self, n: int) -> int:
        """How many atlases n items fill."""
        return -(-n // self.per_atlas)


@dataclass(frozen=True)
class NetworkAtlases:
    """One network's atlases: where each item's cell is, and the atlases in the cache."""

    network: str
    slots: np.ndarray  # (n,) uint32: item i's cell number, its place in the network's map order
    locations: list[str]  # the atlases in the cache, atlas 0 first
    coarse: list[str]  # their coarse copies (COARSE times smaller), in the same order


def hilbert_index(points: np.ndarray, bits: int = CURVE_BITS) -> np.ndarray:
    """Each (x, y) point's distance along the Hilbert curve of order `bits` over the 2^bits square grid (the
    classic xy2d, vectorised): points near each other along the curve are near each other on the grid."""
    x = points[:, 0].astype(np.int64)
    y = points[:, 1].astype(np.int64)
    d = np.zeros(len(points), dtype=np.int64)
    side = 1 << bits
    s = side >> 1
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx) ^ ry)
        flip = ~ry & rx  # rotate the quadrant so the curve's next level joins this one
        x = np.where(flip, side - 1 - x, x)
        y = np.where(flip, side - 1 - y, y)
        swap = ~ry
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        s >>= 1
    return d


def map_order(points: np.ndarray) -> np.ndarray:
    """The items in the order of the Hilbert curve through their places on the map (ties: collection order)."""
    return np.argsort(hilbert_index(points), kind="stable")


def slots_of(order: np.ndarray) -> np.ndarray:
    """Each item's place in `order`: its cell number."""
    slots = np.empty(len(order), dtype=np.uint32)
    slots[order] = np.arange(len(order), dtype=np.uint32)
    return slots


def default_grid() -> AtlasGrid:
    """The build's geometry (read when called: the tests make smaller atlases by changing SIDE)."""
    return AtlasGrid(CELL, SIDE)


def atlas_store(cache_dir: Path, fmt: ThumbFormat, grid: AtlasGrid, on_bad: Callable[[str], None] | None) -> BlobStore:
    """Where atlases are remembered: a folder per geometry and format, a file per key."""
    folder = CacheLayout(cache_dir).atlases(f"{grid.cell}-{grid.side}-{fmt.name}-{fmt.settings}")
    return BlobStore(folder, fmt.suffix, fmt.problem, on_bad)


def atlas_key(sources: list[str], grid: AtlasGrid, fmt: ThumbFormat) -> str:
    h = hashlib.sha256(f"{ATLAS_VERSION}|{grid.cell}|{grid.side}|{fmt.name}|{fmt.settings}".encode())
    for source in sources:
        h.update(b"\0" + stored_name(source).encode())  # the thumbnail's content and settings
    return h.hexdigest()


def cell(source: str, side: int = CELL) -> Image.Image:
    """A thumbnail file fitted into side x side pixels, its aspect kept (Lanczos, after a cheap reduce by
    whole factors, reducing_gap 2: 0.8 ms a 224-pixel WebP here, two thirds of it decoding)."""
    with Image.open(source) as im:
        im.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=2.0)
        return im.convert("RGB")


def make_atlas(sources: list[str], grid: AtlasGrid, fmt: ThumbFormat, pool: ThreadPoolExecutor | None = None) -> bytes:
    """One atlas of these thumbnails, in order: per_row wide, as many rows as they fill, white between."""
    rows = -(-len(sources) // grid.per_row)
    sheet = Image.new("RGB", (grid.per_row * grid.cell, max(1, rows) * grid.cell), (255, 255, 255))
    cells = pool.map(cell, sources, [grid.cell] * len(sources)) if pool else (cell(s, grid.cell) for s in sources)
    for j, im in enumerate(cells):
        _, x, y = grid.place(j)
        sheet.paste(im, (x + (grid.cell - im.width) // 2, y + (grid.cell - im.height) // 2))
    return fmt.encode(sheet)


def coarse_atlas(atlas: str, fmt: ThumbFormat) -> bytes:
    """The atlas file reduced COARSE times by a box filter (each pixel the mean of COARSE x COARSE): a cell
    of CELL pixels becomes one of CELL / COARSE in the same place of the grid."""
    with Image.open(atlas) as im:
        return fmt.encode(im.convert("RGB").reduce(COARSE))


def make_atlases(
    sources: list[str], store: BlobStore, fmt: ThumbFormat, grid: AtlasGrid, reporter: Reporter, workers: int = 2
) -> tuple[list[str], list[str]]:
    """The atlases of these thumbnails (the collection's, in its order) and their coarse copies, each made
    unless remembered: their locations in the cache, atlas 0 first. workers: threads decoding thumbnails
    (Pillow decodes and resizes without holding the GIL)."""
    chunks = [sources[start : start + grid.per_atlas] for start in range(0, len(sources), grid.per_atlas)]
    keys = [atlas_key(chunk, grid, fmt) for chunk in chunks]
    coarse = [f"{key}-coarse{COARSE}" for key in keys]
    with (
        reporter.task("making the map's atlases", len(chunks)) as task,
        ThreadPoolExecutor(max(1, workers)) as pool,
    ):
        for chunk, key, small in zip(chunks, keys, coarse, strict=True):
            if not store.has(key):
                store.put(key, make_atlas(chunk, grid, fmt, pool))
            if not store.has(small):
                store.put(small, coarse_atlas(store.location(key), fmt))
            task.advance()
    return [store.location(key) for key in keys], [store.location(key) for key in coarse]


def network_atlases(
    network: str, points: np.ndarray, sources: list[str], store: BlobStore, fmt: ThumbFormat, grid: AtlasGrid,
    reporter: Reporter, workers: int = 2,
) -> NetworkAtlases:  # fmt: skip
    """A network's atlases: the thumbnails `sources` (the collection's, in its order) in the order of the
    network's map `points` (map_order), made unless remembered."""
    order = map_order(points)
    locations, coarse = make_atlases([sources[i] for i in order], store, fmt, grid, reporter, workers)
    return NetworkAtlases(network, slots_of(order), locations, coarse)


def atlas_files(atlases: list[NetworkAtlases], suffix: str) -> dict[str, str]:
    """Site path -> cache location of each network's atlases (their coarse copies are data: map/data.py)."""
    return {ATLAS_PATH.format(network=a.network, n=n, suffix=suffix): location
            for a in atlases for n, location in enumerate(a.locations)}  # fmt: skip

"""The map's page model: each network's layout beside each item's legend entry (its category's colour), its
clusters as hotspots (each labelled by its members' most common value) and where its atlases are; per facet
of the metadata (collect/facets.py) a colouring, its legend with counts, and the time layout (timeline.py).

The colours and labels are decided here, not in the page, so that the legend the template writes and the
points the script draws cannot disagree, and the page only shows text it is given.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from builder.collect.facets import Facet, Facets
from builder.map.atlas import ATLAS_PATH, COARSE, AtlasGrid, NetworkAtlases, default_grid
from builder.map.clusters import Clusters
from builder.map.stage import NetworkLayout
from builder.map.timeline import TimeLayout, time_layout
from builder.pagekit.item import PageItem


@dataclass(frozen=True)
class MapCategory:
    """One entry of the map's legend: what its points are, their colour and how many there are."""

    label: str
    colour: str  # "#rrggbb"
    count: int
    value: str | None = None  # the facet value its points have (a legend entry toggles a filter by it)


@dataclass(frozen=True)
class MapColouring:
    """The points coloured by a facet: its legend (the commonest values in PALETTE's colours, then one grey
    entry for the rest, one for items without a value) and each of its values' legend entry. An item is
    coloured by its first value (Facet.codes: the commonest of those it has); the legend counts the points of
    each colour."""

    key: str  # the facet's
    label: str
    legend: tuple[MapCategory, ...]
    entries: tuple[int, ...]  # per value of the facet (its order), its legend entry
    none: int  # the legend entry of items without a value; -1: every item has one


@dataclass
class MapHotspot:
    """One cluster of a network's layout, as the map's list of places to jump to shows it."""

    label: str  # its members' most common category (or other value), e.g. "flowers (12 of 15)"
    count: int  # its members
    item: int  # its representative: the member nearest its centre
    x: int  # its members' middle on the 16-bit grid: the middle of their extent
    y: int
    extent: int  # the larger side of its members' bounding box, on the grid: how far to zoom


@dataclass(frozen=True)
class MapAtlas:
    """The thumbnail atlases (map/atlas.py): per network, item i's cell is cell x cell pixels, number
    slots[network][i] in the network's atlases, per_atlas cells an atlas."""

    count: int  # atlases a network
    cell: int  # pixels
    per_row: int  # cells
    per_atlas: int
    path: str  # "atlases/{network}/{n}.webp"
    coarse_cell: int  # pixels: a cell of the coarse atlases (the same numbering, reduced)
    mime: str  # the atlases' format, "image/webp"
    slots: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (network, (n,) uint32 cell numbers)
    coarse: list[tuple[str, list[str]]] = field(default_factory=list)  # (network, its coarse atlases' files)


@dataclass
class MapPage:
    """What map.html draws: every item of the collection at its place in each network's layout, coloured by
    its legend entry."""

    layouts: list[tuple[str, np.ndarray]]  # (network, (n, 2) uint16 points on the 16-bit grid)
    legend: list[MapCategory]
    codes: np.ndarray  # (n,) uint8: each item's legend entry
    hotspots: list[tuple[str, list[MapHotspot]]] = field(default_factory=list)  # per network; none: no clusters
    atlas: MapAtlas | None = None  # None: no atlases
    colourings: list[MapColouring] = field(default_factory=list)  # per facet; the category's is `legend`
    time: TimeLayout | None = None  # None: no item has a year (or no date facet)
    category_facet: str | None = None  # the facet whose values the category legend's entries are, if any


# Tableau's 20 colours less its two greys, darker ones first: told apart on a white page
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
)  # fmt: skip
OTHER = ("other categories", "#b8b8b8")  # the categories beyond the palette, together
NONE = ("no category", "#7f7f7f")
OTHER_VALUES = "other values"  # a facet's values beyond the palette (and its "(other)"), together: OTHER's grey
OTHER_VALUE = "(other)"  # collect/facets.py's value for the values beyond those it keeps
ALL = "every image"  # the one entry of a collection without categories


def legend_codes(categories: list[str]) -> tuple[list[MapCategory], np.ndarray]:
    """The legend (the most common categories first, ties by name; beyond the palette's colours, one entry
    for the rest; one for items without a category) and each item's entry."""
    counts = Counter(categories)
    named = sorted((c for c in counts if c), key=lambda c: (-counts[c], c))
    if not named:
        return [MapCategory(ALL, PALETTE[0], len(categories))], np.zeros(len(categories), dtype=np.uint8)
    own, rest = named[: len(PALETTE)], named[len(PALETTE) :]
    legend = [MapCategory(c, PALETTE[i], counts[c]) for i, c in enumerate(own)]
    code = {c: i for i, c in enumerate(own)}
    if rest:
        code.update({c: len(legend) for c in rest})
        legend.append(MapCategory(OTHER[0], OTHER[1], sum(counts[c] for c in rest)))
    if counts[""]:
        code[""] = len(legend)
        legend.append(MapCategory(NONE[0], NONE[1], counts[""]))
    return legend, np.fromiter((code[c] for c in categories), dtype=np.uint8, count=len(categories))


def facet_colouring(facet: Facet, n: int) -> MapColouring:
    """The legend of a facet over n items: its values in the facet's order (the commonest first) in the
    palette's colours while they last, its "(other)" and the values beyond the palette as one grey entry, the
    items without a value as another; counts of the points in each colour."""
    codes = facet.codes(n)
    per_value = np.bincount(codes[codes >= 0], minlength=len(facet.values))
    named = [v for v, value in enumerate(facet.values) if value != OTHER_VALUE][: len(PALETTE)]
    legend = [MapCategory(facet.values[v], PALETTE[k], int(per_value[v]), facet.values[v]) for k, v in enumerate(named)]
    entries = [-1] * len(facet.values)
    for k, v in enumerate(named):
        entries[v] = k
    rest = [v for v in range(len(facet.values)) if entries[v] < 0]
    if rest:
        for v in rest:
            entries[v] = len(legend)
        legend.append(MapCategory(OTHER_VALUES, OTHER[1], int(per_value[rest].sum())))
    none = -1
    without = int((codes < 0).sum())
    if without:
        none = len(legend)
        legend.append(MapCategory(f"no {facet.label.lower()}", NONE[1], without))
    return MapColouring(facet.key, facet.label, tuple(legend), tuple(entries), none)


LABEL_FIELDS = ("category", "artist", "medium", "date")  # the first of these that the collection has names clusters


def label_values(items: list[PageItem]) -> list[str]:
    """Each item's value of the first field of LABEL_FIELDS that any item has (its title where none has)."""
    for name in LABEL_FIELDS:
        values = [getattr(i, name) for i in items]
        if any(values):
            return values
    return [i.title for i in items]


def cluster_label(values: list[str]) -> str:
    """The most common non-empty value (ties: the first in sorting order) with how many of the members have
    it, "flowers (12 of 15)"; "" where none has a value."""
    counts = Counter(v for v in values if v)
    if not counts:
        return ""
    value, count = min(counts.items(), key=lambda vc: (-vc[1], vc[0]))
    return f"{value} ({count} of {len(values)})"


def hotspots(points: np.ndarray, clusters: Clusters, values: list[str], titles: list[str]) -> list[MapHotspot]:
    """The clusters as places on the map, largest first: a cluster whose members have no value is labelled by
    its representative's title."""
    spots = []
    order = np.argsort(clusters.labels, kind="stable")
    bounds = np.searchsorted(clusters.labels[order], np.arange(len(clusters.representatives) + 1))
    for c, rep in enumerate(clusters.representatives.tolist()):
        members = order[bounds[c] : bounds[c + 1]]
        low, high = points[members].min(axis=0).astype(int), points[members].max(axis=0).astype(int)
        label = cluster_label([values[m] for m in members.tolist()]) or f"{titles[rep]} ({len(members)})"
        middle = (low + high) // 2
        spots.append(MapHotspot(label, len(members), rep, int(middle[0]), int(middle[1]), int((high - low).max())))
    return spots


def map_page(items: list[PageItem], layouts: list[NetworkLayout], atlases: list[NetworkAtlases] | None = None,
             suffix: str = ".webp", grid: AtlasGrid | None = None,
             facets: Facets | None = None) -> MapPage | None:  # fmt: skip
    """None where no layout was made (the map is switched off). atlases: each network's (map/atlas.py), in
    `grid` and with the thumbnails' suffix. facets: the items' (in their order), for the colourings and the
    time layout."""
    if not layouts:
        return None
    for lay in layouts:
        if lay.points.shape != (len(items), 2):
            raise ValueError(f"{lay.name}: a layout of shape {lay.points.shape} for {len(items)} items")
    legend, codes = legend_codes([i.category for i in items])
    values, titles = label_values(items), [i.title for i in items]
    spots = [
        (lay.name, hotspots(lay.points, lay.clusters, values, titles)) for lay in layouts if lay.clusters is not None
    ]
    atlas = None
    if atlases:
        grid = grid or default_grid()
        path, mime = ATLAS_PATH.replace("{suffix}", suffix), "image/" + {".jpg": "jpeg"}.get(suffix, suffix[1:])
        count = len(atlases[0].locations)
        atlas = MapAtlas(count, grid.cell, grid.per_row, grid.per_atlas, path, grid.cell // COARSE, mime,
                         [(a.network, a.slots) for a in atlases], [(a.network, a.coarse) for a in atlases])  # fmt: skip
    points = [(lay.name, lay.points) for lay in layouts]
    # the category's facet is the category legend's (`legend`, published with the first view), not one more
    coloured = [f for f in facets.facets if f.values and f.key != "category"] if facets else []
    colourings = [facet_colouring(f, len(items)) for f in coloured]
    years = facets.years if facets else None
    time = time_layout(years.first, points) if years is not None else None
    facet = next((f for f in facets.facets if f.key == "category" and f.values), None) if facets else None
    category = facet.key if facet else None
    if facet is not None:  # its entries that are one of the category facet's values filter by it
        named = set(facet.values) - {OTHER_VALUE}
        legend = [MapCategory(c.label, c.colour, c.count, c.label if c.label in named else None) for c in legend]
    return MapPage(points, legend, codes, spots, atlas, colourings, time, category)

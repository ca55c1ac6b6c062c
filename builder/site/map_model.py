"""The map's page model: each network's layout beside each item's legend entry (its category's colour).

The colours are decided here, not in the page, so that the legend the template writes and the points the
script draws cannot disagree.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from builder.layout.stage import NetworkLayout
from builder.site.model import MapCategory, MapPage, PageItem

# Tableau's 20 colours less its two greys, darker ones first: told apart on a white page
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
)  # fmt: skip
OTHER = ("other categories", "#b8b8b8")  # the categories beyond the palette, together
NONE = ("no category", "#7f7f7f")
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


def map_page(items: list[PageItem], layouts: list[NetworkLayout]) -> MapPage | None:
    """None where no layout was made (the map is switched off)."""
    if not layouts:
        return None
    for lay in layouts:
        if lay.points.shape != (len(items), 2):
            raise ValueError(f"{lay.name}: a layout of shape {lay.points.shape} for {len(items)} items")
    legend, codes = legend_codes([i.category for i in items])
    return MapPage([(lay.name, lay.points) for lay in layouts], legend, codes)

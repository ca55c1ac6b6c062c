"""The map's time layout: each item in the column of its year, the items of a column stacked in their order
along the similarity layout, as VIKUS Viewer lays a collection out by time.

- **x: the year.** An item stands in the column of its first year (collect/facets.py reads "1920-25" as
  1920 ... 1925, "19th century" as 1801 ... 1900): the year the explorer's year histogram counts it in, so the
  two agree on which column a work is in. A column holds one year, or, where the dated years span more than
  MOST_COLUMNS, `bin` years (2, 5, 10, 20, 25, 50, 100, ...: round numbers, so that its label is a year a
  reader counts from). Columns are evenly spaced by year, empty ones too, so the axis is a time line. Items
  without a year (none given, "n.d.", or not readable) stand in one more column after a gap at the end,
  labelled as such.
- **The stack: similarity.** A column's items rise from the baseline in the order of the Hilbert curve
  through their places in the network's similarity layout (atlas.map_order): an order along which items
  that lie together on the map come together, so a column shows its year's alike images side by side rather
  than in the collection's order; and the same order in every column, so each column runs through the map's
  regions in the same sequence. Each column is `width` points wide; a stack fills a row left to right, the
  next right to left (boustrophedon), so two items next in the order are always next to each other.
- **The geometry**: a column is `width` cells wide with `gap` cells between columns; the width is chosen so
  that the whole (columns wide, the tallest stack high) is as near a square as it can be, the shape the map
  shows at zoom 1. Points lie in the middle of their cells on the same 16-bit grid as the similarity layout
  (embed.GRID), the whole centred on it.

Deterministic: integer arithmetic up to the final rounding, stable sorts, ties by collection order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from builder.map.atlas import hilbert_index
from builder.map.embed import GRID

NO_YEAR = -32768  # as collect/facets.py writes an item without a year
MOST_COLUMNS = 120  # dated columns at most; beyond, a column holds `bin` years
BINS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000)  # years a column, the first that fits
MOST_TICKS = 12  # labelled years at most
UNDATED = "no year"  # the undated column's label


@dataclass(frozen=True)
class TimeAxis:
    """Where the time layout's columns lie, in grid units (0 ... GRID), as the page draws its axis."""

    start: int  # the first year of column 0
    bin: int  # years a column
    columns: int  # dated columns, start ... start + columns x bin - 1
    left: float  # x of column 0's left edge
    pitch: float  # from one column's left edge to the next's
    width: float  # a column's width
    cell: float  # a point's place: a column is width / cell points wide
    baseline: float  # y below the lowest row (the stacks rise from it: y falls upwards on the page)
    undated: tuple[float, float, int] | None  # (x0, x1, items) of the column without a year; None: all dated
    ticks: tuple[tuple[str, float], ...]  # (label, x of its column's middle)
    counts: tuple[int, ...]  # items per dated column

    def column(self, year: int) -> int:
        """The column of an item of this first year."""
        return (year - self.start) // self.bin

    def span(self, column: int) -> tuple[float, float]:
        """x0, x1 of a dated column."""
        x0 = self.left + column * self.pitch
        return x0, x0 + self.width


@dataclass(frozen=True)
class TimeLayout:
    axis: TimeAxis
    points: list[tuple[str, np.ndarray]]  # (network, (n, 2) uint16 points on the grid)


def bin_years(first: int, last: int, most: int = MOST_COLUMNS) -> int:
    """Years a column: the first of BINS whose columns from first to last (aligned on its multiples) are at
    most `most`."""
    for size in BINS:
        if last // size - first // size + 1 <= most:
            return size
    return -(-(last - first + 1) // most)


def column_width(per_column: np.ndarray, spaces: int) -> int:
    """Points a column is wide: the width that makes the whole nearest a square (the larger of its width and
    height least; the narrower of equals), with `spaces` column places across (columns and gaps)."""
    tallest = int(per_column.max()) if len(per_column) else 0
    if tallest == 0:
        return 1
    best, best_side = 1, None
    for width in range(1, tallest + 1):
        across = spaces * width + (spaces - 1) * _gap(width)
        side = max(across, -(-tallest // width))
        if best_side is None or side < best_side:
            best, best_side = width, side
        if -(-tallest // width) <= across:  # wider only widens it
            break
    return best


def _gap(width: int) -> int:
    """Cells between two columns: a quarter of a column, at least one."""
    return max(1, width // 4)


def stack_order(points: np.ndarray) -> np.ndarray:
    """Each item's rank along the Hilbert curve through the similarity layout (ties: collection order)."""
    order = np.argsort(hilbert_index(points), kind="stable")
    rank = np.empty(len(points), dtype=np.int64)
    rank[order] = np.arange(len(points))
    return rank


def time_axis(first: np.ndarray) -> tuple[TimeAxis, np.ndarray, int] | None:
    """The axis for these first years (NO_YEAR: none), each item's column (dated columns 0 ... columns - 1,
    the undated column `columns`) and the columns' width in cells; None where no item has a year."""
    first = np.asarray(first, dtype=np.int64)
    dated = first != NO_YEAR
    if not dated.any():
        return None
    low, high = int(first[dated].min()), int(first[dated].max())
    size = bin_years(low, high)
    start = low - low % size
    columns = (high - start) // size + 1
    column = np.where(dated, (first - start) // size, columns)
    undated = int((~dated).sum())
    per_column = np.bincount(column, minlength=columns + 1)
    spaces = columns + (2 if undated else 0)  # the undated column after an empty place
    width = column_width(per_column, spaces)
    gap = _gap(width)
    across = spaces * width + (spaces - 1) * gap
    rows = -(-int(per_column.max()) // width)
    side = max(across, rows)
    cell = GRID / side
    left = (side - across) * cell / 2
    baseline = GRID - (side - rows) * cell / 2
    pitch = (width + gap) * cell
    steps = (size * m for m in (1, 2, 5, 10, 20, 25, 50, 100))
    tick_every = next((s for s in steps if columns * size / s <= MOST_TICKS), size * columns)
    labelled = [c for c in range(columns) if (start + c * size) % tick_every == 0] or [0]
    ticks = tuple((str(start + c * size), left + c * pitch + width * cell / 2) for c in labelled)
    undated_span = None
    if undated:
        x0 = left + (columns + 1) * pitch
        undated_span = (x0, x0 + width * cell, undated)
        ticks += ((UNDATED, x0 + width * cell / 2),)
    axis = TimeAxis(start, size, columns, left, pitch, width * cell, cell, baseline, undated_span, ticks,
                    tuple(int(c) for c in per_column[:columns]))  # fmt: skip
    return axis, column, width


def time_points(column: np.ndarray, rank: np.ndarray, width: int, axis: TimeAxis) -> np.ndarray:
    """(n, 2) uint16 points: each item in its column, its place in the stack by `rank` (lower: nearer the
    baseline), rows filled left to right and right to left in turn."""
    n = len(column)
    order = np.lexsort((np.arange(n), rank, column))  # by column, then rank, then collection order
    ordered = column[order]
    place = np.empty(n, dtype=np.int64)
    place[order] = np.arange(n) - np.searchsorted(ordered, ordered)  # its place in its column's stack
    row, along = place // width, place % width
    along = np.where(row % 2 == 1, width - 1 - along, along)
    cell = axis.cell
    place_across = np.where(column >= axis.columns, axis.columns + 1, column)  # the undated: after a gap
    x = axis.left + place_across * axis.pitch + (along + 0.5) * cell
    y = axis.baseline - (row + 0.5) * cell
    return np.clip(np.rint(np.stack([x, y], axis=1)), 0, GRID).astype(np.uint16)


def time_layout(first: np.ndarray, layouts: list[tuple[str, np.ndarray]]) -> TimeLayout | None:
    """The time layout per network of `layouts` (its similarity points give the order of each stack); None
    where no item has a year."""
    found = time_axis(first)
    if found is None:
        return None
    axis, column, width = found
    return TimeLayout(axis, [(name, time_points(column, stack_order(points), width, axis)) for name, points in layouts])

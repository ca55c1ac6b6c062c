"""Inverted lists over k-means cells: neighbour search whose cost grows far slower than exact search's.

The collection is split into about CELLS_PER_ROOT x sqrt(n) cells by spherical k-means (trained on a seeded
sample); each item is searched exactly among the members of the `probes` cells whose centres are nearest
to it. The work is done cell by cell: every query that probes a cell is scored against its members in one
matrix product (BLAS), so the cost is about n x probes x n / cells vector products instead of n x n, with
the speed of blocked products rather than of one vector at a time (Annoy's weakness on high-dimensional
features on a CPU, bench/scale.py).

How many cells to probe is not guessed: `probes_for` reads it off a sample of items whose exact neighbours
are known, as the fewest nearest cells that hold the share of those neighbours asked for. A later build can
keep the centres (`Cells`), so that an item's cell does not move when others are added.

Two choices keep the constant small at 100,000 items (bench/scale.py): the rows are copied into cell order
for the search, so a cell's members are one slice and the queries that probe it are read from nearby memory
(a sixth of the search's time); and each item's nearest cells are ranked once, when it is put in its cell, as
the same matrix product gives both (probing computed them again: a tenth of the indexing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CELLS_PER_ROOT = 4  # cells = 4 x sqrt(n): 1,265 cells of about 80 items at 100,000
TRAIN_PER_CELL = 16  # k-means sample: 16 items per cell
TRAIN_ROUNDS = 6
BLOCK = 4096  # rows per matrix product, to bound memory
RANKED = 64  # each item's nearest cells ranked when it is put in its cell: probes beyond them rank again


@dataclass(frozen=True)
class CellIndex:
    """centres (cells, d), unit length; the members of cell c are order[starts[c]:starts[c + 1]] (ascending
    item numbers); nearest[i] are item i's min(cells, RANKED) nearest cells, nearest first (the cells
    that its search probes)."""

    centres: np.ndarray
    order: np.ndarray
    starts: np.ndarray
    nearest: np.ndarray

    @property
    def cells(self) -> int:
        return len(self.centres)

    def members(self, cell: int) -> np.ndarray:
        return self.order[self.starts[cell] : self.starts[cell + 1]]


def cell_count(n: int) -> int:
    """How many cells n items get: as sqrt(n), so cells and their members grow alike."""
    return max(1, min(n, round(CELLS_PER_ROOT * np.sqrt(n))))


@dataclass(frozen=True)
class Cells:
    """What a search by cells needs to be repeated, or continued by the next build: the centres and how many
    of them each item probes."""

    centres: np.ndarray
    probes: int

    def fit(self, n: int, d: int) -> bool:
        """Whether these centres can serve a collection of n items of d dimensions: the same dimensions, and
        a number of cells within a factor of two of what n would be given (else they are trained anew)."""
        return self.centres.ndim == 2 and self.centres.shape[1] == d and 0.5 <= len(self.centres) / cell_count(n) <= 2


def train_centres(x: np.ndarray, seed: int, cells: int | None = None) -> np.ndarray:
    """Spherical k-means on a seeded sample of the rows of x (unit vectors). A centre left without members
    keeps its starting point (a probe of it is wasted, nothing is lost)."""
    n = x.shape[0]
    m = cell_count(n) if cells is None else max(1, min(n, cells))
    rng = np.random.default_rng(seed)
    sample = x[np.sort(rng.choice(n, min(n, TRAIN_PER_CELL * m), replace=False))]
    centres = sample[rng.choice(len(sample), m, replace=False)].astype(np.float32, copy=True)
    for _ in range(TRAIN_ROUNDS):
        nearest = _nearest_centre(sample, centres)
        order = np.argsort(nearest, kind="stable")
        filled, starts = np.unique(nearest[order], return_index=True)
        sums = np.add.reduceat(sample[order], starts, axis=0)  # each filled cell's members summed
        norms = np.linalg.norm(sums, axis=1)
        moved = norms > 0
        centres[filled[moved]] = sums[moved] / norms[moved, None]
    return centres


def cells_from(x: np.ndarray, centres: np.ndarray) -> CellIndex:
    """Every row of x put in the cell of its nearest centre (the first of equals), its nearest cells ranked."""
    count = min(RANKED, len(centres))
    cell, nearest = np.empty(len(x), dtype=np.int64), np.empty((len(x), count), dtype=np.int32)
    for s in range(0, len(x), BLOCK):
        sims = x[s : s + BLOCK] @ centres.T
        cell[s : s + BLOCK] = np.argmax(sims, axis=1)
        top = np.argpartition(-sims, count - 1, axis=1)[:, :count]
        ranked = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
        nearest[s : s + BLOCK] = np.take_along_axis(top, ranked, axis=1)
    order = np.argsort(cell, kind="stable")
    starts = np.searchsorted(cell[order], np.arange(len(centres) + 1))
    return CellIndex(centres=centres, order=order, starts=starts, nearest=nearest)


def build_cells(x: np.ndarray, seed: int, cells: int | None = None) -> CellIndex:
    return cells_from(x, train_centres(x, seed, cells))


def _nearest_centre(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return np.concatenate([np.argmax(x[s : s + BLOCK] @ centres.T, axis=1) for s in range(0, len(x), BLOCK)])


def centre_ranks(x: np.ndarray, index: CellIndex, rows: np.ndarray) -> np.ndarray:
    """(len(rows), cells): entry [r, c] is how near cell c's centre is to item rows[r] (0 = nearest)."""
    order = np.argsort(-(x[rows] @ index.centres.T), axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(index.cells)[None, :], axis=1)
    return ranks


def probes_for(x: np.ndarray, index: CellIndex, rows: np.ndarray, exact: np.ndarray, target: float) -> int:
    """The fewest nearest cells per item that hold, on average over the sampled `rows`, the share `target`
    of their exact neighbours `exact` (len(rows), k). A search of those cells finds exactly those: each is
    scored against every member of a cell it probes."""
    if exact.size == 0:
        return 1
    cell_of = np.empty(len(x), dtype=np.int64)
    cell_of[index.order] = np.repeat(np.arange(index.cells), np.diff(index.starts))
    ranks = np.take_along_axis(centre_ranks(x, index, rows), cell_of[exact], axis=1)  # each neighbour's cell
    reach = np.sort(ranks.ravel())  # recall with p probes = share of neighbours whose cell ranks below p
    needed = int(np.ceil(target * reach.size))
    return int(reach[needed - 1]) + 1 if needed > 0 else 1


def cell_neighbours(
    x: np.ndarray, k: int, index: CellIndex, probes: int, rows: Sequence[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Row r: the k best (indices, scores) of item rows[r] among the members of its `probes` nearest cells,
    itself excluded, best first (equal scores by lower item number; of equal scores across the k-th place,
    which are kept is left to the partition). A row with fewer than k candidates keeps index -1 and score
    -inf in the places not found (the caller searches such rows exactly)."""
    n = x.shape[0]
    # every item: asked in cell order, so each cell's queries are read from ascending places (a tenth of the time)
    rows_ = index.order if rows is None else np.asarray(list(rows), dtype=np.int64)
    probes = max(1, min(probes, index.cells))
    if probes <= index.nearest.shape[1]:
        near = index.nearest[rows_, :probes]
    else:
        near = np.concatenate([np.argpartition(-(x[rows_[s : s + BLOCK]] @ index.centres.T), probes - 1, axis=1)
                               [:, :probes] for s in range(0, len(rows_), BLOCK)]
        ) if probes < index.cells else np.tile(np.arange(index.cells), (len(rows_), 1))  # fmt: skip
    # who probes each cell: the query positions grouped by cell
    by_cell = np.argsort(near.ravel(), kind="stable")
    asking = by_cell // probes
    bounds = np.searchsorted(near.ravel()[by_cell], np.arange(index.cells + 1))
    # the rows in cell order: cell c's members are the slice starts[c]:starts[c + 1], read without a copy
    in_order = x[index.order]
    place = np.empty(n, dtype=np.int64)
    place[index.order] = np.arange(n)
    at = place[rows_]  # each query's own place
    best_s = np.full((len(rows_), k), -np.inf, dtype=np.float32)
    best_i = np.full((len(rows_), k), -1, dtype=np.int64)
    for c in range(index.cells):
        start, stop = index.starts[c], index.starts[c + 1]
        if start == stop or bounds[c] == bounds[c + 1]:
            continue
        xm, members = in_order[start:stop].T, index.order[start:stop]
        for s in range(bounds[c], bounds[c + 1], BLOCK):
            qp = asking[s : min(s + BLOCK, bounds[c + 1])]
            sims = in_order[at[qp]] @ xm
            own = np.flatnonzero((at[qp] >= start) & (at[qp] < stop))  # the queries in this cell: never yourself
            sims[own, at[qp[own]] - start] = -np.inf
            _merge(best_s, best_i, qp, sims, members, k)
    ordered = np.lexsort((best_i, -best_s), axis=1)  # best first, ties by lower item number
    best_i, best_s = np.take_along_axis(best_i, ordered, axis=1), np.take_along_axis(best_s, ordered, axis=1)
    if rows is None:  # back from cell order to item order
        best_i[rows_], best_s[rows_] = best_i.copy(), best_s.copy()
    return best_i, best_s


def _merge(
    best_s: np.ndarray, best_i: np.ndarray, qp: np.ndarray, sims: np.ndarray, members: np.ndarray, k: int
) -> None:
    """Fold one cell's scores into the k best so far of the query rows qp (rows that gain nothing are left)."""
    worst = best_s[qp].min(axis=1)
    gains = (sims > worst[:, None]).any(axis=1)
    if not gains.any():
        return
    qp, sims = qp[gains], sims[gains]
    if sims.shape[1] > k:
        top = np.argpartition(sims, -k, axis=1)[:, -k:]
        sims = np.take_along_axis(sims, top, axis=1)
        ids = members[top]
    else:
        ids = np.broadcast_to(members, sims.shape)
    all_s = np.concatenate([best_s[qp], sims], axis=1)
    all_i = np.concatenate([best_i[qp], ids], axis=1)
    keep = np.argpartition(all_s, -k, axis=1)[:, -k:]
    best_s[qp] = np.take_along_axis(all_s, keep, axis=1)
    best_i[qp] = np.take_along_axis(all_i, keep, axis=1)

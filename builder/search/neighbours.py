"""Nearest neighbours per network: by k-means cells (cells.py), Annoy or exact search, each approximate
search tuned until its recall measured against exact search on a sample reaches the target.

Features are L2-normalised, so Annoy's angular distance d is the Euclidean distance between unit vectors
and the cosine similarity is cos = 1 - d^2 / 2. (The seed's `1 - d` is not a cosine.)
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from builder.cache import EntryStore
from builder.errors import VsisError
from builder.search import cells

if TYPE_CHECKING:
    from annoy import AnnoyIndex


@dataclass(frozen=True)
class AnnoySettings:
    """`search_k` None means SEARCH_K_FACTOR x trees x (k + 1) nodes per query. Annoy's own default
    (-1: trees x (k + 1)) found only about half of the exact 10 neighbours of 2,000 OpenClipart images by
    the 768-d pixel baseline; 20x that found 98% (bench/build_time.py reports it per network)."""

    trees: int = 50
    search_k: int | None = None
    seed: int = 71

    def search_k_for(self, k: int) -> int:
        return self.search_k if self.search_k is not None else SEARCH_K_FACTOR * self.trees * (k + 1)


SEARCH_K_FACTOR = 20


@dataclass
class Neighbours:
    """Row i lists the k nearest items to item i (itself excluded), nearest first."""

    indices: np.ndarray  # (n, k) int
    scores: np.ndarray  # (n, k) float32 cosine similarity

    @property
    def k(self) -> int:
        return self.indices.shape[1]


def angular_to_cosine(d: np.ndarray | float) -> np.ndarray | float:
    return 1.0 - np.square(d) / 2.0


def effective_k(n: int, k: int) -> int:
    """There are only n - 1 other items to find."""
    return max(0, min(k, n - 1))


def build_index(x: np.ndarray, trees: int, seed: int) -> AnnoyIndex:
    """An angular Annoy index of every row of x, built in one job so that a seeded build is reproducible.
    Annoy is imported here, where `[neighbours] method = "annoy"` runs, and nowhere else: it is an extra
    (`pip install 'vsis[annoy]'`), compiled from source where no wheel exists."""
    try:
        from annoy import AnnoyIndex
    except ImportError:
        raise VsisError("[neighbours] method = \"annoy\" needs Annoy: pip install 'vsis[annoy]'") from None
    index = AnnoyIndex(x.shape[1], "angular")
    index.set_seed(seed)
    for i in range(x.shape[0]):
        index.add_item(i, x[i])
    index.build(trees, n_jobs=1)
    return index


def query_index(
    index: AnnoyIndex, n: int, k: int, queries: Sequence[int], search_k: int, trees: int, workers: int = 2
) -> Neighbours:
    """Row r lists the k nearest of item queries[r], itself excluded. Queries run in `workers` threads (Annoy
    releases the GIL while it searches); the result does not depend on how many."""
    k = effective_k(n, k)
    queries = list(queries)
    indices = np.zeros((len(queries), k), dtype=np.int64)
    scores = np.zeros((len(queries), k), dtype=np.float32)

    def one(row: int) -> None:
        i = queries[row]
        ids, dists = index.get_nns_by_item(i, k + 1, search_k=search_k, include_distances=True)
        pairs = [(j, d) for j, d in zip(ids, dists, strict=False) if j != i][:k]
        if len(pairs) < k:  # Annoy may return fewer than asked; search every leaf for this one
            ids, dists = index.get_nns_by_item(i, k + 1, search_k=n * trees * 4, include_distances=True)
            pairs = [(j, d) for j, d in zip(ids, dists, strict=False) if j != i][:k]
        if len(pairs) < k:
            raise RuntimeError(f"Annoy returned {len(pairs)} neighbours for item {i}, expected {k}")
        indices[row] = [j for j, _ in pairs]
        scores[row] = [angular_to_cosine(d) for _, d in pairs]

    if workers > 1 and len(queries) > 256:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vsis-annoy") as pool:
            list(pool.map(one, range(len(queries)), chunksize=256))
    else:
        for row in range(len(queries)):
            one(row)
    return Neighbours(indices, scores)


def annoy_neighbours(
    x: np.ndarray, k: int, settings: AnnoySettings = AnnoySettings(), queries: Sequence[int] | None = None
) -> Neighbours:
    """Index every row of x; row r of the result lists the neighbours of item queries[r] (default: all)."""
    n = x.shape[0]
    index = build_index(x, settings.trees, settings.seed)
    return query_index(index, n, k, range(n) if queries is None else queries, settings.search_k_for(k), settings.trees)


def exact_neighbours(x: np.ndarray, k: int, block: int = 1024, rows: Sequence[int] | None = None) -> Neighbours:
    """Brute-force cosine kNN of the given rows (default all), in blocks of rows so memory stays
    O(block * n): one matrix product per block (BLAS), then the top k by partition, not a sort of every
    row. Ties break by lower index, exactly as a stable sort of the whole row would."""
    n = x.shape[0]
    k = effective_k(n, k)
    rows_ = np.arange(n) if rows is None else np.asarray(list(rows), dtype=np.int64)
    indices = np.zeros((len(rows_), k), dtype=np.int64)
    scores = np.zeros((len(rows_), k), dtype=np.float32)
    if k == 0:
        return Neighbours(indices, scores)
    for start in range(0, len(rows_), block):
        chunk = rows_[start : start + block]
        sims = x[chunk] @ x.T
        sims[np.arange(len(chunk)), chunk] = -np.inf  # never yourself
        idx = top_k(sims, k)
        indices[start : start + len(chunk)] = idx
        scores[start : start + len(chunk)] = np.take_along_axis(sims, idx, axis=1)
    return Neighbours(indices, scores)


def top_k(sims: np.ndarray, k: int) -> np.ndarray:
    """Each row's k largest columns, largest first, ties by lower column (a stable sort's answer)."""
    n = sims.shape[1]
    kth = np.partition(sims, n - k, axis=1)[:, n - k]  # the k-th largest value of each row (one copy)
    at_least = sims >= kth[:, None]
    counts = at_least.sum(axis=1)
    out = np.empty((len(sims), k), dtype=np.int64)
    plain = counts == k  # no tie across the k-th place: the columns found are the answer
    if plain.any():
        every = bool(plain.all())  # the usual case: no copies of the block by a mask
        cols = np.nonzero(at_least if every else at_least[plain])[1].reshape(-1, k)  # ascending within a row
        vals = np.take_along_axis(sims if every else sims[plain], cols, axis=1)
        out[plain] = np.take_along_axis(cols, np.argsort(-vals, axis=1, kind="stable"), axis=1)
    for r in np.flatnonzero(~plain):  # ties across the k-th place: the lower columns win
        tied = np.flatnonzero(at_least[r])
        out[r] = tied[np.argsort(-sims[r, tied], kind="stable")][:k]
    return out


@dataclass(frozen=True)
class Recall:
    """The recall@k of the published lists against exact search on `queries` rows (all rows when the
    collection is small), with a 95% interval of the mean (normal approximation; no width when every row was
    measured). method: "annoy" (search_k and trees say its effort), "cells" (inverted lists over k-means
    cells: `probes` of `cells` searched per item) or "exact" (recall 1). search_ms and exact_ms: the times per
    query measured on the sample (kept beside the lists, never published: they differ from build to build)."""

    value: float
    low: float
    high: float
    queries: int
    method: str
    search_k: int = 0
    trees: int = 0
    cells: int = 0
    probes: int = 0
    search_ms: float = 0.0
    exact_ms: float = 0.0

    def describe(self) -> str:
        """For the site: how the lists were found and how their recall was measured."""
        if self.method == "exact" and self.cells == 0:
            return "exact search: every item was searched exactly to measure the recall"
        if self.method == "exact":
            return (
                f"exact search: the cells would have had to search {self.probes:,} of {self.cells:,} "
                f"per item ({self.queries:,} sampled items), more than exact search costs"
            )
        effort = (
            f"{self.probes:,} of {self.cells:,} cells searched per item"
            if self.method == "cells"
            else f"search_k {self.search_k:,}, {self.trees} trees"
        )
        if self.low == self.high:
            return f"every item measured; {effort}"
        return f"95% interval {self.low:.3f}-{self.high:.3f} on {self.queries:,} sampled items; {effort}"


@dataclass(frozen=True)
class _Sample:
    """The seeded rows recall is measured on, with their exact neighbours (rows against all, never n x n)."""

    rows: np.ndarray
    exact: Neighbours
    exact_ms: float
    n: int

    @classmethod
    def of(cls, x: np.ndarray, k: int, size: int, seed: int) -> _Sample:
        n = x.shape[0]
        rng = np.random.default_rng(seed)
        rows = np.arange(n) if n <= size else np.sort(rng.choice(n, size, replace=False))
        started = time.perf_counter()
        exact = exact_neighbours(x, k, rows=rows.tolist())
        return cls(rows, exact, 1000 * (time.perf_counter() - started) / max(1, len(rows)), n)

    @property
    def whole(self) -> bool:
        return len(self.rows) == self.n

    def interval(self, per_row: np.ndarray) -> tuple[float, float, float]:
        mean = float(per_row.mean()) if len(per_row) else 1.0
        if not self.whole and len(per_row) < 2:
            return mean, 0.0, 1.0  # one sampled row (recall_queries = 1) bounds nothing of the rest
        half = 0.0 if self.whole else 1.96 * float(per_row.std(ddof=1)) / float(np.sqrt(len(per_row)))
        return mean, max(0.0, mean - half), min(1.0, mean + half)


def tuned_annoy(
    x: np.ndarray, k: int, settings: AnnoySettings, target: float, sample: int = 1000, max_trees: int = 400
) -> tuple[Neighbours, Recall]:
    """Annoy's neighbours of every row, with search_k (then trees) raised until the recall@k measured on a
    seeded sample of `sample` rows against exact search reaches `target` (or search_k covers every node)."""
    n = x.shape[0]
    measured = _Sample.of(x, k, sample, settings.seed)
    rows = measured.rows
    trees, search_k = settings.trees, settings.search_k_for(k)
    while True:
        index = build_index(x, trees, settings.seed)
        while True:
            started = time.perf_counter()
            found = query_index(index, n, k, rows.tolist(), search_k, trees)
            search_ms = 1000 * (time.perf_counter() - started) / max(1, len(rows))
            per_row = _row_recall(found, measured.exact)
            if per_row.mean() >= target or search_k >= n * trees:
                break
            search_k *= 2
        if per_row.mean() >= target or trees * 2 > max_trees:
            break
        trees *= 2
    neighbours = found if measured.whole else query_index(index, n, k, range(n), search_k, trees)
    mean, low, high = measured.interval(per_row)
    recall = Recall(
        mean, low, high, len(rows), "annoy", search_k, trees, search_ms=search_ms, exact_ms=measured.exact_ms
    )
    return rescored(x, neighbours), recall


def tuned_cells(
    x: np.ndarray, k: int, target: float, sample: int = 1000, seed: int = 71, exact_above: float = 1.0
) -> tuple[Neighbours, Recall]:
    """Every row's neighbours among the members of its nearest k-means cells (search/cells.py), with the
    number of cells searched per item read off a seeded sample of `sample` rows whose exact neighbours are
    computed, then raised until the recall measured on that sample reaches `target`.

    exact_above: where the cells needed would cover more than this share of the cells, every row is searched
    exactly instead (the cells' bookkeeping costs more than exact search's one product per block then). A
    collection no larger than the sample is searched exactly whole to measure the recall, so its exact lists
    are published as they are (and are the same on every machine)."""
    found, recall, _ = continued_cells(x, k, target, sample, seed, exact_above)
    return found, recall


def continued_cells(
    x: np.ndarray,
    k: int,
    target: float,
    sample: int = 1000,
    seed: int = 71,
    exact_above: float = 1.0,
    previous: cells.Cells | None = None,
) -> tuple[Neighbours, Recall, cells.Cells | None]:
    """tuned_cells, continuing from the cells of a previous build where they still fit (cells.Cells.fit):
    their centres kept as they are, their probes the fewest tried (trained anew where twice as many probes
    would be needed: the features have moved away from them). An item's cell and the cells it probes
    then stay what they were, so adding images changes only the lists that a new image enters (cells trained
    anew would move the sample's 2% of misses to other lists as well). Returns the cells used (None: exact)."""
    n = x.shape[0]
    k = effective_k(n, k)
    measured = _Sample.of(x, k, sample, seed)
    if k == 0 or (measured.whole and exact_above < 1.0):
        return rescored(x, measured.exact), Recall(1.0, 1.0, 1.0, n, "exact", exact_ms=measured.exact_ms), None
    warm = previous if previous is not None and previous.fit(n, x.shape[1]) else None
    index = cells.cells_from(x, warm.centres) if warm else cells.build_cells(x, seed)
    probes = cells.probes_for(x, index, measured.rows, measured.exact.indices, target)
    if warm and probes > 2 * warm.probes:  # the features moved away from the cells: train them anew
        warm, index = None, cells.build_cells(x, seed)
        probes = cells.probes_for(x, index, measured.rows, measured.exact.indices, target)
    if warm:
        probes = max(probes, min(warm.probes, index.cells))
    while True:
        started = time.perf_counter()
        found = _cells_of(x, k, index, probes, measured.rows)
        search_ms = 1000 * (time.perf_counter() - started) / max(1, len(measured.rows))
        per_row = _row_recall(found, measured.exact)
        if per_row.mean() >= target or probes >= index.cells:
            break
        probes = min(index.cells, probes + max(1, probes // 8))  # ties across a cell's border: a little more
    if probes > exact_above * index.cells:
        exact = Recall(1.0, 1.0, 1.0, len(measured.rows), "exact", cells=index.cells, probes=probes,
                       search_ms=search_ms, exact_ms=measured.exact_ms)  # fmt: skip
        return rescored(x, exact_neighbours(x, k)), exact, None
    neighbours = found if measured.whole else _cells_of(x, k, index, probes)
    mean, low, high = measured.interval(per_row)
    recall = Recall(mean, low, high, len(measured.rows), "cells", cells=index.cells, probes=probes,
                    search_ms=search_ms, exact_ms=measured.exact_ms)  # fmt: skip
    return rescored(x, neighbours), recall, cells.Cells(index.centres, probes)


def cells_neighbours(x: np.ndarray, k: int, used: cells.Cells) -> Neighbours:
    """The lists continued_cells published with these cells, computed again."""
    return rescored(x, _cells_of(x, effective_k(x.shape[0], k), cells.cells_from(x, used.centres), used.probes))


def _cells_of(x: np.ndarray, k: int, index: cells.CellIndex, probes: int, rows: np.ndarray | None = None) -> Neighbours:
    """cell_neighbours, with any row that found fewer than k candidates (tiny cells) searched exactly."""
    indices, scores = cells.cell_neighbours(x, k, index, probes, None if rows is None else rows.tolist())
    short = np.flatnonzero((indices < 0).any(axis=1))
    if len(short):
        queries = short if rows is None else rows[short]
        again = exact_neighbours(x, k, rows=queries.tolist())
        indices[short], scores[short] = again.indices, again.scores
    return Neighbours(indices, scores)


def rescored(x: np.ndarray, found: Neighbours, block: int = 4096) -> Neighbours:
    """The same lists with each score computed one way, as the dot product of the two rows: Annoy's angular
    distance and a blocked matrix product round differently in the last bits, and which of the two a build
    uses is decided by timing, so without this the same neighbours could be published with other scores."""
    scores = np.empty(found.scores.shape, dtype=np.float32)
    for start in range(0, len(found.indices), block):
        idx = found.indices[start : start + block]
        scores[start : start + block] = np.einsum("ij,ikj->ik", x[start : start + block], x[idx])
    return Neighbours(found.indices, scores)


def _row_recall(approx: Neighbours, exact: Neighbours) -> np.ndarray:
    if approx.k == 0:
        return np.ones(len(approx.indices))
    return np.array([len(set(a) & set(e)) / approx.k
                     for a, e in zip(approx.indices.tolist(), exact.indices.tolist(), strict=True)])  # fmt: skip


def recall_against(approx: Neighbours, exact: Neighbours) -> float:
    """Mean share of the exact top-k that the approximate top-k also found (Annoy's recall@k)."""
    if approx.k == 0:
        return 1.0
    hits = sum(len(set(a) & set(e)) for a, e in zip(approx.indices.tolist(), exact.indices.tolist(), strict=False))
    return hits / (approx.indices.shape[0] * approx.k)


SEARCH_METHODS = ("auto", "cells", "annoy")
AUTO_EXACT_ABOVE = 0.25  # auto searches exactly where the cells would search over a quarter of the collection


class NeighbourSearch:
    """Annoy and brute-force search, remembered on disk by what determines their result (the features'
    bytes, k, the settings, the queries), so a rebuild whose features did not change skips both. The search
    functions stay pure; this remembers them, in an EntryStore under root: per key the lists (.npz), and for
    a tuned search the recall reached (.recall.json) and the cells used (.cells.npz); under root/cells/ the
    cells last used per network (`place`), for the next build to continue from. root None: nothing is
    remembered."""

    def __init__(
        self,
        settings: AnnoySettings = AnnoySettings(),
        root: Path | None = None,
        on_bad: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.root = root
        self.on_bad = on_bad  # told of a damaged entry, which is computed again
        self._lists = EntryStore(root, on_bad, version=SEARCH_VERSION)
        self._used = self._lists.with_suffix(".cells.npz")
        self._recalls = self._lists.with_suffix(".recall.json")
        self._places = self._lists.sub("cells")

    def annoy(self, x: np.ndarray, k: int, queries: Sequence[int] | None = None) -> Neighbours:
        rows = None if queries is None else np.asarray(list(queries), dtype=np.int64)
        key = self._key(x, "annoy", k, self.settings, None if rows is None else rows.tobytes())
        return self._remembered(key, lambda: annoy_neighbours(x, k, self.settings, queries), len(x))

    def tuned(
        self,
        x: np.ndarray,
        k: int,
        target: float,
        sample: int,
        method: str = "auto",
        place: str = "",
        digest: str | None = None,
    ) -> tuple[Neighbours, Recall]:
        """The neighbours of every row by `method` ("annoy": tuned_annoy; "cells": continued_cells; "auto":
        the cells, or exact search where they would cost more), remembered with the recall reached and the
        method used (computed again, the lists come out the same: Annoy is seeded, the cells are kept).
        place: what these features are (the network), under which the cells are kept for the next build to
        continue from. digest: features_digest(x), where the caller has it already (x is not read again)."""
        if method not in SEARCH_METHODS:
            raise ValueError(f"unknown search method {method!r}")
        key = self._key(x, "tuned", k, self.settings, target, sample, method, digest=digest)
        remembered = self._recalls.read_json(key, lambda value: Recall(**value))
        used = self._used.read(key, _read_cells) if remembered and remembered.method == "cells" else None
        if remembered is not None and (remembered.method != "cells" or used is not None):
            return self._remembered(key, lambda: self._again(x, k, remembered, used), len(x)), remembered
        kept = hashlib.sha256(place.encode()).hexdigest()[:16] if place else None  # the place's cells' key
        if method == "annoy":
            found, recall = tuned_annoy(x, k, self.settings, target, sample)
        else:
            exact_above = AUTO_EXACT_ABOVE if method == "auto" else 1.0
            previous = self._places.read(kept, _read_cells) if kept else None
            found, recall, used = continued_cells(x, k, target, sample, self.settings.seed, exact_above, previous)
        self._lists.put(key, **_neighbour_arrays(found))
        if used is not None:
            self._used.put(key, **_cells_arrays(used))
            if kept:
                self._places.put(kept, **_cells_arrays(used))
        self._recalls.put_json(key, asdict(recall))
        return found, recall

    def _again(self, x: np.ndarray, k: int, recall: Recall, used: cells.Cells | None) -> Neighbours:
        if recall.method == "exact":
            return rescored(x, exact_neighbours(x, k))
        if used is not None:
            return cells_neighbours(x, k, used)
        return rescored(x, annoy_neighbours(x, k, replace(self.settings, trees=recall.trees, search_k=recall.search_k)))

    def exact(self, x: np.ndarray, k: int, rows: Sequence[int] | None = None) -> Neighbours:
        """Exact neighbours of every row of x, or of `rows` only (each searched against all rows: row r of the
        result lists those of rows[r]), remembered under the rows asked."""
        if rows is None:
            return self._remembered(self._key(x, "exact", k), lambda: exact_neighbours(x, k), len(x))
        picked = np.asarray(list(rows), dtype=np.int64)
        key = self._key(x, "exact", k, picked.tobytes())
        return self._remembered(key, lambda: exact_neighbours(x, k, rows=picked.tolist()), len(x))

    def _key(self, x: np.ndarray, *parts: object, digest: str | None = None) -> str:
        return self._lists.key(digest or features_digest(x), repr(parts))

    def _remembered(self, key: str, compute: Callable[[], Neighbours], n: int) -> Neighbours:
        """n: the rows the result indexes into, to vet a remembered one."""
        return self._lists.remembered(key, compute, lambda arrays: _read_neighbours(arrays, n), _neighbour_arrays)


SEARCH_VERSION = "4"  # bump when the search code changes its results (4: keys from features_digest)


def features_digest(x: np.ndarray) -> str:
    """What identifies a feature matrix: its type, shape and bytes, hashed once per network and build. The
    search's keys derive from it, and the later stages that depend on the same features (the map's layout)
    key their results by it instead of reading and hashing the matrix again."""
    h = hashlib.sha256(f"{x.dtype}|{x.shape}|".encode())
    h.update(np.ascontiguousarray(x).data)
    return h.hexdigest()


def _neighbour_arrays(found: Neighbours) -> dict[str, np.ndarray]:
    return {"indices": found.indices, "scores": found.scores}


def _read_neighbours(arrays: dict[str, np.ndarray], n: int) -> Neighbours:
    """A remembered result, checked to be one: two arrays of one (rows, k) shape, indices among the n rows,
    scores finite cosines."""
    indices, scores = arrays["indices"], arrays["scores"]
    if indices.ndim != 2 or indices.shape != scores.shape or indices.dtype.kind not in "iu":
        raise ValueError(f"arrays of shapes {indices.shape} and {scores.shape}")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise ValueError("indices out of range")
    if not np.isfinite(scores).all() or np.abs(scores).max(initial=0) > 1.0 + 1e-4:
        raise ValueError("scores that are not cosines")
    return Neighbours(indices=indices, scores=scores)


def _cells_arrays(used: cells.Cells) -> dict[str, np.ndarray]:
    return {"centres": used.centres, "probes": np.asarray(used.probes, dtype=np.int64)}


def _read_cells(arrays: dict[str, np.ndarray]) -> cells.Cells:
    """Remembered cells, checked to be some: finite centres of one width and a positive probe count."""
    centres, probes = arrays["centres"], int(arrays["probes"])
    if centres.ndim != 2 or not len(centres) or probes < 1 or not np.isfinite(centres).all():
        raise ValueError(f"centres of shape {centres.shape}, {probes} probes")
    return cells.Cells(centres.astype(np.float32, copy=False), probes)

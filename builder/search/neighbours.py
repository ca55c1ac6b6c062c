"""Nearest neighbours per network: Annoy (what the site publishes) and brute force (to check Annoy).

Features are L2-normalised, so Annoy's angular distance d is the Euclidean distance between unit vectors
and the cosine similarity is cos = 1 - d^2 / 2. (The seed's `1 - d` is not a cosine.)
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from annoy import AnnoyIndex

from builder.cache import atomic_write


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


def annoy_neighbours(
    x: np.ndarray, k: int, settings: AnnoySettings = AnnoySettings(), queries: Sequence[int] | None = None
) -> Neighbours:
    """Index every row of x; row r of the result lists the neighbours of item queries[r] (default: all)."""
    n, dim = x.shape
    k = effective_k(n, k)
    queries = range(n) if queries is None else queries
    index = AnnoyIndex(dim, "angular")
    index.set_seed(settings.seed)
    for i in range(n):
        index.add_item(i, x[i])
    index.build(settings.trees, n_jobs=1)  # one job: a seeded build is then reproducible
    indices = np.zeros((len(queries), k), dtype=np.int64)
    scores = np.zeros((len(queries), k), dtype=np.float32)
    search_k = settings.search_k_for(k)
    for row, i in enumerate(queries):
        ids, dists = index.get_nns_by_item(i, k + 1, search_k=search_k, include_distances=True)
        pairs = [(j, d) for j, d in zip(ids, dists, strict=False) if j != i][:k]
        if len(pairs) < k:  # Annoy may return fewer than asked; search every leaf for this one
            ids, dists = index.get_nns_by_item(i, k + 1, search_k=n * settings.trees * 4, include_distances=True)
            pairs = [(j, d) for j, d in zip(ids, dists, strict=False) if j != i][:k]
        if len(pairs) < k:
            raise RuntimeError(f"Annoy returned {len(pairs)} neighbours for item {i}, expected {k}")
        indices[row] = [j for j, _ in pairs]
        scores[row] = [angular_to_cosine(d) for _, d in pairs]
    return Neighbours(indices, scores)


def exact_neighbours(x: np.ndarray, k: int, block: int = 1024) -> Neighbours:
    """Brute-force cosine kNN, in row blocks so memory stays O(block * n). Ties break by lower index."""
    n = x.shape[0]
    k = effective_k(n, k)
    indices = np.zeros((n, k), dtype=np.int64)
    scores = np.zeros((n, k), dtype=np.float32)
    for start in range(0, n, block):
        sims = x[start : start + block] @ x.T
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf  # never yourself
        order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        indices[start : start + block] = order
        scores[start : start + block] = np.take_along_axis(sims, order, axis=1)
    return Neighbours(indices, scores)


def recall_against(approx: Neighbours, exact: Neighbours) -> float:
    """Mean share of the exact top-k that the approximate top-k also found (Annoy's recall@k)."""
    if approx.k == 0:
        return 1.0
    hits = sum(len(set(a) & set(e)) for a, e in zip(approx.indices.tolist(), exact.indices.tolist(), strict=False))
    return hits / (approx.indices.shape[0] * approx.k)


class NeighbourSearch:
    """Annoy and brute-force search, remembered on disk by what determines their result (the features'
    bytes, k, the settings, the queries), so a rebuild whose features did not change skips both.
    root None: nothing is remembered."""

    def __init__(
        self,
        settings: AnnoySettings = AnnoySettings(),
        root: Path | None = None,
        on_bad: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.root = root
        self.on_bad = on_bad  # told of a damaged entry, which is computed again

    def annoy(self, x: np.ndarray, k: int, queries: Sequence[int] | None = None) -> Neighbours:
        rows = None if queries is None else np.asarray(list(queries), dtype=np.int64)
        key = self._key(x, "annoy", k, self.settings, None if rows is None else rows.tobytes())
        return self._remembered(key, lambda: annoy_neighbours(x, k, self.settings, queries), len(x))

    def exact(self, x: np.ndarray, k: int) -> Neighbours:
        return self._remembered(self._key(x, "exact", k), lambda: exact_neighbours(x, k), len(x))

    @staticmethod
    def _key(x: np.ndarray, *parts: object) -> str:
        h = hashlib.sha256(f"{SEARCH_VERSION}|{x.dtype}|{x.shape}|{parts!r}".encode())
        h.update(np.ascontiguousarray(x).data)
        return h.hexdigest()

    def _remembered(self, key: str, compute: Callable[[], Neighbours], n: int) -> Neighbours:
        """n: the rows the result indexes into, to vet a remembered one."""
        if self.root is None:
            return compute()
        path = self.root / key[:2] / f"{key}.npz"
        if path.is_file():
            try:
                return _read_neighbours(path, n)
            except Exception as exc:  # noqa: BLE001 - zipfile, numpy and EOF errors: any of them means damaged
                if self.on_bad:
                    self.on_bad(f"{path}: damaged cache entry ({type(exc).__name__}: {exc}); computed again")
        found = compute()
        buf = io.BytesIO()
        np.savez(buf, indices=found.indices, scores=found.scores)
        atomic_write(path, buf.getvalue())
        return found


SEARCH_VERSION = "1"  # bump when the search code changes its results


def _read_neighbours(path: Path, n: int) -> Neighbours:
    """A remembered result, checked to be one: two arrays of one (rows, k) shape, indices among the n rows,
    scores finite cosines."""
    with np.load(path, allow_pickle=False) as data:
        indices, scores = data["indices"], data["scores"]
    if indices.ndim != 2 or indices.shape != scores.shape or indices.dtype.kind not in "iu":
        raise ValueError(f"arrays of shapes {indices.shape} and {scores.shape}")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise ValueError("indices out of range")
    if not np.isfinite(scores).all() or np.abs(scores).max(initial=0) > 1.0 + 1e-4:
        raise ValueError("scores that are not cosines")
    return Neighbours(indices=indices, scores=scores)

"""Compact vectors for the search a visitor runs in their own browser (query.html): every item's feature
projected on the collection's leading axes and stored as one signed byte a dimension.

Why this form: the browser must hold every item's vector to rank them. The full features are 1,280 floats
(5 KB) an item, 500 MB at 100,000 images; 128 bytes an item are 13 MB. The axes are the top right-singular
vectors of the feature matrix itself, not centred: cosine similarity is an inner product of unit vectors, and
the uncentred axes are the ones that keep inner products best in the least-squares sense (centring would drop
each item's inner product with the mean, which differs from item to item). Each projected vector is scaled to
unit length again, so a ranking is by cosine in the projected space, and an image of the collection finds
itself at a similarity of 1 but for the rounding. Before rounding, the axes are turned by a seeded random
rotation within the space they span: the leading axes hold very unequal shares of the variance, and a
dimension whose values are mostly small beside a few large ones would keep only a few of its 255 levels;
rotated, every dimension spreads alike (measured on 5,000 OpenClipart drawings' pixel features, the share of
the exact top 10 kept rose from 0.85 to 0.94 with 256 axes; float32 would keep 0.96). Then each dimension is
rounded to 127 steps of its own range. The browser projects its query with the same axes, multiplies it by
the steps, and scores each item by one dot product with its bytes.

How much of the ranking this keeps is measured, not assumed: `compact` ranks sampled items against the whole
collection both ways and reports the share of the exact top-k that the compact ranking also puts in its
top-k; the number of axes is the smallest of AXES_TRIED that reaches the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from builder.search.neighbours import effective_k, exact_neighbours

AXES_TRIED = (32, 64, 128, 256)  # the dimensions tried, smallest first; each a prefix of the next
FIT_ROWS = 20_000  # rows sampled to find the axes: enough for 256 axes, and bounded at any size


@dataclass(frozen=True)
class CompactSettings:
    """What compact vectors depend on besides the features: part of their cache key."""

    recall_target: float = 0.95  # of the exact top-k, on the sampled queries
    k: int = 10
    queries: int = 500
    max_axes: int = AXES_TRIED[-1]
    seed: int = 18

    @property
    def key(self) -> str:
        return f"target={self.recall_target},k={self.k},q={self.queries},max={self.max_axes},seed={self.seed}"


@dataclass
class CompactVectors:
    """axes: (dims, dim) float32, rows orthonormal; steps: (dims,) float32, the value of one unit of a code in
    each dimension; codes: (n, dims) int8. recall: the measured share of the exact top-k kept (queries
    sampled items, each ranked against the whole collection, itself left out)."""

    axes: np.ndarray
    steps: np.ndarray
    codes: np.ndarray
    recall: float
    k: int
    queries: int

    @property
    def dims(self) -> int:
        return int(self.axes.shape[0])

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Every item's similarity to one full-length unit query, exactly as query.js computes it."""
        return self.codes.astype(np.float32) @ query_weights(self.axes, self.steps, query)


def query_weights(axes: np.ndarray, steps: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The query projected, scaled to unit length, times each dimension's step: the weights of the codes."""
    projected = axes @ np.asarray(query, dtype=np.float32)
    norm = float(np.linalg.norm(projected))
    return (projected / (norm or 1.0) * steps).astype(np.float32)


def leading_axes(x: np.ndarray, count: int, seed: int, block: int = 8192) -> np.ndarray:
    """The top `count` right-singular vectors of x (uncentred), from at most FIT_ROWS rows drawn by the seed:
    the eigenvectors of the (dim x dim) Gram matrix, largest first, each sign fixed (its largest coordinate
    positive) so the same features give the same axes."""
    n, dim = x.shape
    rows = np.arange(n) if n <= FIT_ROWS else np.sort(np.random.default_rng(seed).choice(n, FIT_ROWS, replace=False))
    gram = np.zeros((dim, dim))
    for start in range(0, len(rows), block):
        part = np.asarray(x[rows[start : start + block]], dtype=np.float64)
        gram += part.T @ part
    values, vectors = np.linalg.eigh(gram)
    top = vectors[:, np.argsort(-values, kind="stable")[: min(count, dim)]].T
    signs = np.sign(top[np.arange(len(top)), np.abs(top).argmax(axis=1)])
    return (top * signs[:, None]).astype(np.float32)


def spread(axes: np.ndarray, seed: int) -> np.ndarray:
    """The same subspace turned by a seeded random rotation, so that its dimensions share the variance alike
    (rounding each to int8 then loses far less of the ranking); rows stay orthonormal."""
    count = axes.shape[0]
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((count, count)))
    q *= np.sign(np.diag(r))  # the rotation QR's convention would otherwise leave to the library
    return (q.T @ axes.astype(np.float64)).astype(np.float32)


def quantise(x: np.ndarray, axes: np.ndarray, block: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """Each row projected on `axes`, scaled to unit length and rounded to int8 steps of each dimension's
    largest magnitude (so no code is clipped): (steps, codes)."""
    n = x.shape[0]
    unit = np.empty((n, len(axes)), dtype=np.float32)
    for start in range(0, n, block):
        p = np.asarray(x[start : start + block], dtype=np.float32) @ axes.T
        norms = np.linalg.norm(p, axis=1, keepdims=True)
        unit[start : start + block] = p / np.where(norms > 0, norms, 1.0)
    steps = (np.abs(unit).max(axis=0) / 127.0).astype(np.float32)
    steps[steps == 0] = 1.0
    codes = np.clip(np.rint(unit / steps), -127, 127).astype(np.int8)
    return steps, codes


def compact_top_k(axes: np.ndarray, steps: np.ndarray, codes: np.ndarray, x: np.ndarray, rows: Sequence[int],
                  k: int) -> np.ndarray:  # fmt: skip
    """The compact ranking's top k of each of `rows` (queried with its full feature, itself left out)."""
    picked = np.asarray(list(rows), dtype=np.int64)
    projected = np.asarray(x[picked], dtype=np.float32) @ axes.T
    projected /= np.maximum(np.linalg.norm(projected, axis=1, keepdims=True), 1e-12)
    sims = (projected * steps) @ codes.T.astype(np.float32)
    sims[np.arange(len(picked)), picked] = -np.inf
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return np.take_along_axis(top, np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable"), 1)


def kept_share(found: np.ndarray, exact: np.ndarray) -> float:
    """The mean share of each row of `exact` that the same row of `found` also holds."""
    if exact.size == 0:
        return 1.0
    hits = [len(set(f.tolist()) & set(e.tolist())) / exact.shape[1] for f, e in zip(found, exact, strict=True)]
    return float(np.mean(hits))


def compact(x: np.ndarray, settings: CompactSettings = CompactSettings()) -> CompactVectors:
    """The compact vectors of x (unit rows), with as few axes as reach settings.recall_target (at most
    settings.max_axes, and never more than the features have)."""
    n, dim = x.shape
    k = effective_k(n, settings.k)
    tried = [a for a in AXES_TRIED if a < min(dim, settings.max_axes)] + [min(dim, settings.max_axes)]
    axes_all = leading_axes(x, tried[-1], settings.seed)
    rows = (
        np.arange(n)
        if n <= settings.queries
        else np.sort(np.random.default_rng(settings.seed).choice(n, settings.queries, replace=False))
    )
    exact = exact_neighbours(x, k, rows=rows.tolist()).indices if k else np.zeros((len(rows), 0), np.int64)
    for count in tried:
        axes = spread(axes_all[:count], settings.seed)
        steps, codes = quantise(x, axes)
        found = compact_top_k(axes, steps, codes, x, rows.tolist(), k) if k else exact
        recall = kept_share(found, exact)
        if recall >= settings.recall_target or count == tried[-1]:
            return CompactVectors(axes, steps, codes, round(recall, 6), k, len(rows))
    raise AssertionError("unreachable: the last count always returns")

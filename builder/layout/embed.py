"""A 2-D layout of a collection, numpy only: the features' principal plane, refined by a force layout over the
k-nearest-neighbour graph the search stage already found.

Why not umap-learn, which PixPlot uses: it needs numba (and scipy, scikit-learn, pynndescent), whose compiling
costs a fresh machine tens of seconds before the first layout, and it searches the neighbours again, which
the build has already done. This is UMAP's own optimisation (its attraction along the graph's edges and its
repulsion from randomly sampled points, with the curve of min_dist 0.1) written as whole-array steps: every
edge and every sample of an epoch at once, summed per point with bincount. The README's "The map" section
gives the measured times. Everything is seeded and summed in a fixed order, and the result is rounded to the
16-bit grid it is published on, so a rebuild on the same machine gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# UMAP's curve 1 / (1 + a d^2b) for min_dist 0.1, spread 1 (umap.umap_.find_ab_params)
CURVE_A = 1.577
CURVE_B = 0.8951
GRID = 65535  # coordinates are published as 16-bit integers: 0 ... GRID on both axes
COPY_SPREAD = 0.002  # identical images lie this share of the map apart: 1.7 px at zoom 1, 110 px at 64x
GOLDEN_ANGLE = np.pi * (3 - np.sqrt(5))


@dataclass(frozen=True)
class LayoutSettings:
    """What a layout depends on besides its inputs: part of its cache key."""

    epochs: int = 200  # whole-graph steps of the force layout (0: the principal plane alone)
    negatives: int = 5  # random points each point is pushed from, per epoch
    seed: int = 71

    @property
    def key(self) -> str:
        return f"epochs={self.epochs},negatives={self.negatives},seed={self.seed}"


def principal_plane(x: np.ndarray, seed: int, block: int = 8192) -> np.ndarray:
    """The rows of x projected on their two principal axes, by a seeded randomised subspace iteration (three
    passes over x, never a dim x dim matrix): the start of the force layout, which keeps its global shape.
    Each axis' sign is fixed (its largest coordinate positive), so the same features give the same plane."""
    n, dim = x.shape
    if n == 0:
        return np.zeros((0, 2))
    mean = np.zeros(dim)
    for start in range(0, n, block):
        mean += np.asarray(x[start : start + block], dtype=np.float64).sum(axis=0)
    mean /= n
    width = min(dim, 8)
    basis = np.random.default_rng(seed).standard_normal((dim, width))

    def times(m: np.ndarray) -> np.ndarray:  # (x - mean) @ m, in blocks
        out = np.empty((n, m.shape[1]))
        for start in range(0, n, block):
            out[start : start + block] = np.asarray(x[start : start + block], dtype=np.float64) @ m
        return out - mean @ m

    def times_t(y: np.ndarray) -> np.ndarray:  # (x - mean).T @ y, in blocks
        out = np.zeros((dim, y.shape[1]))
        for start in range(0, n, block):
            out += np.asarray(x[start : start + block], dtype=np.float64).T @ y[start : start + block]
        return out - np.outer(mean, y.sum(axis=0))

    for _ in range(2):
        basis, _r = np.linalg.qr(times_t(times(basis)))
    projected = times(basis)
    _u, _s, vt = np.linalg.svd(projected, full_matrices=False)
    plane = projected @ vt[:2].T if vt.shape[0] >= 2 else np.pad(projected @ vt.T, ((0, 0), (0, 2 - vt.shape[0])))
    plane = np.round(plane, 6)  # BLAS' last bits vary with its threads; the start must not
    for axis in range(2):
        column = plane[:, axis]
        if column.size and column[np.argmax(np.abs(column))] < 0:
            plane[:, axis] = -column
    return plane + 0.0  # no negative zeros


def identical_rows(x: np.ndarray, block: int = 2048) -> np.ndarray:
    """Each row's first row of identical features (itself where none comes before it): byte-identical images
    have identical features, and no force can tell such rows apart, so the layout places each set of them
    once. Rows are matched by a seeded 64-bit hash of their 32-bit words (integer arithmetic: the same bits
    for the same row wherever it lies, which a float product is not) and each match is confirmed word for
    word; one pass over x, block by block (0.2 s for 100,000 x 1,280)."""
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    words = x.shape[1] * x.dtype.itemsize // 4
    weights = np.random.default_rng(0).integers(0, 2**63, words, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    hashes = np.empty(n, dtype=np.uint64)
    for start in range(0, n, block):
        hashes[start : start + block] = _words(x[start : start + block]).astype(np.uint64) @ weights
    order = np.argsort(hashes, kind="stable")
    ordered = hashes[order]
    first = np.empty(n, dtype=np.int64)
    first[order] = order[np.searchsorted(ordered, ordered)]  # the lowest index of each hash
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block))
        copies = rows[first[rows] != rows]
        same = (_words(x[copies]) == _words(x[first[copies]])).all(axis=1)
        first[copies[~same]] = copies[~same]  # a hash shared by chance (as good as never): a row of its own
    return first


def _words(rows: np.ndarray) -> np.ndarray:
    """The rows' bytes as 32-bit words (features are float32 or float64)."""
    return np.ascontiguousarray(rows).view(np.uint32)


def graph_edges(indices: np.ndarray, point: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The neighbour lists as undirected edges (i < j), each once: a pair listed both ways is one edge. With
    `point` (each row's point, rows of identical features sharing one), the edges join points: every row's
    list counts for its point, and a point listing itself (a row listing its copy) is no edge."""
    n, k = indices.shape
    heads = np.repeat(np.arange(n, dtype=np.int64), k)
    tails = indices.astype(np.int64).ravel()
    listed = tails >= 0
    heads, tails = heads[listed], tails[listed]
    if point is not None:
        heads, tails = point[heads], point[tails]
    keep = tails != heads
    lo, hi = np.minimum(heads, tails)[keep], np.maximum(heads, tails)[keep]
    pairs = np.unique(lo * n + hi)
    return pairs // n, pairs % n


def force_layout(start: np.ndarray, heads: np.ndarray, tails: np.ndarray, settings: LayoutSettings) -> np.ndarray:
    """UMAP's optimisation as whole-array steps. Each epoch every edge pulls its two ends together and every
    point is pushed from `negatives` random points, each pull and push clipped at 4 as UMAP clips them; a
    point moves by the mean pull over its edges plus the mean push, times a step that falls linearly to 0.
    The mean, not the sum: a point with many edges would otherwise jump further than the curve's scale.
    In float32, as UMAP optimises, and x and y as arrays of their own: gathers and sums of contiguous
    vectors, half the memory traffic of (n, 2) float64 rows (the layout is rounded to 16 bits anyway)."""
    n = len(start)
    if n < 2 or settings.epochs == 0:
        return np.array(start, dtype=np.float64)
    xs, ys = (np.ascontiguousarray(start[:, axis], dtype=np.float32) for axis in range(2))
    rng = np.random.default_rng(settings.seed)
    a, b = np.float32(CURVE_A), np.float32(CURVE_B)
    pull_scale, push_scale = np.float32(-2 * CURVE_A * CURVE_B), np.float32(2 * CURVE_B)
    degree = np.bincount(heads, minlength=n) + np.bincount(tails, minlength=n)
    per_edge = (1.0 / np.maximum(degree, 1)).astype(np.float32)
    sources = np.repeat(np.arange(n), settings.negatives)
    per_push = np.float32(1 / max(settings.negatives, 1))

    def summed(index: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.bincount(index, values, minlength=n).astype(np.float32)

    for epoch in range(settings.epochs):
        step = np.float32(1.0 - epoch / settings.epochs)
        dx, dy = xs[heads] - xs[tails], ys[heads] - ys[tails]
        d2 = np.maximum(dx * dx + dy * dy, np.float32(1e-12))  # one place: pulled by 0 x d = 0
        p = d2**b  # one power per edge: d^(2b - 2) is p / d2
        pull = pull_scale * p / (d2 * (1 + a * p))
        gx, gy = np.clip(pull * dx, -4, 4), np.clip(pull * dy, -4, 4)
        mx = (summed(heads, gx) - summed(tails, gx)) * per_edge
        my = (summed(heads, gy) - summed(tails, gy)) * per_edge
        if settings.negatives:
            others = rng.integers(0, n, size=len(sources))
            dx, dy = xs[sources] - xs[others], ys[sources] - ys[others]
            d2 = dx * dx + dy * dy
            push = push_scale / ((np.float32(0.001) + d2) * (1 + a * d2**b))  # against itself: d = 0, no push
            mx += np.clip(push * dx, -4, 4).reshape(n, -1).sum(axis=1) * per_push
            my += np.clip(push * dy, -4, 4).reshape(n, -1).sum(axis=1) * per_push
        xs += step * mx
        ys += step * my
    return np.stack([xs, ys], axis=1).astype(np.float64)


def to_grid(y: np.ndarray) -> np.ndarray:
    """Coordinates as 16-bit integers, 0 ... GRID, the layout's aspect kept and centred on the shorter axis:
    what the map publishes (4 bytes a point)."""
    if len(y) == 0:
        return np.zeros((0, 2), dtype=np.uint16)
    low, high = y.min(axis=0), y.max(axis=0)
    extent = float((high - low).max()) or 1.0
    offset = (extent - (high - low)) / 2
    grid = np.rint((y - low + offset) / extent * GRID)
    return np.clip(grid, 0, GRID).astype(np.uint16)


def spread_copies(y: np.ndarray, point: np.ndarray) -> np.ndarray:
    """y with the rows that share a point (identical features) set around it as a small sunflower: the first
    on it, its j-th copy sqrt(j) x COPY_SPREAD of the layout's extent away at j golden angles, so that each
    is a point of its own on the map, none on another, yet all of them lie together however many there are."""
    order = np.argsort(point, kind="stable")
    ordered = point[order]
    rank = np.empty(len(point))
    rank[order] = np.arange(len(point)) - np.searchsorted(ordered, ordered)  # 0 for each point's first row
    extent = float((y.max(axis=0) - y.min(axis=0)).max()) if len(y) else 0.0
    radius = COPY_SPREAD * (extent or 1.0) * np.sqrt(rank)
    angle = rank * GOLDEN_ANGLE
    return y + np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)


def layout(x: np.ndarray, indices: np.ndarray, settings: LayoutSettings) -> np.ndarray:
    """(n, 2) uint16 coordinates of the rows of x, whose neighbour lists are `indices` (n, k).

    Rows of identical features are laid out as one point, then spread around it (spread_copies). Laid out
    as rows of their own, they started on one place (but for a jitter) where nothing but the repulsion
    told them apart, and it is strongest there: it drove them most of the curve's width apart, 0.76 units
    for five copies among 14 images, whose whole layout was 2 units across: a third of the map."""
    first = identical_rows(x)
    distinct = np.flatnonzero(first == np.arange(len(x)))
    point = np.searchsorted(distinct, first)  # each row's point: its first identical row's place in distinct
    plane = principal_plane(x, settings.seed)[distinct]
    scale = np.abs(plane).max() if len(plane) else 0.0
    start = plane / scale * 10 if scale > 0 else plane  # UMAP's starting scale: within -10 ... 10
    heads, tails = graph_edges(indices, point)
    placed = force_layout(start, heads, tails, settings)
    return to_grid(spread_copies(placed[point], point))

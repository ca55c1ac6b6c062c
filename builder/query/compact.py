"""Compact vectors for the search a visitor runs in their own browser (query.html): every item's feature
projected on the collection's leading axes and each dimension stored in one byte or half a byte.

Why this form: the browser must hold every item's vector to rank them. The full features are 1,280 floats
(5 KB) an item, 500 MB at 100,000 images; 256 bytes an item are 26 MB. The axes are the top right-singular
vectors of the feature matrix itself, not centred: cosine similarity is an inner product of unit vectors, and
the uncentred axes are the ones that keep inner products best in the least-squares sense (centring would drop
each item's inner product with the mean, which differs from item to item). The axes are then turned by a
seeded random rotation within the space they span, so that every dimension holds a like share of the
variance, and each projected vector is scaled to unit length again.

Each dimension is then rounded to one of 256 values (8 bits) or 16 (4 bits, two dimensions a byte): its own
levels, placed where its values are dense (Lloyd-Max: start at the quantiles, then each level the mean of the
values nearest it), not evenly over its range. Measured on OpenClipart drawings' features (crops and colour
shifts of Debian's openclipart-png), share of the exact top 10 kept with 256 bytes an image: evenly spaced
int8 levels on 256 axes kept 0.887 (pixels, 100,000 images) and 0.908 (efficientnet_lite0, 5,000); Lloyd-Max
levels 0.94 and 0.907 on 256 axes, and 0.94 (efficientnet_lite0) with 4 bits on 512 axes, whose features need
more axes more than finer values. Both forms are tried, and the one kept is measured.

The browser projects its query with the same axes, and scores an item by the cosine between the query and the
item's vector as its levels rebuild it: a table of the query's products with every level, one lookup per byte.

How much of the ranking this keeps is measured, not assumed: `compact` ranks sampled items against the whole
collection both ways and reports the share of the exact top-k that the compact ranking also puts in its
top-k; the form kept is the smallest of FORMS that reaches the target (else the best of the largest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from builder.search.neighbours import Neighbours, effective_k, exact_neighbours, recall_against, top_k

# (axes, bits a dimension), smallest first; the last two are both 256 bytes an item
FORMS = ((32, 8), (64, 8), (128, 8), (256, 8), (512, 4))
FIT_ROWS = 20_000  # rows sampled to find the axes and the levels: bounded at any size
LLOYD_ROUNDS = 20


@dataclass(frozen=True)
class CompactSettings:
    """What compact vectors depend on besides the features: part of their cache key."""

    recall_target: float = 0.95  # of the exact top-k, on the sampled queries
    k: int = 10
    queries: int = 500
    max_bytes: int = 256  # an item's vector at most
    seed: int = 18

    @property
    def key(self) -> str:
        return f"target={self.recall_target},k={self.k},q={self.queries},bytes={self.max_bytes},seed={self.seed}"


@dataclass
class CompactVectors:
    """axes: (dims, dim) float32, rows orthonormal; levels: (dims, 2**bits) float32, each dimension's values,
    ascending; codes: (n, dims * bits / 8) uint8, item i's level of each dimension (4 bits: dimension 2b in
    the low half of byte b, 2b + 1 in the high half). recall: the measured share of the exact top-k kept
    (`queries` sampled items, each ranked against the whole collection, itself left out)."""

    axes: np.ndarray
    levels: np.ndarray
    codes: np.ndarray
    recall: float
    k: int
    queries: int

    @property
    def dims(self) -> int:
        return int(self.axes.shape[0])

    @property
    def bits(self) -> int:
        return int(np.log2(self.levels.shape[1]))

    @property
    def width(self) -> int:
        """Bytes an item's vector takes."""
        return int(self.codes.shape[1])

    def rebuilt(self) -> np.ndarray:
        """Every item's vector as its levels rebuild it, (n, dims) float32."""
        return rebuild(self.levels, self.codes)

    def scores(self, query: np.ndarray) -> np.ndarray:
        """Every item's similarity to one full-length unit query, as query.js computes it."""
        v = self.rebuilt()
        return (v @ projected(self.axes, query)) / np.maximum(np.linalg.norm(v, axis=1), 1e-12)


def projected(axes: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Rows of x (or one vector) projected on the axes and scaled to unit length."""
    p = np.asarray(x, dtype=np.float32) @ axes.T
    norm = np.linalg.norm(p, axis=-1, keepdims=True)
    return (p / np.where(norm > 0, norm, 1.0)).astype(np.float32)


def leading_axes(x: np.ndarray, count: int, seed: int, block: int = 8192) -> np.ndarray:
    """The top `count` right-singular vectors of x (uncentred), from at most FIT_ROWS rows drawn by the seed:
    the eigenvectors of the (dim x dim) Gram matrix, largest first, each sign fixed (its largest coordinate
    positive) so the same features give the same axes; fewer where the features span fewer dimensions."""
    n, dim = x.shape
    rows = np.arange(n) if n <= FIT_ROWS else np.sort(np.random.default_rng(seed).choice(n, FIT_ROWS, replace=False))
    gram = np.zeros((dim, dim))
    for start in range(0, len(rows), block):
        part = np.asarray(x[rows[start : start + block]], dtype=np.float64)
        gram += part.T @ part
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(-values, kind="stable")[: min(count, dim)]
    # only axes the features span: beyond their rank the eigenvectors are arbitrary (the solver's choice)
    spanned = values[order] > 1e-9 * max(float(values.max(initial=0.0)), 1e-300)
    order = order[spanned | (np.arange(len(order)) == 0)]  # one axis at the least, even for all-zero features
    top = vectors[:, order].T
    signs = np.sign(top[np.arange(len(top)), np.abs(top).argmax(axis=1)])
    return (top * signs[:, None]).astype(np.float32)


def spread(axes: np.ndarray, seed: int) -> np.ndarray:
    """The same subspace turned by a seeded random rotation, so that its dimensions share the variance alike
    (rounding each to a few levels then loses far less of the ranking); rows stay orthonormal."""
    count = axes.shape[0]
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((count, count)))
    q *= np.sign(np.diag(r))  # the rotation QR's convention would otherwise leave to the library
    return (q.T @ axes.astype(np.float64)).astype(np.float32)


def lloyd_levels(values: np.ndarray, count: int) -> np.ndarray:
    """`count` levels for one dimension's values (Lloyd-Max in one dimension: start at the quantiles, then
    each level the mean of the values it is nearest to), ascending."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    levels = v[((np.arange(count) + 0.5) / count * len(v)).astype(np.int64)]
    sums = np.concatenate([[0.0], np.cumsum(v)])
    for _ in range(LLOYD_ROUNDS):
        bounds = np.concatenate([[0], np.searchsorted(v, (levels[1:] + levels[:-1]) / 2), [len(v)]])
        counts = np.diff(bounds)
        means = (sums[bounds[1:]] - sums[bounds[:-1]]) / np.maximum(counts, 1)
        levels = np.sort(np.where(counts > 0, means, levels))
    return levels.astype(np.float32)


def quantise(p: np.ndarray, bits: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit rows p (n, dims) as (levels, codes): each dimension's levels fitted on at most FIT_ROWS rows, each
    value coded as its nearest level; 4-bit codes packed two dimensions a byte."""
    n, dims = p.shape
    rows = np.arange(n) if n <= FIT_ROWS else np.random.default_rng(seed).choice(n, FIT_ROWS, replace=False)
    levels = np.stack([lloyd_levels(p[rows, j], 2**bits) for j in range(dims)])
    codes = np.empty((n, dims), dtype=np.uint8)
    for j in range(dims):
        codes[:, j] = np.searchsorted((levels[j, 1:] + levels[j, :-1]) / 2, p[:, j])
    if bits == 4:
        return levels, (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)
    return levels, codes


def rebuild(levels: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The vectors the codes stand for, (n, dims) float32."""
    dims, count = levels.shape
    if count == 16:
        codes = np.stack([codes & 15, codes >> 4], axis=2).reshape(len(codes), dims)
    return levels[np.arange(dims), codes.astype(np.int64)]


def compact_neighbours(v: CompactVectors, x: np.ndarray, rows: Sequence[int], k: int) -> Neighbours:
    """The compact ranking's top k of each of `rows` (queried with its full feature, itself left out), ties by
    lower index as in the page and in exact search."""
    picked = np.asarray(list(rows), dtype=np.int64)
    items = v.rebuilt()
    items /= np.maximum(np.linalg.norm(items, axis=1, keepdims=True), 1e-12)
    sims = projected(v.axes, x[picked]) @ items.T
    sims[np.arange(len(picked)), picked] = -np.inf
    found = top_k(sims, k)
    return Neighbours(found, np.take_along_axis(sims, found, axis=1))


def forms_for(dim: int, max_bytes: int) -> list[tuple[int, int]]:
    """The (axes, bits) of FORMS a dim-dimensional feature allows within max_bytes, fewest bytes first (ties:
    FORMS' order); never more axes than dimensions, 4 bits only on an even number of axes."""
    out: list[tuple[int, int]] = []
    for axes, bits in FORMS:
        form = (min(axes, dim), bits)
        if form[0] * bits <= 8 * max_bytes and (bits == 8 or form[0] % 2 == 0) and form not in out:
            out.append(form)
    return sorted(out, key=lambda f: f[0] * f[1])  # a stable sort: FORMS' order among equals


def compact(x: np.ndarray, settings: CompactSettings = CompactSettings()) -> CompactVectors:
    """The compact vectors of x (unit rows) in the first form of forms_for that keeps settings.recall_target
    of the exact top-k, or else the best of the largest forms tried."""
    n, dim = x.shape
    k = effective_k(n, settings.k)
    axes_all = leading_axes(x, max(a for a, _ in forms_for(dim, settings.max_bytes)), settings.seed)
    forms = forms_for(max(1, len(axes_all)), settings.max_bytes)  # the dimensions the features span
    if k >= n - 1:  # every other item is in every top k: recall tells no form from another; the largest is cheap
        forms = forms[-1:]
    rows = (
        np.arange(n)
        if n <= settings.queries
        else np.sort(np.random.default_rng(settings.seed).choice(n, settings.queries, replace=False))
    )
    exact = exact_neighbours(x, k, rows=rows.tolist())
    tried = []
    for count, bits in forms:
        axes = spread(axes_all[:count], settings.seed)
        levels, codes = quantise(projected(axes, x), bits, settings.seed)
        v = CompactVectors(axes, levels, codes, 1.0, k, len(rows))
        if k:
            v.recall = round(recall_against(compact_neighbours(v, x, rows.tolist(), k), exact), 6)
        if v.recall >= settings.recall_target:
            return v
        tried.append(v)
    largest = max(v.dims * v.bits for v in tried)
    return max((v for v in tried if v.dims * v.bits == largest), key=lambda v: v.recall)

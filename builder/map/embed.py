"""A 2-D layout of a collection, numpy only: t-SNE over the k-nearest-neighbour graph the search stage already
found, started from the features' principal plane.

t-SNE because it keeps each image beside its true neighbours: on the OpenClipart sample, openTSNE kept 0.559 of
each drawing's 10 nearest among its 10 nearest on the map, umap-learn 0.474, and the UMAP-like force layout
this module used to run 0.398 (bench/layout.py; the README's "The map" gives every figure). Why not those
libraries: umap-learn needs numba (and scipy, scikit-learn, pynndescent), whose compiling costs a fresh
machine tens of seconds; openTSNE needs scipy and scikit-learn, and both search the neighbours again, which
the build has already done.

The objective is t-SNE's: affinities uniform over the graph's edges (the symmetrised k-nearest-neighbour
graph, as Böhm, Berens and Kobak's uniform-affinity t-SNE), on the map the kernel w = (1 + d^2 / a)^-a of
Kobak et al.'s "heavy-tailed t-SNE" with a = ALPHA = 2 degrees of freedom: lighter tails than t-SNE's Cauchy
kernel (a = 1). With a = 1 the 100,000 variants of bench/layout.py kept 0.177 of each item's 10 nearest
(umap-learn 0.230); with a = 2, 0.301, and at 2,000 and 5,000 0.540 and 0.685 against 0.556 and 0.678
(README, The map). The
attraction is summed over the edges exactly. The repulsion from every other point is what makes t-SNE cost
n^2; here it is a particle-mesh sum, as FIt-SNE (Linderman et al. 2019) does it: the points are spread onto
a regular grid by cubic Lagrange interpolation, the grid convolved with the kernels by FFT, and the result
interpolated back at the points (a map of fewer than EXACT_BELOW points sums every pair exactly). The
optimisation is openTSNE's: early exaggeration 12 with momentum 0.5 (100 steps), then momentum 0.8,
delta-bar-delta gains, learning rate n / 48, each step at most 5 long. The gradient of point i is
4 sum_j (e p_ij - w_ij / Z) w_ij^(1/a) (y_i - y_j), e the exaggeration, Z the sum of w over all pairs.

Deterministic: no random draws after the seeded principal plane, sums in a fixed order, and the result
rounded to the 16-bit grid it is published on, so a rebuild on the same machine gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EXAGGERATION = 12.0  # openTSNE's early exaggeration: clusters form first, then spread
EARLY_STEPS = 100  # at most this many exaggerated steps (half the epochs where fewer): 250 after them count
ALPHA = 2.0  # the map kernel's degrees of freedom (the module's docstring)
MAX_STEP = 5.0  # openTSNE's max_step_norm: no point jumps further in one step
MESH_SPACING = 0.5  # the grid's spacing in map units (the kernel's scale is 1), while the grid fits in ...
MESH_NODES = 384  # ... this many nodes a side; a larger map spaces them wider
EXACT_BELOW = 300  # fewer points than this are pushed by the exact n^2 sums: faster than the mesh here
GRID = 65535  # coordinates are published as 16-bit integers: 0 ... GRID on both axes
COPY_SPREAD = 0.002  # identical images lie this share of the map apart: 1.7 px at zoom 1, 110 px at 64x
GOLDEN_ANGLE = np.pi * (3 - np.sqrt(5))


@dataclass(frozen=True)
class LayoutSettings:
    """What a layout depends on besides its inputs: part of its cache key."""

    epochs: int = 350  # gradient steps of t-SNE, the first min(100, half) exaggerated (0: the principal plane)
    seed: int = 71  # of the principal plane's randomised start

    @property
    def key(self) -> str:
        return f"tsne-mesh,alpha={ALPHA},epochs={self.epochs},seed={self.seed}"


def principal_plane(x: np.ndarray, seed: int, block: int = 8192) -> np.ndarray:
    """The rows of x projected on their two principal axes, by a seeded randomised subspace iteration (three
    passes over x, never a dim x dim matrix): the start of t-SNE, which keeps its global shape.
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


class Mesh:
    """The repulsion of t-SNE by particle-mesh sums on a grid of g x g nodes `spacing` apart. The kernels'
    transforms depend on the grid alone, so they are kept while the map's extent keeps it (the spacing rises
    in steps of 5% once the map outgrows MESH_NODES nodes, and g in steps of 32)."""

    def __init__(self) -> None:
        self._geometry: tuple[int, float] | None = None
        self._kernels: tuple[np.ndarray, np.ndarray, np.ndarray] = (np.empty(0), np.empty(0), np.empty(0))
        self._own = 1.0

    @staticmethod
    def geometry(extent: float) -> tuple[int, float]:
        """(nodes a side, spacing) of the grid for a map `extent` wide: its points lie 1.5 spacings or more
        inside it, which the cubic stencil's four nodes need."""
        spacing = MESH_SPACING
        if extent / spacing + 4 > MESH_NODES:
            spacing *= 1.05 ** np.ceil(np.log(extent / (MESH_NODES - 4) / spacing) / np.log(1.05))
        return min(MESH_NODES, max(32, int(np.ceil((extent / spacing + 4) / 32)) * 32)), float(spacing)

    def kernels(self, nodes: int, spacing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The transforms of the kernel w(r) = (1 + r^2 / ALPHA)^-ALPHA and of r_x w^(1 + 1/ALPHA),
        r_y w^(1 + 1/ALPHA) at every node offset, on a grid twice as wide (so the circular convolution is the
        linear one)."""
        if self._geometry != (nodes, spacing):
            steps = np.arange(2 * nodes)
            offsets = np.where(steps < nodes, steps, steps - 2 * nodes) * spacing
            dx, dy = np.meshgrid(offsets, offsets)  # dx along the rows' length: x
            w = kernel(dx * dx + dy * dy)
            pushing = w ** (1 + 1 / ALPHA)
            first, along_x, along_y = (np.fft.rfft2(k).astype(np.complex64) for k in (w, pushing * dx, pushing * dy))
            self._kernels = (first, along_x, along_y)
            self._own = _own_share(spacing)
            self._geometry = (nodes, spacing)
        return self._kernels

    def repulsion(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Per point, sum_j w_ij^(1 + 1/ALPHA) (y_i - y_j) over every other point j (w: the kernel), and the
        sum of w over all pairs, Z: the repulsive part of t-SNE's gradient is the first divided by Z."""
        n = len(xs)
        x0, y0 = float(xs.min()), float(ys.min())
        nodes, spacing = self.geometry(max(float(xs.max()) - x0, float(ys.max()) - y0))
        similar, rx, ry = self.kernels(nodes, spacing)
        wide = 2 * nodes
        u, v = (xs - x0) / spacing + 1.5, (ys - y0) / spacing + 1.5
        iu, iv = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
        wu, wv = _cubic(u - iu), _cubic(v - iv)
        corner = (iv - 1) * wide + (iu - 1)
        index = np.concatenate([corner + b * wide + a for b in range(4) for a in range(4)])
        weight = np.concatenate([wv[b] * wu[a] for b in range(4) for a in range(4)])
        charge = np.bincount(index, weight, minlength=wide * wide).reshape(wide, wide).astype(np.float32)
        spectrum = np.fft.rfft2(charge)

        def at_points(transform: np.ndarray) -> np.ndarray:
            field = np.fft.irfft2(spectrum * transform, s=(wide, wide)).ravel()
            return (field[index] * weight).reshape(16, n).sum(axis=0)

        z = float(at_points(similar).sum()) - n * self._own  # less each point's share of itself
        return at_points(rx), at_points(ry), max(z, 1e-12)


def exact_repulsion(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Mesh.repulsion's sums over every pair, exactly (n^2 memory: for small maps)."""
    dx, dy = xs[:, None] - xs[None, :], ys[:, None] - ys[None, :]
    w = kernel(dx * dx + dy * dy)
    np.fill_diagonal(w, 0)
    pushing = w ** (1 + 1 / ALPHA)
    return (pushing * dx).sum(axis=1), (pushing * dy).sum(axis=1), max(float(w.sum()), 1e-12)


def kernel(squared: np.ndarray) -> np.ndarray:
    """The map's similarity of two points squared d^2 apart: (1 + d^2 / ALPHA)^-ALPHA."""
    return (1 + squared / ALPHA) ** -ALPHA


def _own_share(spacing: float, fractions: int = 8) -> float:
    """What a point spread on the grid and read back gets from itself through the kernel: 1 at
    a node, less between nodes the wider the grid is spaced. Its mean over positions in a cell is taken
    from Z, which would otherwise count n of it and, on a widely spaced grid, fall below zero. (Nothing is
    taken from the forces: a point's pushes on itself cancel, the kernel being odd.)"""
    f = (np.arange(fractions) + 0.5) / fractions
    weights = np.stack(_cubic(f), axis=1)  # (fractions, 4)
    offsets = (np.arange(4)[:, None] - np.arange(4)[None, :]) * spacing  # node a - node c along one axis
    w = kernel(offsets[:, :, None, None] ** 2 + offsets[None, None, :, :] ** 2)  # [a, c, b, d]
    per_axis = np.einsum("ia,ic->iac", weights, weights)  # one axis' weight pairs, per fraction
    return float(np.einsum("iac,jbd,acbd->ij", per_axis, per_axis, w).mean())


def _cubic(f: np.ndarray) -> list[np.ndarray]:
    """The cubic Lagrange weights of the nodes at -1, 0, 1, 2 for points a fraction f past node 0."""
    below, at, above, after = f + 1, f, f - 1, f - 2
    return [-at * above * after / 6, below * above * after / 2, -below * at * after / 2, below * at * above / 6]


def tsne(start: np.ndarray, heads: np.ndarray, tails: np.ndarray, settings: LayoutSettings) -> np.ndarray:
    """t-SNE of the graph of edges (heads[e], tails[e]), each of affinity 1 / (2 x edges), from `start`
    rescaled to a standard deviation of 1e-4 (openTSNE's start). The gradient of point i is
    4 (e sum_j p_ij w_ij^(1/ALPHA) (y_i - y_j) - sum_j w_ij^(1 + 1/ALPHA) (y_i - y_j) / Z), e = EXAGGERATION
    early, then 1 (w^(1/ALPHA) = 1 / (1 + d^2 / ALPHA))."""
    n = len(start)
    if n < 2 or settings.epochs == 0 or len(heads) == 0:
        return np.array(start, dtype=np.float64)
    spread = float(np.std(start[:, 0]))
    xs, ys = (np.array(start[:, axis], dtype=np.float64) * (1e-4 / (spread or 1.0)) for axis in range(2))
    affinity = 1 / (2 * len(heads))
    rate = max(50.0, n / EXAGGERATION / 4)
    early = min(EARLY_STEPS, settings.epochs // 2)
    mesh = Mesh()
    moves = [np.zeros(n), np.zeros(n)]
    gains = [np.ones(n), np.ones(n)]
    for epoch in range(settings.epochs):
        exaggeration, momentum = (EXAGGERATION, 0.5) if epoch < early else (1.0, 0.8)
        dx, dy = xs[heads] - xs[tails], ys[heads] - ys[tails]
        pull = affinity / (1 + (dx * dx + dy * dy) / ALPHA)
        push_x, push_y, z = exact_repulsion(xs, ys) if n < EXACT_BELOW else mesh.repulsion(xs, ys)
        steps = []
        for axis, (d, push) in enumerate(((dx, push_x), (dy, push_y))):
            attraction = np.bincount(heads, pull * d, minlength=n) - np.bincount(tails, pull * d, minlength=n)
            gradient = 4 * (exaggeration * attraction - push / z)
            move, gain = moves[axis], gains[axis]
            gain[:] = np.maximum(np.where(np.sign(gradient) == np.sign(move), gain * 0.8, gain + 0.2), 0.01)
            move *= momentum
            move -= rate * gain * gradient
            steps.append(move)
        length = np.hypot(steps[0], steps[1])
        too_long = length > MAX_STEP
        for move in steps:
            move[too_long] *= MAX_STEP / length[too_long]
        xs += steps[0]
        ys += steps[1]
        xs -= xs.mean()
        ys -= ys.mean()
    return np.stack([xs, ys], axis=1)


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
    as rows of their own, they start on one place, where nothing but the repulsion tells them apart: in
    the force layout before t-SNE it drove five copies among 14 images a third of the map apart."""
    first = identical_rows(x)
    distinct = np.flatnonzero(first == np.arange(len(x)))
    point = np.searchsorted(distinct, first)  # each row's point: its first identical row's place in distinct
    start = principal_plane(x, settings.seed)[distinct]
    heads, tails = graph_edges(indices, point)
    placed = tsne(start, heads, tails, settings)
    return to_grid(spread_copies(placed[point], point))

"""The map's hotspots: k-means over a network's layout, numpy only, seeded, each cluster with the member nearest
its centre as its representative.

Why the layout and not the features: a hotspot is a place to jump to on the map, so its members should lie
together there; k-means on the 2-D layout makes compact regions by construction, where clusters of the
features are torn across the map by the layout (bench/map.py measures both: at 100,000 items the median
cluster of the layout holds 90% of its members within 0.12 of the map's side, of the features within 0.31;
the layout's take 0.2 s against 1.8 to 3.4 s, and need no features read, so the cache holds them beside the
layout). It is deterministic: a seeded k-means++ start, Lloyd's steps in float64 with
ties going to the lower cluster, sums by bincount, and the result numbered by size.

A hotspot is a group, not an image: a network gets at most one cluster per MIN_MEMBERS images (so none
where that is fewer than 2: one cluster of everything is no place to go to), and a cluster k-means leaves
with a single member is dropped, that image in no cluster. Without this a collection smaller than the
clusters asked for ([map] clusters, 12 by default) was cut into one "(1 of 1)" cluster per image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ITERATIONS = 100  # Lloyd's steps at most; they stop as soon as no point changes cluster
MIN_MEMBERS = 5  # images per cluster asked for: k is at most n // MIN_MEMBERS
NONE = -1  # the label of an image in no cluster


@dataclass
class Clusters:
    """A network's clusters: each item's cluster (0 the largest; NONE: in none) and each cluster's
    representative item."""

    labels: np.ndarray  # (n,) int32
    representatives: np.ndarray  # (k,) int64: the member nearest its cluster's centre (the lowest index of ties)


def _squared_distances(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(n, k) squared distances, computed per column: no (n, k, dim) temporary."""
    out = np.empty((len(x), len(centres)))
    for c, centre in enumerate(centres):
        diff = x - centre
        out[:, c] = np.einsum("ij,ij->i", diff, diff)
    return out


def _start(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++: each next centre drawn with probability proportional to its squared distance from the
    nearest centre chosen so far."""
    n = len(x)
    centres = np.empty((k, x.shape[1]))
    centres[0] = x[rng.integers(n)]
    nearest = _squared_distances(x, centres[:1])[:, 0]
    for c in range(1, k):
        total = nearest.sum()
        pick = int(rng.integers(n)) if total <= 0 else int(np.searchsorted(np.cumsum(nearest), rng.random() * total))
        centres[c] = x[min(pick, n - 1)]
        nearest = np.minimum(nearest, _squared_distances(x, centres[c : c + 1])[:, 0])
    return centres


def kmeans(x: np.ndarray, k: int, seed: int, iterations: int = ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """(labels (n,), centres (k, dim)) of the rows of x; a cluster left empty keeps its last centre."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    k = min(k, n)
    if k < 1:
        return np.zeros(n, dtype=np.int64), np.zeros((0, x.shape[1]))
    centres = _start(x, k, np.random.default_rng(seed))
    labels = np.full(n, -1, dtype=np.int64)
    for _ in range(iterations):
        fresh = _squared_distances(x, centres).argmin(axis=1)
        if (fresh == labels).all():
            break
        labels = fresh
        counts = np.bincount(labels, minlength=k)
        for axis in range(x.shape[1]):
            sums = np.bincount(labels, x[:, axis], minlength=k)
            centres[:, axis] = np.where(counts > 0, sums / np.maximum(counts, 1), centres[:, axis])
    return labels, centres


def cluster_count(n: int, wanted: int) -> int:
    """How many clusters n images get when `wanted` are asked for: at most one per MIN_MEMBERS images, and
    0 where that leaves fewer than 2."""
    k = min(wanted, n // MIN_MEMBERS)
    return k if k >= 2 else 0


def find_clusters(points: np.ndarray, k: int, seed: int) -> Clusters:
    """At most k clusters (cluster_count's; fewer where one ends empty or with a single member, which is
    dropped) of a layout's grid points, numbered by size, largest first (ties: the one whose first member
    comes first)."""
    x = np.asarray(points, dtype=np.float64)
    k = cluster_count(len(x), k)
    if k == 0:
        return Clusters(np.full(len(x), NONE, dtype=np.int32), np.zeros(0, dtype=np.int64))
    raw, _centres = kmeans(x, k, seed)
    counts = np.bincount(raw, minlength=k)
    used = np.flatnonzero(counts > 1)
    first = np.array([np.flatnonzero(raw == c)[0] for c in used], dtype=np.int64)
    order = used[np.lexsort((first, -counts[used]))]
    renumber = np.full(k, NONE, dtype=np.int64)
    renumber[order] = np.arange(len(order))
    labels = renumber[raw].astype(np.int32)
    return Clusters(labels, representatives(x, labels))


def representatives(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per cluster, the member nearest the members' mean (the lowest index where two are as near)."""
    k = int(labels.max()) + 1 if len(labels) else 0
    out = np.empty(k, dtype=np.int64)
    for c in range(k):
        members = np.flatnonzero(labels == c)
        centre = x[members].mean(axis=0)
        out[c] = members[np.argmin(((x[members] - centre) ** 2).sum(axis=1))]
    return out

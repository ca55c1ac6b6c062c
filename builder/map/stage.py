"""The layout stage: each network's map coordinates, remembered on disk by what determines them.

The key is the features' digest (the search stage's, so the features are not read again), the neighbour
lists' bytes and the settings, so a rebuild that changes nothing reads one small file per network and
computes no layout; a changed image, network or setting makes a new one. The map's clusters (clusters.py) are
remembered beside their layout, by its key, their number and seed: a rebuild that changes nothing runs no
k-means either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from builder.cache import BadEntry, CacheLayout, EntryStore, versioned_key
from builder.collect.collection import Item
from builder.features.stage import NetworkRun
from builder.map.clusters import NONE, Clusters, cluster_count, find_clusters, representatives
from builder.map.embed import LayoutSettings, layout
from builder.progress import Reporter
from builder.search.neighbours import features_digest
from builder.search.results import NetworkResult
from builder.search.stage import searched_vectors

LAYOUT_VERSION = "4"  # bump when embed.py changes its results
CLUSTERS_VERSION = "2"  # bump when clusters.py changes its results


@dataclass
class NetworkLayout:
    """One network's map: row i is item i's (x, y) on the 16-bit grid (embed.GRID)."""

    name: str
    points: np.ndarray  # (n, 2) uint16
    clusters: Clusters | None = None  # None: none asked for ([map] clusters = 0) or too few images for any


def layout_key(features: str, indices: np.ndarray, settings: LayoutSettings) -> str:
    """features: the search stage's features_digest of the matrix laid out, so that a rebuild that finds
    the layout remembered never reads the features (100,000 x 1,280 floats) again."""
    data = np.ascontiguousarray(indices, dtype=np.int64).tobytes()
    return versioned_key(LAYOUT_VERSION, settings.key, features, str(indices.shape), data=data)


def clusters_key(layout: str, k: int, seed: int) -> str:
    """layout: the layout's key; the clusters are a function of its points, their number and the seed."""
    return versioned_key(CLUSTERS_VERSION, layout, f"clusters={k},seed={seed}")


class LayoutCache:
    """Layouts and clusters by key under root (None: nothing remembered), each one array in an EntryStore
    entry; a damaged entry is said and computed again."""

    def __init__(self, root: Path | None, on_bad: Callable[[str], None] | None = None) -> None:
        self.store = EntryStore(root, on_bad)

    def get(self, key: str, n: int) -> np.ndarray | None:
        """A layout: (n, 2) uint16 points."""
        return self._one(key, np.dtype(np.uint16), (n, 2))

    def get_labels(self, key: str, n: int) -> np.ndarray | None:
        """Clusters: (n,) int32 labels, 0 ... k - 1, each used, or NONE."""

        def numbered(labels: np.ndarray) -> None:
            used = np.unique(labels[labels != NONE])
            if (labels < NONE).any() or not np.array_equal(used, np.arange(len(used))):
                raise BadEntry("labels not numbered 0 ... k - 1")

        return self._one(key, np.dtype(np.int32), (n,), numbered)

    def _one(self, key: str, dtype: np.dtype, shape: tuple[int, ...],
             more: Callable[[np.ndarray], None] | None = None) -> np.ndarray | None:  # fmt: skip
        def check(arrays: dict[str, np.ndarray]) -> None:
            array = arrays["array"]
            if array.dtype != dtype or array.shape != shape:
                raise BadEntry(f"{array.dtype} array of shape {array.shape}, expected {dtype} {shape}")
            if more:
                more(array)

        found = self.store.get(key, check)
        return None if found is None else found["array"]

    def put(self, key: str, array: np.ndarray) -> None:
        self.store.put(key, array=array)


def lay_out(
    items: list[Item],
    runs: dict[str, NetworkRun],
    results: list[NetworkResult],
    cache_dir: Path | None,
    reporter: Reporter,
    epochs: int = LayoutSettings.epochs,
    seed: int = LayoutSettings.seed,
    clusters: int = 0,
) -> list[NetworkLayout]:
    """A layout per network of `results`, from its features and its neighbour lists (in items' order), and
    with `clusters` > 0 up to that many clusters of it (the seed's k-means; clusters.cluster_count)."""
    settings = LayoutSettings(epochs=epochs, seed=seed)
    hashes = [i.content_hash for i in items]
    cache = LayoutCache(CacheLayout(cache_dir).layouts if cache_dir is not None else None, reporter.warn)
    layouts = []
    with reporter.task("laying out the map", len(results)) as task:
        for result in results:
            run = runs[result.name]
            indices = result.neighbours.indices
            matrix = partial(searched_vectors, result, run, hashes)  # read only where needed
            key = layout_key(result.features or features_digest(matrix()), indices, settings)
            points = cache.get(key, len(items))
            if points is None:
                points = layout(matrix(), indices, settings)
                cache.put(key, points)
            layouts.append(NetworkLayout(result.name, points, _clusters(cache, key, points, clusters, seed)))
            task.advance()
    return layouts


def _clusters(cache: LayoutCache, layout: str, points: np.ndarray, k: int, seed: int) -> Clusters | None:
    """The layout's clusters, remembered by the layout's key (None: k 0, or too few images for any, as
    cluster_count rules). Only the labels are kept: each representative is found again from them in one
    pass."""
    if cluster_count(len(points), k) == 0:
        return None
    key = clusters_key(layout, k, seed)
    labels = cache.get_labels(key, len(points))
    if labels is None:
        found = find_clusters(points, k, seed)
        cache.put(key, found.labels)
        return found
    return Clusters(labels, representatives(np.asarray(points, dtype=np.float64), labels))

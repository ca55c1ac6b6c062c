"""Feature extraction: preprocessed images in batches through a network, L2-normalised, cached.

A `NetworkRunner` is fed preprocessed inputs one at a time (prepare.py decodes each file once for all
networks), runs full batches as they fill, and writes every vector to the `FeatureStore` as soon as it exists, so an
interrupted build loses at most one batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .backends import load_extractor
from .cache import FeatureStore
from .networks.registry import NetworkSpec


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; an all-zero row stays zero rather than becoming NaN."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


@dataclass
class ExtractStats:
    extracted: int = 0
    cached: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.extracted / self.seconds if self.seconds > 0 else 0.0


@dataclass
class NetworkRunner:
    spec: NetworkSpec
    store: FeatureStore
    load: Callable[[], Callable[[np.ndarray], np.ndarray]]
    batch_size: int = 16
    on_batch: Callable[[int], None] | None = None
    stats: ExtractStats = field(default_factory=ExtractStats)
    _extractor: Callable[[np.ndarray], np.ndarray] | None = None
    _pending: list[tuple[str, np.ndarray]] = field(default_factory=list)

    def needs(self, content_hash: str) -> bool:
        return not self.store.has(content_hash)

    def submit(self, content_hash: str, inputs: np.ndarray) -> None:
        """Queue one preprocessed input; a full batch runs at once."""
        if any(h == content_hash for h, _ in self._pending):
            return  # byte-identical duplicate already queued
        self._pending.append((content_hash, inputs))
        if len(self._pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        if self._extractor is None:
            self._extractor = self.load()  # loaded lazily: a build with nothing to extract loads nothing
        start = time.perf_counter()
        batch = np.stack([x for _, x in self._pending]).astype(np.float32, copy=False)
        features = l2_normalise(self._extractor(batch))
        if features.shape != (len(self._pending), self.spec.dim):
            raise RuntimeError(f"{self.spec.name}: produced {features.shape}, declared dim {self.spec.dim}")
        for (content_hash, _), vector in zip(self._pending, features):
            self.store.put(content_hash, vector)
        self.stats.seconds += time.perf_counter() - start
        self.stats.extracted += len(self._pending)
        if self.on_batch:
            self.on_batch(len(self._pending))
        self._pending.clear()


def load_matrix(store: FeatureStore, hashes: list[str], dim: int) -> np.ndarray:
    """The features of `hashes`, in order, as one (n, dim) float32 matrix."""
    out = np.empty((len(hashes), dim), dtype=np.float32)
    for i, h in enumerate(hashes):
        out[i] = store.get(h)
    return out


def make_runner(
    spec: NetworkSpec,
    cache_dir: Path,
    weights_file: Path | None,
    device: str,
    batch_size: int,
    backend: str = "torch",
) -> NetworkRunner:
    store = FeatureStore(cache_dir, spec.cache_key(weights_file))
    return NetworkRunner(
        spec=spec,
        store=store,
        load=lambda: load_extractor(spec, weights_file, device, backend, cache_dir),
        batch_size=batch_size,
    )

"""Feature extraction: preprocessed images in batches through a network, L2-normalised, cached.

A `NetworkRunner` is fed preprocessed inputs one at a time (prepare.py decodes each file once for all
networks), runs full batches as they fill, and writes every vector to the `FeatureStore` as soon as it exists, so an
interrupted build loses at most one batch. The network is loaded only when the first inputs are in hand (a
build with nothing to extract loads nothing), and those inputs calibrate an int8 model that is not cached yet.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .backends import check_precision, feature_key, load_extractor, onnx_path
from .cache import FeatureStore
from .device import best_device
from .networks.registry import Extractor, NetworkSpec
from .quantize import CALIBRATION_INPUTS


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
    load: Callable[[np.ndarray], Extractor]  # given the first inputs (calibration for int8)
    batch_size: int = 16
    calibration: int = 0  # inputs to collect before the network is loaded
    on_batch: Callable[[int], None] | None = None
    stats: ExtractStats = field(default_factory=ExtractStats)
    _extractor: Extractor | None = None
    _pending: list[tuple[str, np.ndarray]] = field(default_factory=list)
    _submitted: set[str] = field(default_factory=set)

    def needs(self, content_hash: str) -> bool:
        return not self.store.has(content_hash)

    def submit(self, content_hash: str, inputs: np.ndarray) -> None:
        """Queue one preprocessed input; a full batch runs at once."""
        if content_hash in self._submitted:
            return  # a byte-identical file met earlier in this build: one extraction serves both
        self._submitted.add(content_hash)
        self._pending.append((content_hash, inputs))
        wanted = self.batch_size if self._extractor is not None else max(self.batch_size, self.calibration)
        if len(self._pending) >= wanted:
            self.flush()

    def flush(self) -> None:
        """Run everything queued, in batches of at most batch_size."""
        if not self._pending:
            return
        if self._extractor is None:
            self._extractor = self.load(np.stack([x for _, x in self._pending]).astype(np.float32, copy=False))
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), self.batch_size):
            self._run(pending[start : start + self.batch_size])

    def _run(self, chunk: list[tuple[str, np.ndarray]]) -> None:
        assert self._extractor is not None
        start = time.perf_counter()
        batch = np.stack([x for _, x in chunk]).astype(np.float32, copy=False)
        features = l2_normalise(self._extractor(batch))
        if features.shape != (len(chunk), self.spec.dim):
            raise RuntimeError(f"{self.spec.name}: produced {features.shape}, declared dim {self.spec.dim}")
        for (content_hash, _), vector in zip(chunk, features):
            self.store.put(content_hash, vector)
        self.stats.seconds += time.perf_counter() - start
        self.stats.extracted += len(chunk)
        if self.on_batch:
            self.on_batch(len(chunk))


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
    device: str | None,
    batch_size: int,
    backend: str = "torch",
    precision: str = "fp32",
    decode_key: str = "",
) -> NetworkRunner:
    """device None: the best one here (device.py), found when the network is first needed. decode_key: how the images were decoded
    (images.DecodeLimits.key), part of the features' cache key."""
    check_precision(backend, precision)
    key = feature_key(spec, weights_file, precision)
    store = FeatureStore(cache_dir, f"{key}-{decode_key}" if decode_key else key)
    calibration = 0
    if precision == "int8" and spec.direct is None:
        calibration = CALIBRATION_INPUTS
        if not onnx_path(spec, weights_file, cache_dir, precision).is_file():
            # int8 features of a model that is gone, whatever the decoding: a model calibrated anew differs
            FeatureStore.clear_all(cache_dir, key)

    def load(first_inputs: np.ndarray) -> Extractor:
        here = device or ("cpu" if spec.direct is not None else best_device())
        return load_extractor(spec, weights_file, here, backend, cache_dir, precision, first_inputs)

    return NetworkRunner(spec=spec, store=store, load=load, batch_size=batch_size, calibration=calibration)

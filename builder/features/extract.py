"""Feature extraction: preprocessed images in batches through a network, L2-normalised, cached.

A `NetworkRunner` is fed preprocessed inputs one at a time (inputs/prepare.py decodes each file once for all
networks), runs full batches as they fill, and writes every vector to the `FeatureStore` as soon as it exists, so an
interrupted build loses at most one batch. The network is loaded only when the first inputs are in hand (a
build with nothing to extract loads nothing), and those inputs calibrate an int8 model that is not cached yet.
Such a model is checked against fp32 as it is made; where it fails, the runner goes on in fp32, with the fp32
features' store (`NetworkRunner.precision` says what it ran in, and why). Under `--precision auto` the same
inputs first decide the precision and backend (auto_precision.py), once per class of CPU.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from builder.cache import FeatureStore
from builder.features.networks.registry import Extractor, NetworkSpec
from builder.features.runtime import auto_precision
from builder.features.runtime.backends import (
    PrecisionPlan,
    check_precision,
    int8_model_made,
    load_extractor,
    plan_precision,
)
from builder.features.runtime.device import best_device
from builder.features.runtime.model_files import feature_key
from builder.features.runtime.quantize import CALIBRATION_INPUTS
from builder.features.tags import tag_rows, tag_store


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; an all-zero row stays zero rather than becoming NaN."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def features_of(
    extractor: Extractor, spec: NetworkSpec, inputs: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray | None]:
    """One batch of preprocessed inputs through a network: its L2-normalised features, checked against the
    dimension the network declares, and where it tags, its top classes as stored (tags.tag_rows; else None);
    in process and on a Ray worker alike."""
    out = extractor(np.stack(inputs).astype(np.float32, copy=False))
    raw, tags = (out[0], tag_rows(out[1], out[2])) if isinstance(out, tuple) else (out, None)
    features = l2_normalise(raw)
    if features.shape != (len(inputs), spec.dim):
        raise RuntimeError(f"{spec.name}: produced {features.shape}, declared dim {spec.dim}")
    if spec.tags != (tags is not None):
        raise RuntimeError(f"{spec.name}: its model {'lacks' if spec.tags else 'has'} the top classes' outputs")
    return features, tags


@dataclass
class ExtractStats:
    extracted: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.extracted / self.seconds if self.seconds > 0 else 0.0


@dataclass
class NetworkRunner:
    spec: NetworkSpec
    precision: PrecisionPlan
    store_for: Callable[[PrecisionPlan], FeatureStore]  # the feature store of what a plan runs
    tags_for: Callable[[PrecisionPlan], FeatureStore]  # the top classes' store of a plan (a tagging network's)
    load: Callable[[np.ndarray, PrecisionPlan], Extractor]  # (first inputs, which calibrate int8; what to run)
    settle: Callable[[], PrecisionPlan]  # the plan once a pending int8 model or bf16 has been checked
    choose: Callable[[np.ndarray], None] | None = None  # under auto: measures the candidates on the first inputs
    batch_size: int = 16
    calibration: int = 0  # inputs to collect before the network is loaded
    on_batch: Callable[[int], None] | None = None
    stats: ExtractStats = field(default_factory=ExtractStats)
    store: FeatureStore = field(init=False)
    tags: FeatureStore | None = field(init=False)  # a tagging network's top classes (features/tags.py)
    _extractor: Extractor | None = None
    _pending: list[tuple[str, np.ndarray]] = field(default_factory=list)
    _submitted: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._use(self.precision)

    def _use(self, plan: PrecisionPlan) -> None:
        self.store = self.store_for(plan)
        self.tags = self.tags_for(plan) if self.spec.tags else None

    def needs(self, content_hash: str) -> bool:
        return not self.store.valid(content_hash) or (self.tags is not None and not self.tags.valid(content_hash))

    def has(self, content_hash: str) -> bool:
        return self.store.has(content_hash) and (self.tags is None or self.tags.has(content_hash))

    def put(self, content_hash: str, features: np.ndarray, tags: np.ndarray | None) -> None:
        """One image's results; its top classes are written first, so that features present mean both are."""
        if self.tags is not None and tags is not None:
            self.tags.put(content_hash, tags)
        if not self.store.has(content_hash):  # features cached before tags were: extracted again for the tags only
            self.store.put(content_hash, features)

    def pack(self, hashes: list[str]) -> None:
        self.store.pack(hashes)
        if self.tags is not None:
            self.tags.pack(hashes)

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
            self._start(np.stack([x for _, x in self._pending]).astype(np.float32, copy=False))
        pending = [(h, x) for h, x in self._pending if not self.has(h)]  # after a fall-back to fp32
        if self.on_batch and len(pending) < len(self._pending):
            self.on_batch(len(self._pending) - len(pending))
        self._pending = []
        for start in range(0, len(pending), self.batch_size):
            self._run(pending[start : start + self.batch_size])

    def _start(self, first_inputs: np.ndarray) -> None:
        if self.precision.pending and self.choose is not None:  # auto, not yet decided on this class of CPU
            self.choose(first_inputs)
            self.precision = self.settle()
            self._use(self.precision)
        self._extractor = self.load(first_inputs, self.precision)
        if self.precision.pending:
            settled = self.settle()
            if settled.used != self.precision.used:
                self._use(settled)
                self._extractor = self.load(first_inputs, settled)
            self.precision = settled

    def _run(self, chunk: list[tuple[str, np.ndarray]]) -> None:
        assert self._extractor is not None
        start = time.perf_counter()
        features, tags = features_of(self._extractor, self.spec, [x for _, x in chunk])
        for n, (content_hash, _) in enumerate(chunk):
            self.put(content_hash, features[n], None if tags is None else tags[n])
        self.stats.seconds += time.perf_counter() - start
        self.stats.extracted += len(chunk)
        if self.on_batch:
            self.on_batch(len(chunk))


def load_matrix(store: FeatureStore, hashes: list[str], dim: int) -> np.ndarray:
    """The features of `hashes`, in order, as one (n, dim) float32 matrix (read-only: it may be the
    store's memory-mapped pack itself)."""
    x = store.matrix(hashes)
    if x.shape != (len(hashes), dim):
        raise RuntimeError(f"features of shape {x.shape}, expected ({len(hashes)}, {dim})")
    return x


def make_runner(
    spec: NetworkSpec,
    cache_dir: Path,
    weights_file: Path | None,
    batch_size: int,
    backend: str = "torch",
    precision: str = "fp32",
    decode_key: str = "",
    on_bad: Callable[[str], None] | None = None,
) -> NetworkRunner:
    """The network runs on the best device here (device.py), found when it is first needed (or at once for
    bf16 and auto, whose plans depend on it). decode_key: how the images were decoded (images.DecodeLimits.key),
    part of the features' cache key. `precision` is what is asked for; the runner's `precision` is what runs.
    on_bad: told of each damaged cache entry, which is extracted again."""
    check_precision(backend, precision)

    def here() -> str:
        return "cpu" if spec.direct is not None else best_device()

    def key_of(plan: PrecisionPlan) -> str:
        key = feature_key(spec, weights_file, plan.used, backend=plan.backend or backend)
        return f"{key}-{decode_key}" if decode_key else key

    def store_for(plan: PrecisionPlan) -> FeatureStore:
        return FeatureStore(cache_dir, key_of(plan), spec.dim, on_bad)

    def tags_for(plan: PrecisionPlan) -> FeatureStore:
        return tag_store(cache_dir, key_of(plan), on_bad)

    def settle() -> PrecisionPlan:
        if precision == "auto":
            return auto_precision.plan_auto(spec, weights_file, here(), cache_dir, backend)
        device = here() if precision == "bf16" else "cpu"
        return plan_precision(spec, weights_file, precision, device, cache_dir, backend=backend)

    def load(first_inputs: np.ndarray, plan: PrecisionPlan) -> Extractor:
        # a fall-back to fp32 runs on the configured backend too ('auto': ONNX Runtime on a CPU)
        return load_extractor(spec, weights_file, here(), plan.backend or backend, cache_dir, plan.used, first_inputs)

    def choose(first_inputs: np.ndarray) -> None:
        auto_precision.choose(spec, weights_file, cache_dir, first_inputs, batch_size, backend)

    plan = settle()
    if precision in ("int8", "auto") and spec.direct is None and not int8_model_made(spec, weights_file, cache_dir):
        # int8 features (ONNX Runtime's and OpenVINO's, whatever the decoding) of a model that is gone or was
        # never checked: an int8 run calibrates it anew, and it would not reproduce them
        FeatureStore.clear_all(cache_dir, feature_key(spec, weights_file, "int8"))
    return NetworkRunner(
        spec=spec,
        precision=plan,
        store_for=store_for,
        tags_for=tags_for,
        load=load,
        settle=settle,
        choose=choose if precision == "auto" else None,
        batch_size=batch_size,
        calibration=CALIBRATION_INPUTS if plan.pending else 0,
    )

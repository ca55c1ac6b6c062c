"""How a network is run: eager PyTorch, or ONNX Runtime on the network exported once; in fp32, bf16 or int8.

In fp32 both backends give the same features (equal within float rounding), so the feature cache does not
depend on the backend. Reduced precision changes the features a little, so each precision has features of
its own (`feature_key`). bf16 runs in PyTorch (autocast, channels-last), int8 in ONNX Runtime (static
quantization, builder/quantize.py). Exported models are cached under <cache_dir>/models/, keyed like the
features (network, weights, preprocessing, layer, precision), so a network is exported once per configuration.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .networks.registry import Extractor, NetworkSpec

BACKENDS = ("auto", "torch", "onnx")
PRECISIONS = ("fp32", "bf16", "int8")
# The one backend that runs each reduced precision.
_PRECISION_BACKEND = {"bf16": "torch", "int8": "onnx"}
OPSET = 17


def check_precision(backend: str, precision: str) -> None:
    """Refuse a backend/precision pair that cannot run, naming the one that can."""
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision '{precision}' (known: {', '.join(PRECISIONS)})")
    needed = _PRECISION_BACKEND.get(precision)
    if needed and backend not in ("auto", needed):
        raise ConfigError(f"precision {precision} runs on the {needed} backend, not {backend}")


def feature_key(spec: NetworkSpec, weights_file: Path | None, precision: str) -> str:
    """The feature cache key: fp32 features are shared by both backends; a reduced precision has its own.
    A network without a model (the pixel baseline) has no precision."""
    key = spec.cache_key(weights_file)
    return key if precision == "fp32" or spec.direct is not None else f"{key}-{precision}"


def resolve_backend(requested: str, device: str, precision: str = "fp32") -> str:
    """'auto' is ONNX Runtime on the CPU, where bench/extract.py measured it faster than eager PyTorch for
    every network (1.3x for resnet152 to 5.4x for efficientnet_lite0 on a 2-core AVX-512 CPU) with features
    equal within 3e-7 cosine distance; eager PyTorch on a GPU (not measured here) and wherever onnx or
    onnxruntime are missing. A reduced precision decides the backend itself."""
    check_precision(requested, precision)
    if precision in _PRECISION_BACKEND:
        return _PRECISION_BACKEND[precision]
    if requested != "auto":
        return requested
    if device != "cpu":
        return "torch"
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return "torch"
    return "onnx"


class OnnxExtractor:
    """An ONNX Runtime session: the CUDA execution provider when asked for and present, else the CPU."""

    def __init__(self, path: Path, device: str) -> None:
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        self.input = self.session.get_inputs()[0].name

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {self.input: np.ascontiguousarray(batch, dtype=np.float32)})[0]
        return out.reshape(out.shape[0], -1)


def onnx_path(spec: NetworkSpec, weights_file: Path | None, cache_dir: Path, precision: str = "fp32") -> Path:
    return cache_dir / "models" / f"{feature_key(spec, weights_file, precision)}-opset{OPSET}.onnx"


def export_onnx(spec: NetworkSpec, weights_file: Path | None, path: Path) -> Path:
    """Export the network's feature module with a dynamic batch axis; written atomically."""
    import torch

    if spec.build_module is None:
        raise ConfigError(f"{spec.name}: not a torch network, nothing to export")
    module = spec.build_module(weights_file).eval()
    dummy = torch.zeros((1, *spec.preprocess.input_shape), dtype=torch.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on constant folding and deprecations
            torch.onnx.export(
                module, (dummy,), tmp, dynamo=False, opset_version=OPSET, input_names=["input"],
                output_names=["features"], dynamic_axes={"input": {0: "batch"}, "features": {0: "batch"}},
            )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_extractor(
    spec: NetworkSpec,
    weights_file: Path | None,
    device: str,
    backend: str = "torch",
    cache_dir: Path | None = None,
    precision: str = "fp32",
    calibration: np.ndarray | None = None,
) -> Extractor:
    """The network, ready to run on preprocessed batches. `calibration`: preprocessed inputs from the
    collection, used once to quantize an int8 model that is not cached yet."""
    backend = resolve_backend(backend, device, precision)
    if spec.direct is not None:
        return spec.direct
    if spec.build_module is None:
        raise ConfigError(f"{spec.name}: declares neither a module nor a direct extractor")
    if backend == "torch":
        from .networks.torch_runtime import TorchExtractor

        return TorchExtractor(spec.build_module(weights_file), device, bf16=precision == "bf16")
    if backend == "onnx":
        if cache_dir is None:
            raise ConfigError("the onnx backend needs a cache folder for exported models")
        path = onnx_path(spec, weights_file, cache_dir, precision)
        if not path.is_file():
            from .model_worker import make_models  # in a child process: see model_worker.py

            int8 = precision == "int8"
            if int8 and (calibration is None or not len(calibration)):
                raise ConfigError(f"{spec.name}: int8 needs calibration inputs to quantize the model")
            make_models(spec.name, weights_file, onnx_path(spec, weights_file, cache_dir),
                        path if int8 else None, calibration if int8 else None)
        return OnnxExtractor(path, device)
    raise ConfigError(f"unknown backend '{backend}' (known: {', '.join(BACKENDS)})")

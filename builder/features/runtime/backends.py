"""How a network is run: eager PyTorch, or ONNX Runtime or OpenVINO on the network exported once; in fp32, bf16
or int8.

In fp32 every backend gives the same features (equal within float rounding), so the feature cache does not
depend on the backend. Reduced precision changes the features a little, so each precision has features of
its own (`feature_key`); int8 features also depend on the CPU's class of integer kernels (cpu.py), bf16
features on the backend. bf16 runs in PyTorch (autocast, channels-last) or OpenVINO (its CPU plugin's bf16
kernels: openvino_runtime.py), int8 in ONNX Runtime (static quantization, checked against fp32, quantize.py)
or OpenVINO (the same int8 model on its own kernels, checked apart: kernel_check.py).
Exported models are cached under <cache_dir>/models/, keyed like the features (network, weights, preprocessing,
layer, precision), so a network is exported once per configuration.

A reduced precision is a request: `plan_precision` says what a network really runs in, fp32 where the
reduced one would be slow (bf16 emulated) or unfaithful (an int8 model, or a bf16 or OpenVINO int8 run, that
failed its check against fp32: quantize.py, kernel_check.py) here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from builder.errors import ConfigError
from builder.features.networks.registry import Extracted, Extractor, NetworkSpec
from builder.features.runtime import kernel_check, quantize
from builder.features.runtime.cpu import CpuFeatures, cpu_features
from builder.features.runtime.model_files import onnx_path
from builder.features.runtime.threads import Streams, onnx_session_options

BACKENDS = ("auto", "torch", "onnx", "openvino")
PRECISIONS = ("fp32", "bf16", "int8", "auto")  # auto: the fastest faithful one here (auto_precision.py)
# The backends that run each reduced precision, the first the one 'auto' picks.
_PRECISION_BACKENDS = {"bf16": ("torch", "openvino"), "int8": ("onnx", "openvino")}


def check_precision(backend: str, precision: str) -> None:
    """Refuse a backend/precision pair that cannot run, naming those that can."""
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision '{precision}' (known: {', '.join(PRECISIONS)})")
    able = _PRECISION_BACKENDS.get(precision)
    if able and backend not in ("auto", *able):
        raise ConfigError(f"precision {precision} runs on the {' or '.join(able)} backend, not {backend}")


@dataclass(frozen=True)
class PrecisionPlan:
    """The precision a network runs in. `reason`: why it is not the one asked for, or under auto why it was
    chosen, in a phrase; `check`: a reduced precision's figures against fp32 where it passed its check."""

    requested: str
    used: str
    reason: str = ""
    pending: bool = False  # int8 whose model is not made yet; bf16, OpenVINO's int8 or auto not checked here yet
    backend: str = ""  # the backend auto chose; '' under any other precision: the configured one
    check: str = ""

    @property
    def fell_back(self) -> bool:
        return self.requested != "auto" and self.used != self.requested

    def shown(self) -> str:
        """What ran, for the build report: 'bf16', or under auto 'bf16 on openvino (auto)'."""
        return f"{self.used} on {self.backend} (auto)" if self.requested == "auto" else self.used


# bench/extract.py, efficientnet_lite0 on the bundled sample, 2-core AMD EPYC with AVX2 only (no AVX512_BF16),
# two runs: torch bf16 3.5 and 2.8 images/s, torch fp32 18.9 and 19.9, ONNX Runtime fp32 123.6 and 108.6.
_EMULATED_BF16 = "measured 5-7x slower than fp32 on such a CPU"


def plan_precision(
    spec: NetworkSpec,
    weights_file: Path | None,
    requested: str,
    device: str,
    cache_dir: Path,
    cpu: CpuFeatures | None = None,
    backend: str = "auto",
) -> PrecisionPlan:
    """What `spec` runs in when `requested` is asked for on `device` here. int8 is decided by the check
    recorded beside its model (quantize.INT8_TOLERANCE), and on OpenVINO by its own check too; bf16 on a CPU
    by the check of its backend on this class of CPU (kernel_check.py); before either is made it is
    `pending`."""
    cpu = cpu or cpu_features()
    if requested == "fp32" or spec.direct is not None:  # a network without a model has no precision to choose
        return PrecisionPlan("fp32", "fp32")
    if resolve_backend(backend, device, requested) == "openvino":
        device = "cpu"  # OpenVINO runs on the CPU, whatever GPU the machine has
    if requested == "bf16":
        if device == "cpu" and cpu.native_bf16 is False:
            return PrecisionPlan(
                requested,
                "fp32",
                f"bf16 would be emulated on this CPU, which lacks AVX512_BF16 and AMX ({_EMULATED_BF16})",
            )
        if device != "cpu":
            return PrecisionPlan(requested, "bf16")  # a GPU's bf16: not checked here (no GPU measured it)
        return _kernel_plan(spec, weights_file, "bf16", resolve_backend(backend, device, "bf16"), cache_dir, cpu)
    model = onnx_path(spec, weights_file, cache_dir, "int8", cpu)
    check = quantize.read_check(model) if model.is_file() else None
    if check is None:
        return PrecisionPlan(requested, "int8", pending=True)
    failure = check.failure(quantize.INT8_TOLERANCE)
    if failure:
        missing = cpu.missing_for_int8()
        why = f"; this CPU lacks {missing}, without which int8 sums saturate" if missing else ""
        reason = f"int8 failed its check against fp32 on {check.inputs} calibration inputs ({failure}){why}"
        return PrecisionPlan(requested, "fp32", reason)
    if resolve_backend(backend, device, "int8") == "openvino":  # the same model on other kernels: its own check
        return _kernel_plan(spec, weights_file, "int8", "openvino", cache_dir, cpu)
    return PrecisionPlan(requested, "int8", check=check.describe())


def _kernel_plan(spec: NetworkSpec, weights_file: Path | None, precision: str, backend: str, cache_dir: Path,
                 cpu: CpuFeatures) -> PrecisionPlan:  # fmt: skip
    """`precision` on `backend` as its check on this class of CPU (kernel_check.py) says: pending until made."""
    checked = quantize.read_note(kernel_check.note_path(spec, weights_file, cache_dir, precision, backend, cpu))
    if checked is None:
        return PrecisionPlan(precision, precision, pending=True)
    failure = checked.failure(kernel_check.TOLERANCES[precision])
    if failure:
        what = "int8 on openvino" if precision == "int8" else precision  # ONNX Runtime's run of the model passed
        return PrecisionPlan(precision, "fp32", f"{what} failed its check against fp32 on {checked.inputs} "
                             f"calibration inputs here ({failure})")  # fmt: skip
    return PrecisionPlan(precision, precision, check=checked.describe())


def resolve_backend(requested: str, device: str, precision: str = "fp32") -> str:
    """'auto' is ONNX Runtime on the CPU, where bench/extract.py measured it faster than eager PyTorch for
    every network (1.3x for resnet152 to 5.4x for efficientnet_lite0 on a 2-core AVX-512 CPU) with features
    equal within 3e-7 cosine distance; eager PyTorch on a GPU (not measured here) and wherever onnx or
    onnxruntime are missing. Under auto a reduced precision runs on its first backend (_PRECISION_BACKENDS)."""
    check_precision(requested, precision)
    if requested != "auto":
        return requested
    if precision in _PRECISION_BACKENDS:
        return _PRECISION_BACKENDS[precision][0]
    if device != "cpu":
        return "torch"
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return "torch"
    return "onnx"


def _run_session(session: Any, input_name: str, part: np.ndarray) -> list[np.ndarray]:
    return session.run(None, {input_name: part})


class OnnxExtractor:
    """An ONNX Runtime session: the CUDA execution provider when asked for and present, else the CPU."""

    def __init__(self, path: Path, device: str) -> None:
        import onnxruntime as ort

        providers = ["CPUExecutionProvider"]
        if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        options = onnx_session_options()  # one thread a stream, never spinning (threads.py)
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        # the runner holds the session, not this extractor: an extractor dropped frees its model at once,
        # with no cycle (extractor -> streams -> bound method -> extractor) left for the garbage collector
        self._run = partial(_run_session, session, session.get_inputs()[0].name)
        # on a GPU the provider has the batch whole; on the CPU, streams of one thread each
        self.streams = Streams(self._run) if providers[0] == "CPUExecutionProvider" else None

    def __call__(self, batch: np.ndarray) -> Extracted:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        out = self.streams(batch) if self.streams is not None else self._run(batch)
        features = out[0].reshape(out[0].shape[0], -1)
        if len(out) == 3:  # a tagging network's model: its top classes too (model_files.export_onnx)
            return features, out[1], out[2]
        return features


def precision_outlook(cpu: CpuFeatures | None = None) -> list[tuple[str, str]]:
    """Each precision and what it will be on this CPU, for `vsis networks`."""
    cpu = cpu or cpu_features()
    kept = quantize.LEADING_FP32.get(cpu.int8_kernel, 0)
    if cpu.native_bf16 is False:
        bf16 = f"emulated here (no AVX512_BF16 or AMX), {_EMULATED_BF16}: a CPU build runs fp32 instead"
    elif cpu.native_bf16:
        bf16 = "native here: fast, features within about 1e-3 cosine distance of fp32"
    else:
        bf16 = "CPU features unknown here: taken as asked"
    if cpu.has("VNNI"):
        int8 = "VNNI here: fast; each model is checked against fp32 when it is made (on OpenVINO, again on its kernels)"
    elif kept:
        int8 = (
            f"no VNNI here, so 16-bit sums would saturate: the first {kept} weighted layers stay fp32; each "
            "model is checked against fp32 when it is made, and fp32 is used where it fails"
        )
    else:
        int8 = "each model is checked against fp32 when it is made, and fp32 is used where it fails"
    return [("fp32", "the reference: ONNX Runtime on a CPU, PyTorch on a GPU"), ("bf16", bf16), ("int8", int8)]


def _pair(spec: NetworkSpec, weights_file: Path | None, device: str, backend: str, cache_dir: Path,
          precision: str) -> tuple[Extractor, Extractor]:  # fmt: skip
    """The network in fp32 and in `precision` on `backend`, for its check (one module shared by torch's two;
    an int8 model already made)."""
    if backend == "torch":
        from builder.features.runtime.torch_runtime import TorchExtractor

        module = spec.build_module(weights_file) if spec.build_module else None
        if module is None:
            raise ConfigError(f"{spec.name}: declares no module")
        return TorchExtractor(module, device), TorchExtractor(module, device, bf16=True)
    return (load_extractor(spec, weights_file, device, backend, cache_dir),
            load_extractor(spec, weights_file, device, backend, cache_dir, precision))  # fmt: skip


def int8_model_made(spec: NetworkSpec, weights_file: Path | None, cache_dir: Path) -> bool:
    """Whether `spec`'s int8 model for this CPU's integer kernels is made and checked (quantize.py); where it is
    not, the next int8 run makes it anew."""
    path = onnx_path(spec, weights_file, cache_dir, "int8")
    return path.is_file() and quantize.read_check(path) is not None


def _onnx_model(spec: NetworkSpec, weights_file: Path | None, cache_dir: Path, precision: str,
                calibration: np.ndarray | None) -> Path:  # fmt: skip
    """The exported model `precision` runs (int8's own, every other precision the fp32 one), made if it is not
    cached yet: exported, and for int8 quantized on `calibration` and checked."""
    int8 = precision == "int8"
    path = onnx_path(spec, weights_file, cache_dir, "int8" if int8 else "fp32")
    if not (int8_model_made(spec, weights_file, cache_dir) if int8 else path.is_file()):
        from builder.features.runtime.model_worker import make_models  # in a child process: see model_worker.py

        if int8 and (calibration is None or not len(calibration)):
            raise ConfigError(f"{spec.name}: int8 needs calibration inputs to quantize the model")
        if int8:
            kernel_check.forget_int8(spec, weights_file, cache_dir, cpu_features())  # verdicts on the old model
        fp32 = onnx_path(spec, weights_file, cache_dir)
        make_models(spec, weights_file, fp32, path if int8 else None, calibration if int8 else None)
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
    collection, used once to quantize an int8 model that is not cached yet, or to check bf16 (or int8 on
    OpenVINO) against fp32 on a class of CPU where it was not checked yet (kernel_check.py)."""
    backend = resolve_backend(backend, device, precision)
    if spec.direct is not None:
        return spec.direct
    if spec.build_module is None:
        raise ConfigError(f"{spec.name}: declares neither a module nor a direct extractor")
    checked = kernel_check.needs_check(precision, backend, device)
    if checked and calibration is not None and len(calibration) and cache_dir:
        note = kernel_check.note_path(spec, weights_file, cache_dir, precision, backend, cpu_features())
        if quantize.read_note(note) is None:  # the first run on this class of CPU: checked against fp32
            made = _onnx_model(spec, weights_file, cache_dir, "int8", calibration) if precision == "int8" else None
            model_check = quantize.read_check(made) if made else None
            if model_check is None or not model_check.failure(quantize.INT8_TOLERANCE):  # else fp32 runs anyway
                fp32, reduced = _pair(spec, weights_file, device, backend, cache_dir, precision)
                kernel_check.check_against_fp32(fp32, reduced, calibration, precision, cpu_features(), note)
                return reduced
    if backend == "torch":
        from builder.features.runtime.torch_runtime import TorchExtractor

        return TorchExtractor(spec.build_module(weights_file), device, bf16=precision == "bf16")
    if backend == "openvino":
        from builder.features.runtime import openvino_runtime

        if not openvino_runtime.available():
            raise ConfigError("the openvino backend needs OpenVINO: pip install 'vsis[openvino]'")
        if cache_dir is None:
            raise ConfigError("the openvino backend needs a cache folder for exported models")
        # bf16: the fp32 model on OpenVINO's own bf16 kernels; int8: ONNX Runtime's int8 model on its int8 ones
        path = _onnx_model(spec, weights_file, cache_dir, precision, calibration)
        return openvino_runtime.OpenVinoExtractor(path, precision)
    if backend == "onnx":
        if cache_dir is None:
            raise ConfigError("the onnx backend needs a cache folder for exported models")
        return OnnxExtractor(_onnx_model(spec, weights_file, cache_dir, precision, calibration), device)
    raise ConfigError(f"unknown backend '{backend}' (known: {', '.join(BACKENDS)})")

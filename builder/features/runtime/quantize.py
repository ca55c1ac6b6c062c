"""int8 models: an exported fp32 ONNX model quantized statically by ONNX Runtime, then checked against it.

Static quantization needs activation ranges, measured on real inputs: the first images a build extracts
(`CALIBRATION_INPUTS` of them, in collection order, so the same inputs give the same model). The model is then
cached, and the int8 features in the cache belong to it: extract.make_runner drops int8 features whose model
is gone, because a model calibrated anew would not reproduce them exactly.

Weights are quantized per channel (int8), activations per tensor (uint8), in QDQ form, which ONNX Runtime
fuses into integer kernels. How faithful those kernels are depends on the CPU (cpu.py): without VNNI
they add products in 16 bits, which saturate where activations are large. On efficientnet_lite0 the loss is in
the first layers (quantized alone, the stem convolution moved the features by 0.24 cosine distance, the next
depthwise convolution by 0.08, no layer after the fourth by more than 0.003), so on such a CPU the first
`LEADING_FP32[kernel]` weighted layers stay in fp32: 0.007 mean cosine distance from fp32 on the sample (0.20
with every layer in int8, 0.08 with 7-bit weights, 0.009 with uint8 weights but 6x slower than fp32; symmetric
int8 activations 0.34). Whatever the recipe, every int8 model is run beside its fp32 model on the calibration
inputs as soon as it is made (`check_int8`), and the figures are kept in the JSON note beside it; the build
uses the int8 model only where they are within `INT8_TOLERANCE`, and fp32 otherwise (backends.py,
`plan_precision`). bench/extract.py measures speed and how many of the fp32 neighbours survive on a whole
collection."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from builder.cache import atomic_write
from builder.features.runtime.cpu import CpuFeatures

CALIBRATION_INPUTS = 64
# Per class of integer kernels (cpu.CpuFeatures.int8_kernel): how many of the first weighted layers stay fp32.
LEADING_FP32 = {"x86-novnni": 4}
_WEIGHTED = ("Conv", "ConvTranspose", "Gemm", "MatMul")
_EXACT = ("Softmax", "TopK")
_CALIBRATION_BATCH = 8
_CHECK_K = 5


@dataclass(frozen=True)
class Tolerance:
    """How far int8 features may be from fp32's on the calibration inputs. With VNNI, efficientnet_lite0
    measured a mean cosine distance of about 0.02 and a recall@5 of 0.9; without it (saturating kernels)
    0.20 and 0.65, and 0.08 and 0.75 with 7-bit weights (reduce_range): the line lies between."""

    max_mean_distance: float = 0.04
    min_recall: float = 0.8


INT8_TOLERANCE = Tolerance()


@dataclass(frozen=True)
class PrecisionCheck:
    """A reduced precision (int8 here; bf16, and int8 on OpenVINO: kernel_check.py) against fp32 on the
    calibration inputs: the mean cosine distance between an input's two features, and recall@k, the share of
    each input's k nearest (among the calibration inputs) by fp32 features that the reduced ones also find.
    `cpu`: the CPU that measured it (cpu.CpuFeatures.summary)."""

    inputs: int
    mean_distance: float
    recall: float
    k: int
    cpu: str

    def failure(self, tolerance: Tolerance) -> str:
        """'' when within `tolerance`; otherwise what is out of it, in words."""
        out = []
        if not self.mean_distance <= tolerance.max_mean_distance:
            out.append(
                f"mean cosine distance {self.mean_distance:.3f} from fp32 (at most "
                f"{tolerance.max_mean_distance:g} allowed)"
            )
        if self.k and not self.recall >= tolerance.min_recall:
            out.append(f"recall@{self.k} {self.recall:.2f} of the fp32 neighbours (at least {tolerance.min_recall:g})")
        return "; ".join(out)

    def describe(self) -> str:
        recall = f", recall@{self.k} {self.recall:.2f}" if self.k else ""
        return f"mean cosine distance {self.mean_distance:.3f}{recall} on {self.inputs} calibration inputs"


def check_path(model: Path) -> Path:
    """The JSON note beside an int8 model: how it was made and its check."""
    return model.with_suffix(".json")


def read_check(model: Path) -> PrecisionCheck | None:
    """The check recorded beside `model`; None when there is none or it cannot be read (the model is then
    made and checked again)."""
    return read_note(check_path(model))


def read_note(note: Path) -> PrecisionCheck | None:
    """The check a JSON note records (its "check"); None when there is none or it cannot be read."""
    try:
        return PrecisionCheck(**json.loads(note.read_text())["check"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def quantize_int8(fp32_model: Path, out: Path, calibration: np.ndarray, cpu: CpuFeatures) -> PrecisionCheck:
    """Write the int8 model for `fp32_model` to `out` (atomically), calibrated on `calibration` (a float32
    batch of preprocessed inputs) for this `cpu`'s integer kernels; check it against fp32 on the same inputs,
    and write a JSON note beside it that records how it was made and the check (last, so that a model with
    a note has been checked)."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    samples = np.ascontiguousarray(calibration, dtype=np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self, input_name: str) -> None:
            self.batches = iter(
                {input_name: samples[i : i + _CALIBRATION_BATCH]} for i in range(0, len(samples), _CALIBRATION_BATCH)
            )

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    out.parent.mkdir(parents=True, exist_ok=True)
    check_path(out).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".quantize-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quantized = Path(tmp) / "int8.onnx"
        quant_pre_process(str(fp32_model), str(prepared))  # shape inference and graph clean-up first
        nodes = onnx.load(str(prepared)).graph.node
        weighted = [n.name for n in nodes if n.op_type in _WEIGHTED]
        kept = weighted[: LEADING_FP32.get(cpu.int8_kernel, 0)]  # graph order is topological order
        # a tagging model's scores, softmax and top classes stay fp32: quantized to 8 bits, the classes' scores
        # would tie and reorder
        scores = {n.input[0] for n in nodes if n.op_type == "Softmax"}
        exact = [n.name for n in nodes if n.op_type in _EXACT or scores.intersection(n.output)]
        quantize_static(
            str(prepared),
            str(quantized),
            Reader("input"),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=kept + exact,
        )
        os.replace(quantized, out)
    check = check_int8(fp32_model, out, samples, cpu.summary())
    note = {
        "from": fp32_model.name,
        "calibration_inputs": int(len(samples)),
        "method": "static, QDQ, MinMax",
        "weights": "int8 per channel",
        "activations": "uint8 per tensor",
        "kept_in_fp32": kept,
        "check": asdict(check),
    }
    atomic_write(check_path(out), (json.dumps(note, indent=2) + "\n").encode())
    return check


def check_int8(fp32_model: Path, int8_model: Path, inputs: np.ndarray, cpu: str) -> PrecisionCheck:
    """Run both models on `inputs` and compare their L2-normalised features."""
    reference, reduced = (_unit_features(model, inputs) for model in (fp32_model, int8_model))
    return compare_features(reference, reduced, cpu)


def compare_features(reference: np.ndarray, reduced: np.ndarray, cpu: str) -> PrecisionCheck:
    """The check of `reduced` features against fp32's `reference` (rows of unit length, one an input)."""
    distance = 1.0 - np.sum(reference * reduced, axis=1)
    k = min(_CHECK_K, len(reference) - 1)
    recall = (
        float(
            np.mean([len(set(a) & set(b)) / k for a, b in zip(_top_k(reduced, k), _top_k(reference, k), strict=False)])
        )
        if k > 0
        else 1.0
    )
    return PrecisionCheck(int(len(reference)), float(distance.mean()), recall, max(k, 0), cpu)


def _unit_features(model: Path, inputs: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return unit_features(lambda batch: session.run(None, {name: batch})[0], inputs)


def unit_features(run: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray) -> np.ndarray:
    """`run`'s features of `inputs`, CALIBRATION_BATCH at a time, as float64 rows of unit length (a check's
    two sides: int8 here, the others in kernel_check.py)."""
    parts = []
    for i in range(0, len(inputs), _CALIBRATION_BATCH):
        batch = np.ascontiguousarray(inputs[i : i + _CALIBRATION_BATCH], dtype=np.float32)
        parts.append(np.asarray(run(batch), dtype=np.float64).reshape(len(batch), -1))
    out = np.concatenate(parts)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


def _top_k(x: np.ndarray, k: int) -> np.ndarray:
    """Each row's k most similar other rows (by dot product); ties broken by index, as exact search does."""
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]

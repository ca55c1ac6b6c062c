"""int8 models: an exported fp32 ONNX model quantized statically by ONNX Runtime.

Static quantization needs activation ranges, measured on real inputs: the first images a build extracts
(`CALIBRATION_INPUTS` of them, in collection order, so the same inputs give the same model). The model is
then cached, and the int8 features in the cache belong to it: extract.make_runner drops int8 features whose
model is gone, because a model calibrated anew would not reproduce them exactly.

Weights are quantized per channel (int8), activations per tensor (uint8), in QDQ form, which ONNX Runtime
fuses into integer kernels (AVX-512 VNNI where the CPU has it). bench/extract.py measures speed and how
many of the fp32 neighbours survive.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

CALIBRATION_INPUTS = 64
_CALIBRATION_BATCH = 8


def quantize_int8(fp32_model: Path, out: Path, calibration: np.ndarray) -> Path:
    """Write the int8 model for `fp32_model` to `out` (atomically), calibrated on `calibration`
    (a float32 batch of preprocessed inputs); a JSON note beside it records how."""
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
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".quantize-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quantized = Path(tmp) / "int8.onnx"
        quant_pre_process(str(fp32_model), str(prepared))  # shape inference and graph clean-up first
        quantize_static(
            str(prepared),
            str(quantized),
            Reader("input"),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        os.replace(quantized, out)
    note = {"from": fp32_model.name, "calibration_inputs": int(len(samples)), "method": "static, QDQ, MinMax",
            "weights": "int8 per channel", "activations": "uint8 per tensor"}
    out.with_suffix(".json").write_text(json.dumps(note, indent=2) + "\n")
    return out

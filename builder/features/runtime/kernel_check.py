"""A reduced precision as a backend's kernels run it on this class of CPU, checked against fp32 before use.

bf16 keeps fp32's range with 8 bits of mantissa; the runtimes multiply in bf16 and sum in fp32, so features
usually land within about 1e-3 cosine distance of fp32's (efficientnet_lite0, torch autocast), but nothing
promises it for every network and kernel. So, as an int8 model is when it is made (quantize.py), a network's
bf16 is run beside its fp32 on the first CALIBRATION_INPUTS images of the build the first time it is asked for
on a class of CPU (the kernels differ between AMX tiles and AVX512_BF16 instructions).

int8 on OpenVINO is checked the same way: it runs the int8 model ONNX Runtime's quantization made (and checked
in ONNX Runtime), but with kernels of its own (AMX's int8 tiles where the CPU has them), whose features are not
ONNX Runtime's (bench/extract.py: efficientnet_lite0's int8 kept 0.870 of fp32's neighbours on OpenVINO, 0.865
on ONNX Runtime), so its verdict is its own.

The figures are kept in a JSON note in the cache's models folder, named by the reduced features and the CPU's
class (`kernel_class`). A build uses the reduced precision only where the note is within its tolerance
(`TOLERANCES`), and fp32 otherwise, saying why (backends.plan_precision). An int8 model made again (its file
gone, or a new way of exporting) takes OpenVINO's verdicts on the old one with it (`forget_int8`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from builder.cache import CacheLayout, atomic_write
from builder.features.networks.registry import Extractor, NetworkSpec
from builder.features.runtime.cpu import CpuFeatures
from builder.features.runtime.model_files import feature_key
from builder.features.runtime.quantize import INT8_TOLERANCE, PrecisionCheck, Tolerance, compare_features, unit_features

# Tighter than int8's (0.04, 0.8): bf16 that is not near fp32 is broken, not merely coarse. torch bf16 measured
# recall@10 0.965 (efficientnet_lite0) and 0.985 (vgg16) on whole collections (issue 31).
BF16_TOLERANCE = Tolerance(max_mean_distance=0.01, min_recall=0.85)
TOLERANCES = {"bf16": BF16_TOLERANCE, "int8": INT8_TOLERANCE}


def kernel_class(precision: str, cpu: CpuFeatures) -> str:
    """The class of CPU a check of `precision` holds for: bf16's kernels for bf16, both kinds for int8."""
    return cpu.bf16_kernel if precision == "bf16" else cpu.kernel_class


def needs_check(precision: str, backend: str, device: str) -> bool:
    """Whether `precision` on `backend` is checked by a note of this module: bf16 on a CPU, and int8 on
    OpenVINO, which runs on the CPU whatever GPU the machine has (ONNX Runtime's int8 is checked when its
    model is made: quantize.py)."""
    on_cpu = device == "cpu" or backend == "openvino"
    return on_cpu and (precision == "bf16" or (precision, backend) == ("int8", "openvino"))


def note_path(spec: NetworkSpec, weights_file: Path | None, cache_dir: Path, precision: str, backend: str,
              cpu: CpuFeatures) -> Path:  # fmt: skip
    """Where the check of `spec` in `precision` on `backend` on this class of CPU is kept."""
    key = feature_key(spec, weights_file, precision, cpu, backend=backend)
    return CacheLayout(cache_dir).model(f"{key}-check-{kernel_class(precision, cpu)}.json")


def forget_int8(spec: NetworkSpec, weights_file: Path | None, cache_dir: Path, cpu: CpuFeatures) -> None:
    """Drop OpenVINO's checks of `spec`'s int8 model for this CPU's integer kernels, made on any class of CPU
    that shares the model: the model is being made again, and their verdicts were on the old one."""
    model_key = feature_key(spec, weights_file, "int8", cpu)  # OpenVINO's int8 keys start with the model's
    for old in CacheLayout(cache_dir).model(model_key).parent.glob(f"{model_key}-openvino-*-check-*.json"):
        old.unlink(missing_ok=True)


def check_against_fp32(fp32: Extractor, reduced: Extractor, inputs: np.ndarray, precision: str, cpu: CpuFeatures,
                       note: Path) -> PrecisionCheck:  # fmt: skip
    """Run both on `inputs`, compare their unit features, and keep the figures in `note` (atomically)."""

    def unit(extractor: Extractor) -> np.ndarray:
        def features(batch: np.ndarray) -> np.ndarray:
            out = extractor(batch)
            return out[0] if isinstance(out, tuple) else out  # a tagging network's top classes aside

        return unit_features(features, inputs)

    check = compare_features(unit(fp32), unit(reduced), cpu.summary())
    body = {"precision": precision, "cpu_class": kernel_class(precision, cpu), "check": check.__dict__}
    atomic_write(note, (json.dumps(body, indent=2) + "\n").encode())
    return check

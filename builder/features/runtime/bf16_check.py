"""bf16 checked as int8 is: used only where this CPU computes it natively and its features stay near fp32's.

bf16 keeps fp32's range with 8 bits of mantissa; the runtimes multiply in bf16 and sum in fp32, so features
usually land within about 1e-3 cosine distance of fp32's (efficientnet_lite0, torch autocast), but nothing
promises it for every network and kernel. So, as an int8 model is (quantize.py), a network's bf16 is run beside
its fp32 on the first CALIBRATION_INPUTS images of the build the first time it is asked for on a class of CPU
(the kernels differ between AMX tiles and AVX512_BF16 instructions), and the figures are kept in a JSON note in
the cache's models folder, named by the network's bf16 features and the CPU's class. A build uses bf16 only
where the note is within BF16_TOLERANCE, and fp32 otherwise, saying why (backends.plan_precision).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from builder.cache import CacheLayout, atomic_write
from builder.features.networks.registry import Extractor, NetworkSpec
from builder.features.runtime.cpu import CpuFeatures
from builder.features.runtime.model_files import feature_key
from builder.features.runtime.quantize import PrecisionCheck, Tolerance, compare_features, unit_features

# Tighter than int8's (0.04, 0.8): bf16 that is not near fp32 is broken, not merely coarse. torch bf16 measured
# recall@10 0.965 (efficientnet_lite0) and 0.985 (vgg16) on whole collections (issue 31).
BF16_TOLERANCE = Tolerance(max_mean_distance=0.01, min_recall=0.85)


def bf16_class(cpu: CpuFeatures) -> str:
    """The class of bf16 kernels this CPU runs: AMX tiles, AVX512_BF16 instructions, or its architecture."""
    if not cpu.x86:
        return cpu.machine.lower() or "unknown"
    return "x86-amx" if cpu.has("AMX") else "x86-avx512bf16" if cpu.has("BF16") else "x86-nobf16"


def note_path(spec: NetworkSpec, weights_file: Path | None, cache_dir: Path, backend: str, cpu: CpuFeatures) -> Path:
    """Where the check of `spec`'s bf16 on `backend` on this class of CPU is kept."""
    key = feature_key(spec, weights_file, "bf16", backend=backend)
    return CacheLayout(cache_dir).model(f"{key}-check-{bf16_class(cpu)}.json")


def check_bf16(fp32: Extractor, bf16: Extractor, inputs: np.ndarray, cpu: CpuFeatures, note: Path) -> PrecisionCheck:
    """Run both on `inputs`, compare their unit features, and keep the figures in `note` (atomically)."""

    def unit(extractor: Extractor) -> np.ndarray:
        def features(batch: np.ndarray) -> np.ndarray:
            out = extractor(batch)
            return out[0] if isinstance(out, tuple) else out  # a tagging network's top classes aside

        return unit_features(features, inputs)

    check = compare_features(unit(fp32), unit(bf16), cpu.summary())
    body = {"precision": "bf16", "cpu_class": bf16_class(cpu), "check": check.__dict__}
    atomic_write(note, (json.dumps(body, indent=2) + "\n").encode())
    return check

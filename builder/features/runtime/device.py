"""Which device runs the networks: the GPU when PyTorch sees one, else the CPU.

Asking PyTorch means importing it (0.7 GB of memory and a second or two), which a build that runs ONNX
Runtime on the CPU has no other reason to do. So PyTorch is asked only where a GPU driver is present
(NVIDIA's or AMD's on Linux; on other systems it is always asked).
"""

from __future__ import annotations

import platform
from functools import lru_cache
from pathlib import Path

_GPU_DRIVER_FILES = ("/proc/driver/nvidia/gpus", "/dev/nvidiactl", "/dev/kfd")


def _may_have_gpu() -> bool:
    if platform.system() != "Linux":
        return True
    return any(Path(p).exists() for p in _GPU_DRIVER_FILES)


@lru_cache(maxsize=1)
def best_device() -> str:
    if not _may_have_gpu():
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"

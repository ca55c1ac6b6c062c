"""What this CPU can do that decides whether a reduced precision is fast and faithful here.

Two facts, both measured on x86-64 (the README's Performance section has the figures):

- int8: ONNX Runtime's integer kernels multiply uint8 activations by int8 weights. With VNNI (AVX-512 VNNI
  or AVX-VNNI; AMX implies it) each product is summed in 32 bits. Without it the kernels use VPMADDUBSW,
  which adds pairs of products in 16 bits and saturates: efficientnet_lite0's int8 features came out 0.20
  cosine distance from fp32 on an AVX2 CPU (0.015 with VNNI). So int8 features depend on the CPU's class,
  which is part of their cache key (`int8_kernel`), and every int8 model is checked against fp32 before it
  is used (quantize.py).
- bf16: without AVX512_BF16 or AMX, PyTorch emulates bf16 arithmetic and runs slower than fp32.

On other architectures the flags are unknown here: int8 still meets its check, bf16 is taken at its word.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# The flags that matter, as /proc/cpuinfo names them, and how they are shown.
_SHOWN = (
    ("AVX2", ("avx2",)),
    ("AVX-512", ("avx512f",)),
    ("VNNI", ("avx512_vnni", "avx_vnni", "amx_int8")),
    ("BF16", ("avx512_bf16", "amx_bf16")),
    ("AMX", ("amx_tile",)),
)


@dataclass(frozen=True)
class CpuFeatures:
    machine: str  # platform.machine(): x86_64, aarch64, arm64, ...
    flags: frozenset[str]  # empty where they cannot be read

    @property
    def x86(self) -> bool:
        return self.machine.lower() in ("x86_64", "amd64", "i386", "i686")

    def has(self, label: str) -> bool:
        """label: one of AVX2, AVX-512, VNNI, BF16, AMX."""
        names = dict(_SHOWN)[label]
        return any(n in self.flags for n in names)

    @property
    def known(self) -> bool:
        return self.x86 and bool(self.flags)

    def summary(self) -> str:
        """'x86_64: AVX2 yes, AVX-512 no, VNNI no, BF16 no, AMX no'."""
        if not self.known:
            return f"{self.machine}: CPU features not known here"
        return f"{self.machine}: " + ", ".join(f"{label} {'yes' if self.has(label) else 'no'}" for label, _ in _SHOWN)

    @property
    def bf16_kernel(self) -> str:
        """The class of bf16 kernels this CPU runs: AMX tiles, AVX512_BF16 instructions, or its architecture."""
        if not self.x86:
            return self.machine.lower() or "unknown"
        return "x86-amx" if self.has("AMX") else "x86-avx512bf16" if self.has("BF16") else "x86-nobf16"

    @property
    def kernel_class(self) -> str:
        """Its bf16 kernels and its int8 kernels together, e.g. 'x86-amx-vnni' (AMX's tiles do both),
        'x86-nobf16-novnni': the class a runtime's own reduced kernels are checked for (kernel_check.py) and
        auto's choice is kept for (auto_precision.py)."""
        if not self.x86:
            return self.bf16_kernel
        return f"{self.bf16_kernel}-{self.int8_kernel.removeprefix('x86-')}"

    @property
    def int8_kernel(self) -> str:
        """The class of integer kernels ONNX Runtime runs here: int8 features of one class are not those of
        another, so this is part of their cache key."""
        if not self.x86:
            return self.machine.lower() or "unknown"
        return "x86-vnni" if self.has("VNNI") else "x86-novnni"

    @property
    def native_bf16(self) -> bool | None:
        """True/False on x86 with known flags; None where this cannot be told."""
        return self.has("BF16") if self.known else None

    def missing_for_int8(self) -> str:
        """The missing feature that makes int8 lose precision, for messages ('' when none is known)."""
        return "VNNI (AVX-512 VNNI or AVX-VNNI)" if self.known and not self.has("VNNI") else ""


def parse_cpuinfo(text: str) -> frozenset[str]:
    """The flags of the first processor in a /proc/cpuinfo text."""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


@lru_cache(maxsize=1)
def cpu_features() -> CpuFeatures:
    try:
        flags = parse_cpuinfo(Path("/proc/cpuinfo").read_text(errors="replace"))
    except OSError:
        flags = frozenset()
    return CpuFeatures(platform.machine(), flags)

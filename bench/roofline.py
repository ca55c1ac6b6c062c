"""What share of the CPU's arithmetic a network's extraction reaches: its work per image against a measured peak.

    python bench/roofline.py                      # this CPU's peaks, and the work of the study's networks

The peak of each precision is measured, not taken from a datasheet: the best of a few large matrix products
on every core through PyTorch's CPU kernels (oneDNN / MKL), fp32 (torch.mm), bf16 (torch.mm on bfloat16:
AVX512_BF16 or AMX where the CPU has them) and int8 (torch._int_mm, int8 x int8 -> int32: VNNI or AMX).
A matrix product is the best case a network's convolutions can reach, so `share` is an upper-bounded
efficiency (a share near 1 leaves nothing to gain in that precision). The work of a network is counted by
torch.utils.flop_counter on one preprocessed image (2 operations per multiply-add: convolutions and matrix
products; the pooling and activations, a few per cent, are not counted).
"""

from __future__ import annotations

import os
import time

_SIZES = (1024, 2048)  # large enough for the kernels' peak, small enough to measure in a second or two
_REPEATS = 5


def _rate(product, a, b) -> float:  # type: ignore[no-untyped-def]
    """Operations per second of `product(a, b)`: the best of _REPEATS after a warm-up."""
    product(a, b)
    best = float("inf")
    for _ in range(_REPEATS):
        start = time.perf_counter()
        product(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * a.shape[0] * a.shape[1] * b.shape[1] / best


def measured_peaks(threads: int | None = None) -> dict[str, float]:
    """GFLOP/s (GOP/s for int8) of the fastest square matrix product per precision on `threads` threads
    (all cores by default), as {'fp32': ..., 'bf16': ..., 'int8': ...}, each the best over _SIZES (and for
    fp32 over PyTorch's and NumPy's BLAS: they differ by up to a quarter on one CPU); a precision PyTorch
    cannot run here is left out."""
    import numpy as np
    import torch

    torch.set_num_threads(threads or os.cpu_count() or 1)
    rates: dict[str, list[float]] = {"fp32": [], "bf16": [], "int8": []}
    for n in _SIZES:
        a, b = torch.randn(n, n), torch.randn(n, n)
        rates["fp32"] += [_rate(torch.mm, a, b), _rate(np.matmul, a.numpy(), b.numpy())]
        rates["bf16"].append(_rate(torch.mm, a.bfloat16(), b.bfloat16()))
        try:
            a8, b8 = (torch.randint(-128, 128, (n, n), dtype=torch.int8) for _ in range(2))
            rates["int8"].append(_rate(torch._int_mm, a8, b8))
        except RuntimeError:  # no int8 matrix product in this build of PyTorch
            pass
    return {precision: max(r) / 1e9 for precision, r in rates.items() if r}


def gflop_per_image(spec, weights_file=None) -> float:  # type: ignore[no-untyped-def]
    """The multiply-adds (x2) of a network spec's module (random weights do the same work) on one image."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    if spec.build_module is None:
        return 0.0
    module = spec.build_module(weights_file).eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(torch.zeros(1, *spec.preprocess.input_shape))
    return counter.get_total_flops() / 1e9


if __name__ == "__main__":
    import sys
    import tempfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from common import cpu, ensure_weights

    from builder.features.networks import get

    print(f"CPU {cpu()}")
    for precision, peak in measured_peaks().items():
        print(f"  {precision} peak {peak:7.1f} G{'OP' if precision == 'int8' else 'FLOP'}/s")
    torch_home = Path(tempfile.mkdtemp(prefix="vsis-roofline-"))  # random weights where none are cached
    for name in ("efficientnet_lite0", "vgg16", "resnet152", "densenet201"):
        ensure_weights(name, torch_home)
        print(f"  {name:<18} {gflop_per_image(get(name)):6.2f} GFLOP per image (as bench/extract.py runs it)")

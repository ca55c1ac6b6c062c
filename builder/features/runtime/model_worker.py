"""Making model files in a child process: the ONNX export (which needs PyTorch and the network's weights
in memory) and the int8 quantization (whose calibration holds every intermediate tensor) with its check.

Both are done once per configuration, and both need far more memory than running the model does: done in
the build's own process they set its peak (3.1 GB for vgg16, measured), and the PyTorch import alone costs
0.7 GB that an ONNX Runtime build never needs again. In a child, that memory is returned when it exits.

    python -m builder.features.runtime.model_worker NETWORK OUT_FP32 [--framing F --pooling P] [--weights FILE]
        [--int8 OUT --calibration NPY] [--text --int8 OUT]

--text: the network's text tower (model_files.export_text_onnx) instead of its image model, and its int8 copy
(weights in 8 bits, products in fp32: weight_only.py).

A VsisError in the child reaches the parent as the same error with the same one-line message.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from builder import errors
from builder.features.networks.registry import NetworkSpec
from builder.features.runtime.threads import yield_when_idle

_MARK = "vsis-error:"


def make_models(
    spec: NetworkSpec,
    weights_file: Path | None,
    fp32: Path,
    int8: Path | None = None,
    calibration: np.ndarray | None = None,
    text: bool = False,
) -> None:
    """Run the child, which makes the model of `spec` as configured (its framing and pooling), or with `text`
    its text tower (and with `int8` its int8 copy, no calibration needed); raise what it
    raised (a VsisError keeps its type and message). The child's scratch folder lies in the models folder (a
    killed build's is removed by the next: cache.remove_litter), and the child ends with this process however
    this one ends: killed here on any exception (SIGINT, or SIGTERM made an exception by the CLI), and by the
    kernel when this process dies (PR_SET_PDEATHSIG, in the child)."""
    fp32.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vsis-model-", dir=fp32.parent) as tmp:
        command = [
            sys.executable,
            "-m",
            "builder.features.runtime.model_worker",
            spec.name,
            str(fp32),
            "--framing",
            spec.framing,
            "--pooling",
            spec.pooling,
            "--parent",
            str(os.getpid()),
        ]
        if weights_file is not None:
            command += ["--weights", str(weights_file)]
        if text:
            command += ["--text"]
        if int8 is not None and text:
            command += ["--int8", str(int8)]
        elif int8 is not None:
            assert calibration is not None
            samples = Path(tmp) / "calibration.npy"
            np.save(samples, np.ascontiguousarray(calibration, dtype=np.float32))
            command += ["--int8", str(int8), "--calibration", str(samples)]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            _, stderr = child.communicate()
        except BaseException:
            child.kill()
            child.wait()
            raise
    if child.returncode == 0:
        return
    for line in stderr.splitlines():
        if line.startswith(_MARK):
            kind, _, message = line[len(_MARK) :].partition(" ")
            raise getattr(errors, kind, errors.VsisError)(message)
    tail = "\n".join(stderr.strip().splitlines()[-15:])
    raise RuntimeError(f"{spec.name}: making its model failed (exit {child.returncode}):\n{tail}")


def _die_with_parent(parent: int) -> None:
    """Linux: have the kernel end this process when the build that started it dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the request took effect
        sys.exit(1)


def main(argv: list[str] | None = None) -> int:
    yield_when_idle()  # before torch starts its threads (threads.py)
    parser = argparse.ArgumentParser(prog="python -m builder.features.runtime.model_worker")
    parser.add_argument("network")
    parser.add_argument("fp32", type=Path)
    parser.add_argument("--framing", default="crop")
    parser.add_argument("--pooling", default="avg")
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--int8", type=Path)
    parser.add_argument("--calibration", type=Path)
    parser.add_argument("--parent", type=int)
    parser.add_argument("--text", action="store_true")
    args = parser.parse_args(argv)
    if args.parent:
        _die_with_parent(args.parent)
    from builder.features.networks import configured
    from builder.features.runtime.model_files import export_onnx

    try:
        if args.text:
            from builder.features.runtime.model_files import export_text_onnx
            from builder.features.runtime.weight_only import quantize_weights_int8

            if not args.fp32.is_file():
                export_text_onnx(configured(args.network, args.framing, args.pooling), args.weights, args.fp32)
            if args.int8 is not None and not args.int8.is_file():
                quantize_weights_int8(args.fp32, args.int8)
            return 0
        if not args.fp32.is_file():
            export_onnx(configured(args.network, args.framing, args.pooling), args.weights, args.fp32)
        if args.int8 is not None:
            from builder.features.runtime.cpu import cpu_features
            from builder.features.runtime.quantize import quantize_int8

            quantize_int8(args.fp32, args.int8, np.load(args.calibration, allow_pickle=False), cpu_features())
    except errors.VsisError as exc:
        print(f"{_MARK}{type(exc).__name__} {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

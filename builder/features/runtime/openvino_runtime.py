"""Running a network's exported ONNX model (model_files.onnx_path, the one ONNX Runtime reads) with OpenVINO's
CPU plugin (`pip install 'vsis[openvino]'`): fp32, bf16 where the CPU computes it natively, and int8.

Why a second runtime for the same model: on a CPU with AMX (Intel's BF16 and INT8 tiles) OpenVINO's kernels use
the tiles, which ONNX Runtime's CPU provider does not: on a 2-core Intel Xeon with AMX (bench/extract.py, the
bundled sample) vgg16 ran 65.3 images/s in OpenVINO bf16 against 11.2 in ONNX Runtime fp32, and 121 in int8
against ONNX Runtime's 34 on the same int8 model. Its bf16 sums in fp32 ("INFERENCE_PRECISION_HINT" bf16):
features a little off fp32's, so they have a cache key of their own (model_files.feature_key); its fp32
features are ONNX Runtime's within float rounding and share theirs. Its int8 runs the model ONNX Runtime's
quantization made (quantize.py: OpenVINO executes its quantize-dequantize pairs as int8 kernels), the rest in
f32; its features are its own too, and checked apart (kernel_check.py).

Threads as threads.py says: a batch cut into streams, each of one thread and its own inference request, not
pinned to cores (a shared machine moves them).
"""

from __future__ import annotations

import queue
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from builder.features.networks.registry import Extracted
from builder.features.runtime.threads import Streams, inference_streams


def available() -> bool:
    """Whether OpenVINO is installed here."""
    import importlib.util

    return importlib.util.find_spec("openvino") is not None


def _infer(outputs: list[Any], requests: queue.SimpleQueue[Any], part: np.ndarray) -> list[np.ndarray]:
    request = requests.get()  # one request a stream at a time
    try:
        results = request.infer({0: part})
        return [np.array(results[port]) for port in outputs]  # copies: the request is reused
    finally:
        requests.put(request)


class OpenVinoExtractor:
    """A compiled OpenVINO model: numpy batch in, (batch, dim) features out (and a tagging network's top
    classes, as its model hands them out: model_files.OUTPUTS)."""

    def __init__(self, path: Path, precision: str = "fp32") -> None:
        import openvino as ov

        self.precision = precision
        core = ov.Core()
        streams = inference_streams()
        config = {
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
            "NUM_STREAMS": streams,
            "INFERENCE_NUM_THREADS": streams,  # one a stream
            "ENABLE_CPU_PINNING": False,
        }
        compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        requests: queue.SimpleQueue[Any] = queue.SimpleQueue()  # OpenVINO's InferRequest
        for _ in range(streams):
            requests.put(compiled.create_infer_request())
        # the runner holds the model, not this extractor: an extractor dropped frees its model at once (no
        # cycle through a bound method for the garbage collector to find later)
        self.streams = Streams(partial(_infer, compiled.outputs, requests), streams)

    def __call__(self, batch: np.ndarray) -> Extracted:
        out = self.streams(np.ascontiguousarray(batch, dtype=np.float32))
        features = out[0].reshape(out[0].shape[0], -1).astype(np.float32, copy=False)
        if len(out) == 3:  # a tagging network's model: its top classes too
            return features, out[1].astype(np.float32, copy=False), out[2]
        return features

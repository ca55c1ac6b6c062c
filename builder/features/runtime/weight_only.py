"""A model's large weights stored in 8 bits and computed in fp32: the text tower a page downloads (query/).

Why weights only: ONNX Runtime's dynamic quantization (weights and, as they come, activations in 8 bits) makes
the page's embedding differ from Python's by 1.6e-4 cosine distance on the same model (measured: onnxruntime
1.32 natively, onnxruntime-web 1.30 in Chromium), because each kernel rounds the activations its own way; a
page whose search must agree with the builder's cannot have that. Here every weight matrix is an int8
initializer with one fp32 scale per output channel, turned back into fp32 by a DequantizeLinear node, and every
product is fp32, as in the fp32 model: the download is a quarter (ViT-B/32's text tower 254.0 -> 64.6 MB) and the
runtimes agree to float rounding. Per channel, symmetric, so that a channel of small weights keeps its
precision beside one of large (the rounding's error: tests/test_clip_text.py).

Which weights: the float matrices that feed a MatMul's second input (channels: its columns), a Gemm's second
input with transB (its rows) or a Gather's table (its rows: the token embeddings), of at least MIN_VALUES
values; anything else (biases, norms, positions) stays as it is.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

MIN_VALUES = 65_536  # smaller matrices gain little and are read once anyway


def _channel_axis(op: str, position: int, transposed: bool) -> int | None:
    """The axis that holds the output channels of a weight read by `op` at input `position` (None: not one)."""
    if op == "MatMul" and position == 1:
        return 1
    if op == "Gemm" and position == 1:
        return 0 if transposed else 1
    if op == "Gather" and position == 0:
        return 0
    return None


def quantize_weights_int8(fp32_model: Path, out: Path) -> int:
    """Write `fp32_model` with its large weights in int8 (above) to `out`, atomically; return how many
    matrices were stored so. A matrix read by two kinds of node, or on two axes, stays fp32."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(fp32_model))
    graph = model.graph
    floats = {i.name: i for i in graph.initializer if i.data_type == TensorProto.FLOAT and len(i.dims) == 2}
    axes: dict[str, set[int | None]] = {}
    for node in graph.node:
        transposed = any(a.name == "transB" and a.i == 1 for a in node.attribute)
        for position, name in enumerate(node.input):
            if name in floats:
                axes.setdefault(name, set()).add(_channel_axis(node.op_type, position, transposed))
    chosen = {n: next(iter(a)) for n, a in axes.items() if len(a) == 1 and None not in a}
    chosen = {n: a for n, a in chosen.items() if int(np.prod(floats[n].dims)) >= MIN_VALUES}
    kept, nodes = [], []
    for init in graph.initializer:
        axis = chosen.get(init.name)
        if axis is None:
            kept.append(init)
            continue
        w = numpy_helper.to_array(init).astype(np.float32)
        peak = np.abs(w).max(axis=1 - axis)
        scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        shape = (1, -1) if axis == 1 else (-1, 1)
        q = np.clip(np.rint(w / scale.reshape(shape)), -127, 127).astype(np.int8)
        kept += [
            numpy_helper.from_array(q, init.name + "_int8"),
            numpy_helper.from_array(scale, init.name + "_scale"),
            numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), init.name + "_zero"),
        ]
        parts = [init.name + "_int8", init.name + "_scale", init.name + "_zero"]
        nodes.append(helper.make_node("DequantizeLinear", parts, [init.name], name=init.name + "_dq", axis=axis))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    readers = list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes + readers)  # before every reader: the graph stays in topological order
    onnx.checker.check_model(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".weights-int8-") as tmp:
        made = Path(tmp) / "int8.onnx"
        onnx.save(model, str(made))
        os.replace(made, out)
    return len(nodes)


def fp32_session(model: Path) -> object:
    """An ONNX Runtime session that computes a weight-only model as its graph says, as onnxruntime-web does:
    basic optimisations only. The extended ones (ORT_ENABLE_ALL, the default) fuse DequantizeLinear and
    MatMul into an integer kernel that quantizes the activations too, 8e-5 cosine distance away from the
    page (measured on ViT-B/32's text tower, random weights), where the basic ones agree with it to 2e-8."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

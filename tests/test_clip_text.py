"""A CLIP network's text tower (openclip_nets.py) exported to ONNX in the model child, as the query page runs
it: the fp32 model gives open_clip's own encode_text, and its int8 copy (weights in 8 bits, products in fp32:
weight_only.py) stays close, a quarter of the size.
With a randomly initialised checkpoint of the architecture (no hub weights can be downloaded here): what int8
does to the real weights' embeddings could not be measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from builder.features.networks import get
from builder.features.runtime.model_files import text_onnx_path
from builder.features.runtime.model_worker import make_models
from builder.features.runtime.weight_only import fp32_session, quantize_weights_int8

from .test_modern_networks import checkpoint, hub, random_network  # noqa: F401  (hub: a fixture)

pytest.importorskip("open_clip")
torch = pytest.importorskip("torch")

TEXTS = ["a photo of a mountain", "two dogs playing in the snow", "still life with fruit", "an old map of Paris",
         "ＬＯＵＤ café 😀", ""]  # fmt: skip


def test_the_text_tower_exported_is_open_clips_encode_text(hub: Path, tmp_path: Path) -> None:  # noqa: F811
    import onnxruntime as ort
    import open_clip

    spec = get("clip_vit_b32")
    assert spec.text is not None and get("siglip_vit_b16").text is None  # SigLIP's tokenizer is not reproduced
    weights = checkpoint("clip_vit_b32", hub)
    fp32, int8 = (text_onnx_path(spec, weights, tmp_path, p) for p in ("fp32", "int8"))
    make_models(spec, weights, fp32, int8, text=True)
    tokens = open_clip.get_tokenizer("ViT-B-32")(TEXTS)
    with torch.inference_mode():
        expected = random_network("clip_vit_b32").encode_text(tokens, normalize=True).numpy()

    exact = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"]).run(None, {"tokens": tokens.numpy()})[0]
    small = fp32_session(int8).run(None, {"tokens": tokens.numpy()})[0]
    assert exact.shape == small.shape == (len(TEXTS), 512)
    assert (1 - (exact * expected).sum(1)).max() < 1e-5
    assert (1 - (small * exact).sum(1)).max() < 0.002  # 0.0004-0.0005 measured with random weights
    assert int8.stat().st_size < fp32.stat().st_size / 3.5


def test_weights_are_stored_in_8_bits_per_channel_and_computed_in_fp32(tmp_path: Path) -> None:
    """A MatMul, a transposed Gemm and a Gather on hand-made weights: each matrix is its int8 values times its
    channel's scale (max |w| / 127 per column, row, row), and a small one stays fp32."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(4)
    a = rng.standard_normal((256, 300)).astype(np.float32) * np.linspace(0.01, 3, 300, dtype=np.float32)
    b = rng.standard_normal((256, 300)).astype(np.float32)
    table = rng.standard_normal((400, 256)).astype(np.float32)
    small = rng.standard_normal((256, 8)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "ids"], ["rows"], axis=0),
            helper.make_node("MatMul", ["rows", "a"], ["h"]),
            helper.make_node("Gemm", ["h", "b"], ["g"], transB=1),
            helper.make_node("MatMul", ["g", "small"], ["out"]),
        ],
        "g",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [3])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [3, 8])],
        [numpy_helper.from_array(w, n) for w, n in ((table, "table"), (a, "a"), (b, "b"), (small, "small"))],
    )
    source, out = tmp_path / "f.onnx", tmp_path / "q.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(source))
    assert quantize_weights_int8(source, out) == 3
    stored = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(out)).graph.initializer}
    assert "small" in stored and "a" not in stored and stored["a_int8"].dtype == np.int8
    for name, w, axis in (("a", a, 1), ("b", b, 0), ("table", table, 0)):
        scale = np.abs(w).max(axis=1 - axis) / 127
        np.testing.assert_allclose(stored[name + "_scale"], scale, rtol=1e-6)
        shape = (1, -1) if axis == 1 else (-1, 1)
        rebuilt = stored[name + "_int8"].astype(np.float32) * scale.reshape(shape)
        assert (np.abs(rebuilt - w).max(axis=1 - axis) <= scale / 2 * 1.0001).all()  # half its step at most
        assert np.abs(stored[name + "_int8"]).max(axis=1 - axis).min() == 127  # every channel's peak is +-127
    ids = np.array([0, 7, 399])
    expected = ((table[ids] @ a) @ b.T) @ small
    got = fp32_session(out).run(None, {"ids": ids})[0]
    assert np.abs(got - expected).max() < 0.02 * np.abs(expected).max()

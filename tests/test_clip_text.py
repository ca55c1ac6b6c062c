"""A CLIP network's text tower (openclip_nets.py) exported to ONNX in the model child, as the query page will
run it: the fp32 model gives open_clip's own encode_text, and its int8 copy stays close, a quarter of the size.
With a randomly initialised checkpoint of the architecture (no hub weights can be downloaded here): what int8
does to the real weights' embeddings could not be measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from builder.features.networks import get
from builder.features.runtime.model_files import text_onnx_path
from builder.features.runtime.model_worker import make_models

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

    def run(model: Path) -> np.ndarray:
        session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        return session.run(None, {"tokens": tokens.numpy()})[0]

    exact, small = run(fp32), run(int8)
    assert exact.shape == small.shape == (len(TEXTS), 512)
    assert (1 - (exact * expected).sum(1)).max() < 1e-5
    assert (1 - (small * exact).sum(1)).max() < 0.01  # 0.0009-0.0014 measured with random weights
    assert int8.stat().st_size < fp32.stat().st_size / 3

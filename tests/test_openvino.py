"""The OpenVINO backend (features/runtime/openvino_runtime.py) runs the exported ONNX model: in fp32 it gives
ONNX Runtime's features and top classes and shares their cache; in bf16 its features are its own.
Skipped where OpenVINO is not installed (pip install 'vsis[openvino]'; `make test` installs it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from builder.build import build
from builder.config import make_config
from builder.features.extract import l2_normalise
from builder.features.networks import get
from builder.features.runtime.backends import load_extractor
from builder.features.runtime.cpu import cpu_features
from builder.features.runtime.model_files import feature_key

from .conftest import write_collection
from .test_backends import sample_batch

pytest.importorskip("openvino", reason="OpenVINO is not installed (pip install 'vsis[openvino]')")


def test_openvino_fp32_gives_onnx_runtimes_features_and_tags(tmp_path: Path) -> None:
    """efficientnet_lite0 with its real weights, which tags: its model hands out its top classes too."""
    spec = get("efficientnet_lite0")
    batch = sample_batch(spec.name, 8)
    onnx = load_extractor(spec, None, "cpu", "onnx", tmp_path)(batch)
    vino = load_extractor(spec, None, "cpu", "openvino", tmp_path)(batch)
    assert isinstance(onnx, tuple) and isinstance(vino, tuple)
    a, b = l2_normalise(onnx[0]), l2_normalise(vino[0])
    assert a.shape == b.shape == (8, spec.dim)
    assert (1.0 - np.sum(a * b, axis=1)).max() < 1e-4
    np.testing.assert_allclose(vino[1], onnx[1], atol=1e-4)  # the top classes' probabilities
    confident = onnx[1][:, :-1] - onnx[1][:, 1:] > 1e-4  # classes whose order no rounding can swap
    assert (vino[2][:, :-1][confident] == onnx[2][:, :-1][confident]).all()


def test_openvino_bf16_stays_near_fp32_and_keeps_features_of_its_own(tmp_path: Path) -> None:
    spec = get("efficientnet_lite0")
    batch = sample_batch(spec.name, 8)
    fp32 = l2_normalise(load_extractor(spec, None, "cpu", "openvino", tmp_path)(batch)[0])
    bf16 = l2_normalise(load_extractor(spec, None, "cpu", "openvino", tmp_path, "bf16")(batch)[0])
    distance = 1.0 - np.sum(fp32 * bf16, axis=1)
    assert distance.max() < 0.02  # bf16 products, fp32 sums; where the CPU lacks bf16, OpenVINO computes fp32
    if cpu_features().native_bf16:
        assert distance.max() > 0  # computed in bf16 indeed
    keys = {feature_key(spec, None, p, backend=b) for p, b in
            (("fp32", "onnx"), ("fp32", "openvino"), ("bf16", "torch"), ("bf16", "openvino"))}  # fmt: skip
    assert feature_key(spec, None, "fp32", backend="openvino") == feature_key(spec, None, "fp32")
    assert feature_key(spec, None, "bf16", backend="torch") == feature_key(spec, None, "bf16")  # as before
    assert len(keys) == 3


def test_a_build_on_openvino_shares_onnx_runtimes_fp32_cache(tmp_path: Path) -> None:
    write_collection(tmp_path / "images", {"a": 5, "b": 5})
    extracted = {}
    for backend in ("openvino", "onnx"):
        cfg = make_config(collection=tmp_path / "images", networks=("efficientnet_lite0",), k=3,
                          experiment_enabled=False, map_enabled=False, query_enabled=False, backend=backend,
                          out=tmp_path / f"site-{backend}", cache_dir=tmp_path / "cache")  # fmt: skip
        extracted[backend] = build(cfg).networks[0].extracted
    assert extracted == {"openvino": 10, "onnx": 0}  # fp32 features are the same: nothing extracted again

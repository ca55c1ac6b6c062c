"""The ONNX Runtime backend gives the features eager PyTorch gives, and exports each network once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from builder.backends import load_extractor, onnx_path
from builder.build import build
from builder.config import make_config
from builder.errors import ConfigError
from builder.extract import l2_normalise
from builder.images import decode
from builder.networks import get

from .conftest import SAMPLE, write_collection


def sample_batch(name: str, n: int = 6) -> np.ndarray:
    spec = get(name)
    files = sorted(SAMPLE.rglob("*.png"))[::25][:n]
    return np.stack([spec.preprocess(decode(f)) for f in files]).astype(np.float32)


def test_onnx_features_equal_torch_features(tmp_path: Path) -> None:
    spec = get("efficientnet_lite0")
    batch = sample_batch(spec.name)
    torch_features = l2_normalise(load_extractor(spec, None, "cpu", "torch")(batch))
    onnx_features = l2_normalise(load_extractor(spec, None, "cpu", "onnx", tmp_path)(batch))
    assert onnx_features.shape == torch_features.shape == (len(batch), spec.dim)
    cosine_distance = 1.0 - np.sum(torch_features * onnx_features, axis=1)
    assert cosine_distance.max() < 1e-4


def test_the_exported_model_is_cached_and_reused(tmp_path: Path) -> None:
    spec = get("efficientnet_lite0")
    load_extractor(spec, None, "cpu", "onnx", tmp_path)
    path = onnx_path(spec, None, tmp_path)
    assert path.is_file()
    stamp = path.stat().st_mtime_ns
    load_extractor(spec, None, "cpu", "onnx", tmp_path)
    assert path.stat().st_mtime_ns == stamp
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left


def test_a_build_with_onnx_finds_the_torch_neighbours(tmp_path: Path) -> None:
    write_collection(tmp_path / "images", {"a": 6, "b": 6})
    results = {}
    for backend in ("torch", "onnx"):
        cfg = make_config(collection=tmp_path / "images", networks=("efficientnet_lite0",), k=3, experiment=False,
                          backend=backend, out=tmp_path / f"site-{backend}", cache_dir=tmp_path / f"cache-{backend}")
        results[backend] = build(cfg).networks[0].neighbours
    assert (results["torch"].indices == results["onnx"].indices).all()
    np.testing.assert_allclose(results["torch"].scores, results["onnx"].scores, atol=1e-4)


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown backend 'tensorrt'"):
        make_config(backend="tensorrt")


def test_auto_is_onnx_on_the_cpu_and_torch_on_a_gpu() -> None:
    from builder.backends import resolve_backend

    assert resolve_backend("auto", "cpu") == "onnx"
    assert resolve_backend("auto", "cuda") == "torch"
    assert resolve_backend("torch", "cpu") == "torch"
    assert make_config().backend == "auto"

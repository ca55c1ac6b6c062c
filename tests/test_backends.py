"""The ONNX Runtime backend gives the features eager PyTorch gives, and exports each network once."""

from __future__ import annotations

import gc
import threading
import weakref
from pathlib import Path

import numpy as np
import pytest

from builder.build import build
from builder.config import make_config
from builder.errors import ConfigError
from builder.features.extract import l2_normalise
from builder.features.networks import configured, get
from builder.features.runtime.backends import load_extractor
from builder.features.runtime.model_files import onnx_path
from builder.inputs.images import decode
from builder.search.neighbours import exact_neighbours, recall_against

from .conftest import SAMPLE, build_in_fresh_process, features_only, write_collection


def sample_batch(name: str, n: int = 6) -> np.ndarray:
    spec = get(name)
    files = sorted(SAMPLE.rglob("*.png"))[:: 150 // n][:n]
    return np.stack([spec.preprocess(decode(f)) for f in files]).astype(np.float32)


def test_onnx_features_equal_torch_features(tmp_path: Path) -> None:
    spec = get("efficientnet_lite0")
    batch = sample_batch(spec.name)
    torch_features = l2_normalise(features_only(load_extractor(spec, None, "cpu", "torch")(batch)))
    onnx_features = l2_normalise(features_only(load_extractor(spec, None, "cpu", "onnx", tmp_path)(batch)))
    assert onnx_features.shape == torch_features.shape == (len(batch), spec.dim)
    cosine_distance = 1.0 - np.sum(torch_features * onnx_features, axis=1)
    assert cosine_distance.max() < 1e-4


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_an_extractor_dropped_frees_its_model_at_once(tmp_path: Path, backend: str) -> None:
    """auto times several candidates one after another and a build runs its networks in turn: each model must
    go with its extractor, not wait for the garbage collector (measured: vgg16's ONNX session, 260 MB, stayed
    until then, and a build with auto peaked at 8.4 GB)."""
    if backend == "openvino":
        pytest.importorskip("openvino", reason="OpenVINO is not installed (pip install 'vsis[openvino]')")
    spec = get("efficientnet_lite0")
    batch = sample_batch(spec.name, 4)
    load_extractor(spec, None, "cpu", backend, tmp_path)(batch)  # exported; its own stream threads have ended
    before = {t for t in threading.enumerate() if t.name.startswith("vsis-stream")}
    gc.collect()
    gc.disable()
    try:
        extractor = load_extractor(spec, None, "cpu", backend, tmp_path)
        extractor(batch)
        assert {t for t in threading.enumerate() if t.name.startswith("vsis-stream")} - before  # it ran in streams
        dropped = weakref.ref(extractor)
        del extractor
        assert dropped() is None  # freed by its reference count alone: no cycle through a bound method
    finally:
        gc.enable()
    for thread in [t for t in threading.enumerate() if t.name.startswith("vsis-stream")]:
        if thread not in before:
            thread.join(timeout=10)
            assert not thread.is_alive()  # its streams' threads end with it


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
        cfg = make_config(
            collection=tmp_path / "images",
            networks=("efficientnet_lite0",),
            k=3,
            experiment_enabled=False,
            backend=backend,
            out=tmp_path / f"site-{backend}",
            cache_dir=tmp_path / f"cache-{backend}",
        )
        results[backend] = build(cfg).networks[0].neighbours
    assert (results["torch"].indices == results["onnx"].indices).all()
    np.testing.assert_allclose(results["torch"].scores, results["onnx"].scores, atol=1e-4)


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown backend 'tensorrt'"):
        make_config(backend="tensorrt")


def test_auto_is_onnx_on_the_cpu_and_torch_on_a_gpu() -> None:
    from builder.features.runtime.backends import resolve_backend

    assert resolve_backend("auto", "cpu") == "onnx"
    assert resolve_backend("auto", "cuda") == "torch"
    assert resolve_backend("torch", "cpu") == "torch"
    assert make_config().backend == "auto"


# Reduced precision: bf16 (torch) and int8 (ONNX Runtime, calibrated on the collection's first inputs).


# Measured on these 30 drawings: bf16 mean cosine distance 0.0015, recall@5 0.96, whether the CPU has native
# bf16 or PyTorch emulates it. int8 depends on the CPU's integer kernels: tests/test_precision.py holds it to
# its invariant (within tolerance of fp32, or the build fell back to fp32 and said so).
def test_bf16_keeps_the_fp32_neighbours(tmp_path: Path) -> None:
    max_mean_distance, min_recall = 0.01, 0.9
    spec = get("efficientnet_lite0")
    batch = sample_batch(spec.name, n=30)
    reference = l2_normalise(features_only(load_extractor(spec, None, "cpu", "onnx", tmp_path)(batch)))
    reduced = l2_normalise(features_only(load_extractor(spec, None, "cpu", "auto", tmp_path, "bf16")(batch)))
    assert reduced.shape == reference.shape == (len(batch), spec.dim)
    assert not np.array_equal(reduced, reference)  # it really ran in another precision
    cosine_distance = 1.0 - np.sum(reference * reduced, axis=1)
    k = 5
    recall = recall_against(exact_neighbours(reduced, k), exact_neighbours(reference, k))
    assert cosine_distance.mean() < max_mean_distance
    assert recall >= min_recall


def test_each_precision_runs_on_its_backend() -> None:
    from builder.features.runtime.backends import resolve_backend

    assert resolve_backend("auto", "cpu", "bf16") == "torch"
    assert resolve_backend("auto", "cpu", "int8") == "onnx"
    assert resolve_backend("auto", "cuda", "int8") == "onnx"
    assert resolve_backend("openvino", "cpu", "bf16") == "openvino"
    assert resolve_backend("openvino", "cpu", "int8") == "openvino"
    with pytest.raises(ConfigError, match="precision int8 runs on the onnx or openvino backend, not torch"):
        make_config(backend="torch", precision="int8")
    with pytest.raises(ConfigError, match="precision bf16 runs on the torch or openvino backend, not onnx"):
        make_config(backend="onnx", precision="bf16")
    with pytest.raises(ConfigError, match="unknown precision 'fp8'"):
        make_config(precision="fp8")


def test_each_precision_has_features_of_its_own_but_pixels_have_none() -> None:
    from builder.features.runtime.model_files import feature_key

    net = get("efficientnet_lite0")
    keys = {feature_key(net, None, p) for p in ("fp32", "bf16", "int8")}
    assert len(keys) == 3
    assert feature_key(get("pixels"), None, "int8") == feature_key(get("pixels"), None, "fp32")


def test_an_int8_build_calibrates_once_and_its_features_follow_its_model(tmp_path: Path, monkeypatch) -> None:
    from builder.features.runtime import quantize

    # how the cache treats an int8 model and its features, on any CPU: its check is made to pass
    monkeypatch.setattr(quantize, "INT8_TOLERANCE", quantize.Tolerance(float("inf"), 0.0))
    write_collection(tmp_path / "images", {"a": 5, "b": 5})
    cfg = make_config(
        collection=tmp_path / "images",
        networks=("efficientnet_lite0",),
        k=3,
        experiment_enabled=False,
        precision="int8",
        out=tmp_path / "site",
        cache_dir=tmp_path / "cache",
    )
    first = build(cfg)
    assert first.networks[0].extracted == 10 and first.networks[0].precision.used == "int8"
    model = onnx_path(
        configured("efficientnet_lite0", cfg.features.framing, cfg.features.pooling), None, tmp_path / "cache", "int8"
    )
    assert model.is_file() and model.with_suffix(".json").is_file()
    assert build(cfg).networks[0].extracted == 0  # model and features reused
    model.unlink()  # a model calibrated anew would not reproduce the cached int8 features
    again = build(cfg)
    assert again.networks[0].extracted == 10
    assert (again.networks[0].neighbours.indices == first.networks[0].neighbours.indices).all()


def test_an_onnx_build_exports_in_a_child_and_never_imports_torch_itself(tmp_path: Path) -> None:
    write_collection(tmp_path / "images", {"": 4})
    assert build_in_fresh_process(
        collection=tmp_path / "images",
        networks=("efficientnet_lite0",),
        k=2,
        experiment_enabled=False,
        backend="onnx",
        out=tmp_path / "site",
        cache_dir=tmp_path / "cache",
    ) == (4, False)
    defaults = make_config()
    spec = configured("efficientnet_lite0", defaults.features.framing, defaults.features.pooling)
    assert onnx_path(spec, None, tmp_path / "cache").is_file()

"""The OpenVINO backend (features/runtime/openvino_runtime.py) runs the exported ONNX model: in fp32 it gives
ONNX Runtime's features and top classes and shares their cache; in bf16 its features are its own, and so are
its int8 ones, from ONNX Runtime's int8 model checked again on OpenVINO's kernels.
Skipped where OpenVINO is not installed (pip install 'vsis[openvino]'; `make test` installs it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from builder.build import build
from builder.config import make_config
from builder.features.extract import l2_normalise
from builder.features.networks import configured, get
from builder.features.runtime import kernel_check, openvino_runtime, quantize
from builder.features.runtime.backends import load_extractor
from builder.features.runtime.cpu import cpu_features
from builder.features.runtime.model_files import feature_key, onnx_path

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


def int8_build(tmp_path: Path, backend: str, name: str):  # type: ignore[no-untyped-def]
    cfg = make_config(collection=tmp_path / "images", networks=("efficientnet_lite0",), k=3, precision="int8",
                      experiment_enabled=False, map_enabled=False, query_enabled=False, backend=backend,
                      out=tmp_path / name, cache_dir=tmp_path / "cache")  # fmt: skip
    spec = configured("efficientnet_lite0", cfg.features.framing, cfg.features.pooling)  # as the build's
    return build(cfg).networks[0], spec


def test_openvino_int8_runs_onnx_runtimes_int8_model_with_a_check_and_features_of_its_own(
    tmp_path: Path, monkeypatch
) -> None:
    """How a build treats OpenVINO's int8 on any CPU (both checks made to pass): the model is quantized once,
    for both runtimes; OpenVINO's run is checked against its fp32 on the calibration inputs and the figures
    kept for this class of CPU; its features are cached apart from ONNX Runtime's int8 ones."""
    loose = quantize.Tolerance(float("inf"), 0.0)
    monkeypatch.setattr(quantize, "INT8_TOLERANCE", loose)
    monkeypatch.setitem(kernel_check.TOLERANCES, "int8", loose)
    write_collection(tmp_path / "images", {"a": 6, "b": 6})
    net, spec = int8_build(tmp_path, "openvino", "first")
    assert (net.precision.used, net.extracted) == ("int8", 12)
    model = onnx_path(spec, None, tmp_path / "cache", "int8")
    made = model.stat().st_mtime_ns
    note = kernel_check.note_path(spec, None, tmp_path / "cache", "int8", "openvino", cpu_features())
    checked = quantize.read_note(note)
    assert checked is not None and checked.inputs == 12 and net.precision.check == checked.describe()
    assert int8_build(tmp_path, "openvino", "again")[0].extracted == 0  # its features reused
    onnx, _ = int8_build(tmp_path, "onnx", "onnx")
    assert (onnx.precision.used, onnx.extracted) == ("int8", 12)  # ONNX Runtime's int8 features are not OpenVINO's
    assert model.stat().st_mtime_ns == made  # one int8 model for both
    assert feature_key(spec, None, "int8", backend="openvino") != feature_key(spec, None, "int8", backend="onnx")
    assert feature_key(spec, None, "int8", backend="onnx") == feature_key(spec, None, "int8")  # as before


def test_openvino_int8_made_unfaithful_on_purpose_is_refused_though_onnx_runtimes_passed(
    tmp_path: Path, monkeypatch
) -> None:
    """OpenVINO's int8 handing out each batch's features in reverse order (another image's): ONNX Runtime's
    check of the same model passes (made to), OpenVINO's own fails, and the build runs fp32 and says why."""
    monkeypatch.setattr(quantize, "INT8_TOLERANCE", quantize.Tolerance(float("inf"), 0.0))
    real = openvino_runtime.OpenVinoExtractor.__call__

    def sabotaged(self, batch: np.ndarray):  # type: ignore[no-untyped-def]
        out = real(self, batch)
        return (out[0][::-1].copy(), *out[1:]) if self.precision == "int8" else out

    monkeypatch.setattr(openvino_runtime.OpenVinoExtractor, "__call__", sabotaged)
    write_collection(tmp_path / "images", {"a": 6, "b": 6})
    net, spec = int8_build(tmp_path, "openvino", "site")
    assert (net.precision.used, net.extracted) == ("fp32", 12)
    assert net.precision.reason.startswith("int8 on openvino failed its check against fp32 on 12 calibration inputs")
    # the model made again (here: its file gone) is checked again, not judged by the verdict on the old one
    monkeypatch.setattr(openvino_runtime.OpenVinoExtractor, "__call__", real)
    monkeypatch.setitem(kernel_check.TOLERANCES, "int8", quantize.Tolerance(float("inf"), 0.0))
    onnx_path(spec, None, tmp_path / "cache", "int8").unlink()
    again, _ = int8_build(tmp_path, "openvino", "again")
    assert (again.precision.used, again.extracted) == ("int8", 12)

"""Reduced precision is right on every CPU, or refused: the CPU's features, the int8 check against fp32, and
the plan that falls back to fp32 where a precision would be slow or unfaithful.

No verdict here depends on the CPU the tests run on: the CPU is given (parsed from a cpuinfo text), or the
test asserts an invariant that holds on every CPU (the int8 build is within tolerance or fell back and
said so), or it forces the check's outcome both ways.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from builder.build import build
from builder.cache import FeatureStore
from builder.config import make_config
from builder.features.extract import load_matrix
from builder.features.networks import configured, get
from builder.features.runtime import quantize
from builder.features.runtime.backends import PrecisionPlan, plan_precision, precision_outlook
from builder.features.runtime.cpu import CpuFeatures, parse_cpuinfo
from builder.features.runtime.model_files import feature_key, onnx_path
from builder.features.runtime.quantize import PrecisionCheck, Tolerance, check_int8
from builder.progress import QuietReporter

from .conftest import write_collection

AVX2_ONLY = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma bmi2\n\nprocessor\t: 1\nflags\t\t: fpu sse2 avx avx2\n"
AVX512 = "flags\t\t: fpu avx2 avx512f avx512bw avx512_vnni avx512_bf16\n"
SAPPHIRE = "flags\t\t: avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8\n"
ARM = "Features\t: fp asimd evtstrm aes sha1 asimddp\n"


def cpu(text: str, machine: str = "x86_64") -> CpuFeatures:
    return CpuFeatures(machine, parse_cpuinfo(text))


# The CPU's features, from a cpuinfo text.


def test_the_first_processors_flags_are_read() -> None:
    assert parse_cpuinfo(AVX2_ONLY) == {"fpu", "sse2", "avx", "avx2", "fma", "bmi2"}
    assert parse_cpuinfo(ARM) >= {"asimd", "asimddp"}
    assert parse_cpuinfo("no flags here") == frozenset()


def test_an_avx2_cpu_has_neither_vnni_nor_native_bf16() -> None:
    avx2 = cpu(AVX2_ONLY)
    assert avx2.summary() == "x86_64: AVX2 yes, AVX-512 no, VNNI no, BF16 no, AMX no"
    assert avx2.int8_kernel == "x86-novnni"
    assert avx2.native_bf16 is False
    assert "VNNI" in avx2.missing_for_int8()


def test_avx512_vnni_bf16_and_amx_are_told_apart() -> None:
    avx512 = cpu(AVX512)
    assert avx512.summary() == "x86_64: AVX2 yes, AVX-512 yes, VNNI yes, BF16 yes, AMX no"
    assert avx512.int8_kernel == "x86-vnni" and avx512.native_bf16 is True and avx512.missing_for_int8() == ""
    assert cpu(SAPPHIRE).summary().endswith("AMX yes")


def test_unknown_features_are_said_to_be_unknown() -> None:
    arm = cpu(ARM, "aarch64")
    assert arm.summary() == "aarch64: CPU features not known here"
    assert arm.int8_kernel == "aarch64"
    assert arm.native_bf16 is None and arm.missing_for_int8() == ""
    assert cpu("", "x86_64").native_bf16 is None


def test_int8_features_of_one_kernel_class_are_not_those_of_another() -> None:
    net = get("efficientnet_lite0")
    keys = {feature_key(net, None, "int8", cpu(text)) for text in (AVX2_ONLY, AVX512, SAPPHIRE)}
    assert len(keys) == 2  # VNNI (AVX-512 or AMX) and no VNNI
    assert feature_key(net, None, "fp32", cpu(AVX2_ONLY)) == feature_key(net, None, "fp32", cpu(AVX512))


# The int8 check: figures and the verdict against a tolerance.


def test_the_check_names_what_is_out_of_tolerance() -> None:
    tolerance = Tolerance(max_mean_distance=0.04, min_recall=0.8)
    assert PrecisionCheck(64, 0.02, 0.9, 5, "").failure(tolerance) == ""
    assert PrecisionCheck(64, 0.04, 0.8, 5, "").failure(tolerance) == ""  # the bounds are allowed
    far = PrecisionCheck(64, 0.196, 0.65, 5, "").failure(tolerance)
    assert "mean cosine distance 0.196" in far and "recall@5 0.65" in far
    assert PrecisionCheck(64, 0.01, 0.5, 5, "").failure(tolerance).startswith("recall@5 0.50")
    assert PrecisionCheck(64, float("nan"), 1.0, 5, "").failure(tolerance) != ""  # NaN features never pass
    assert PrecisionCheck(1, 0.01, 1.0, 0, "").failure(tolerance) == ""  # one input: no neighbours to compare


def test_a_model_checked_against_itself_is_exact(tmp_path: Path) -> None:
    from builder.features.runtime.model_files import export_onnx

    model = export_onnx(get("efficientnet_lite0"), None, tmp_path / "fp32.onnx")
    inputs = np.random.default_rng(0).standard_normal((7, 3, 224, 224)).astype(np.float32)
    check = check_int8(model, model, inputs, "test cpu")
    assert check.inputs == 7 and check.k == 5 and check.cpu == "test cpu"
    assert check.mean_distance == pytest.approx(0.0, abs=1e-6)
    assert check.recall == 1.0


# The plan: what a network runs in.


def test_bf16_on_a_cpu_without_native_bf16_runs_fp32_and_says_why(tmp_path: Path) -> None:
    net = get("efficientnet_lite0")
    plan = plan_precision(net, None, "bf16", "cpu", tmp_path, cpu(AVX2_ONLY))
    assert plan == PrecisionPlan("bf16", "fp32", plan.reason) and plan.fell_back
    assert "AVX512_BF16" in plan.reason and "slower than fp32" in plan.reason
    assert plan_precision(net, None, "bf16", "cpu", tmp_path, cpu(AVX512)) == PrecisionPlan(
        "bf16", "bf16", pending=True
    )
    assert plan_precision(net, None, "bf16", "cuda", tmp_path, cpu(AVX2_ONLY)) == PrecisionPlan("bf16", "bf16")
    assert plan_precision(net, None, "bf16", "cpu", tmp_path, cpu(ARM, "aarch64")).used == "bf16"


def test_bf16_follows_its_check_on_this_class_of_cpu_and_is_decided_again_on_another(tmp_path: Path) -> None:
    from builder.features.runtime.kernel_check import note_path

    net, avx512, amx = get("efficientnet_lite0"), cpu(AVX512), cpu(SAPPHIRE)
    assert (avx512.bf16_kernel, amx.bf16_kernel, cpu(AVX2_ONLY).bf16_kernel) == (
        "x86-avx512bf16", "x86-amx", "x86-nobf16")  # fmt: skip
    note = note_path(net, None, tmp_path, "bf16", "openvino", avx512)
    assert note != note_path(net, None, tmp_path, "bf16", "torch", avx512)
    assert note != note_path(net, None, tmp_path, "bf16", "openvino", amx)
    note.parent.mkdir(parents=True)
    note.write_text('{"check": {"inputs": 64, "mean_distance": 0.002, "recall": 0.95, "k": 5, "cpu": ""}}')
    passed = plan_precision(net, None, "bf16", "cpu", tmp_path, avx512, "openvino")
    assert passed == PrecisionPlan(
        "bf16", "bf16", check="mean cosine distance 0.002, recall@5 0.95 on 64 calibration inputs"
    )
    assert plan_precision(net, None, "bf16", "cpu", tmp_path, amx, "openvino").pending  # another class: checked anew
    assert plan_precision(net, None, "bf16", "cpu", tmp_path, avx512, "torch").pending  # another backend too
    note.write_text('{"check": {"inputs": 64, "mean_distance": 0.03, "recall": 0.7, "k": 5, "cpu": ""}}')
    failed = plan_precision(net, None, "bf16", "cpu", tmp_path, avx512, "openvino")
    assert failed.used == "fp32" and not failed.pending
    assert failed.reason.startswith("bf16 failed its check against fp32 on 64 calibration inputs here (")
    assert "mean cosine distance 0.030 from fp32 (at most 0.01 allowed)" in failed.reason
    assert "recall@5 0.70 of the fp32 neighbours (at least 0.85)" in failed.reason


def test_a_bf16_made_unfaithful_on_purpose_is_refused_and_the_build_runs_fp32(
    tmp_path: Path, monkeypatch, unfaithful_bf16
) -> None:
    """torch bf16 whose features are another image's (conftest.unfaithful_bf16): its check against fp32 fails
    on the calibration inputs, the build extracts fp32 features and says why, and the next build reads the
    verdict kept in the cache instead of checking again. The CPU is taken to have AVX512_BF16 whatever it has."""
    from builder.features.runtime import backends, kernel_check

    monkeypatch.setattr(backends, "cpu_features", lambda: cpu(AVX512))
    write_collection(tmp_path / "images", {"a": 8, "b": 8})
    checks = []
    monkeypatch.setattr(kernel_check, "compare_features", lambda *a: checks.append(1) or quantize.compare_features(*a))

    def bf16_build(name: str):
        reporter = QuietReporter()
        cfg = make_config(collection=tmp_path / "images", networks=("efficientnet_lite0",), k=3, backend="torch",
                          precision="bf16", experiment_enabled=False, map_enabled=False, query_enabled=False,
                          out=tmp_path / name, cache_dir=tmp_path / "cache")  # fmt: skip
        return build(cfg, reporter), reporter

    result, reporter = bf16_build("first")
    net = result.networks[0]
    assert (net.precision.used, net.extracted, checks) == ("fp32", 16, [1])
    assert "bf16 failed its check against fp32 on 16 calibration inputs here" in net.precision.reason
    config = make_config()
    spec = configured("efficientnet_lite0", config.features.framing, config.features.pooling)  # as the build's
    note = kernel_check.note_path(spec, None, tmp_path / "cache", "bf16", "torch", cpu(AVX512))
    assert quantize.read_note(note).failure(kernel_check.BF16_TOLERANCE)
    again, _ = bf16_build("second")
    assert (again.networks[0].precision.used, again.networks[0].extracted, checks) == ("fp32", 0, [1])


def test_a_network_without_a_model_has_no_precision_to_fall_back_from(tmp_path: Path) -> None:
    assert plan_precision(get("pixels"), None, "int8", "cpu", tmp_path, cpu(AVX2_ONLY)) == PrecisionPlan("fp32", "fp32")


def test_int8_is_pending_until_its_model_is_checked_then_follows_the_check(tmp_path: Path) -> None:
    net, here = get("efficientnet_lite0"), cpu(AVX2_ONLY)
    assert plan_precision(net, None, "int8", "cpu", tmp_path, here).pending
    model = onnx_path(net, None, tmp_path, "int8", here)
    note = quantize.check_path(model)
    note.parent.mkdir(parents=True)
    note.write_text('{"check": {"inputs": 64, "mean_distance": 0.01, "recall": 0.9, "k": 5, "cpu": ""}}')
    assert plan_precision(net, None, "int8", "cpu", tmp_path, here).pending  # a note without its model
    model.write_bytes(b"the model")
    assert plan_precision(net, None, "int8", "cpu", tmp_path, here) == PrecisionPlan(
        "int8", "int8", check="mean cosine distance 0.010, recall@5 0.90 on 64 calibration inputs"
    )
    note.write_text('{"check": {"inputs": 64, "mean_distance": 0.2, "recall": 0.6, "k": 5, "cpu": ""}}')
    failed = plan_precision(net, None, "int8", "cpu", tmp_path, here)
    assert failed.used == "fp32" and not failed.pending
    assert "mean cosine distance 0.200" in failed.reason and "lacks VNNI" in failed.reason
    note.write_text("{not json")
    assert plan_precision(net, None, "int8", "cpu", tmp_path, here).pending  # made and checked again


PASSED = '{"check": {"inputs": 64, "mean_distance": 0.01, "recall": 0.9, "k": 5, "cpu": ""}}'
FAILED = '{"check": {"inputs": 64, "mean_distance": 0.2, "recall": 0.6, "k": 5, "cpu": ""}}'


def test_int8_on_openvino_needs_the_models_check_and_its_own_on_this_class_of_cpu(tmp_path: Path) -> None:
    """OpenVINO runs ONNX Runtime's int8 model on kernels of its own: the model's check (made in ONNX Runtime)
    comes first, then OpenVINO's own on this class of CPU; a model made again takes OpenVINO's verdicts on the
    old one with it, on every class of CPU that shares the model."""
    from builder.features.runtime.kernel_check import forget_int8, note_path

    net, avx512, amx = get("efficientnet_lite0"), cpu(AVX512), cpu(SAPPHIRE)

    def plan(here: CpuFeatures = avx512, device: str = "cpu") -> PrecisionPlan:
        return plan_precision(net, None, "int8", device, tmp_path, here, "openvino")

    model = onnx_path(net, None, tmp_path, "int8", avx512)
    assert model == onnx_path(net, None, tmp_path, "int8", amx)  # one model for both kinds of VNNI kernels
    model.parent.mkdir(parents=True)
    model.write_bytes(b"the model")
    quantize.check_path(model).write_text(PASSED)
    assert plan().pending and plan(amx).pending  # ONNX Runtime's check passed; OpenVINO's not made yet
    vino = note_path(net, None, tmp_path, "int8", "openvino", avx512)
    vino.write_text(PASSED)
    checked = "mean cosine distance 0.010, recall@5 0.90 on 64 calibration inputs"
    assert plan() == PrecisionPlan("int8", "int8", check=checked)
    assert plan(device="cuda") == plan()  # OpenVINO runs on the CPU whatever GPU is here
    assert plan(amx).pending  # AMX's int8 tiles: checked apart, its features apart
    assert feature_key(net, None, "int8", amx, "openvino") != feature_key(net, None, "int8", avx512, "openvino")
    assert feature_key(net, None, "int8", avx512, "openvino").startswith(feature_key(net, None, "int8", avx512))
    vino.write_text(FAILED)
    failed = plan()
    assert failed.used == "fp32" and failed.reason.startswith("int8 on openvino failed its check against fp32 on 64")
    assert plan_precision(net, None, "int8", "cpu", tmp_path, avx512, "onnx").used == "int8"  # ORT's run passed
    vino.write_text(PASSED)
    quantize.check_path(model).write_text(FAILED)  # the model's own check failed: OpenVINO's verdict is moot
    assert plan().used == "fp32" and plan().reason.startswith("int8 failed its check against fp32 on 64")
    amx_vino = note_path(net, None, tmp_path, "int8", "openvino", amx)
    amx_vino.write_text(PASSED)
    forget_int8(net, None, tmp_path, avx512)  # the model is being made again
    assert not vino.exists() and not amx_vino.exists() and model.exists()


def test_the_outlook_says_what_each_precision_is_on_each_kind_of_cpu() -> None:
    avx2 = dict(precision_outlook(cpu(AVX2_ONLY)))
    assert "emulated" in avx2["bf16"] and "runs fp32" in avx2["bf16"]
    assert "no VNNI" in avx2["int8"] and f"first {quantize.LEADING_FP32['x86-novnni']}" in avx2["int8"]
    avx512 = dict(precision_outlook(cpu(AVX512)))
    assert avx512["bf16"].startswith("native") and avx512["int8"].startswith("VNNI")


# Whole builds. The int8 model of efficientnet_lite0 is made once for the module (the slow part), in one
# cache: the tests below change only the tolerance it is judged by, and every build has its own output.


@pytest.fixture(scope="module")
def int8_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("int8")
    write_collection(root / "images", {"a": 8, "b": 8})
    return root


def int8_build(root: Path, name: str, precision: str = "int8", cache: str = "cache"):
    reporter = QuietReporter()
    cfg = make_config(
        collection=root / "images",
        networks=("efficientnet_lite0",),
        k=3,
        experiment_enabled=False,
        precision=precision,
        out=root / f"site-{name}",
        cache_dir=root / cache,
    )
    return build(cfg, reporter), reporter.warnings, cfg


def features(cfg, result) -> np.ndarray:
    net = result.networks[0]
    spec = net.spec  # as the build configured it
    key = feature_key(spec, None, net.precision.used)
    from builder.build import decode_limits

    store = FeatureStore(cfg.cache_dir, f"{key}-{decode_limits(cfg).key}")
    return load_matrix(store, [i.content_hash for i in result.items], spec.dim)


def test_published_int8_features_are_within_tolerance_of_fp32_or_the_build_fell_back(int8_project: Path) -> None:
    """The invariant on whatever CPU runs it."""
    reference_result, _, reference_cfg = int8_build(int8_project, "fp32", "fp32")
    result, warnings, cfg = int8_build(int8_project, "int8")
    plan = result.networks[0].precision
    reference, published = features(reference_cfg, reference_result), features(cfg, result)
    index = (int8_project / "site-int8" / "index.html").read_text()
    if plan.used == "int8":
        distance = 1.0 - np.sum(reference * published, axis=1)
        assert distance.mean() <= quantize.INT8_TOLERANCE.max_mean_distance * 2  # calibration inputs and beyond
        assert not warnings
        assert "efficientnet_lite0 int8" in index
    else:
        assert plan.used == "fp32" and "int8 failed its check" in plan.reason
        assert any(w.startswith("efficientnet_lite0: int8 failed its check") and "running fp32" in w for w in warnings)
        np.testing.assert_array_equal(published, reference)
        assert "efficientnet_lite0 fp32" in index


def test_a_failing_check_falls_back_to_fp32_and_says_so(int8_project: Path, monkeypatch) -> None:
    monkeypatch.setattr(quantize, "INT8_TOLERANCE", Tolerance(max_mean_distance=-1.0, min_recall=2.0))
    reference = int8_build(int8_project, "fp32", "fp32")[0].networks[0].neighbours.indices
    for attempt in range(2):
        # the first build makes the model, checks it and goes on in fp32; the second reads the check
        result, warnings, cfg = int8_build(int8_project, f"refused-{attempt}", cache="cache-refused")
        net = result.networks[0]
        assert net.precision.used == "fp32" and net.precision.requested == "int8"
        (warning,) = warnings
        assert warning.startswith("efficientnet_lite0: int8 failed its check against fp32 on 16 calibration inputs")
        assert "mean cosine distance" in warning and warning.endswith("running fp32 instead")
        assert net.extracted == (16 if attempt == 0 else 0)  # the second finds the fp32 features cached
        np.testing.assert_array_equal(net.neighbours.indices, reference)
        index = (int8_project / f"site-refused-{attempt}" / "index.html").read_text()
        assert "efficientnet_lite0 ran in fp32, not int8: int8 failed its check" in index
        assert "efficientnet_lite0 fp32" in index  # the manifest's precision_used
    fp32 = int8_build(int8_project, "fp32-after", "fp32", cache="cache-refused")[0].networks[0]
    assert fp32.extracted == 0  # the fall-back wrote fp32 features where an fp32 build finds them


def test_a_passing_check_publishes_int8_features(int8_project: Path, monkeypatch) -> None:
    monkeypatch.setattr(quantize, "INT8_TOLERANCE", Tolerance(max_mean_distance=float("inf"), min_recall=0.0))
    reference_result, _, reference_cfg = int8_build(int8_project, "fp32", "fp32")
    result, warnings, cfg = int8_build(int8_project, "accepted")
    plan = result.networks[0].precision
    assert (plan.requested, plan.used, plan.reason) == ("int8", "int8", "") and not warnings
    assert plan.check.startswith("mean cosine distance ") and "calibration inputs" in plan.check
    assert not np.array_equal(features(cfg, result), features(reference_cfg, reference_result))

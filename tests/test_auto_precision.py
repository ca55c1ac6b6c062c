"""`--precision auto`: the fastest faithful precision and backend, measured once per network and class of CPU.

No verdict here depends on the CPU the tests run on: the CPU is given (parsed from a cpuinfo text) and, where
a test is about the decision rather than the speed, the measured speeds are given too (`speed` replaced), so
that the choice is forced each way; the one build that times for real asserts that what ran is what its own
trials decide.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from builder.build import build, decode_limits
from builder.cache import FeatureStore
from builder.config import make_config
from builder.features.networks import get
from builder.features.runtime import auto_precision, backends, torch_runtime
from builder.features.runtime.auto_precision import (
    MIN_GAIN,
    Choice,
    Mode,
    Trial,
    candidates,
    note_path,
    pick,
    plan_auto,
    read_choice,
    speed,
)
from builder.features.runtime.backends import PrecisionPlan
from builder.features.runtime.model_files import feature_key
from builder.progress import QuietReporter

from .conftest import write_collection
from .test_precision import ARM, AVX2_ONLY, AVX512, SAPPHIRE, cpu

BOTH = (True, True)  # ONNX Runtime and OpenVINO installed


def test_the_class_of_cpu_names_its_bf16_and_int8_kernels() -> None:
    assert cpu(AVX2_ONLY).kernel_class == "x86-nobf16-novnni"
    assert cpu(AVX512).kernel_class == "x86-avx512bf16-vnni"
    assert cpu(SAPPHIRE).kernel_class == "x86-amx-vnni"
    assert cpu(ARM, "aarch64").kernel_class == "aarch64"


def test_the_candidates_are_what_can_run_fast_here_within_the_backend_asked_for() -> None:
    def labels(backend: str, text: str, runtimes=BOTH, machine: str = "x86_64") -> list[str]:
        return [str(m) for m in candidates(backend, cpu(text, machine), *runtimes)]

    assert labels("auto", AVX512) == [
        "fp32 on onnx", "fp32 on openvino", "bf16 on openvino", "int8 on onnx", "int8 on openvino"]  # fmt: skip
    assert labels("auto", AVX2_ONLY) == [
        "fp32 on onnx", "fp32 on openvino", "int8 on onnx", "int8 on openvino"]  # fmt: skip  # bf16 emulated
    assert labels("auto", AVX512, (True, False)) == ["fp32 on onnx", "bf16 on torch", "int8 on onnx"]
    assert labels("auto", AVX512, (False, False)) == ["fp32 on torch", "bf16 on torch"]
    assert labels("auto", AVX512, (False, True)) == ["fp32 on openvino", "bf16 on openvino"]  # int8 needs ORT's model
    assert labels("onnx", SAPPHIRE) == ["fp32 on onnx", "int8 on onnx"]
    assert labels("openvino", SAPPHIRE) == ["fp32 on openvino", "bf16 on openvino", "int8 on openvino"]
    assert labels("openvino", SAPPHIRE, (False, True)) == ["fp32 on openvino", "bf16 on openvino"]  # nothing quantizes
    assert labels("torch", AVX2_ONLY) == ["fp32 on torch"]
    assert labels("auto", ARM, (True, False), "aarch64")[1] == "bf16 on torch"  # not known to be emulated: measured


def trial(precision: str, backend: str, rate: float, failure: str = "") -> Trial:
    return Trial(Mode(precision, backend), rate, failure)


def test_the_fastest_faithful_mode_wins_a_less_faithful_one_only_by_a_margin() -> None:
    fp32 = [trial("fp32", "onnx", 100.0), trial("fp32", "openvino", 104.0)]
    assert pick((*fp32, trial("bf16", "openvino", 250.0), trial("int8", "onnx", 300.0))) == Mode("int8", "onnx")
    # int8 barely faster than bf16 (under MIN_GAIN): the more faithful bf16
    near = 250.0 * MIN_GAIN - 1
    assert pick((*fp32, trial("bf16", "openvino", 250.0), trial("int8", "onnx", near))) == Mode("bf16", "openvino")
    # a reduced precision within the margin of fp32: fp32, on its fastest backend (the same features)
    assert pick((*fp32, trial("bf16", "openvino", 110.0))) == Mode("fp32", "openvino")
    # a failed check is never chosen, however fast
    assert pick((*fp32, trial("int8", "onnx", 900.0, "int8 failed its check"))) == Mode("fp32", "openvino")
    assert pick((trial("fp32", "onnx", 100.0), trial("bf16", "torch", 100.0 * MIN_GAIN + 0.1))) == Mode("bf16", "torch")


def test_speed_warms_each_batch_shape_then_times_whole_passes(monkeypatch) -> None:
    seen: list[int] = []

    def extractor(batch: np.ndarray) -> np.ndarray:
        seen.append(len(batch))
        return batch

    monkeypatch.setattr(auto_precision, "MIN_SECONDS", 0.0)  # one timed pass
    rate = speed(extractor, np.zeros((40, 3), np.float32), 16)
    assert seen == [16, 8, 16, 16, 8] and rate > 0  # one warm-up per shape (16, 8), then a pass of 40
    seen.clear()
    monkeypatch.setattr(auto_precision, "MIN_SECONDS", 1e9)  # never long enough: MAX_PASSES passes
    speed(extractor, np.zeros((4, 3), np.float32), 16)
    assert seen == [4] * (1 + auto_precision.MAX_PASSES)


def write_choice(root: Path, here, chosen: Mode, modes: tuple[Mode, ...]) -> Path:
    net = get("efficientnet_lite0")
    trials = tuple(Trial(m, 100.0 if m == chosen else 50.0) for m in modes)
    note = note_path(net, None, root, "auto", here)
    note.parent.mkdir(parents=True, exist_ok=True)
    from dataclasses import asdict

    note.write_text(json.dumps(asdict(Choice(here.kernel_class, here.summary(), modes, trials, chosen))))
    return note


def test_a_kept_choice_is_used_on_its_class_of_cpu_and_made_again_where_anything_changed(tmp_path: Path) -> None:
    net, avx512 = get("efficientnet_lite0"), cpu(AVX512)
    modes = candidates("auto", avx512, *BOTH)

    def plan(here=avx512, runtimes=BOTH, device="cpu") -> PrecisionPlan:
        return plan_auto(net, None, device, tmp_path, "auto", here, lambda: runtimes)

    assert plan() == PrecisionPlan("auto", "fp32", pending=True, backend="onnx")  # nothing measured yet
    write_choice(tmp_path, avx512, Mode("fp32", "openvino"), modes)
    kept = plan()
    assert (kept.used, kept.backend, kept.pending, kept.fell_back) == ("fp32", "openvino", False, False)
    assert kept.reason.startswith("chosen by measurement on x86-avx512bf16-vnni: fp32 on onnx 50.0 images/s")
    assert kept.shown() == "fp32 on openvino (auto)"
    assert plan(cpu(SAPPHIRE)).pending  # another class of CPU: measured anew
    assert plan(runtimes=(True, False)).pending  # OpenVINO gone (or installed since): other candidates
    assert plan(device="cuda") == PrecisionPlan("auto", "fp32", plan(device="cuda").reason, backend="torch")
    # a reduced choice holds only while its own check does: bf16's note gone, it is measured again
    write_choice(tmp_path, avx512, Mode("bf16", "openvino"), modes)
    assert plan().pending
    from builder.features.runtime import kernel_check

    bf16_note = kernel_check.note_path(net, None, tmp_path, "bf16", "openvino", avx512)
    bf16_note.write_text('{"check": {"inputs": 64, "mean_distance": 0.001, "recall": 1.0, "k": 5, "cpu": ""}}')
    chosen = plan()
    assert (chosen.used, chosen.backend) == ("bf16", "openvino") and "mean cosine distance 0.001" in chosen.check
    note = note_path(net, None, tmp_path, "auto", avx512)
    note.write_text("{not json")
    assert read_choice(note) is None and plan().pending
    assert plan_auto(get("pixels"), None, "cpu", tmp_path, "auto", avx512) == PrecisionPlan("fp32", "fp32")


# Whole builds, with efficientnet_lite0 on PyTorch (fp32 and bf16: no other runtime needed).


def auto_build(root: Path, name: str, backend: str = "torch"):
    cfg = make_config(collection=root / "images", networks=("efficientnet_lite0",), k=3, backend=backend,
                      precision="auto", experiment_enabled=False, map_enabled=False, query_enabled=False,
                      out=root / name, cache_dir=root / "cache")  # fmt: skip
    return build(cfg, QuietReporter()), cfg


def stored(cfg, result) -> np.ndarray:
    net = result.networks[0]
    key = feature_key(net.spec, None, net.precision.used, backend=net.precision.backend)
    store = FeatureStore(cfg.cache_dir, f"{key}-{decode_limits(cfg).key}")
    return store.matrix([i.content_hash for i in result.items])


@pytest.fixture
def given_speeds(monkeypatch):
    """The CPU taken to have AVX512_BF16 (whatever it has), and each mode's measured speed given: bf16 twice
    fp32's. Returns the list of modes timed, in order."""
    here = cpu(AVX512)
    monkeypatch.setattr(backends, "cpu_features", lambda: here)
    monkeypatch.setattr(auto_precision, "cpu_features", lambda: here)
    timed: list[str] = []

    def given(extractor, inputs, batch_size) -> float:
        bf16 = isinstance(extractor, torch_runtime.TorchExtractor) and extractor.bf16
        timed.append("bf16" if bf16 else "fp32")
        return 20.0 if bf16 else 10.0

    monkeypatch.setattr(auto_precision, "speed", given)
    return timed


def test_auto_runs_what_it_chose_keeps_it_and_chooses_again_on_another_class_of_cpu(
    tmp_path: Path, monkeypatch, given_speeds
) -> None:
    write_collection(tmp_path / "images", {"a": 6, "b": 6})
    result, cfg = auto_build(tmp_path, "first")
    plan = result.networks[0].precision
    assert (plan.requested, plan.used, plan.backend, given_speeds) == ("auto", "bf16", "torch", ["fp32", "bf16"])
    assert "fp32 on torch 10.0 images/s; bf16 on torch 20.0 images/s" in plan.reason and plan.check
    assert result.networks[0].extracted == 12 and stored(cfg, result).shape == (12, result.networks[0].spec.dim)
    manifest = json.loads((tmp_path / "first" / "data" / "manifest.json").read_text())
    assert manifest["precision"] == "auto" and manifest["precision_used"] == "efficientnet_lite0 bf16 on torch (auto)"
    index = (tmp_path / "first" / "index.html").read_text()
    assert "efficientnet_lite0 ran in bf16 on torch (auto): chosen by measurement on x86-avx512bf16-vnni" in index
    assert "bf16 checked against fp32: mean cosine distance" in index
    again, _ = auto_build(tmp_path, "second")
    assert again.networks[0].precision == plan and again.networks[0].extracted == 0  # kept: nothing timed again
    assert given_speeds == ["fp32", "bf16"]
    amx = cpu(SAPPHIRE)
    monkeypatch.setattr(backends, "cpu_features", lambda: amx)
    monkeypatch.setattr(auto_precision, "cpu_features", lambda: amx)
    third, _ = auto_build(tmp_path, "third")
    assert given_speeds == ["fp32", "bf16"] * 2  # another class: measured again
    assert third.networks[0].precision.reason.startswith("chosen by measurement on x86-amx-vnni")


def test_auto_never_chooses_a_bf16_made_unfaithful_on_purpose(tmp_path: Path, unfaithful_bf16, given_speeds) -> None:
    """torch bf16 whose features are another image's (conftest.unfaithful_bf16) fails its check, so auto runs
    fp32 although bf16 was measured twice as fast."""
    write_collection(tmp_path / "images", {"a": 8, "b": 8})
    result, _ = auto_build(tmp_path, "site")
    plan = result.networks[0].precision
    assert (plan.used, plan.backend, plan.check, given_speeds) == ("fp32", "torch", "", ["fp32"])
    assert "bf16 on torch: bf16 failed its check against fp32 on 16 calibration inputs here" in plan.reason


def test_auto_measured_for_real_runs_what_its_own_trials_decide(tmp_path: Path) -> None:
    """ONNX Runtime's fp32 and int8 timed on this machine, whatever it is: the build runs pick(trials), and
    its features are that mode's."""
    pytest.importorskip("onnxruntime")
    write_collection(tmp_path / "images", {"a": 8, "b": 8})
    result, cfg = auto_build(tmp_path, "site", backend="onnx")
    plan = result.networks[0].precision
    choice = read_choice(note_path(result.networks[0].spec, None, cfg.cache_dir, "onnx", backends.cpu_features()))
    assert choice is not None and [str(t.mode) for t in choice.trials] == ["fp32 on onnx", "int8 on onnx"]
    assert choice.trials[0].images_per_second > 0 and not choice.trials[0].failure
    assert (plan.used, plan.backend) == (pick(choice.trials).precision, "onnx") == (choice.chosen.precision, "onnx")
    assert stored(cfg, result).shape == (16, result.networks[0].spec.dim)

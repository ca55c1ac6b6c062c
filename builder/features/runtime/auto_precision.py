"""`--precision auto`: each network runs in the fastest precision and backend that is faithful on this machine.

Which one that is depends on the CPU (bench/extract.py, images/s on the bundled sample): on a 2-core AMD EPYC
with AVX512_BF16 and VNNI, vgg16 ran 7.0 in fp32 (ONNX Runtime), 14.4 in bf16 on OpenVINO; on a 2-core Intel
Xeon with AMX 11.2 and 65.3, and 121 in int8 on OpenVINO (AMX's int8 tiles) against 34 on ONNX Runtime;
without AVX512_BF16 bf16 is emulated and slower than fp32. So it is measured, once per network and class of
CPU, rather than guessed:

1. the candidates (`candidates`): fp32 on each fp32 backend present (ONNX Runtime, OpenVINO: their features
   are the same), bf16 where the CPU computes it natively (on OpenVINO, or PyTorch where OpenVINO is absent:
   PyTorch's was the slower wherever both ran), int8 on ONNX Runtime and OpenVINO; within the backend asked
   for, if one was;
2. each reduced one made and checked against fp32 on the calibration inputs exactly as when it is asked for
   alone (quantize.py, kernel_check.py), and those that fail dropped;
3. the faithful ones timed on the same inputs (`speed`), and the fastest kept (`pick`), a less faithful
   precision only where it beats the more faithful one by MIN_GAIN (fidelity is worth a measurement's noise:
   int8 kept 0.865 of efficientnet_lite0's fp32 neighbours on the sample, bf16 0.963, at about the same speed);
4. the trials and the choice written to a JSON note in the cache's models folder, named by the network, the
   backend asked for and the class of CPU (cpu.CpuFeatures.kernel_class), which every later build on that
   class reads.

A choice is made again on another class of CPU, when the candidates change (OpenVINO installed since), and
when the chosen precision's own model or check is gone from the cache. On a GPU auto runs fp32: no GPU
measured the alternatives here. The timing is short (MIN_SECONDS per candidate) and takes the machine as it
is: a build sharing its cores with other work measures them shared.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from builder.cache import CacheLayout, atomic_write
from builder.features.networks.registry import Extractor, NetworkSpec
from builder.features.runtime.backends import PrecisionPlan, load_extractor, plan_precision, resolve_backend
from builder.features.runtime.cpu import CpuFeatures, cpu_features

MIN_GAIN = 1.1  # a reduced precision is chosen only where at least this much faster than the fastest fp32
MIN_SECONDS = 2.0  # each candidate is timed over passes of the calibration inputs for about this long
MAX_PASSES = 5
_FIDELITY = ("fp32", "bf16", "int8")  # most faithful first: bf16 keeps 8 bits of mantissa, int8 about 7 of range


@dataclass(frozen=True)
class Mode:
    precision: str
    backend: str

    def __str__(self) -> str:
        return f"{self.precision} on {self.backend}"


@dataclass(frozen=True)
class Trial:
    """One candidate on the calibration inputs: its speed, or why it was not timed (its check failed)."""

    mode: Mode
    images_per_second: float = 0.0
    failure: str = ""
    check: str = ""  # a reduced precision's figures against fp32, where it passed

    def describe(self) -> str:
        return f"{self.mode}: {self.failure}" if self.failure else f"{self.mode} {self.images_per_second:.1f} images/s"


@dataclass(frozen=True)
class Choice:
    """What auto chose for a network on a class of CPU, and the trials that decided it."""

    cpu_class: str
    cpu: str  # cpu.CpuFeatures.summary of the machine that measured
    candidates: tuple[Mode, ...]
    trials: tuple[Trial, ...]
    chosen: Mode

    def reason(self) -> str:
        """Why, in a phrase: 'chosen by measurement on x86-avx512bf16-vnni: bf16 on openvino 14.2 images/s;
        fp32 on onnx 6.7 images/s; ...'."""
        return f"chosen by measurement on {self.cpu_class}: " + "; ".join(t.describe() for t in self.trials)


def candidates(backend: str, cpu: CpuFeatures, onnx: bool, openvino: bool) -> tuple[Mode, ...]:
    """The modes auto tries on a CPU, within `backend` ('auto': any). onnx/openvino: whether those runtimes
    are installed. fp32 comes first: it is the reference, and what runs while nothing else is known."""
    if backend != "auto":
        fp32 = [backend]
        bf16 = [backend] if backend in ("torch", "openvino") else []
        int8 = [backend] if backend == "onnx" or (backend == "openvino" and onnx) else []  # ORT makes the model
    else:
        fp32 = [b for b, present in (("onnx", onnx), ("openvino", openvino)) if present] or ["torch"]
        bf16 = ["openvino" if openvino else "torch"]
        # OpenVINO's int8 runs the model ONNX Runtime's quantization makes: without ONNX Runtime, no int8
        int8 = ["onnx", *(["openvino"] if openvino else [])] if onnx else []
    if cpu.native_bf16 is False:  # emulated: slower than fp32 (backends._EMULATED_BF16), not worth timing
        bf16 = []
    return tuple([Mode("fp32", b) for b in fp32] + [Mode("bf16", b) for b in bf16] + [Mode("int8", b) for b in int8])


def pick(trials: tuple[Trial, ...]) -> Mode:
    """The fastest faithful mode, where a less faithful precision (fp32, then bf16, then int8) must be at least
    MIN_GAIN times as fast as the more faithful one it displaces. Within a precision the fastest backend wins:
    its features are the same (fp32) or equally checked."""
    best: Trial | None = None
    for precision in _FIDELITY:
        timed = [t for t in trials if t.mode.precision == precision and not t.failure]
        if not timed:
            continue
        fastest = max(timed, key=lambda t: t.images_per_second)
        if best is None or fastest.images_per_second >= MIN_GAIN * best.images_per_second:
            best = fastest
    if best is None:
        raise ValueError("no faithful trial: fp32, the reference, is always one")
    return best.mode


def speed(extractor: Extractor, inputs: np.ndarray, batch_size: int) -> float:
    """Images per second over whole passes of `inputs` in batches of `batch_size`, after one run of each batch
    shape (a runtime may compile per shape), for about MIN_SECONDS or MAX_PASSES passes."""
    batches = [inputs[i : i + batch_size] for i in range(0, len(inputs), batch_size)]
    for batch in {b.shape: b for b in batches}.values():
        extractor(batch)
    images, start = 0, time.perf_counter()
    for _ in range(MAX_PASSES):
        for batch in batches:
            extractor(batch)
        images += len(inputs)
        if time.perf_counter() - start >= MIN_SECONDS:
            break
    return images / (time.perf_counter() - start)


def note_path(spec: NetworkSpec, weights_file: Path | None, cache_dir: Path, backend: str, cpu: CpuFeatures) -> Path:
    """Where auto's choice for `spec` within `backend` on this class of CPU is kept."""
    return CacheLayout(cache_dir).model(f"{spec.cache_key(weights_file)}-auto-{backend}-{cpu.kernel_class}.json")


def read_choice(note: Path) -> Choice | None:
    """The choice a note records; None when there is none or it cannot be read (it is then made again)."""
    try:
        body = json.loads(note.read_text())
        trials = tuple(Trial(**{**t, "mode": Mode(**t["mode"])}) for t in body["trials"])
        return Choice(body["cpu_class"], body["cpu"], tuple(Mode(**m) for m in body["candidates"]), trials,
                      Mode(**body["chosen"]))  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _runtimes() -> tuple[bool, bool]:
    """Whether ONNX Runtime and OpenVINO are installed."""
    from builder.features.runtime import openvino_runtime

    return resolve_backend("auto", "cpu") == "onnx", openvino_runtime.available()


def auto_outlook(backend: str = "auto", cpu: CpuFeatures | None = None) -> str:
    """What auto does on this CPU, for `vsis networks`."""
    cpu = cpu or cpu_features()
    modes = ", ".join(str(m) for m in candidates(backend, cpu, *_runtimes()))
    return f"the fastest faithful of {modes}, measured once per network on this class of CPU ({cpu.kernel_class})"


def plan_auto(
    spec: NetworkSpec,
    weights_file: Path | None,
    device: str,
    cache_dir: Path,
    backend: str = "auto",
    cpu: CpuFeatures | None = None,
    runtimes: Callable[[], tuple[bool, bool]] = _runtimes,
) -> PrecisionPlan:
    """What `spec` runs in under auto here: the kept choice, or `pending` (fp32 meanwhile) until `choose` has
    measured on this class of CPU with today's candidates."""
    cpu = cpu or cpu_features()
    if spec.direct is not None:
        return PrecisionPlan("fp32", "fp32")
    if device != "cpu":
        return PrecisionPlan("auto", "fp32", "fp32 on a GPU (no GPU measured the alternatives here)",
                             backend=resolve_backend(backend, device))  # fmt: skip
    modes = candidates(backend, cpu, *runtimes())
    choice = read_choice(note_path(spec, weights_file, cache_dir, backend, cpu))
    if choice is not None and choice.candidates == modes:
        chosen = choice.chosen
        plan = plan_precision(spec, weights_file, chosen.precision, device, cache_dir, cpu, chosen.backend)
        if not plan.pending and not plan.fell_back:  # the chosen model and its check are still in the cache
            return PrecisionPlan("auto", plan.used, choice.reason(), backend=chosen.backend, check=plan.check)
    return PrecisionPlan("auto", "fp32", pending=True, backend=modes[0].backend)


def choose(
    spec: NetworkSpec,
    weights_file: Path | None,
    cache_dir: Path,
    calibration: np.ndarray,
    batch_size: int,
    backend: str = "auto",
    runtimes: Callable[[], tuple[bool, bool]] = _runtimes,
) -> Choice:
    """Make, check and time each candidate on the CPU with `calibration` (preprocessed inputs), and keep the
    choice in its note (atomically)."""
    cpu = cpu_features()
    modes = candidates(backend, cpu, *runtimes())
    trials = []
    for mode in modes:
        extractor = load_extractor(spec, weights_file, "cpu", mode.backend, cache_dir, mode.precision, calibration)
        plan = plan_precision(spec, weights_file, mode.precision, "cpu", cache_dir, cpu, mode.backend)
        if plan.fell_back:
            trials.append(Trial(mode, failure=plan.reason))
        else:
            trials.append(Trial(mode, speed(extractor, calibration, batch_size), check=plan.check))
        del extractor  # one candidate's runtime in memory at a time
    choice = Choice(cpu.kernel_class, cpu.summary(), modes, tuple(trials), pick(tuple(trials)))
    body = {**asdict(choice), "min_gain": MIN_GAIN}
    atomic_write(note_path(spec, weights_file, cache_dir, backend, cpu), (json.dumps(body, indent=2) + "\n").encode())
    return choice

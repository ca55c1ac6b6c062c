"""Shared by the benchmarks: a real collection of N OpenClipart drawings, weights for timing, the machine."""

from __future__ import annotations

import json
import os
import platform
import random
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OPENCLIPART = Path("/usr/share/openclipart/png")


def openclipart_collection(n: int, dest: Path, seed: int = 71) -> Path:
    """A fixed-seed sample of n drawings from Debian's openclipart-png, linked (not copied) into dest."""
    files = sorted(OPENCLIPART.rglob("*.png"))
    if len(files) < n:
        raise SystemExit(f"{OPENCLIPART}: {len(files)} images, {n} asked (apt-get install openclipart-png)")
    for src in sorted(random.Random(seed).sample(files, n)):
        link = dest / src.relative_to(OPENCLIPART)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(src)
    return dest


def machine() -> str:
    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores, {model}".strip(", ")


def ensure_weights(name: str, torch_home: Path) -> str:
    """'imagenet' when the real weights are cached; otherwise save random ones where torchvision looks."""
    from builder.features.networks import get
    from builder.features.networks.torchvision_nets import TorchvisionWeights

    spec = get(name)
    if not isinstance(spec.weights, TorchvisionWeights):
        return spec.weights.describe()
    if spec.weights.expected_path().is_file():
        return "imagenet (cached)"
    import torch
    import torchvision.models as tvm

    os.environ["TORCH_HOME"] = str(torch_home)
    path = spec.weights.expected_path()
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(getattr(tvm, name)(weights=None).state_dict(), path)
    return "random (timing only)"


def bench_collection(openclipart: int, tmp_path: Path) -> tuple[Path, Path | None, str]:
    """(collection folder, metadata file, label): N OpenClipart drawings, or the bundled sample when N = 0."""
    if openclipart:
        return openclipart_collection(openclipart, tmp_path / "collection"), None, f"openclipart-{openclipart}"
    sample = REPO / "samples" / "openclipart"
    return sample, sample / "metadata.csv", "bundled sample"


def cpu() -> str:
    """The CPU features that decide reduced-precision speed and fidelity ('x86_64: AVX2 yes, AVX-512 no, ...')."""
    from builder.features.runtime.cpu import cpu_features

    return cpu_features().summary()


def save_results(path: Path, label: str, rows: list[dict]) -> None:
    """Merge this run's rows into the JSON file under `label` and the kind of CPU, beside earlier runs on
    other collections and CPUs. Every row carries the CPU's features, so no figure is read without them."""
    record = {
        "collection": label,
        "machine": machine(),
        "cpu": cpu(),
        "python": platform.python_version(),
        "rows": [{**row, "cpu": cpu()} for row in rows],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(path.read_text()) if path.is_file() else {}
    existing[f"{label} on {cpu()}"] = record
    path.write_text(json.dumps(existing, indent=2) + "\n")
    print(f"written to {path}")

"""Build time per network: a cold build (empty cache), a rebuild with nothing changed, then one with images added.

The perturbation experiment is off here (bench/experiment.py measures it), so each row is one network's
collection build alone.

    python bench/build_time.py                                   # the bundled sample, its two networks
    python bench/build_time.py --openclipart 2000 --networks efficientnet_lite0,pixels,squeezenet1_1

--openclipart N builds a fixed-seed sample of N drawings from Debian's openclipart-png
(apt-get install openclipart-png), linked into a temporary folder (the originals are only read).
Torchvision networks whose ImageNet weights are not in the torch cache run with random weights saved
into a temporary TORCH_HOME: the timing is the same, the neighbours are meaningless, and the JSON says so.
With --openclipart, --add N then links N more drawings into the collection and builds again, to show that
exactly N images are extracted. Builds run as commands (`vsis build` in a fresh process: interpreter
start and imports included), which report their own peak memory (VmHWM); the no-change rebuild is timed
both as a command and in-process. Prints a table and writes bench/results/build_time.json.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import OPENCLIPART, REPO, bench_collection, ensure_weights, save_results


def add_drawings(collection: Path, n: int, seed: int = 72) -> int:
    """Link n OpenClipart drawings that are not in the collection yet; return how many were linked."""
    present = {p.resolve() for p in collection.rglob("*.png")}
    candidates = [p for p in sorted(OPENCLIPART.rglob("*.png")) if p.resolve() not in present]
    added = 0
    for src in random.Random(seed).sample(candidates, n):
        link = collection / "added" / src.name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(src)
        added += 1
    return added


# `vsis build` in a fresh process that reports its own peak memory (VmHWM: this process alone, from exec on).
_COMMAND = (
    "import atexit, sys\n"
    "def _peak():\n"
    "    line = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
    "    print('VSIS_PEAK_KB', line.split()[1], file=sys.stderr)\n"
    "atexit.register(_peak)\n"
    "from builder.cli import app\n"
    "app(prog_name='vsis')\n"
)


def run_command(build_args: list[str]) -> tuple[float, float, str]:
    """`vsis build ARGS` as a command: (seconds, peak resident MB, its output)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _COMMAND, "build", *build_args], env=dict(os.environ), capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"vsis build failed:\n{done.stdout}\n{done.stderr}")
    peak = re.search(r"VSIS_PEAK_KB (\d+)", done.stderr)
    return seconds, int(peak.group(1)) / 1024 if peak else float("nan"), done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openclipart", type=int, default=0, help="build N OpenClipart images instead of the sample")
    parser.add_argument("--networks", default="efficientnet_lite0,pixels")
    parser.add_argument("--workers", default="2", help="comma-separated: one cold build per value (e.g. 0,2)")
    parser.add_argument("--add", type=int, default=10, help="with --openclipart: images added for a third build")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "build_time.json")
    args = parser.parse_args()

    from builder.build import build
    from builder.config import make_config

    with tempfile.TemporaryDirectory(prefix="vsis-bench-") as tmp:
        tmp_path = Path(tmp)
        collection, metadata, label = bench_collection(args.openclipart, tmp_path)
        rows = []
        runs = [(n.strip(), int(w)) for n in args.networks.split(",") if n.strip() for w in args.workers.split(",")]
        for name, workers in runs:
            weights = ensure_weights(name, tmp_path / "torch_home")
            out, cache = tmp_path / f"site-{name}", tmp_path / f"cache-{name}-{workers}"
            config = make_config(
                collection=collection,
                metadata_file=metadata,
                networks=(name,),
                out=out,
                cache_dir=cache,
                experiment_enabled=False,
                workers=workers,
                precision=args.precision,
                follow_external_links=True,
            )
            build_args = [
                str(collection),
                "--networks",
                name,
                "--out",
                str(out),
                "--cache-dir",
                str(cache),
                "--no-experiment",
                "--workers",
                str(workers),
                "--precision",
                args.precision,
                "--follow-external-links",
            ]  # the OpenClipart drawings are linked in
            build_args += ["--metadata", str(metadata)] if metadata else []
            cold_s, peak_mb, printed = run_command(build_args)
            speed = re.search(
                rf"{name} \(\w+\): (\d+) extracted, -?\d+ from cache, ([\d.]+) images/s, "
                r"(?:Annoy )?recall@\d+ ([\d.]+)",
                " ".join(printed.split()),
            )
            if speed is None:
                raise SystemExit(f"unexpected output of vsis build:\n{printed}")
            start = time.perf_counter()
            warm = build(config)
            warm_s = time.perf_counter() - start
            command_s, _, _ = run_command(build_args)
            added = added_extracted = None
            if args.openclipart and args.add:
                added = add_drawings(collection, args.add)
                added_extracted = build(config).networks[0].extracted
            items, per_s, recall = int(speed.group(1)), float(speed.group(2)), float(speed.group(3))
            rows.append(
                {
                    "network": name,
                    "workers": workers,
                    "precision": args.precision,
                    "weights": weights,
                    "items": len(warm.items),
                    "skipped": len(warm.skipped),
                    "extracted_cold": items,
                    "cold_build_command_s": round(cold_s, 2),
                    "extract_images_per_s": per_s,
                    "peak_rss_mb_cold_build": round(peak_mb),
                    "rebuild_s": round(warm_s, 2),
                    "rebuild_share": round(warm_s / cold_s, 4),
                    "rebuild_command_s": round(command_s, 2),
                    "rebuild_command_share": round(command_s / cold_s, 4),
                    "rebuild_extracted": warm.networks[0].extracted,
                    "added": added,
                    "added_extracted": added_extracted,
                    "annoy_recall_at_10": recall,
                }
            )
            print(
                f"{label}: {name:<18} workers {workers}  {len(warm.items):>5} items  cold {cold_s:7.1f}s as a command "
                f"({per_s:6.1f} img/s extracting, peak {peak_mb:,.0f} MB)  rebuild {warm_s:5.2f}s in-process "
                f"({100 * warm_s / cold_s:.1f}%), {command_s:.2f}s as a command ({100 * command_s / cold_s:.1f}%)  "
                f"added {added}: extracted {added_extracted}  Annoy recall@10 {recall:.3f}  weights: {weights}",
                flush=True,
            )
            if added:
                for link in (collection / "added").iterdir():
                    link.unlink()
    save_results(args.out, label, rows)


if __name__ == "__main__":
    main()

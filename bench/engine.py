"""The cost of the distributed engine: the same collection extracted with `--engine local` and `--engine ray`.

    python bench/engine.py [--openclipart 2000] [--networks efficientnet_lite0,pixels]

Each build runs cold (an empty cache) as a command (`vsis build` in a fresh process, interpreter start and
imports included), without the experiment, which reports its own peak memory (VmHWM, the driver's: Ray's
workers are other processes, whose memory is not counted there). `ray` starts a local Ray instance with
the machine's CPUs and one actor per CPU less one (ray-project/ray#44687), as `vsis build --engine ray`
does without --ray-address. Both builds' features are compared (largest absolute difference). Prints a line
per engine and writes bench/results/engine.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import REPO, bench_collection, save_results

CHILD = r"""
import json, sys, time
from pathlib import Path
from builder.build import build
from builder.config import make_config
args = json.loads(sys.argv[1])
config = make_config(collection=Path(args["collection"]), networks=tuple(args["networks"]), out=Path(args["out"]),
                     cache_dir=Path(args["cache"]), experiment_enabled=False, engine=args["engine"],
                     follow_external_links=True)  # the collection links OpenClipart's files
start = time.perf_counter()
result = build(config)
took = time.perf_counter() - start
peak = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
print("VSIS_BENCH " + json.dumps({"build_s": took, "peak_mb": int(peak) / 1024, "items": len(result.items),
      "extracted": {r.name: r.extracted for r in result.networks}}))
"""


def run(collection: Path, networks: list[str], engine: str, work: Path) -> dict:
    config = {"collection": str(collection), "networks": networks, "engine": engine,
              "out": str(work / f"site-{engine}"), "cache": str(work / f"cache-{engine}")}  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0"}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(config)], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("VSIS_BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"{engine} build failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return {"engine": engine, "command_s": round(wall, 2), **json.loads(line.removeprefix("VSIS_BENCH "))}


def largest_difference(work: Path) -> float:
    """The largest absolute difference between the two engines' packed features, over every network."""
    worst = 0.0
    for local in sorted((work / "cache-local" / "features").rglob("packed-*.npy")):
        remote = work / "cache-ray" / local.relative_to(work / "cache-local")
        worst = max(worst, float(np.abs(np.load(local) - np.load(remote)).max()))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openclipart", type=int, default=2000)
    parser.add_argument("--networks", default="efficientnet_lite0,pixels")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "engine.json")
    args = parser.parse_args()
    networks = [n.strip() for n in args.networks.split(",") if n.strip()]
    with tempfile.TemporaryDirectory(prefix="vsis-engine-") as tmp:
        work = Path(tmp)
        collection, _, label = bench_collection(args.openclipart, work)
        rows = [run(collection, networks, engine, work) for engine in ("local", "ray")]
        difference = largest_difference(work)
    local = rows[0]["command_s"]
    for row in rows:
        row["networks"] = networks
        row["largest_feature_difference"] = difference
        row["overhead_vs_local"] = round(row["command_s"] / local, 3)
        print(f"{row['engine']:>5}: {row['items']} images, extracted {row['extracted']}, build {row['build_s']:.1f} s "
              f"({row['command_s']:.1f} s as a command, {row['overhead_vs_local']:.2f}x local), driver peak "
              f"{row['peak_mb']:,.0f} MB; features differ by at most {difference:.1e}")  # fmt: skip
    save_results(args.out, label, rows)


if __name__ == "__main__":
    main()

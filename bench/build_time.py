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
exactly N images are extracted. The no-change rebuild is also timed as a command (`vsis build` in a fresh
process: interpreter start and imports included). Peak memory is the process's maximum resident set so far
(run one network per invocation to read it per network). Prints a table and writes bench/results/build_time.json.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
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


def timed_command(config_args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(config_args, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


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
            config = make_config(collection=collection, metadata=metadata, networks=(name,), out=out,
                                 cache_dir=cache, experiment=False, workers=workers, precision=args.precision)
            start = time.perf_counter()
            cold = build(config)
            cold_s = time.perf_counter() - start
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            start = time.perf_counter()
            warm = build(config)
            warm_s = time.perf_counter() - start
            command = [str(Path(sys.executable).parent / "vsis"), "build", str(collection), "--networks", name,
                       "--out", str(out), "--cache-dir", str(cache), "--no-experiment", "--workers", str(workers),
                       "--precision", args.precision] + (["--metadata", str(metadata)] if metadata else [])
            command_s = timed_command(command, dict(os.environ))
            added = added_extracted = None
            if args.openclipart and args.add:
                added = add_drawings(collection, args.add)
                added_extracted = build(config).networks[0].extracted
            net = cold.networks[0]
            rows.append({
                "network": name, "workers": workers, "precision": args.precision, "weights": weights,
                "items": len(cold.items), "skipped": len(cold.skipped),
                "cold_build_s": round(cold_s, 2), "extract_images_per_s": round(net.images_per_second, 2),
                "rebuild_s": round(warm_s, 2), "rebuild_share": round(warm_s / cold_s, 4),
                "rebuild_command_s": round(command_s, 2), "rebuild_command_share": round(command_s / cold_s, 4),
                "rebuild_extracted": warm.networks[0].extracted, "added": added, "added_extracted": added_extracted,
                "peak_rss_mb_after_cold_build": round(peak_mb), "annoy_recall_at_10": round(net.annoy_recall, 4),
            })
            print(f"{label}: {name:<18} workers {workers}  {len(cold.items):>5} items  cold {cold_s:7.1f}s "
                  f"({net.images_per_second:6.1f} img/s extracting, peak {peak_mb:,.0f} MB)  rebuild {warm_s:5.2f}s "
                  f"({100 * warm_s / cold_s:.1f}%; as a command {command_s:.2f}s = {100 * command_s / cold_s:.1f}%)  "
                  f"added {added}: extracted {added_extracted}  Annoy recall@10 {net.annoy_recall:.3f}  "
                  f"weights: {weights}", flush=True)
            if added:
                for link in (collection / "added").iterdir():
                    link.unlink()
    save_results(args.out, label, rows)


if __name__ == "__main__":
    main()

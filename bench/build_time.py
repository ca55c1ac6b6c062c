"""Build time per network: a cold build (empty cache), then a rebuild with nothing changed.

The perturbation experiment is off here (bench/experiment.py measures it), so each row is one network's
collection build alone.

    python bench/build_time.py                                   # the bundled sample, its two networks
    python bench/build_time.py --openclipart 2000 --networks efficientnet_lite0,pixels,squeezenet1_1

--openclipart N builds a fixed-seed sample of N drawings from Debian's openclipart-png
(apt-get install openclipart-png), linked into a temporary folder (the originals are only read).
Torchvision networks whose ImageNet weights are not in the torch cache run with random weights saved
into a temporary TORCH_HOME: the timing is the same, the neighbours are meaningless, and the JSON says so.
Prints a table and writes bench/results/build_time.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import REPO, bench_collection, ensure_weights, save_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openclipart", type=int, default=0, help="build N OpenClipart images instead of the sample")
    parser.add_argument("--networks", default="efficientnet_lite0,pixels")
    parser.add_argument("--workers", default="2", help="comma-separated: one cold build per value (e.g. 0,2)")
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
            config = make_config(collection=collection, metadata=metadata, networks=(name,), out=tmp_path / f"site-{name}",
                                 cache_dir=tmp_path / f"cache-{name}-{workers}", experiment=False, workers=workers)
            start = time.perf_counter()
            cold = build(config)
            cold_s = time.perf_counter() - start
            start = time.perf_counter()
            warm = build(config)
            warm_s = time.perf_counter() - start
            net = cold.networks[0]
            rows.append({
                "network": name, "workers": workers, "weights": weights, "items": len(cold.items), "skipped": len(cold.skipped),
                "cold_build_s": round(cold_s, 2), "extract_images_per_s": round(net.images_per_second, 2),
                "rebuild_s": round(warm_s, 2), "rebuild_extracted": warm.networks[0].extracted,
                "annoy_recall_at_10": round(net.annoy_recall, 4),
            })
            print(f"{label}: {name:<18} workers {workers}  {len(cold.items):>5} items  cold {cold_s:7.1f}s "
                  f"({net.images_per_second:6.1f} img/s extracting)  rebuild {warm_s:5.1f}s  "
                  f"Annoy recall@10 {net.annoy_recall:.3f}  weights: {weights}", flush=True)
    save_results(args.out, label, rows)


if __name__ == "__main__":
    main()

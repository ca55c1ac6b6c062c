"""The perturbation-recovery experiment on real images: N OpenClipart originals, each with the five
profiles' copies (N x 6 images indexed), per network; prints the metric table and its run time.

    python bench/experiment.py --originals 1000 --networks efficientnet_lite0,pixels

Needs Debian's openclipart-png. Writes bench/results/experiment.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from common import REPO, cpu, machine, openclipart_collection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--originals", type=int, default=1000)
    parser.add_argument("--networks", default="efficientnet_lite0,pixels")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "experiment.json")
    args = parser.parse_args()

    from builder.build import build
    from builder.config import make_config

    networks = tuple(n.strip() for n in args.networks.split(",") if n.strip())
    with tempfile.TemporaryDirectory(prefix="vsis-bench-") as tmp:
        tmp_path = Path(tmp)
        # a few files fail to decode (see the build report); sample a little more so that N remain
        collection = openclipart_collection(args.originals + 20, tmp_path / "collection")
        config = make_config(
            collection=collection,
            networks=networks,
            out=tmp_path / "site",
            cache_dir=tmp_path / "cache",
            experiment_originals=args.originals,
            follow_external_links=True,
        )  # the drawings are linked in
        start = time.perf_counter()
        result = build(config)
        seconds = time.perf_counter() - start
        metrics = json.loads((tmp_path / "site" / "experiments" / "metrics.json").read_text())
    print(
        f"{metrics['originals']} originals x {len(metrics['profiles'])} profiles = {metrics['indexed']} images "
        f"indexed per network; whole build {seconds:.0f}s ({len(result.items)} collection items, "
        f"{len(result.skipped)} files skipped)"
    )
    print(f"{'network':<20} {'k':>2}  {'precision':>15}  {'recall':>15}  {'F1':>15}")
    for r in metrics["recovery"]:
        print(
            f"{r['network']:<20} {r['k']:>2}  "
            + "  ".join(f"{r[f'{m}_mean']:.3f} ± {r[f'{m}_std']:.3f}" for m in ("precision", "recall", "f1"))
        )
    record = {
        "machine": machine(),
        "cpu": cpu(),
        "python": platform.python_version(),
        "networks": list(networks),
        "build_seconds": round(seconds, 1),
        "skipped": result.skipped,
        "metrics": metrics,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()

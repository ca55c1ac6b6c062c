"""The original study's networks on this machine: its wall time on the bundled sample, and its size projected.

    python bench/study.py                                  # fp32 (the default) and auto, cold caches
    python bench/study.py --precisions fp32

The study put 5,000 collection images and 1,000 originals x 5 perturbed copies through vgg16, resnet152 and
densenet201: 10,000 images per network. Here each precision builds the bundled sample with those three
networks and the perturbation experiment as the sample configures it, as a command from an empty cache
(`vsis build`: start-up, imports, exporting and, under auto, choosing included), and reports its wall time and
each network's extraction speed in that build (decoding included). The study's size is then projected from
those speeds: 10,000 images / speed per network, extraction alone (at 5,000 images the neighbours, the
experiment's statistics and the pages are seconds, not hours). Torchvision networks whose ImageNet weights
are not cached run with random weights (speed only; bench/common.ensure_weights).
Writes bench/results/study.json.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from build_time import run_command
from common import REPO, bench_collection, cpu, ensure_weights, save_results

STUDY_NETWORKS = ("vgg16", "resnet152", "densenet201")
STUDY_IMAGES = 5_000 + 1_000 * 5  # the collection, and 1,000 originals x 5 perturbed copies


def network_lines(printed: str) -> dict[str, dict[str, object]]:
    """Each network's line of the build report: what it ran in, how many it extracted and how fast."""
    flat = " ".join(printed.split())
    found = {}
    for name in STUDY_NETWORKS:
        ran_in = r"([^)]+(?: \(auto\))?)"  # 'fp32', or under auto 'bf16 on openvino (auto)'
        line = re.search(rf"{name} \({ran_in}\): (\d+) extracted, -?\d+ from cache, ([\d.]+) images/s", flat)
        if line is None:
            raise SystemExit(f"unexpected output of vsis build (no line for {name}):\n{printed}")
        found[name] = {"ran_in": line.group(1), "extracted": int(line.group(2)), "images_per_s": float(line.group(3))}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precisions", default="fp32,auto")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "study.json")
    args = parser.parse_args()

    print(f"CPU {cpu()}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="vsis-bench-") as tmp:
        tmp_path = Path(tmp)
        collection, metadata, label = bench_collection(0, tmp_path)
        weights = {name: ensure_weights(name, tmp_path / "torch_home") for name in STUDY_NETWORKS}
        for precision in [p.strip() for p in args.precisions.split(",") if p.strip()]:
            out, cache = tmp_path / f"site-{precision}", tmp_path / f"cache-{precision}"
            build_args = [str(collection), "--metadata", str(metadata), "--networks", ",".join(STUDY_NETWORKS),
                          "--out", str(out), "--cache-dir", str(cache), "--precision", precision]  # fmt: skip
            seconds, peak_mb, printed = run_command(build_args)
            networks = network_lines(printed)
            projected = sum(STUDY_IMAGES / float(n["images_per_s"]) for n in networks.values())  # type: ignore[arg-type]
            rows.append(
                {
                    "precision": precision,
                    "weights": weights,
                    "sample_build_s": round(seconds, 1),
                    "peak_rss_mb": round(peak_mb),
                    "networks": networks,
                    "study_images_per_network": STUDY_IMAGES,
                    "study_extraction_projected_h": round(projected / 3600, 2),
                }
            )
            print(
                f"{label}, {precision}: the three networks' build {seconds:.0f} s (peak {peak_mb:,.0f} MB); "
                + "; ".join(f"{name} in {n['ran_in']} {n['images_per_s']} img/s" for name, n in networks.items())
                + f"; the study's {STUDY_IMAGES:,} images per network projected at {projected / 3600:.2f} h",
                flush=True,
            )
    save_results(args.out, label, rows)


if __name__ == "__main__":
    main()

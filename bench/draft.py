"""JPEG draft mode: how much faster decoding gets, and whether the neighbours stay the same.

    python bench/draft.py --openclipart 500 [--network efficientnet_lite0]

N OpenClipart drawings (a fixed-seed sample) are written once as JPEGs the size of a camera photo or a
museum scan (--long-side, 3000 pixels by default: the drawings are scaled up with Lanczos, as OpenClipart's
PNGs are mostly under 1,000 pixels, where draft mode changes nothing), quality 90, on white; then each is
decoded twice: every pixel, and in draft mode as a build does (both sides kept at least 512).
Reported: decode time per image both ways, how many files draft mode decoded smaller, and for the network
(ONNX, fp32) the largest and mean cosine distance between an image's two features and recall@10, the share
of each image's exact 10 nearest neighbours from full decoding that draft decoding also finds.
Writes bench/results/draft.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import REPO, openclipart_collection, save_results
from PIL import Image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openclipart", type=int, default=500)
    parser.add_argument("--network", default="efficientnet_lite0")
    parser.add_argument("--side", type=int, default=512, help="draft mode keeps both sides at least this long")
    parser.add_argument("--long-side", type=int, default=3000, help="the JPEGs' longer side")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "draft.json")
    args = parser.parse_args()

    from builder.features.extract import l2_normalise
    from builder.features.networks import get
    from builder.features.runtime.backends import load_extractor
    from builder.inputs.images import DecodeLimits, ImageError, decode
    from builder.search.neighbours import exact_neighbours, recall_against

    spec = get(args.network)
    with tempfile.TemporaryDirectory(prefix="vsis-bench-") as tmp:
        tmp_path = Path(tmp)
        jpegs = []
        for n, src in enumerate(sorted(openclipart_collection(args.openclipart, tmp_path / "png").rglob("*.png"))):
            try:
                im = decode(src)
            except ImageError:
                continue
            scale = args.long_side / max(im.size)
            im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
            path = tmp_path / "jpeg" / f"{n:05d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            im.save(path, quality=90)
            jpegs.append(path)
        runs = {}
        for label, limits in (("full", DecodeLimits()), ("draft", DecodeLimits(draft_side=args.side))):
            start = time.perf_counter()
            images = [decode(p, limits) for p in jpegs]
            seconds = time.perf_counter() - start
            runs[label] = (seconds, images)
        extractor = load_extractor(spec, None, "cpu", "onnx", tmp_path / "cache")
        features = {}
        for label, (_, images) in runs.items():
            batches = [np.stack([spec.preprocess(im) for im in images[i : i + 16]]) for i in range(0, len(images), 16)]
            features[label] = l2_normalise(np.concatenate([extractor(b) for b in batches]))
        distance = 1.0 - np.sum(features["full"] * features["draft"], axis=1)
        recall = recall_against(exact_neighbours(features["draft"], 10), exact_neighbours(features["full"], 10))
        reduced = sum(a.size != b.size for a, b in zip(runs["full"][1], runs["draft"][1], strict=False))
        row = {
            "images": len(jpegs),
            "network": args.network,
            "draft_side": args.side,
            "decoded_smaller": reduced,
            "full_ms_per_image": round(1000 * runs["full"][0] / len(jpegs), 2),
            "draft_ms_per_image": round(1000 * runs["draft"][0] / len(jpegs), 2),
            "decode_speedup": round(runs["full"][0] / runs["draft"][0], 2),
            "max_cosine_distance": float(distance.max()),
            "mean_cosine_distance": float(distance.mean()),
            "recall_at_10": round(recall, 4),
        }
        print(
            f"{len(jpegs)} JPEGs ({reduced} decoded smaller): full {row['full_ms_per_image']} ms/image, draft "
            f"{row['draft_ms_per_image']} ms/image (x{row['decode_speedup']}); {args.network}: cos dist max "
            f"{row['max_cosine_distance']:.2e} mean {row['mean_cosine_distance']:.2e}, recall@10 {recall:.3f}"
        )
    save_results(args.out, f"openclipart-{args.openclipart} as {args.long_side}-pixel JPEGs", [row])


if __name__ == "__main__":
    main()

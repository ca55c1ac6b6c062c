"""What each threshold on the tags' probability keeps: tags per image, images tagged, and the tags' agreement
with labelled categories, to choose the threshold a site shows and searches by (features/tags.THRESHOLD).

    python bench/tags.py                     # 600 OpenClipart drawings (stratified by top folder) and
                                             # scikit-image's photos, efficientnet_lite0 (real weights)
    python bench/tags.py --n 300 --show 12   # fewer drawings; print 12 drawings' tags

The top classes come from the build's own model (builder.features.runtime.backends.load_extractor, ONNX
Runtime, the exported model's top-classes outputs), on the images as the build prepares them. For each
threshold: tags per image, the share of images with a tag, and over the drawings whose folder names classes
(experiment/tag_agreement.py: "animals" -> animal, "food", "buildings" -> building, "transportation" finds
none...) the tags' precision beside its chance level and the share of images with a tag of their folder's
classes. scikit-image's photos have no labels: their tags are printed, to be looked at. Only networks whose
real weights are on this machine are meaningful (efficientnet_lite0 ships with its package); the others'
tags with random weights would measure nothing and are refused.

Writes bench/results/tags.json (CPU flags beside the figures).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import OPENCLIPART, REPO, save_results
from quality import decodable, labelled_files, stratified_sample

sys.path.insert(0, str(REPO))

from builder.experiment.tag_agreement import match_categories, tag_agreement  # noqa: E402
from builder.features.networks import configured  # noqa: E402
from builder.features.networks.classes import imagenet_classes  # noqa: E402
from builder.features.runtime.backends import load_extractor  # noqa: E402
from builder.features.tags import tag_rows, tags_above  # noqa: E402
from builder.features.words import classes_named  # noqa: E402
from builder.inputs.images import decode  # noqa: E402

THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
PHOTOS = ("astronaut", "chelsea", "coffee", "horse", "motorcycle_left", "rocket", "camera", "coins", "moon")


def top_classes(network: str, files: list[Path], cache: Path) -> np.ndarray:
    """The stored rows (tags.tag_rows) of `files`, through the build's exported model."""
    spec = configured(network, "crop", "avg")
    ok, why = spec.weights.available()
    if not ok or "random" in why:
        raise SystemExit(f"{network}: its real weights are not here ({why}); its tags would measure nothing")
    extractor = load_extractor(spec, None, "cpu", "onnx", cache)
    rows = []
    for start in range(0, len(files), 16):
        batch = np.stack([spec.preprocess(decode(f)) for f in files[start : start + 16]]).astype(np.float32)
        out = extractor(batch)
        assert isinstance(out, tuple), f"{network} does not tag"
        rows.append(tag_rows(out[1], out[2]))
    return np.concatenate(rows)


def shown(tags) -> str:
    names = imagenet_classes()
    return ", ".join(f"{names[t.index].name} {t.probability:.2f}" for t in tags) or "(none)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", default="efficientnet_lite0")
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--seed", type=int, default=30)
    parser.add_argument("--show", type=int, default=20, help="drawings whose tags are printed")
    args = parser.parse_args()

    chosen = stratified_sample(labelled_files(OPENCLIPART), args.n, args.seed, decodable())
    files = [f for label in sorted(chosen) for f in chosen[label]]
    labels = [label for label in sorted(chosen) for _ in chosen[label]]
    import skimage

    photo_dir = Path(skimage.__file__).parent / "data"
    photos = [next(photo_dir.glob(f"{name}.*")) for name in PHOTOS]
    with tempfile.TemporaryDirectory() as tmp:
        drawing_rows = top_classes(args.network, files, Path(tmp))
        photo_rows = top_classes(args.network, photos, Path(tmp))

    matched = match_categories(labels, classes_named)
    print(f"{args.network} on {len(files)} OpenClipart drawings ({len(matched)} of {len(set(labels))} folders")
    print(f"named by class words: {', '.join(f'{c} ({len(v)} classes)' for c, v in matched.items())})")
    print(f"{'threshold':>9} {'tags/img':>8} {'tagged':>7} {'precision':>9} {'chance':>7} {'agreeing':>8}")
    rows = []
    for threshold in THRESHOLDS:
        tags = tags_above(drawing_rows, threshold)
        agreement = tag_agreement(labels, tags, matched)
        per_image = sum(map(len, tags)) / len(tags)
        tagged = sum(bool(t) for t in tags) / len(tags)
        print(f"{threshold:9.2f} {per_image:8.2f} {tagged:7.1%} {agreement.precision:9.1%} "
              f"{agreement.chance:7.1%} {agreement.agreement:8.1%}")  # fmt: skip
        rows.append(
            {
                "network": args.network,
                "threshold": threshold,
                "drawings": len(files),
                "tags_per_image": round(per_image, 3),
                "images_tagged": round(tagged, 4),
                "matched_images": agreement.images,
                "precision": round(agreement.precision, 4),
                "chance": round(agreement.chance, 4),
                "images_agreeing": round(agreement.agreement, 4),
                "photos": {p.stem: shown(t) for p, t in zip(photos, tags_above(photo_rows, threshold), strict=True)},
            }
        )
    bins = (0.1, 0.15, 0.2, 0.3, 0.5, 1.01)
    members = {c: set(classes) for c, classes in matched.items()}
    hits: dict[float, list[bool]] = {low: [] for low in bins[:-1]}
    for label, tags in zip(labels, tags_above(drawing_rows, 0.1), strict=True):
        for t in tags if label in members else []:
            low = max(b for b in bins[:-1] if t.probability >= b)
            hits[low].append(t.index in members[label])
    print("\nprecision of the tags by their probability (drawings of matched folders):")
    by_probability = {}
    for low, high in zip(bins, bins[1:], strict=False):
        found = hits[low]
        share = sum(found) / len(found) if found else 0.0
        print(f"  [{low:.2f}, {min(high, 1.0):.2f}{']' if high > 1 else ')'}: {len(found):4} tags, "
              f"{share:6.1%} in their folder's classes")  # fmt: skip
        by_probability[f"{low:.2f}-{min(high, 1.0):.2f}"] = {"tags": len(found), "precision": round(share, 4)}
    rows.append({"network": args.network, "precision_by_probability": by_probability})
    print("\nscikit-image's photos, every top class at or above 0.1:")
    for photo, tags in zip(photos, tags_above(photo_rows, 0.1), strict=True):
        print(f"  {photo.stem:16} {shown(tags)}")
    print(f"\n{args.show} drawings (every {len(files) // max(1, args.show)}th), at or above 0.1:")
    for n in range(0, len(files), max(1, len(files) // max(1, args.show))):
        print(f"  {labels[n]}/{files[n].name[:40]:40} {shown(tags_above(drawing_rows[n : n + 1], 0.1)[0])}")
    save_results(REPO / "bench" / "results" / "tags.json", f"openclipart-{args.n}", rows)


if __name__ == "__main__":
    main()

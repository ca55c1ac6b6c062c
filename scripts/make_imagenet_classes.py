"""Write builder/features/networks/imagenet_classes.tsv: ImageNet-1k's 1,000 classes in the order every
ImageNet classifier's head outputs them, each with its WordNet id and its WordNet lemmas (the synonyms a
search by words answers to: n09193705 is "alp", n02099601 "golden retriever").

    python scripts/make_imagenet_classes.py timm-1.0.31-py3-none-any.whl

Read from timm's wheel (`pip download --no-deps timm==1.0.31`), which carries the list as
timm/data/_info/imagenet_synsets.txt (the 1,000 WordNet ids, sorted: the classes' index order) and
imagenet_synset_to_lemma.txt (WordNet 3.0's lemmas of each synset, comma-joined). The file is written once and
committed; the build never needs timm.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "builder" / "features" / "networks" / "imagenet_classes.tsv"
SYNSETS = "timm/data/_info/imagenet_synsets.txt"
LEMMAS = "timm/data/_info/imagenet_synset_to_lemma.txt"
HEADER = (
    "# ImageNet-1k's classes in the heads' order: index, WordNet id, WordNet 3.0 lemmas (comma-joined).\n"
    "# Made by scripts/make_imagenet_classes.py from timm {version}'s imagenet_synsets.txt and\n"
    "# imagenet_synset_to_lemma.txt (timm: Apache-2.0; WordNet 3.0: Princeton University's WordNet licence).\n"
)


def main(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        synsets = whl.read(SYNSETS).decode("utf-8").split()
        lemmas = dict(line.split("\t", 1) for line in whl.read(LEMMAS).decode("utf-8").splitlines() if "\t" in line)
    if len(synsets) != 1000 or synsets != sorted(synsets):
        raise SystemExit(f"{wheel}: expected 1,000 sorted WordNet ids, found {len(synsets)}")
    version = wheel.name.split("-")[1]
    rows = [f"{i}\t{wnid}\t{lemmas[wnid].strip()}" for i, wnid in enumerate(synsets)]
    OUT.write_text(HEADER.format(version=version) + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(rows)} classes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

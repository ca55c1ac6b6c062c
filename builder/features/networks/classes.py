"""The classes an ImageNet classifier's head names: its 1,000 outputs in order, each with its WordNet id and
WordNet's lemmas for it (imagenet_classes.tsv, made by scripts/make_imagenet_classes.py).

The lemmas are the words a class answers to: the first is its name as shown ("alp"), the rest its synonyms
("great white shark" also answers "white shark" and "man-eater"). Some names are shared by two classes
(crane the bird and crane the machine; maillot twice): a class is identified by its index or WordNet id,
never by its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from builder.textfiles import read_text

TABLE = Path(__file__).with_name("imagenet_classes.tsv")
IMAGENET_CLASSES = 1000


@dataclass(frozen=True)
class ImageNetClass:
    index: int  # the head's output
    wnid: str  # WordNet 3.0 synset id, "n09193705"
    lemmas: tuple[str, ...]  # WordNet's words for it, the name first

    @property
    def name(self) -> str:
        return self.lemmas[0]


@cache
def imagenet_classes(table: Path = TABLE) -> tuple[ImageNetClass, ...]:
    """The classes in the head's order; a table that is not 1,000 rows indexed 0..999 in order is refused."""
    rows: list[ImageNetClass] = []
    for number, line in enumerate(read_text(table).splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or not parts[0].isdigit() or int(parts[0]) != len(rows):
            raise ValueError(f"{table}:{number}: expected '<index {len(rows)}>\\t<wnid>\\t<lemmas>'")
        lemmas = tuple(w.strip() for w in parts[2].split(",") if w.strip())
        if not lemmas:
            raise ValueError(f"{table}:{number}: class {len(rows)} has no name")
        rows.append(ImageNetClass(len(rows), parts[1], lemmas))
    if len(rows) != IMAGENET_CLASSES:
        raise ValueError(f"{table}: {len(rows)} classes, expected {IMAGENET_CLASSES}")
    return tuple(rows)

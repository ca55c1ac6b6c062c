"""The classes an ImageNet classifier's head names: its 1,000 outputs in order, each with its WordNet id and
WordNet's lemmas for it (imagenet_classes.tsv, made by scripts/make_imagenet_classes.py).

The lemmas are the words a class answers to: the first is its name as shown ("alp"), the rest its synonyms
("great white shark" also answers "white shark" and "man-eater"). Some names are shared by two classes
(crane the bird and crane the machine; maillot twice): a class is identified by its index or WordNet id,
never by its name.

Broader everyday words ("mountain" for alp and volcano, "dog" for each breed) come from imagenet_synonyms.tsv
(made by scripts/make_imagenet_synonyms.py from WordNet's hypernyms, versioned: its docstring says how the
words were chosen).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from builder.textfiles import read_text

TABLE = Path(__file__).with_name("imagenet_classes.tsv")
SYNONYMS = Path(__file__).with_name("imagenet_synonyms.tsv")
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


@dataclass(frozen=True)
class Synonym:
    word: str  # as a visitor types it
    sense: str  # the WordNet sense it means, "mountain.n.01"
    classes: tuple[int, ...]  # the classes beneath that sense, by index


@dataclass(frozen=True)
class Synonyms:
    version: int  # the table's, part of the site's word index
    words: tuple[Synonym, ...]


@cache
def imagenet_synonyms(table: Path = SYNONYMS) -> Synonyms:
    """The synonym table; a row that names no class or a class out of range is refused."""
    version, words = 0, []
    for number, line in enumerate(read_text(table).splitlines(), start=1):
        if line.startswith("# version "):
            version = int(line.split()[2].rstrip(":"))
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        cells = parts[3].split(",") if len(parts) == 4 else []
        classes = tuple(int(c) for c in cells) if cells and all(c.isdigit() for c in cells) else ()
        if not parts[0].strip() or not classes or any(c >= IMAGENET_CLASSES for c in classes):
            raise ValueError(f"{table}:{number}: expected '<word>\\t<wnid>\\t<sense>\\t<class indices>'")
        words.append(Synonym(parts[0].strip(), parts[2], classes))
    if not version:
        raise ValueError(f"{table}: no '# version N' line")
    return Synonyms(version, tuple(words))

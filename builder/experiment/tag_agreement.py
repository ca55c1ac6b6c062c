"""The tags' agreement with a collection's categories, where the categories can be matched to class names.

A category is matched when its name, or its name without a plural "s", is a word that names classes
(features/words.py: "animals" -> animal, 398 classes; "plants" -> plant finds none and stays unmatched).
Then, over the images of matched categories, for one network's tags above a threshold:

- precision: the share of the tags whose class lies in its image's category's classes;
- chance: the precision tags would have if each tag's image had a category drawn by the categories' shares
  of those images (sum over tags of the share of images whose category holds the tag's class);
- images agreeing: the share of the images with at least one tag in their category's classes (an image with
  no tag does not agree), and images tagged: with any tag at all.

Pure: the tags and the categories in, the counts out; every figure is unit-tested on hand-computed cases.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from builder.features.tags import Tag


@dataclass(frozen=True)
class TagAgreement:
    matched: dict[str, tuple[int, ...]]  # category -> the classes its name names
    unmatched: tuple[str, ...]  # categories whose names name no class
    images: int  # images in matched categories
    tagged: int  # of those, with a tag
    agreeing: int  # of those, with a tag in their category's classes
    tags: int  # tags of those images
    in_category: int  # of those tags, in their image's category's classes
    chance: float  # the precision expected of tags whose images' categories were drawn at random

    @property
    def precision(self) -> float:
        return self.in_category / self.tags if self.tags else 0.0

    @property
    def agreement(self) -> float:
        return self.agreeing / self.images if self.images else 0.0

    @property
    def coverage(self) -> float:
        return self.tagged / self.images if self.images else 0.0


def match_categories(categories: list[str], named: Callable[[str], list[int]]) -> dict[str, tuple[int, ...]]:
    """Each category whose name (or its singular: a trailing "s" dropped) names classes, with those classes;
    `named`: word -> the classes it names (features/words.classes_named)."""
    out = {}
    for category in sorted(set(categories)):
        word = category.strip().lower().replace("_", " ")
        classes = named(word) or (named(word[:-1]) if word.endswith("s") else [])
        if classes:
            out[category] = tuple(classes)
    return out


def tag_agreement(categories: list[str], tags: list[list[Tag]], matched: dict[str, tuple[int, ...]]) -> TagAgreement:
    """The agreement of `tags` (each image's, in order) with `categories` (each image's) for the categories
    in `matched` (match_categories)."""
    if len(categories) != len(tags):
        raise ValueError(f"{len(categories)} categories for {len(tags)} images' tags")
    members = {c: set(classes) for c, classes in matched.items()}
    shares = Counter(c for c in categories if c in members)
    images = sum(shares.values())
    # per class, the share of the images whose category holds it: a tag's chance of lying in its image's
    # category were that category drawn by the shares (once per class, not once per tag and category)
    chance_of: dict[int, float] = defaultdict(float)
    for c, n in shares.items():
        for k in members[c]:
            chance_of[k] += n / images
    tagged = agreeing = count = in_category = 0
    chance = 0.0
    for category, row in zip(categories, tags, strict=True):
        if category not in members:
            continue
        hits = [t.index in members[category] for t in row]
        tagged += bool(row)
        agreeing += any(hits)
        count += len(row)
        in_category += sum(hits)
        chance += sum(chance_of.get(t.index, 0.0) for t in row)
    unmatched = tuple(sorted(set(categories) - set(matched) - {""}))
    return TagAgreement(dict(matched), unmatched, images, tagged, agreeing, count, in_category,
                        chance / count if count else 0.0)  # fmt: skip


def tag_agreements(categories: list[str], tags: dict[str, list[list[Tag]]],
                   named: Callable[[str], list[int]]) -> tuple[dict[str, TagAgreement], str]:  # fmt: skip
    """Each tagging network's agreement with the items' `categories`, or none and why it was not measured."""
    if not tags:
        return {}, "no network of the build tags images"
    matched = match_categories([c for c in categories if c], named)
    if not matched:
        return {}, "no category's name names an ImageNet class"
    return {network: tag_agreement(categories, rows, matched) for network, rows in tags.items()}, ""

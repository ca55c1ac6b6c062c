"""Which of ImageNet's classes a word names: the words a search by words (site/word_data.py) and the tags'
agreement with a collection's categories (experiment/tag_agreement.py) both go by.

A word names a class when it is one of the class's WordNet lemmas ("alp"), an everyday word the synonym table
gives it ("mountain": alp and volcano; networks/classes.py), or one word of a lemma ("tiger" of "tiger cat"),
all compared lowercased. A word of the synonym table names only the classes WordNet puts beneath it, and those
it is a whole lemma of: "mountain" is not a word of "mountain bike" nor "dog" of "African hunting dog" (no dog in
WordNet); nor do function words ("of", "the") name anything.
"""

from __future__ import annotations

from collections import defaultdict
from functools import cache

from builder.features.networks.classes import IMAGENET_CLASSES, imagenet_classes, imagenet_synonyms

FUNCTION_WORDS = frozenset({"a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"})


def terms_of(classes: set[int]) -> dict[str, list[int]]:
    """Every term that names one of `classes`, with the classes it names among them (in index order)."""
    synonyms = {s.word.lower(): s for s in imagenet_synonyms().words}
    found: dict[str, set[int]] = defaultdict(set)
    for c in imagenet_classes():
        if c.index not in classes:
            continue
        for lemma in c.lemmas:
            lemma = lemma.lower()
            found[lemma].add(c.index)
            for word in lemma.split():
                if word not in synonyms and word not in FUNCTION_WORDS:
                    found[word].add(c.index)
    for word, synonym in synonyms.items():
        kept = classes.intersection(synonym.classes)
        if kept:
            found[word].update(kept)
    return {term: sorted(found[term]) for term in sorted(found)}


def classes_named(word: str) -> list[int]:
    """The classes `word` names, of all of ImageNet's."""
    return _all_terms().get(word.strip().lower(), [])


@cache
def _all_terms() -> dict[str, list[int]]:
    return terms_of(set(range(IMAGENET_CLASSES)))

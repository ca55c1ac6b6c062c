"""Which of ImageNet's classes a word names: the words a search by words (site/word_data.py) and the tags'
agreement with a collection's categories (experiment/tag_agreement.py) both go by.

A word names a class when it is one of the class's WordNet lemmas ("alp"), one word of a lemma ("cat" of
"tabby cat"), or an everyday word the synonym table gives it ("mountain": alp and volcano;
networks/classes.py), all compared lowercased.
"""

from __future__ import annotations

from collections import defaultdict

from builder.features.networks.classes import IMAGENET_CLASSES, imagenet_classes, imagenet_synonyms


def terms_of(classes: set[int]) -> dict[str, list[int]]:
    """Every term that names one of `classes`, with the classes it names among them (in index order)."""
    found: dict[str, set[int]] = defaultdict(set)
    for c in imagenet_classes():
        if c.index not in classes:
            continue
        for lemma in c.lemmas:
            lemma = lemma.lower()
            found[lemma].add(c.index)
            for word in lemma.split():
                found[word].add(c.index)
    for synonym in imagenet_synonyms().words:
        kept = classes.intersection(synonym.classes)
        if kept:
            found[synonym.word.lower()].update(kept)
    return {term: sorted(found[term]) for term in sorted(found)}


def classes_named(word: str) -> list[int]:
    """The classes `word` names, of all of ImageNet's."""
    return terms_of(set(range(IMAGENET_CLASSES))).get(word.strip().lower(), [])

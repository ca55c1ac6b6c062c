"""Search by words: which images each word finds, as the explorer and the map read it on the first keystroke.

A network that tags (features/tags.py) recognised some of ImageNet's classes in each image; a visitor's word
finds the classes features/words.py says it names, and the images found are those tagged with such a class,
ranked by its probability. The words are resolved at build time, and the page only looks them up:

- `data/words.js`: `{version, terms: {term: [class, ...]}}`, each term lowercased, listing only the classes
  some item of the site is tagged with (a collection of drawings carries a few hundred terms, not ImageNet's
  thousands); `version` is the synonym table's.
- `data/<dataset>/tags/<network>/<n>.js`: the items tagged with classes n*CLASS_SHARD ... as
  `{"<class>": [items, probabilities in thousandths]}`, items by descending probability. ImageNet orders its
  classes as WordNet groups them (the 118 dogs are classes 151 to 268), so a broad word's classes lie in few
  shards; the first view loads none of them, and each file's size grows with the items tagged in its range,
  not with the collection.
"""

from __future__ import annotations

from collections import defaultdict

from builder.features.networks.classes import imagenet_synonyms
from builder.features.tags import Tag
from builder.features.words import terms_of
from builder.pagekit.datafiles import shard_script

WORD_FILES = {"words": "data/words.js", "tags": "data/{dataset}/tags/{network}/{n}.js"}
CLASS_SHARD = 50  # classes per postings file: ImageNet's 1,000 in 20


def postings(tags: list[list[Tag]]) -> dict[int, list[tuple[int, int]]]:
    """class -> (item, probability in thousandths) of every item tagged with it, by descending probability
    (items in order where equal)."""
    out: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for item, row in enumerate(tags):
        for tag in row:
            out[tag.index].append((item, round(tag.probability * 1000)))
    return {c: sorted(found, key=lambda x: (-x[1], x[0])) for c, found in sorted(out.items())}


Tagged = list[tuple[str, list[list[Tag]]]]  # a dataset's tagging networks, each with every item's tags


def word_files(datasets: list[tuple[str, Tagged]]) -> tuple[dict[str, str], dict[str, dict[str, list[int]]]]:
    """(site path -> text of every word-search file, dataset -> network -> the shard numbers it has) for the
    tagging networks of each dataset (name, [(network, each item's tags)]). No files where nothing is tagged."""
    files: dict[str, str] = {}
    shards: dict[str, dict[str, list[int]]] = {}
    present: set[int] = set()
    for dataset, networks in datasets:
        for network, tags in networks:
            by_shard: dict[int, dict[str, list[list[int]]]] = defaultdict(dict)
            for c, found in postings(tags).items():
                by_shard[c // CLASS_SHARD][str(c)] = [[i for i, _ in found], [p for _, p in found]]
                present.add(c)
            for n, payload in sorted(by_shard.items()):
                path = WORD_FILES["tags"].format(dataset=dataset, network=network, n=n)
                files[path] = shard_script(path, payload)
            if by_shard:  # a network that tagged nothing here is not listed: words find nothing by it
                shards.setdefault(dataset, {})[network] = sorted(by_shard)
    if present:
        vocabulary = {"version": imagenet_synonyms().version, "terms": terms_of(present)}
        files[WORD_FILES["words"]] = shard_script(WORD_FILES["words"], vocabulary)
    return files, shards

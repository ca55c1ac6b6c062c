"""Search by words in headless Chromium, over http and from disk: a class's name, or an everyday word for
it, lists and highlights exactly the images the network tagged with it (by descending probability), in the
explorer and the map, and the address keeps the query."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest

from builder.features.networks.classes import imagenet_classes, imagenet_synonyms

from .sitecheck import explorer_index, read_shard, tagged_with, words_find
from .test_browser import open_explorer, result_ids, state
from .test_map import open_map, shown

NETWORK = "efficientnet_lite0"


def _titles(site: Path) -> list[str]:
    search = read_shard(site, explorer_index(site)["files"]["search"].format(dataset="collection"))
    return [(t + "\n" + a).lower() for t, a in zip(search["title"], search["artist"], strict=True)]


def words(site: Path) -> dict[str, list[int]]:
    """Two queries the sample answers by tags alone: a class's name, and a synonym-table word (each found
    by no title or artist, tagging at least two images), with the images each finds."""
    terms = read_shard(site, explorer_index(site)["files"]["words"])["terms"]
    titles = _titles(site)

    def finds(word: str) -> list[int]:
        if word not in terms or any(word in t for t in titles):
            return []
        return words_find(site, "collection", NETWORK, word)

    names = [c.name.lower() for c in imagenet_classes()]
    name = max(names, key=lambda w: (len(finds(w)), w))
    synonym = max((s.word for s in imagenet_synonyms().words), key=lambda w: (len(finds(w)), w))
    out = {name: finds(name), synonym: finds(synonym)}
    if min(len(v) for v in out.values()) < 2:
        pytest.skip(f"the sample's tags answer too few images by words ({out})")
    return out


def test_the_expected_images_are_those_tagged_with_the_words_classes(sample_site: Path) -> None:
    """The oracle itself, checked against the word index: a synonym's images are the union of its classes'."""
    terms = read_shard(sample_site, explorer_index(sample_site)["files"]["words"])["terms"]
    for word, found in words(sample_site).items():
        tagged = tagged_with(sample_site, "collection", NETWORK, terms[word])
        assert sorted(found) == sorted(tagged)
        assert [tagged[n] for n in found] == sorted(tagged.values(), reverse=True)


def test_words_list_exactly_the_tagged_images_in_the_explorer(site, sample_site: Path) -> None:
    watched, base = site
    page = watched.page
    items = read_shard(sample_site, "data/collection/items/0.js")["id"]
    for word, found in words(sample_site).items():
        open_explorer(page, base + "explore.html")
        page.fill("#query", word)
        page.wait_for_function(
            f"() => (document.documentElement.dataset.shown || '').includes('{urlencode({'q': word})}')"
        )
        assert result_ids(page) == [items[n] for n in found][:24]
        assert page.inner_text("#status").startswith(f"{len(found)} of 150")
        assert state(page)["q"] == word
        page.reload()  # the address alone restores it
        page.wait_for_selector("html[data-ready]")
        assert page.input_value("#query") == word and result_ids(page) == [items[n] for n in found][:24]


def test_words_highlight_exactly_the_tagged_images_on_the_map(site, sample_site: Path) -> None:
    watched, base = site
    page = watched.page
    items = read_shard(sample_site, "data/collection/items/0.js")["id"]
    for word, found in words(sample_site).items():
        open_map(page, f"{base}map.html#network={NETWORK}&{urlencode({'q': word})}")
        shown(page, urlencode({"q": word}))
        assert page.evaluate("VSIS_MAP_STATE.matches()") == found
        listed = page.eval_on_selector_all("#matches li", "els => els.map(e => e.dataset.id)")
        assert listed == [items[n] for n in found][: len(listed)] and listed
        page.select_option("#network", "pixels")  # a network that tags nothing: the word finds no title
        shown(page, "network=pixels")
        assert page.evaluate("VSIS_MAP_STATE.matches()") == [] and state(page)["q"] == word


def test_words_that_name_an_objects_own_properties_find_nothing(site) -> None:
    """The terms are looked up as the index's own keys: "constructor" or "__proto__" is no class."""
    watched, base = site
    page = watched.page
    for word in ("constructor", "__proto__", "toString"):
        open_explorer(page, f"{base}explore.html#{urlencode({'q': word})}")
        assert result_ids(page) == [] and page.inner_text("#status").startswith("0 of 150")

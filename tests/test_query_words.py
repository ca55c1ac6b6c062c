"""Search by words in query.html: a collection built with CLIP ViT-B/32 (a checkpoint saved from the randomly
initialised architecture: no hub weights can be downloaded here) and the pixel baseline, searched in headless
Chromium over http and file://. The page's token ids are open_clip's, its embedding is Python's for the same
int8 text tower (within 1e-5 cosine distance), and its ranking is the one Python computes from the same
compact vectors. What the words find with real weights could not be measured."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

from builder.build import build
from builder.config import make_config
from builder.query.compact import CompactVectors
from builder.query.data import decode_codes

from .conftest import write_collection
from .sitecheck import read_global, read_shard
from .test_modern_networks import checkpoint, hub  # noqa: F401  (hub: a fixture)

pytest.importorskip("open_clip")
torch = pytest.importorskip("torch")

QUERIES = [
    "a mountain lake at dawn",
    "Two DOGS, playing in the snow!",
    "ＬＯＵＤ café 😀 über straße",
    '<img src=x onerror=alert(1)> &amp; "quotes"',
    " ".join(["a long description of a still life with fruit"] * 12),  # past 77 tokens: cut as open_clip cuts
]


@pytest.fixture(scope="module")
def words_site(hub: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: F811
    """The site and its build result (the clip checkpoint read from the hub's cache, as a download would be)."""
    checkpoint("clip_vit_b32", hub)
    root = tmp_path_factory.mktemp("words")
    write_collection(root / "images", {"red": 10, "blue": 10, "green": 10})
    config = make_config(collection=root / "images", networks=("clip_vit_b32", "pixels"), k=5,
                         experiment_enabled=False, map_enabled=False, out=root / "www" / "site",
                         cache_dir=root / "cache")  # fmt: skip
    result = build(config)
    return config, result


def _net(config, name: str) -> dict:
    index = read_global(config.out, "data/query/index.js", "VSIS_QUERY")
    return next(n for n in index["networks"] if n["name"] == name)


def _compact(config, name: str) -> CompactVectors:
    """The network's compact vectors as the site publishes them."""
    net = _net(config, name)
    axes = read_shard(config.out, f"data/query/{name}/axes.js")
    index = read_global(config.out, "data/query/index.js", "VSIS_QUERY")
    codes = np.concatenate([decode_codes(read_shard(config.out, f"data/query/{name}/codes/{s}.js")["c"])
                            for s in range(index["shards"])]).reshape(index["size"], net["width"])  # fmt: skip

    def floats(text: str) -> np.ndarray:
        return np.frombuffer(base64.b64decode(text), dtype="<f4")

    return CompactVectors(floats(axes["axes"]).reshape(net["dims"], net["dim"]),
                          floats(axes["levels"]).reshape(net["dims"], net["levels"]), codes, 0.0, 0, 0)  # fmt: skip


def test_the_site_offers_words_with_clip_and_images_with_pixels(words_site) -> None:
    config, result = words_site
    clip, pixels = _net(config, "clip_vit_b32"), _net(config, "pixels")
    assert (clip["images"], clip["words"], pixels["images"], pixels["words"]) == (False, True, True, False)
    text = config.out / "data/query/clip_vit_b32/text.js"
    assert text.is_file() and (config.out / "data/query/tokenizer.js").is_file()
    assert not (config.out / "data/query/clip_vit_b32/model.js").exists()  # its images are not searched here
    assert clip["bytes"] == 0 and text.stat().st_size > 60e6
    runtime = sum(p.stat().st_size for p in (config.out / "vendor").rglob("*.js"))
    published = sum(p.stat().st_size for p in (config.out / "data/query/clip_vit_b32").rglob("*.js"))
    tokenizer = (config.out / "data/query/tokenizer.js").stat().st_size
    assert clip["words_bytes"] == published + tokenizer + runtime  # what the page says its first search loads
    page = (config.out / "query.html").read_text()
    assert "clip_vit_b32 (words)" in page and "pixels (images)" in page
    assert "Words are read by clip_vit_b32; images by pixels." in page
    assert "clip_vit_b32: its preprocessing cannot be reproduced in a browser (offered for words only)" in page
    assert "Search by image or words" in (config.out / "index.html").read_text()


def test_a_text_tower_over_its_limit_is_not_offered_and_zero_offers_no_words(words_site) -> None:
    from builder.query.browser import browser_networks

    config, _ = words_site
    offered, refused = browser_networks(
        ("clip_vit_b32", "pixels"), {}, config.cache_dir, 10**9, max_text_model_bytes=1_000_000
    )  # the build's tower, from its cache
    assert [(n.name, n.takes) for n in offered] == [("pixels", "images")]
    assert refused == [
        "clip_vit_b32: its preprocessing cannot be reproduced in a browser",
        "clip_vit_b32: its text tower is 65 MB, over the limit of 1 MB ([query] max_text_model_mb)",
    ]
    offered, _ = browser_networks(("clip_vit_b32", "pixels"), {}, config.cache_dir, 10**9)
    assert [n.name for n in offered] == ["pixels"]  # max_text_model_bytes 0: no search by words


def _same_ranking(results: list[dict], scores: np.ndarray, ids: list[str]) -> None:
    """The page's results are Python's best by `scores`, in order, with the same scores: position by position
    the page's item scores what Python's does (items whose scores tie, such as identical drawings, whose codes
    are identical, may come in either order: their sums differ in the last bits between the two)."""
    order = np.argsort(-scores, kind="stable")[: len(results)]
    position = {item: n for n, item in enumerate(ids)}
    got = [position[r["id"]] for r in results]
    assert len(set(got)) == len(got)
    np.testing.assert_allclose(scores[got], scores[order], rtol=0, atol=1e-6)
    np.testing.assert_allclose([r["score"] for r in results], scores[order], rtol=0, atol=1e-5)


def _open(browser, base: str):
    from .browser import Watched

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watched = Watched(page, base)
    page.goto(base + "query.html")
    page.wait_for_function("document.documentElement.dataset.query === 'ready'")
    return page, watched


def _search_words(page, words: str) -> dict:
    page.evaluate("document.documentElement.dataset.query = 'waiting'")
    page.fill("#qtext", words)
    page.press("#qtext", "Enter")
    page.wait_for_function("['done', 'error'].includes(document.documentElement.dataset.query)", timeout=120_000)
    assert page.evaluate("document.documentElement.dataset.query") == "done", page.text_content("#qstatus")
    return page.evaluate("window.vsisQueryLast")


@pytest.mark.parametrize("scheme", ["http", "file"])
def test_the_pages_words_are_pythons_tokens_embedding_and_ranking(words_site, browser, scheme: str) -> None:
    import open_clip

    from builder.features.networks import get
    from builder.features.runtime.model_files import text_onnx_path
    from builder.features.runtime.weight_only import fp32_session

    from .browser import served

    config, result = words_site
    model = text_onnx_path(get("clip_vit_b32"), None, config.cache_dir, "int8")  # the hub's file: no weights set
    published = base64.b64decode(read_shard(config.out, "data/query/clip_vit_b32/text.js")["onnx"])
    assert published == model.read_bytes()  # the page runs the cached int8 tower, byte for byte
    session = fp32_session(model)
    vectors = _compact(config, "clip_vit_b32")
    ids = [i.id for i in result.items]
    shown = read_global(config.out, "data/query/index.js", "VSIS_QUERY")["shown"]
    with served(config.out.parent) as http_root:
        base = http_root + "site/" if scheme == "http" else config.out.as_uri() + "/"
        page, watched = _open(browser, base)
        for words in QUERIES:
            found = _search_words(page, words)
            assert found["network"] == "clip_vit_b32" and found["words"] == words.strip()
            tokens = open_clip.get_tokenizer("ViT-B-32")([words.strip()]).numpy()
            assert found["tokens"] == tokens[0].tolist()
            expected = session.run(None, {"tokens": tokens})[0][0]
            feature = np.asarray(found["feature"], dtype=np.float64)
            assert 1 - feature @ expected / np.linalg.norm(expected) < 1e-5
            assert len(found["results"]) == shown
            _same_ranking(found["results"], vectors.scores(expected), ids)  # not centred: static/query.js says why
            assert words.strip() in page.text_content("#qstatus")  # as text: the markup was never parsed
            assert page.locator("#qresults li").count() == shown
        page.close()
    assert watched.errors == [] and watched.outside == []


def test_each_query_goes_to_a_network_that_reads_it(words_site, browser) -> None:
    config, result = words_site
    page, watched = _open(browser, config.out.as_uri() + "/")
    page.select_option("#qnetwork", "pixels")
    assert _search_words(page, "a red drawing")["network"] == "clip_vit_b32"  # words: the network that reads them
    assert page.input_value("#qnetwork") == "clip_vit_b32"
    page.select_option("#qnetwork", "pixels")  # the visitor insists: the page says who reads words
    assert page.evaluate("document.documentElement.dataset.query") == "error"
    assert page.text_content("#qstatus") == "pixels does not read words; clip_vit_b32 does."
    assert page.locator("#qresults li").count() == 0
    page.select_option("#qnetwork", "clip_vit_b32")
    page.evaluate("document.documentElement.dataset.query = 'waiting'")
    page.set_input_files("#qfile", str(result.items[4].path))  # an image: the network that reads images
    page.wait_for_function("['done', 'error'].includes(document.documentElement.dataset.query)", timeout=60_000)
    last = page.evaluate("window.vsisQueryLast")
    assert (last["network"], last["results"][0]["id"]) == ("pixels", result.items[4].id)
    assert page.input_value("#qnetwork") == "pixels"
    page.close()
    assert watched.errors == [] and watched.outside == []


def test_words_are_expanded_over_their_best_results_as_an_image_is(words_site, browser) -> None:
    """With query expansion ([neighbours] expansion = 3), the words' query plus its 3 best results' vectors
    (as their levels rebuild them, each of unit length), ranked again: what Python computes from the same
    compact vectors."""
    import open_clip

    from builder.features.networks import get
    from builder.features.runtime.model_files import text_onnx_path
    from builder.features.runtime.weight_only import fp32_session
    from builder.query.compact import projected

    config, result = words_site
    expanded = config.updated(out=config.out.parent / "expanded", neighbours_expansion=3).validate()
    build(expanded)  # the features and the text tower from the cache
    assert _net(expanded, "clip_vit_b32")["expansion"] == 3
    vectors = _compact(expanded, "clip_vit_b32")
    rebuilt = vectors.rebuilt().astype(np.float64)
    lengths = np.linalg.norm(rebuilt, axis=1)
    session = fp32_session(text_onnx_path(get("clip_vit_b32"), None, config.cache_dir, "int8"))
    ids = [i.id for i in result.items]
    page, watched = _open(browser, expanded.out.as_uri() + "/")
    for words in QUERIES[:3]:
        found = _search_words(page, words)
        tokens = open_clip.get_tokenizer("ViT-B-32")([words.strip()]).numpy()
        q = projected(vectors.axes, session.run(None, {"tokens": tokens})[0][0]).astype(np.float64)
        best = np.argsort(-(rebuilt @ q) / lengths, kind="stable")[:3]
        q = q + (rebuilt[best] / lengths[best, None]).sum(axis=0)
        scores = rebuilt @ q / np.linalg.norm(q) / lengths
        _same_ranking(found["results"], scores, ids)
    page.close()
    assert watched.errors == [] and watched.outside == []

"""Search by the visitor's own image (query.html): the compact vectors, the page's data, and the whole search in
headless Chromium over http and file:// on the bundled sample, against the builder's own features."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from builder.cache import FeatureStore
from builder.collect.collection import scan
from builder.config import make_config
from builder.features.networks import configured
from builder.inputs.images import decode
from builder.inputs.perturb import get_profile
from builder.query.compact import (
    CompactSettings,
    CompactVectors,
    compact,
    forms_for,
    leading_axes,
    lloyd_levels,
    projected,
    quantise,
    rebuild,
    spread,
)

from .conftest import REPO
from .sitecheck import broken_or_outside, read_global

SAMPLE = REPO / "samples" / "openclipart"


# ---- compact vectors (query/compact.py) ----


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_features_in_a_few_dimensions_are_ranked_exactly_with_few_axes() -> None:
    """Vectors that span 20 dimensions of 300 get 20 axes, which lose nothing but the rounding."""
    rng = np.random.default_rng(1)
    x = _unit(rng.standard_normal((400, 20)) @ rng.standard_normal((20, 300)))
    v = compact(x, CompactSettings(recall_target=0.95))
    assert v.dims == 20
    assert v.recall >= 0.95
    assert v.codes.dtype == np.uint8 and v.codes.shape == (400, 20 * v.bits // 8)
    assert (np.diff(v.levels, axis=1) >= 0).all()  # each dimension's levels ascending
    assert np.allclose(v.axes @ v.axes.T, np.eye(20), atol=1e-5)  # orthonormal rows


def test_levels_sit_where_the_values_are() -> None:
    """Lloyd-Max by hand: two clumps get a level each, at their means; evenly spread values get evenly
    spread levels at the middles of their quarters."""
    assert lloyd_levels(np.array([0.0, 0.1, 0.2, 5.0, 5.1, 5.2]), 2).tolist() == pytest.approx([0.1, 5.1])
    even = lloyd_levels(np.linspace(0, 1, 4001), 4)
    assert even.tolist() == pytest.approx([0.125, 0.375, 0.625, 0.875], abs=1e-3)


def test_four_bit_codes_hold_two_dimensions_a_byte() -> None:
    p = np.array([[-0.9, 0.9, 0.0, 0.1], [0.9, -0.9, 0.1, 0.0]], dtype=np.float32)
    levels, codes = quantise(p, 4, seed=0)
    assert codes.shape == (2, 2) and codes.dtype == np.uint8
    low, high = codes & 15, codes >> 4  # the even dimension in the lower half
    assert low[0, 0] < low[1, 0] and high[0, 0] > high[1, 0]
    assert np.array_equal(rebuild(levels, codes), levels[np.arange(4), np.stack([low, high], 2).reshape(2, 4)])
    assert np.abs(rebuild(levels, codes) - p).max() < 1e-6  # two values a dimension: both kept exactly


def test_forms_go_from_fewest_bytes_and_never_past_the_features() -> None:
    assert forms_for(1280, 256) == [(32, 8), (64, 8), (128, 8), (256, 8), (512, 4)]
    assert forms_for(1280, 100) == [(32, 8), (64, 8)]
    assert forms_for(5, 256) == [(5, 8)]  # no half bytes for an odd number of axes


def test_a_tiny_collection_gets_the_axes_its_features_span_in_the_largest_form() -> None:
    """Three images span three dimensions: axes beyond them would be the solver's arbitrary choice (and differ
    from machine to machine), and with every other image in every top 10 no form can be told the better."""
    x = _unit(np.random.default_rng(7).standard_normal((3, 300)))
    v = compact(x)
    assert (v.dims, v.bits) == (3, 8)  # 3 dimensions spanned; 4 bits would need an even number
    assert v.recall == 1.0


def test_compact_scores_are_cosines_but_for_the_rounding() -> None:
    rng = np.random.default_rng(2)
    x = _unit(rng.standard_normal((300, 64)))
    axes = spread(leading_axes(x, 64, seed=3), seed=3)  # all of them: only the rounding differs from cosines
    levels, codes = quantise(projected(axes, x), 8, seed=3)
    v = CompactVectors(axes, levels, codes, 1.0, 10, 300)
    for q in (0, 17, 299):
        assert np.abs(v.scores(x[q]) - x @ x[q]).max() < 0.02
        assert v.scores(x[q])[q] > 0.99  # an item finds itself at a similarity of 1 but for the rounding


def test_the_axes_are_the_same_from_the_same_features_and_seed() -> None:
    x = _unit(np.random.default_rng(4).standard_normal((500, 48)))
    a, b = leading_axes(x, 16, seed=5), leading_axes(x.copy(), 16, seed=5)
    assert np.array_equal(a, b)
    assert (a[np.arange(16), np.abs(a).argmax(axis=1)] > 0).all()  # each sign fixed


def test_recall_is_measured_against_exact_search_and_falls_with_too_few_bytes() -> None:
    """Isotropic features cannot be ranked by 32 of 256 axes: the recall said is low, and honest."""
    x = _unit(np.random.default_rng(6).standard_normal((1000, 256)))
    v = compact(x, CompactSettings(recall_target=1.0, max_bytes=32))
    assert (v.dims, v.bits) == (32, 8)
    assert v.recall < 0.5
    full = compact(x, CompactSettings(recall_target=0.9))
    assert full.dims * full.bits == 256 * 8 and full.recall > v.recall


# ---- the bundled sample's site ----


def test_the_site_publishes_the_query_page_its_data_and_the_runtime(sample_site: Path) -> None:
    q = read_global(sample_site, "data/query/index.js", "VSIS_QUERY")
    assert [n["name"] for n in q["networks"]] == ["efficientnet_lite0", "pixels"]
    assert q["size"] == 150
    eff, pix = q["networks"]
    assert eff["kind"] == "model" and pix["kind"] == "input"
    config = make_config(REPO / "vsis.toml")
    assert (
        eff["recipe"]
        == configured("efficientnet_lite0", config.features.framing, config.features.pooling).preprocess.recipe()
    )
    assert eff["recipe"]["kind"] == "pad_resize_normalize"  # the default framing: the whole image
    assert (sample_site / "data/query/efficientnet_lite0/model.js").is_file()
    assert not (sample_site / "data/query/pixels/model.js").exists()
    for net in q["networks"]:
        assert 0.9 <= net["recall"] <= 1.0
        published = sum(p.stat().st_size for p in (sample_site / "data/query" / net["name"]).rglob("*.js"))
        runtime = sum(p.stat().st_size for p in (sample_site / "vendor").rglob("*.js"))
        assert net["bytes"] == published + (runtime if net["kind"] == "model" else 0)
    assert (sample_site / "vendor/onnxruntime-web/ort.wasm.min.js").is_file()
    assert not (sample_site / "static/vendor").exists()  # the raw runtime is not copied as a static file
    page = (sample_site / "query.html").read_text(encoding="utf-8")
    assert "Your image stays on your machine" in page
    # no network of the sample reads words: no text tower, no tokenizer, no words box
    assert not any(n["words"] for n in q["networks"]) and all(n["words_bytes"] == 0 for n in q["networks"])
    assert [p.name for p in (sample_site / "data/query").rglob("*") if p.name in ("text.js", "tokenizer.js")] == []
    assert 'id="qtext"' not in page and ">Search by image<" in (sample_site / "index.html").read_text()
    assert 'href="query.html"' in (sample_site / "index.html").read_text(encoding="utf-8")
    assert broken_or_outside(sample_site) == []
    manifest = json.loads((sample_site / "data/manifest.json").read_text(encoding="utf-8"))
    assert (manifest["query_enabled"], manifest["query_recall_target"], manifest["map_clusters"]) == (True, 0.95, 12)


def test_no_query_page_where_it_is_switched_off_and_no_runtime_without_a_model(tmp_path: Path) -> None:
    from builder.build import build
    from builder.config import make_config

    base = make_config(REPO / "vsis.toml")
    off = base.updated(out=tmp_path / "off", cache_dir=tmp_path / "cache", experiment_enabled=False, map_enabled=False,
                  networks=("pixels",), query_enabled=False).validate()  # fmt: skip
    build(off)
    assert not (off.out / "query.html").exists() and not (off.out / "data/query").exists()
    assert "query.html" not in (off.out / "index.html").read_text(encoding="utf-8")
    pixels = off.updated(out=tmp_path / "pixels", query_enabled=True)
    build(pixels)
    assert (pixels.out / "query.html").is_file()
    assert not (pixels.out / "vendor").exists()  # the pixel baseline needs no network runtime
    assert broken_or_outside(pixels.out) == [] and broken_or_outside(off.out) == []


def test_a_model_over_the_limit_is_not_offered_and_the_page_says_why(tmp_path: Path) -> None:
    from builder.query.browser import browser_networks

    cache = tmp_path / "cache"
    offered, refused = browser_networks(("efficientnet_lite0", "pixels"), {}, cache, max_model_bytes=1_000_000)
    assert [n.name for n in offered] == ["pixels"]
    # 19 MB with its classification head: a model over twice the limit is not cut (browser.py), as without the
    # head (13 MB) it would be over the limit still
    assert len(refused) == 1 and refused[0].startswith("efficientnet_lite0: its model is 19 MB, over the limit of 1 MB")


def test_a_model_that_cannot_be_exported_is_not_offered_and_the_build_goes_on(tmp_path: Path) -> None:
    """A network whose weights file is no checkpoint: its export fails, the reason is given."""
    from builder.query.browser import browser_networks

    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a checkpoint")
    offered, refused = browser_networks(("efficientnet_lite0", "pixels"), {"efficientnet_lite0": bad},
                                        tmp_path / "cache", 50_000_000)  # fmt: skip
    assert [n.name for n in offered] == ["pixels"]
    assert len(refused) == 1 and refused[0].startswith("efficientnet_lite0: its model could not be exported (")
    assert "broken.pth" in refused[0], refused


def test_a_rebuild_that_changes_nothing_computes_no_compact_vectors(tmp_path: Path, monkeypatch) -> None:
    from builder.build import build
    from builder.config import make_config
    from builder.query import stage as compact_stage

    config = make_config(REPO / "vsis.toml").updated(out=tmp_path / "site", cache_dir=tmp_path / "cache",
                     experiment_enabled=False, map_enabled=False, networks=("pixels",)).validate()  # fmt: skip
    build(config)
    first = (config.out / "data/query/pixels/codes/0.js").read_bytes()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("compact vectors computed again")

    monkeypatch.setattr(compact_stage, "compact", refuse)
    build(config)
    assert (config.out / "data/query/pixels/codes/0.js").read_bytes() == first
    monkeypatch.undo()
    [entry] = (config.cache_dir / "compact").rglob("*.npz")
    entry.write_bytes(b"garbage")  # a damaged entry is said and computed again, to the same bytes
    rebuilt = build(config.updated(out=tmp_path / "again").validate())
    assert any("damaged cache entry" in w for w in rebuilt.warnings)
    assert (tmp_path / "again/data/query/pixels/codes/0.js").read_bytes() == first
    fewer = config.updated(query_recall_target=0.3).validate()  # fewer axes: new vectors, a new site
    build(fewer)
    assert read_global(fewer.out, "data/query/index.js", "VSIS_QUERY")["networks"][0]["dims"] < 128
    assert (config.out / "data/query/pixels/codes/0.js").read_bytes() != first


# ---- the search in headless Chromium ----


def _builder_features(sample_site: Path, network: str) -> tuple[list[str], list[Path], np.ndarray]:
    """The sample's item ids, files and the builder's own features of `network`, in the site's order."""
    items = scan(SAMPLE, SAMPLE / "metadata.csv").items
    cache = sample_site.parent.parent / "cache"
    config = make_config(REPO / "vsis.toml")
    spec = configured(network, config.features.framing, config.features.pooling)
    [folder] = [p for p in (cache / "features").iterdir() if p.name.startswith(f"{network}-") and "int8" not in p.name]
    x = FeatureStore(cache, folder.name, spec.dim).matrix([i.content_hash for i in items])
    return [i.id for i in items], [i.path for i in items], np.asarray(x)


def _search(page, path: Path, network: str) -> dict:
    page.select_option("#qnetwork", network)
    page.evaluate("document.documentElement.dataset.query = 'waiting'")
    page.set_input_files("#qfile", str(path))
    page.wait_for_function("['done', 'error'].includes(document.documentElement.dataset.query)", timeout=60_000)
    assert page.evaluate("document.documentElement.dataset.query") == "done", page.text_content("#qstatus")
    return page.evaluate("window.vsisQueryLast")


def _open(site) -> object:
    watched, base = site
    watched.page.goto(base + "query.html")
    watched.page.wait_for_function("document.documentElement.dataset.query === 'ready'")
    return watched.page


@pytest.mark.parametrize("network", ["efficientnet_lite0", "pixels"])
def test_a_collection_image_finds_itself_first(site, sample_site: Path, network: str) -> None:
    page = _open(site)
    ids, files, _ = _builder_features(sample_site, network)
    for n in (0, 77):
        found = _search(page, files[n], network)
        assert found["network"] == network
        assert found["results"][0]["id"] == ids[n]
        assert found["results"][0]["score"] >= 0.99
        first = page.locator("#qresults li").first
        assert first.get_attribute("data-id") == ids[n]
        assert first.locator("a.pick").get_attribute("href") == f"compare/{ids[n]}.html"


@pytest.mark.parametrize("profile", ["m2", "m5"])
def test_a_perturbed_copy_finds_its_original_in_the_top_three(site, sample_site: Path, tmp_path: Path,
                                                              profile: str) -> None:  # fmt: skip
    page = _open(site)
    ids, files, _ = _builder_features(sample_site, "efficientnet_lite0")
    perturb = get_profile(profile)
    for n in (3, 41, 98, 140):
        copy = tmp_path / f"{ids[n]}-{profile}.png"
        perturb.apply(decode(files[n])).save(copy)
        found = _search(page, copy, "efficientnet_lite0")
        assert ids[n] in [r["id"] for r in found["results"][:3]], (ids[n], found["results"][:3])


def test_the_browser_computes_the_builders_features_and_ranking(site, sample_site: Path) -> None:
    """On 20 images: the page's feature within 0.01 cosine distance of the builder's for the same file, and
    its top 10 (by the compact vectors) overlapping the exact top 10 by the builder's full features, centred
    on the collection's mean as the build's are, by 0.9 or more on average; its scores are the compact
    vectors' own (query/compact.py), computed in Python."""
    from builder.search.retrieval import centred, collection_mean

    page = _open(site)
    ids, files, x = _builder_features(sample_site, "efficientnet_lite0")
    assert make_config(REPO / "vsis.toml").features.centre  # the default the exact ranking below follows
    searched = centred(x, collection_mean(x))
    picked = np.random.default_rng(18).choice(len(ids), 20, replace=False)
    distances, overlaps = [], []
    for n in picked.tolist():
        found = _search(page, files[n], "efficientnet_lite0")
        feature = np.asarray(found["feature"], dtype=np.float32)
        distances.append(1.0 - float(feature @ x[n]))
        exact = [ids[i] for i in np.argsort(-(searched @ searched[n]), kind="stable")[:10]]
        overlaps.append(len(set(exact) & {r["id"] for r in found["results"][:10]}) / 10)
    assert max(distances) <= 0.01, distances
    assert float(np.mean(overlaps)) >= 0.9, overlaps


def test_a_refused_file_clears_the_last_images_preview_and_results(site, tmp_path: Path) -> None:
    page = _open(site)
    first = scan(SAMPLE, SAMPLE / "metadata.csv").items[0]
    _search(page, first.path, "pixels")
    assert page.locator("#qresults li").count() > 0 and page.locator("#qpreview img").count() == 1
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"not an image at all\n" * 50)
    page.set_input_files("#qfile", str(garbage))
    page.wait_for_function("document.documentElement.dataset.query === 'error'", timeout=60_000)
    assert "Could not read garbage.png" in page.text_content("#qstatus")
    assert page.locator("#qpreview").is_hidden() and page.locator("#qpreview img").count() == 0
    assert page.locator("#qresults li").count() == 0
    page.select_option("#qnetwork", "efficientnet_lite0")  # switching network: no image left to search
    assert page.evaluate("document.documentElement.dataset.query") == "error"
    assert page.locator("#qresults li").count() == 0


def test_a_refined_collection_is_searched_with_the_visitors_feature_refined_alike(browser, tmp_path: Path) -> None:
    """Centred and expanded features (search/retrieval.py): the page centres the visitor's feature on the
    published mean and expands it over its best 3 results, as the builder does each item. Its top 10 agree
    with that done exactly in Python (full vectors, exact search) but for the compact vectors' rounding."""
    from builder.build import build
    from builder.config import make_config

    from .browser import Watched

    config = make_config(REPO / "vsis.toml").updated(out=tmp_path / "site", cache_dir=tmp_path / "cache",
                     experiment_enabled=False, map_enabled=False, networks=("pixels",), features_centre=True,
                     neighbours_expansion=3).validate()  # fmt: skip
    result = build(config)
    (net,) = result.networks
    assert net.searched is not None and net.refinement.mean is not None
    searched, mean = np.asarray(net.searched), net.refinement.mean
    q = read_global(config.out, "data/query/index.js", "VSIS_QUERY")["networks"][0]
    assert (q["centre"], q["expansion"]) == (True, 3)
    ids = [i.id for i in result.items]
    page = browser.new_page()
    watched = Watched(page, config.out.as_uri() + "/")
    page.goto(config.out.as_uri() + "/query.html")
    page.wait_for_function("document.documentElement.dataset.query === 'ready'")
    overlaps, first = [], 0
    for n in range(0, 150, 15):
        found = _search(page, result.items[n].path, "pixels")
        feature = np.asarray(found["feature"], dtype=np.float32)
        centred = (feature - mean) / np.linalg.norm(feature - mean)
        best = np.argsort(-(searched @ centred), kind="stable")[:3]
        query = centred + searched[best].sum(axis=0)
        exact = [ids[i] for i in np.argsort(-(searched @ (query / np.linalg.norm(query))), kind="stable")[:10]]
        overlaps.append(len(set(exact) & {r["id"] for r in found["results"][:10]}) / 10)
        found_ids = [r["id"] for r in found["results"]]
        first += ids[n] in found_ids[:3] and ids[n] in exact and exact.index(ids[n]) == found_ids.index(ids[n])
    page.close()
    assert watched.errors == [] and watched.outside == []
    assert float(np.mean(overlaps)) >= 0.85, overlaps
    assert first >= 9  # an image of the collection finds itself near the top, where the exact search does

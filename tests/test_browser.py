"""The built sample site in a real browser (headless Chromium), from a GitHub-Pages-like sub-path over
http://127.0.0.1 and straight from disk (file://): the explorer, its URL state, the compare pages."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from builder.build import build
from builder.config import make_config

from .browser import Watched
from .sitecheck import explorer_data, words_find


def open_explorer(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("html[data-ready]")


def result_ids(page) -> list[str]:
    return page.eval_on_selector_all("#results > li.result", "els => els.map(e => e.dataset.id)")


def neighbour_ids(page, selector: str) -> list[str]:
    return page.eval_on_selector_all(f"{selector} .grid > li", "els => els.map(e => e.dataset.id)")


def state(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).fragment).items()}


def published(sample_site: Path, dataset: str, network: str, item_id: str) -> list[str]:
    ds = next(d for d in explorer_data(sample_site)["datasets"] if d["name"] == dataset)
    n = next(i for i, it in enumerate(ds["items"]) if it["id"] == item_id)
    row = ds["queries"].index(n) if ds["queries"] is not None else n
    rows = next(net for net in ds["networks"] if net["name"] == network)["neighbours"]
    return [ds["items"][j]["id"] for j, _ in rows[row]]


def test_the_explorer_lists_images_with_their_k_neighbours(site, sample_site: Path) -> None:
    watched, base = site
    page = watched.page
    open_explorer(page, base + "explore.html")
    ids = result_ids(page)
    assert len(ids) == 24  # the first page of 150
    data = explorer_data(sample_site)
    for item_id in ids[:3]:
        shown = neighbour_ids(page, f'#results > li[data-id="{item_id}"]')
        assert shown == published(sample_site, "collection", "efficientnet_lite0", item_id)
        assert len(shown) == data["k"] == 10
    first = page.locator("#results > li.result").first
    assert first.locator("img").first.get_attribute("alt")  # alt text from the title
    score = data["datasets"][0]["networks"][0]["neighbours"][0][0][1]
    assert first.locator(".grid .s").first.inner_text() == f"{score:.3f}"
    assert "150 of 150" in page.inner_text("#status")


def test_typing_a_title_narrows_the_list(site, sample_site: Path) -> None:
    watched, base = site
    page = watched.page
    open_explorer(page, base + "explore.html")
    page.fill("#query", "FLOWER")
    page.wait_for_function("() => (document.documentElement.dataset.shown || '').includes('q=FLOWER')")
    titles = page.eval_on_selector_all("#results > li.result .query .t", "els => els.map(e => e.textContent)")
    # the titles that say it first, then the images the network tagged with a flower (test_browser_words.py)
    found = words_find(sample_site, "collection", "efficientnet_lite0", "FLOWER")
    titled = [t for t in titles if "flower" in t.lower()]
    assert 0 < len(titled) and titles[: len(titled)] == titled and len(titles) == min(24, len(found))
    assert re.match(rf"{len(found)} of 150 images", page.inner_text("#status"))


def test_switching_network_shows_that_networks_published_neighbours(site, sample_site: Path) -> None:
    watched, base = site
    page = watched.page
    open_explorer(page, base + "explore.html")
    first = result_ids(page)[0]
    before = neighbour_ids(page, f'#results > li[data-id="{first}"]')
    page.select_option("#network", "pixels")
    # the network's data loads after the address changes: wait for the view to be drawn
    page.wait_for_function("() => (document.documentElement.dataset.shown || '').includes('network=pixels')")
    after = neighbour_ids(page, f'#results > li[data-id="{first}"]')
    assert after == published(sample_site, "collection", "pixels", first)
    assert after != before


def test_surprise_me_selects_an_image_and_back_returns(site, sample_site: Path) -> None:
    watched, base = site
    page = watched.page
    open_explorer(page, base + "explore.html")
    page.click("#surprise")
    page.wait_for_selector("#selected:not([hidden])")
    chosen = state(page)["item"]
    assert page.get_attribute("#selected", "data-id") == chosen
    assert neighbour_ids(page, "#selected") == published(sample_site, "collection", "efficientnet_lite0", chosen)
    # browsing by similarity: pick the first neighbour, then Back returns to the surprise
    page.click("#selected .grid > li:first-child .pick")
    page.wait_for_function(
        f"() => new URLSearchParams((document.documentElement.dataset.shown || '').slice(1)).get('item') !== {chosen!r}"
    )
    nxt = state(page)["item"]
    assert nxt != chosen and page.get_attribute("#selected", "data-id") == nxt
    page.go_back()
    page.wait_for_function(f"() => document.getElementById('selected').dataset.id === {chosen!r}")


def test_a_shared_url_restores_the_same_view(site, sample_site: Path) -> None:
    watched, base = site
    page = watched.page
    ds = next(d for d in explorer_data(sample_site)["datasets"] if d["name"] == "perturbation")
    query_item = ds["items"][ds["queries"][3]]
    word = query_item["title"].split()[0]
    url = f"{base}explore.html#dataset=perturbation&network=pixels&q={word}&item={query_item['id']}"
    open_explorer(page, url)
    assert page.input_value("#dataset") == "perturbation"
    assert page.input_value("#network") == "pixels"
    assert page.input_value("#query") == word
    assert page.get_attribute("#selected", "data-id") == query_item["id"]
    assert neighbour_ids(page, "#selected") == published(sample_site, "perturbation", "pixels", query_item["id"])
    titles = page.eval_on_selector_all("#results > li.result .query .t", "els => els.map(e => e.textContent)")
    assert titles and all(word.lower() in t.lower() for t in titles)
    badges = page.eval_on_selector_all("#selected .grid .badge", "els => els.map(e => e.textContent)")
    labels = {i["profile"] for i in ds["items"] if "profile" in i}
    assert badges and set(badges) <= labels  # the copies found carry their perturbation profile


def test_a_compare_page_shows_every_network_and_what_they_share(site, sample_site: Path) -> None:
    watched, base = site
    page = watched.page
    data = explorer_data(sample_site)["datasets"][0]
    item = data["items"][0]
    page.goto(base + item["page"])
    sections = page.eval_on_selector_all("section.network-row", "els => els.map(e => e.dataset.network)")
    assert sections == [n["name"] for n in data["networks"]]
    rows = {n["name"]: [data["items"][j]["id"] for j, _ in n["neighbours"][0]] for n in data["networks"]}
    shared = set(rows["efficientnet_lite0"]) & set(rows["pixels"])
    highlighted = page.eval_on_selector_all(
        "li.shared > a", "els => els.map(e => e.getAttribute('href').replace(/\\.html$/, ''))"
    )
    assert set(highlighted) == shared and len(highlighted) == 2 * len(shared)
    # onward: a neighbour's own compare page
    page.click("section.network-row li:first-child a")
    page.wait_for_load_state()
    assert page.url.endswith(f"compare/{rows['efficientnet_lite0'][0]}.html")
    assert page.locator("section.network-row").count() == 2


def test_keyboard_alone_reaches_and_uses_the_controls(site) -> None:
    watched, base = site
    page = watched.page
    open_explorer(page, base + "explore.html")
    page.focus("#query")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "surprise"
    page.keyboard.press("Enter")
    page.wait_for_selector("#selected:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "selected-title"  # focus follows the selection
    outline = page.evaluate("getComputedStyle(document.getElementById('selected-title')).outlineStyle")
    assert outline != "none"


def test_the_explorer_fits_a_phone_screen(sample_site: Path, browser) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    open_explorer(page, sample_site.as_uri() + "/explore.html")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    page.close()


HOSTILE = {
    "title": '<img src=x onerror="window.PWNED=1">Night</script><script>window.PWNED=2</script>',
    "artist": "\"'><svg onload=window.PWNED=3>",
    "medium": "<b>bold</b> & </script>",
}


def test_hostile_metadata_is_shown_as_text_and_never_runs(tmp_path: Path, browser) -> None:
    from .conftest import write_collection

    write_collection(tmp_path / "images", {"": 6})
    with (tmp_path / "meta.csv").open("w", encoding="utf-8", newline="") as fh:
        import csv

        writer = csv.writer(fh)
        writer.writerow(["file", "title", "artist", "medium", "url"])
        writer.writerow(
            ["img_000.png", HOSTILE["title"], HOSTILE["artist"], HOSTILE["medium"], "javascript:window.PWNED=4"]
        )
    config = make_config(
        collection=tmp_path / "images",
        metadata_file=tmp_path / "meta.csv",
        networks=("pixels",),
        k=3,
        experiment_enabled=False,
        out=tmp_path / "site",
        cache_dir=tmp_path / "cache",
    )
    result = build(config)
    hostile_id = next(i.id for i in result.items if i.relpath == "img_000.png")
    site = tmp_path / "site"
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    watched = Watched(page, site.as_uri() + "/")
    for url in (f"explore.html#item={hostile_id}", f"compare/{hostile_id}.html", "images.html", "index.html"):
        page.goto(site.as_uri() + "/" + url)
        page.wait_for_load_state("load")
        if url.startswith("explore"):
            page.wait_for_selector("#selected:not([hidden])")
            assert page.inner_text("#selected-title") == HOSTILE["title"]
            assert HOSTILE["medium"] in page.inner_text("#selected")
        if url.startswith("compare"):
            assert page.inner_text("h1") == HOSTILE["title"]
            assert HOSTILE["artist"] in page.inner_text("main")
            assert page.locator("a[href^='javascript']").count() == 0
        assert page.evaluate("window.PWNED") is None
        assert page.locator("main img[src='x'], main svg[onload]").count() == 0
    assert dialogs == [] and watched.errors == [] and watched.outside == []
    page.close()


def test_a_sharded_explorer_finds_an_item_in_the_last_shard_by_url_and_by_search(
    tmp_path: Path, browser, monkeypatch
) -> None:
    """40 images in shards of 8: a link to the last image loads its shard and the first page's, nothing else;
    the search index comes with the first search, and finds it."""
    from builder.site import explorer_data as shards

    from .conftest import write_collection

    monkeypatch.setattr(shards, "SHARD_SIZE", 8)
    write_collection(tmp_path / "images", {"": 40})
    config = make_config(collection=tmp_path / "images", networks=("pixels",), k=3, experiment_enabled=False,
                         out=tmp_path / "site", cache_dir=tmp_path / "cache")  # fmt: skip
    build(config)
    items = explorer_data(config.out)["datasets"][0]["items"]
    last = items[-1]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watched = Watched(page, config.out.as_uri() + "/")
    open_explorer(page, f"{config.out.as_uri()}/explore.html#item={last['id']}")
    assert page.get_attribute("#selected", "data-id") == last["id"]
    assert page.inner_text("#selected-title") == last["title"]
    assert neighbour_ids(page, "#selected") == published(config.out, "collection", "pixels", last["id"])
    # every data file the explorer loads is a <script> it added (performance entries miss file:// loads)
    loaded = "() => [...document.scripts].map(e => e.src.split('/data/')[1]).filter(Boolean)"
    # the first page (24 rows: shards 0-2) and the last image's shard (4); not shard 3, not the search index
    assert sorted(page.evaluate(loaded)) == sorted(
        ["index.js"] + [f"collection/{kind}/{n}.js" for kind in ("items", "pixels") for n in (0, 1, 2, 4)]
    )
    page.fill("#query", last["title"])
    page.wait_for_function("() => (document.documentElement.dataset.shown || '').includes('q=')")
    assert result_ids(page) == [last["id"]] and "1 of 40 images" in page.inner_text("#status")
    assert "collection/search.js" in page.evaluate(loaded)
    assert watched.errors == [] and watched.outside == []
    page.close()

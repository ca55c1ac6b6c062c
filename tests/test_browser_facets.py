"""The explorer's filters in headless Chromium, over http and from disk: a combination of facet values and a year
range lists exactly the items a plain recount expects, the counts follow the other facets' choices, the URL
restores the view, and "neighbours only among the filtered images" shows no other."""

from __future__ import annotations

import csv
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from builder.build import build
from builder.collect.dates import read_date
from builder.config import make_config

from .browser import Watched, served
from .conftest import write_collection

DEPARTMENTS = ["Drawings & Prints", "Photography", "Painting <b>&</b> Sculpture"]
NATIONS = ["American", "French", "German", "Japanese"]
DATES = ["1920", "c. 1925", "1930-35", "1950s", "n.d.", "", "1962", "19th century", "sometime"]


@pytest.fixture(scope="module")
def facet_site(tmp_path_factory) -> tuple[Path, dict[str, dict[str, str]]]:
    """40 drawings with a department, one to three nationalities and a date each; built once."""
    root = tmp_path_factory.mktemp("facets")
    paths = write_collection(root / "images", {"": 40})
    rng = random.Random(29)
    records: dict[str, dict[str, str]] = {}
    with (root / "meta.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "title", "department", "nationality", "date"])
        for path in paths:
            record = {"department": rng.choice(DEPARTMENTS),
                      "nationality": "; ".join(rng.sample(NATIONS, rng.choice([1, 1, 2, 3]))),
                      "date": rng.choice(DATES)}  # fmt: skip
            writer.writerow([path.name, path.stem, record["department"], record["nationality"], record["date"]])
            records[path.name] = record
    config = make_config(collection=root / "images", metadata_file=root / "meta.csv", networks=("pixels",), k=4,
                         experiment_enabled=False, map_enabled=False, query_enabled=False, out=root / "site",
                         cache_dir=root / "cache", metadata_facets=("department", "nationality", "date"))  # fmt: skip
    result = build(config)
    by_id = {item.id: records[item.relpath] for item in result.items}
    return root / "site", by_id


@pytest.fixture(params=["http", "file"])
def base(request, facet_site, browser):
    site, _records = facet_site
    if request.param == "file":
        yield site.as_uri() + "/"
        return
    with served(site) as url:
        yield url


def _expected(records: dict[str, dict[str, str]], departments: set[str], nation: str | None,
              years: tuple[int, int] | None) -> list[str]:  # fmt: skip
    out = []
    for item_id, r in sorted(records.items()):
        if departments and r["department"] not in departments:
            continue
        if nation and nation not in r["nationality"].split("; "):
            continue
        if years:
            found = read_date(r["date"])
            if found is None or found.last < years[0] or found.first > years[1]:
                continue
        out.append(item_id)
    return out


def _listed(page) -> list[str]:
    return page.eval_on_selector_all("#results > li.result", "els => els.map(e => e.dataset.id)")


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("html[data-ready]")


def _counts(page, facet: str) -> dict[str, int]:
    rows = page.eval_on_selector_all(
        f'fieldset[data-facet="{facet}"] li',
        "els => els.map(e => [e.querySelector('input').value, e.querySelector('.n').textContent])",
    )
    return {value: int(count) for value, count in rows}


@pytest.mark.browser
def test_a_filter_combination_lists_exactly_the_expected_items_and_the_url_restores_it(browser, base, facet_site):
    _site, records = facet_site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watched = Watched(page, base)
    _open(page, base + "explore.html")
    assert page.is_hidden("#facet-panel")
    page.click("#filters")
    page.wait_for_selector('fieldset[data-facet="department"]')
    page.check(f'fieldset[data-facet="department"] input[value="{DEPARTMENTS[0]}"]')
    page.wait_for_function(
        "location.hash.indexOf('department') >= 0 && document.documentElement.dataset.shown === location.hash"
    )
    page.check(f'fieldset[data-facet="department"] input[value="{DEPARTMENTS[2]}"]')
    page.check('fieldset[data-facet="nationality"] input[value="French"]')
    page.wait_for_function(
        "location.hash.indexOf('French') >= 0 && document.documentElement.dataset.shown === location.hash"
    )
    expected = _expected(records, {DEPARTMENTS[0], DEPARTMENTS[2]}, "French", None)
    assert expected and _listed(page) == expected
    assert f"{len(expected)} of 40 images pass the filters" in page.inner_text("#status")
    # a value's count is of the items that pass every other facet's choice
    french = _counts(page, "nationality")
    chosen = {DEPARTMENTS[0], DEPARTMENTS[2]}
    assert french["German"] == sum(
        1 for r in records.values() if r["department"] in chosen and "German" in r["nationality"]
    )
    departments = _counts(page, "department")
    assert departments[DEPARTMENTS[1]] == sum(
        1 for r in records.values() if r["department"] == DEPARTMENTS[1] and "French" in r["nationality"]
    )
    assert page.inner_text('fieldset[data-facet="department"]').count("<b>&</b>") == 1  # shown as text

    # the URL restores it, in a fresh page, with the panel open and the boxes checked
    url = page.url
    fresh = browser.new_page(viewport={"width": 1280, "height": 900})
    fresh_watched = Watched(fresh, base)
    _open(fresh, url)
    fresh.wait_for_selector('fieldset[data-facet="department"]')
    assert _listed(fresh) == expected
    assert fresh.is_checked('fieldset[data-facet="nationality"] input[value="French"]')
    assert not fresh.is_checked('fieldset[data-facet="nationality"] input[value="German"]')
    # Back undoes the last choice
    page.go_back()
    page.wait_for_function(
        "location.hash.indexOf('French') < 0 && document.documentElement.dataset.shown === location.hash"
    )
    assert _listed(page) == _expected(records, {DEPARTMENTS[0], DEPARTMENTS[2]}, None, None)[:24]
    for w in (watched, fresh_watched):
        assert w.errors == [] and w.outside == []


@pytest.mark.browser
def test_a_year_range_keeps_the_items_whose_dates_overlap_it(browser, base, facet_site):
    _site, records = facet_site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watched = Watched(page, base)
    _open(page, base + "explore.html#years=1924-1933")
    assert _listed(page) == _expected(records, set(), None, (1924, 1933))
    assert page.input_value('fieldset[data-facet="years"] input >> nth=0') == "1924"
    page.fill('fieldset[data-facet="years"] input >> nth=1', "1965")
    page.press('fieldset[data-facet="years"] input >> nth=1', "Enter")
    page.wait_for_function(
        "location.hash.indexOf('years=1924-1965') >= 0 && document.documentElement.dataset.shown === location.hash"
    )
    assert _listed(page) == _expected(records, set(), None, (1924, 1965))
    assert watched.errors == [] and watched.outside == []


@pytest.mark.browser
def test_neighbours_only_among_the_filtered_images(browser, base, facet_site):
    _site, records = facet_site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watched = Watched(page, base)
    department = DEPARTMENTS[1]
    _open(page, base + "explore.html#f=department:" + department.replace(" ", "+") + "&within=1")
    kept = set(_expected(records, {department}, None, None))
    shown = page.eval_on_selector_all("#results .grid > li", "els => els.map(e => e.dataset.id)")
    assert shown and set(shown) <= kept
    page.uncheck("#within")
    page.wait_for_function(
        "location.hash.indexOf('within') < 0 && document.documentElement.dataset.shown === location.hash"
    )
    every = page.eval_on_selector_all("#results .grid > li", "els => els.map(e => e.dataset.id)")
    assert len(every) == 4 * len(_listed(page)) and not set(every) <= kept
    assert watched.errors == [] and watched.outside == []


DECODER_PAGE = """<!doctype html><meta charset="utf-8"><body>
<script src="shards.js"></script><script src="url-state.js"></script><script src="facets.js"></script>
<script>
window.facetsOf = function (summary) {
  var reader = { load: function (name, cb) { vsisShards.load(name).then(function () { cb(); }); } };
  return vsisFacets.create(reader, { facets: summary });
};
</script>
"""


def test_the_page_decodes_each_values_members_as_the_builder_wrote_them(tmp_path: Path, browser) -> None:
    """Bitsets and LEB128 gaps of one to three bytes, the first and the last item, an empty value: the page's
    codes (each item's first value) are the builder's, at a size where the gaps need three bytes."""
    from builder.collect.facets import Facet, Facets
    from builder.resources import static_dir
    from builder.site.facet_data import facet_files

    size = 40_000
    rng = np.random.default_rng(31)
    members = [np.flatnonzero(rng.random(size) < share) for share in (0.4, 0.2, 0.003, 0.0002)]
    members += [np.array([0, size - 1]), np.array([], dtype=np.int64), np.arange(size)]
    facet = Facet("kind", "Kind", tuple(f"v{i}" for i in range(len(members))), tuple(members))
    files, summary = facet_files("collection", Facets((facet,), None), size)
    forms = {json.loads(text[text.index(",") + 1 : text.rindex(")")])["m"][i][0]
             for text in files.values() if '"m"' in text for i in range(len(members))}  # fmt: skip
    assert forms == {"b", "d"}  # both forms are read
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    for part in ("shards.js", "url-state.js", "facets.js"):
        shutil.copy(static_dir() / part, tmp_path / part)
    (tmp_path / "index.html").write_text(DECODER_PAGE, encoding="utf-8")
    page = browser.new_page()
    try:
        page.goto((tmp_path / "index.html").as_uri())
        codes = page.evaluate("s => new Promise(r => facetsOf(s).codes('kind', c => r(Array.from(c))))", summary)
    finally:
        page.close()
    assert codes == facet.codes(size).tolist()

"""The map by the collection's metadata: colourings by facet (their legends' counts against a plain recount),
the time layout (each item in its year's column, a column's stack in the similarity order, the undated
apart, the same every time), their data files, and map.html in headless Chromium over http and file://: a
filter combination fades exactly the items it leaves out, the URL restores it, the time layout places each
item in its year's column."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from builder.build import build
from builder.collect.collection import Item
from builder.collect.dates import read_date
from builder.collect.facets import NO_YEAR, Facet, cell_values, value_facet
from builder.config import make_config
from builder.map.atlas import hilbert_index
from builder.map.embed import GRID
from builder.map.model import NONE, OTHER, OTHER_VALUES, PALETTE, facet_colouring
from builder.map.timeline import MOST_COLUMNS, bin_years, time_axis, time_layout

from .browser import Watched
from .conftest import write_collection
from .sitecheck import map_data, read_shard

# ---- the time layout ----


def years_and_points(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """First years over 1890 ... 1960 (a tenth undated, one year crowded) and a similarity layout's points."""
    rng = np.random.default_rng(seed)
    first = rng.integers(1890, 1961, n).astype(np.int16)
    first[rng.random(n) < 0.1] = NO_YEAR
    first[rng.random(n) < 0.1] = 1925
    return first, rng.integers(0, GRID + 1, (n, 2)).astype(np.uint16)


def test_each_item_stands_in_its_years_column_and_the_undated_apart() -> None:
    first, points = years_and_points()
    layout = time_layout(first, [("net", points)])
    assert layout is not None
    axis, xy = layout.axis, layout.points[0][1].astype(np.float64)
    assert layout.points[0][1].dtype == np.uint16 and xy.shape == (400, 2)
    assert (axis.start, axis.bin, axis.columns) == (1890, 1, 71)
    dated = first != NO_YEAR
    for i in np.flatnonzero(dated):
        x0, x1 = axis.span(axis.column(int(first[i])))
        assert x0 <= xy[i, 0] <= x1
    assert axis.undated is not None and axis.undated[2] == int((~dated).sum())
    x0, x1, _ = axis.undated
    assert ((xy[~dated, 0] >= x0) & (xy[~dated, 0] <= x1)).all()
    assert x0 > axis.span(axis.columns - 1)[1] + axis.pitch - axis.width  # after an empty place
    # the stacks rise from the baseline; no two items on one place; the whole inside the grid
    assert (xy[:, 1] < axis.baseline).all()
    assert len({tuple(p) for p in layout.points[0][1].tolist()}) == 400
    # columns are laid evenly by year: 1900's middle is 10 pitches from 1890's
    assert axis.span(10)[0] - axis.span(0)[0] == pytest.approx(10 * axis.pitch)
    assert sum(axis.counts) == int(dated.sum()) and axis.counts[1925 - 1890] == int((first == 1925).sum())
    assert [label for label, _ in axis.ticks][-1] == "no year"
    assert all(int(label) % 5 == 0 for label, _ in axis.ticks[:-1])


def test_a_columns_stack_follows_the_similarity_order() -> None:
    """Within a column, the nearer the baseline (then along the row, boustrophedon), the earlier the item on
    the Hilbert curve through the similarity layout: read back from the points alone."""
    first, points = years_and_points()
    layout = time_layout(first, [("net", points)])
    assert layout is not None
    axis, xy = layout.axis, layout.points[0][1].astype(np.float64)
    rank = np.argsort(np.argsort(hilbert_index(points), kind="stable"), kind="stable")
    per_row = round(axis.width / axis.cell)
    column = np.where(first == NO_YEAR, axis.columns + 1, (first.astype(np.int64) - axis.start) // axis.bin)
    for c in np.unique(column):
        members = np.flatnonzero(column == c)
        row = np.rint((axis.baseline - xy[members, 1]) / axis.cell - 0.5).astype(int)
        along = np.rint((xy[members, 0] - axis.left - c * axis.pitch) / axis.cell - 0.5).astype(int)
        assert ((along >= 0) & (along < per_row)).all()
        along = np.where(row % 2 == 1, per_row - 1 - along, along)
        place = row * per_row + along
        assert sorted(place.tolist()) == list(range(len(members)))  # packed from the baseline, no holes
        assert (np.diff(rank[members][np.argsort(place)]) > 0).all()


def test_the_time_layout_is_the_same_every_time_and_its_own_per_network() -> None:
    first, points = years_and_points()
    other = points[::-1].copy()
    a = time_layout(first, [("one", points), ("two", other)])
    b = time_layout(first.copy(), [("one", points.copy()), ("two", other.copy())])
    assert a is not None and b is not None
    assert a.axis == b.axis
    for (na, pa), (nb, pb) in zip(a.points, b.points, strict=True):
        assert na == nb and pa.tobytes() == pb.tobytes()
    assert a.points[0][1].tobytes() != a.points[1][1].tobytes()  # another similarity, another order
    # the same columns: only the order within them differs
    assert sorted(a.points[0][1][:, 0].tolist()) == sorted(a.points[1][1][:, 0].tolist())


def test_a_long_span_has_columns_of_round_numbers_of_years() -> None:
    assert bin_years(1901, 1990) == 1
    assert bin_years(1500, 1990) == 5
    assert bin_years(-3000, 2000) == 50
    first = np.array([1503, 1650, 1899, 1990, NO_YEAR], dtype=np.int16)
    found = time_axis(first)
    assert found is not None
    axis, column, _width = found
    assert (axis.bin, axis.start) == (5, 1500) and axis.columns <= MOST_COLUMNS
    assert column.tolist() == [0, 30, 79, 98, axis.columns]
    assert all(int(label) % axis.bin == 0 for label, _ in axis.ticks[:-1])
    assert time_axis(np.full(3, NO_YEAR, dtype=np.int16)) is None  # nothing dated: no time layout
    only = time_axis(np.array([1950, 1950, 1950], dtype=np.int16))  # one year: one column, no undated
    assert only is not None and only[0].columns == 1 and only[0].undated is None


# ---- the legends ----


def facet(cells: list[str], key: str = "department", most: int = 30) -> Facet:
    """A facet as collect/facets.py makes one (most common value first, several a cell split on ';', beyond
    `most` values the rest as "(other)")."""
    items = [Item(path=Path(f"{n}.png"), relpath=f"{n}.png", id=str(n), category="", content_hash="", title="",
                  extra={key: c}) for n, c in enumerate(cells)]  # fmt: skip
    return value_facet(items, key, most=most)


def test_a_facets_legend_counts_each_colours_points_as_a_plain_recount() -> None:
    rng = np.random.default_rng(4)
    values = [f"v{k:02d}" for k in range(len(PALETTE) + 22)]  # beyond the palette, and beyond 30: "(other)"
    cells = []
    for _ in range(500):
        r = rng.random()
        cells.append("" if r < 0.1 else ";".join(rng.choice(values, 1 + int(r > 0.8), replace=False).tolist()))
    f = facet(cells)
    assert f.values[-1] == "(other)" and len(f.values) == 30
    colouring = facet_colouring(f, len(cells))
    # a plain recount: each item's colour is its first value in the facet's order (the commonest it has)
    order = {v: n for n, v in enumerate(f.values)}
    expected: Counter[str] = Counter()
    for text in cells:
        mine = cell_values(text)
        if not mine:
            expected["none"] += 1
            continue
        kept = [v for v in mine if v in order] or ["(other)"]
        top = min(kept, key=lambda v: order.get(v, len(order)))
        named = [v for v in f.values if v != "(other)"][: len(PALETTE)]
        expected[top if top in named else "rest"] += 1
    shown = {c.label: c.count for c in colouring.legend}
    for c in colouring.legend:
        if c.value is not None:
            assert c.count == expected[c.value]
    assert shown[OTHER_VALUES] == expected["rest"] and shown["no department"] == expected["none"]
    assert sum(c.count for c in colouring.legend) == 500
    assert [c.colour for c in colouring.legend[: len(PALETTE)]] == list(PALETTE)
    assert colouring.legend[-2].colour == OTHER[1] and colouring.legend[-1].colour == NONE[1]
    assert colouring.none == len(colouring.legend) - 1
    # every value's entry: its own while the palette lasts, then the grey one
    codes = f.codes(500)
    entry = np.array([colouring.entries[c] if c >= 0 else colouring.none for c in codes])
    assert Counter(entry.tolist()) == {e: c.count for e, c in enumerate(colouring.legend)}


def test_a_facet_every_item_has_gets_no_none_entry() -> None:
    colouring = facet_colouring(facet(["a", "b", "a", "c"]), 4)
    assert [(c.label, c.count, c.value) for c in colouring.legend] == [("a", 2, "a"), ("b", 1, "b"), ("c", 1, "c")]
    assert colouring.none == -1 and colouring.entries == (0, 1, 2)


# ---- a site with metadata ----

DEPARTMENTS = ("Drawings", "Prints", "Painting")
NATIONALITIES = ("French", "American", "German")


def record(n: int) -> tuple[str, str, str]:
    """Item n's department, nationality (some two, some none) and date."""
    department = DEPARTMENTS[n % 3] if n % 8 else ""
    nationality = NATIONALITIES[n % 3 - 1] + ("; " + NATIONALITIES[(n + 1) % 3] if n % 5 == 0 else "")
    if n % 9 == 0:
        nationality = ""
    dates = (f"{1900 + n % 37}", f"c. {1905 + n % 23}", f"{1910 + n % 20}-{15 + n % 5}", "n.d.", "", "1920s")
    return department, nationality, dates[n % 6] if n % 13 else "unknownish"


def write_site(root: Path, n: int = 60) -> tuple[Path, dict[str, tuple[str, str, str]]]:
    paths = write_collection(root / "images", {"": n})
    lines = ["File,Department,Nationality,Date"]
    records = {}
    for k, p in enumerate(paths):
        rec = record(k)
        records[p.name] = rec
        lines.append(f'{p.name},{rec[0]},"{rec[1]}",{rec[2]}')
    (root / "meta.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = make_config(collection=root / "images", metadata_file=root / "meta.csv", networks=("pixels",), k=3,
                         experiment_enabled=False, out=root / "site", cache_dir=root / "cache")  # fmt: skip
    result = build(config)
    return config.out, {i.id: records[Path(i.relpath).name] for i in result.items}


@pytest.fixture(scope="module")
def facet_site(tmp_path_factory) -> tuple[Path, dict[str, tuple[str, str, str]]]:
    """60 generated images with a department, a nationality (several or none) and a date as museums write
    them; the site built with the pixels network, under www/site/."""
    return write_site(tmp_path_factory.mktemp("facets") / "www")


def years_of(date: str) -> tuple[int, int] | None:
    found = read_date(date)
    return None if found is None else (found.first, found.last)


def test_the_site_publishes_the_colourings_and_each_networks_time_layout(facet_site) -> None:
    site, records = facet_site
    data = map_data(site)
    index = data["index"]
    assert [c["key"] for c in index["colourings"]] == ["department", "nationality"]
    department = index["colourings"][0]
    ids = data["ids"]
    count = Counter(records[i][0] or "none" for i in ids)
    assert {e["label"]: e["count"] for e in department["legend"]} == {
        **{d: count[d] for d in DEPARTMENTS}, "no department": count["none"]}  # fmt: skip
    assert all(e.get("value") == e["label"] for e in department["legend"][:3])
    assert "value" not in department["legend"][3]
    # the time layout: a file per network and shard, each item in its year's column
    time = index["time"]
    assert index["files"]["time"] == "data/map/time/{network}/{n}.js"
    xy = np.frombuffer(base64.b64decode(read_shard(site, "data/map/time/pixels/0.js")["xy"]), "<u2").reshape(-1, 2)
    assert xy.shape == (60, 2)
    for n, item in enumerate(ids):
        years = years_of(records[item][2])
        x0, x1 = column_span(time, years)
        assert x0 - 1 <= xy[n, 0] <= x1 + 1, (item, records[item][2])


def column_span(time: dict, years: tuple[int, int] | None) -> tuple[float, float]:
    """The x range on the grid of the column of an item of these years, as the index describes the axis."""
    if years is None:
        return time["undated"]["x0"], time["undated"]["x1"]
    column = (years[0] - time["start"]) // time["bin"]
    x0 = time["left"] + column * time["pitch"]
    return x0, x0 + time["width"]


# ---- the page, in headless Chromium ----


@pytest.fixture(params=["http", "file"])
def facet_page(request, facet_site, browser):
    """(watched page, base URL of the facet site); after the test: no errors, nothing fetched from elsewhere."""
    from .browser import served

    site, _ = facet_site
    with served(site.parent) as root:
        base = root + "site/" if request.param == "http" else site.as_uri() + "/"
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        watched = Watched(page, base)
        yield watched, base
        page.close()
    assert watched.errors == []
    assert watched.outside == []


def open_map(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("html[data-ready]")
    settled(page)


def settled(page) -> None:
    """The view asked for is drawn (its address is the one shown) and nothing moves."""
    page.wait_for_function(
        "() => document.documentElement.dataset.shown === location.hash && !document.documentElement.dataset.moving"
    )


def fragment(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).fragment)


def expected_items(ids: list[str], records: dict, departments: set[str], nationalities: set[str],
                   years: tuple[int, int] | None) -> list[int]:  # fmt: skip
    """A plain recount of the filter: an item passes each facet whose values are chosen by having one of
    them, and a year range by a date that overlaps it."""
    out = []
    for n, item in enumerate(ids):
        department, nationality, date = records[item]
        if departments and department not in departments:
            continue
        if nationalities and not nationalities & {v.strip() for v in nationality.split(";") if v.strip()}:
            continue
        if years is not None:
            span = years_of(date)
            if span is None or span[0] > years[1] or span[1] < years[0]:
                continue
        out.append(n)
    return out


def test_a_filter_combination_fades_exactly_the_items_it_leaves_out(facet_page, facet_site) -> None:
    watched, base = facet_page
    page = watched.page
    site, records = facet_site
    ids = map_data(site)["ids"]
    open_map(page, base + "map.html#colour=department&f=department:Drawings&f=department:Prints"
             "&f=nationality:French&years=1905-1925")  # fmt: skip
    want = expected_items(ids, records, {"Drawings", "Prints"}, {"French"}, (1905, 1925))
    assert 0 < len(want) < 30
    assert page.evaluate("VSIS_MAP_STATE.unfaded()") == want
    assert page.evaluate("VSIS_MAP_STATE.colour()") == "department"
    assert page.input_value("#colour") == "department"
    assert (page.input_value("#year-from"), page.input_value("#year-to")) == ("1905", "1925")
    # the legend: each department's points among those shown, of all
    legend = page.eval_on_selector_all("#legend li", "els => els.map(e => e.textContent)")
    shown = Counter(records[ids[n]][0] for n in want)
    every = Counter(records[i][0] for i in ids)
    assert sorted(legend[:3]) == sorted(f"{d}{shown[d]} of {every[d]}" for d in DEPARTMENTS)
    pressed = page.eval_on_selector_all("#legend button[aria-pressed=true] .t", "els => els.map(e => e.textContent)")
    assert sorted(pressed) == ["Drawings", "Prints"]
    assert f"Showing {len(want)} of 60 images" in page.inner_text("#filter-note")
    # the unfaded are drawn in their colours, the faded in the faded grey, on the canvas as drawn
    colours = page.evaluate("Array.from(VSIS_MAP_STATE.colours())")
    faded = {colours[n] for n in range(60) if n not in want}
    assert len(faded) == 1 and faded.isdisjoint({colours[n] for n in want})


def test_the_legend_toggles_a_value_and_the_url_restores_the_filter(facet_page, facet_site, browser) -> None:
    watched, base = facet_page
    page = watched.page
    site, records = facet_site
    ids = map_data(site)["ids"]
    open_map(page, base + "map.html#colour=nationality")
    assert page.evaluate("VSIS_MAP_STATE.unfaded()") == list(range(60))  # no filter: nothing faded
    page.click("#legend button:has-text('German')")
    page.wait_for_function("() => (document.documentElement.dataset.shown || '').includes('German')")
    settled(page)
    assert fragment(page)["f"] == ["nationality:German"]
    want = expected_items(ids, records, set(), {"German"}, None)
    assert page.evaluate("VSIS_MAP_STATE.unfaded()") == want
    page.fill("#year-from", "1910")
    page.fill("#year-to", "1915")
    page.press("#year-to", "Enter")
    page.locator("#year-to").blur()
    page.wait_for_function("() => (document.documentElement.dataset.shown || '').includes('years=1910-1915')")
    settled(page)
    both = expected_items(ids, records, set(), {"German"}, (1910, 1915))
    assert page.evaluate("VSIS_MAP_STATE.unfaded()") == both
    url = page.url
    # the same address in a fresh page: the same view
    again = browser.new_page(viewport={"width": 1280, "height": 900})
    again_watched = Watched(again, base)
    open_map(again, url)
    assert again.evaluate("VSIS_MAP_STATE.unfaded()") == both
    assert again.input_value("#colour") == "nationality" and again.input_value("#year-from") == "1910"
    again.close()
    assert again_watched.errors == []
    # Back: the years undone, then the value
    page.go_back()
    page.wait_for_function("() => !(document.documentElement.dataset.shown || '').includes('years=')")
    settled(page)
    assert page.evaluate("VSIS_MAP_STATE.unfaded()") == want
    page.click("#clear-filter")
    page.wait_for_function("() => !(document.documentElement.dataset.shown || '').includes('f=')")
    settled(page)
    assert page.evaluate("VSIS_MAP_STATE.unfaded()") == list(range(60))


def test_the_time_layout_places_each_item_in_its_years_column(facet_page, facet_site) -> None:
    watched, base = facet_page
    page = watched.page
    site, records = facet_site
    data = map_data(site)
    ids, time = data["ids"], data["index"]["time"]
    open_map(page, base + "map.html")
    before = page.evaluate("[VSIS_MAP_STATE.world(0), VSIS_MAP_STATE.layout()]")
    assert before[1] == "similarity"
    page.select_option("#layout", "time")
    page.wait_for_selector("html[data-moving]")  # the points move there ...
    page.wait_for_function("() => (document.documentElement.dataset.shown || '').includes('layout=time')")
    settled(page)  # ... and arrive
    assert page.evaluate("VSIS_MAP_STATE.layout()") == "time"
    world = page.evaluate("Array.from({length: 60}, (_, i) => VSIS_MAP_STATE.world(i))")
    for n, item in enumerate(ids):
        x0, x1 = column_span(time, years_of(records[item][2]))
        assert x0 - 1 <= world[n][0] * GRID <= x1 + 1, (item, records[item][2])
    assert page.is_hidden(".map-hotspots")  # the clusters are places of the similarity layout
    # the address restores it; Back returns to the similarity layout
    url = page.url
    page.go_back()
    settled(page)
    assert page.evaluate("VSIS_MAP_STATE.layout()") == "similarity"
    assert page.evaluate("VSIS_MAP_STATE.world(0)") == pytest.approx(before[0])
    page.goto(url)
    page.reload()
    page.wait_for_selector("html[data-ready]")
    settled(page)
    assert page.evaluate("VSIS_MAP_STATE.layout()") == "time" and page.input_value("#layout") == "time"


def test_with_reduced_motion_the_layouts_switch_at_once(facet_site, browser) -> None:
    site, _ = facet_site
    page = browser.new_page(viewport={"width": 390, "height": 844}, reduced_motion="reduce")
    watched = Watched(page, site.as_uri() + "/")
    open_map(page, site.as_uri() + "/map.html")
    page.evaluate("window.MOVED = 0; new MutationObserver(() => { if (document.documentElement.dataset.moving) "
                  "window.MOVED++; }).observe(document.documentElement, {attributes: true})")  # fmt: skip
    page.select_option("#layout", "time")
    page.wait_for_function("() => (document.documentElement.dataset.shown || '').includes('layout=time')")
    assert page.evaluate("window.MOVED") == 0
    page.close()
    assert watched.errors == []

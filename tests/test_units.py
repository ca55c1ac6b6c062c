"""Unit tests for modules that only whole builds covered before: page models, the explorer's data, publishing,
chart geometry, the input pipeline and the caches. Each builds its inputs by hand and checks the result."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from builder.cache import BlobStore, FeatureStore, atomic_path, atomic_write, sha256_of
from builder.collect.collection import Item
from builder.errors import VsisError
from builder.features.networks import get as get_network
from builder.features.runtime.backends import PrecisionPlan
from builder.inputs.images import DecodeLimits, webp_problem
from builder.inputs.perturb import get_profile
from builder.inputs.prepare import FileTask, VariantTask, ordered_map, prepare
from builder.pagekit.charts import line_chart
from builder.pagekit.datafiles import json_for_script
from builder.pagekit.item import list_pages, page_item, safe_url
from builder.search.neighbours import Neighbours
from builder.search.results import NetworkResult
from builder.site.explorer_data import explorer_files
from builder.site.model import SiteModel
from builder.site.pages import page_items, site_model
from builder.site.publish import MARKER, fingerprint, publish
from builder.site.render import attribute_value

from .conftest import drawing
from .sitecheck import broken_or_outside


def item(n: int, tmp_path: Path, **fields: str) -> Item:
    path = tmp_path / f"img{n}.png"
    drawing(n, size=64).save(path)
    return Item(
        id=f"img{n}",
        path=path,
        relpath=path.name,
        category=fields.pop("category", None),
        content_hash=f"{n:064x}",
        title=fields.pop("title", f"Image {n}"),
        **fields,
    )


def result(name: str, indices: list[list[int]], scores: list[list[float]]) -> NetworkResult:
    return NetworkResult(
        name,
        Neighbours(np.array(indices), np.array(scores, dtype=np.float32)),
        1.0,
        0,
        3,
        0.0,
        PrecisionPlan("fp32", "fp32"),
        get_network(name),
    )


def small_model(tmp_path: Path, title: str = "") -> SiteModel:
    tmp_path.mkdir(parents=True, exist_ok=True)
    items = [item(n, tmp_path, artist="Ann" if n == 0 else "") for n in range(3)]
    thumbs = BlobStore(tmp_path / "thumbs", ".jpg")
    for i in items:
        thumbs.path(i.content_hash).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(thumbs.path(i.content_hash))
    results = [result("pixels", [[1], [0], [0]], [[0.9], [0.9], [0.5]])]
    return site_model(
        "collection",
        items,
        [("bad.png", "empty file")],
        2,
        results,
        None,
        title,
        1,
        {},
        thumbs,
        {"vsis": "test"},
        page_items(items, thumbs),
    )


# Page models.


def test_only_http_urls_become_links() -> None:
    assert safe_url(" https://example.org/a ") == "https://example.org/a"
    assert safe_url("javascript:alert(1)") == safe_url("ftp://x/y") == safe_url("https://") == ""


def test_a_page_item_carries_its_metadata_and_its_pages(tmp_path: Path) -> None:
    page = page_item(item(1, tmp_path, url="javascript:x", category="cats", title="T"), ".jpg")
    assert (page.id, page.title, page.url, page.category) == ("img1", "T", "", "cats")
    assert page.page == "compare/img1.html" and page.thumb == "compare/img1.jpg"
    copy = page_item(item(2, tmp_path), ".webp", "img2--m1", "T (b/w)")
    assert (copy.id, copy.thumb) == ("img2--m1", "compare/img2--m1.webp")
    assert copy.page == "compare/img2.html"  # a perturbed copy opens its original's page


def test_the_site_model_holds_what_the_pages_show(tmp_path: Path) -> None:
    model = small_model(tmp_path)
    assert model.title == "Visually similar images: collection" and model.k == 1
    assert model.skipped == [("bad.png", "empty file")] and model.unmatched_metadata == 2
    (net,) = model.networks
    assert [[(nb.item.id, nb.score) for nb in row] for row in net.neighbours] == [
        [("img1", pytest.approx(0.9))],
        [("img0", pytest.approx(0.9))],
        [("img0", pytest.approx(0.5))],
    ]
    assert set(model.extra_files) == {"compare/img0.jpg", "compare/img1.jpg", "compare/img2.jpg"}
    assert small_model(tmp_path, "Mine").title == "Mine"


def test_the_list_of_all_images_is_cut_into_pages() -> None:
    parts = list_pages(2500, per_page=1000)
    assert [(p.number, p.path, p.first, p.last) for p in parts] == [
        (1, "images.html", 0, 1000),
        (2, "images-2.html", 1000, 2000),
        (3, "images-3.html", 2000, 2500),
    ]
    assert [(p.path, p.first, p.last) for p in list_pages(1000, per_page=1000)] == [("images.html", 0, 1000)]
    assert [(p.path, p.first, p.last) for p in list_pages(0)] == [("images.html", 0, 0)]


def test_a_paged_list_links_every_page_and_every_image(tmp_path: Path, monkeypatch) -> None:
    from functools import partial

    from builder.site import render

    monkeypatch.setattr(render, "list_pages", partial(list_pages, per_page=2))
    model = small_model(tmp_path / "model")
    assert render.render(model, tmp_path / "site") == render.page_count(model) == 2 + 2 + 3
    first, second = (tmp_path / "site" / name for name in ("images.html", "images-2.html"))
    assert 'href="images-2.html">2</a>' in first.read_text() and 'href="images.html">1</a>' in second.read_text()
    linked = [f'href="compare/img{n}.html"' for n in range(3)]
    assert [link in first.read_text() for link in linked] == [True, True, False]
    assert [link in second.read_text() for link in linked] == [False, False, True]
    assert broken_or_outside(tmp_path / "site") == []


# The explorer's data.


def test_explorer_data_is_sharded_and_says_its_fields_paths_and_files(tmp_path: Path, monkeypatch) -> None:
    from builder.site import explorer_data

    monkeypatch.setattr(explorer_data, "SHARD_SIZE", 2)
    files = explorer_files(small_model(tmp_path))
    assert sorted(files) == [
        "data/collection/items/0.js",
        "data/collection/items/1.js",
        "data/collection/pixels/0.js",
        "data/collection/pixels/1.js",
        "data/collection/search.js",
        "data/index.js",
    ]
    index = json.loads(files["data/index.js"].removeprefix("window.VSIS_INDEX = ").rstrip(";\n"))
    assert index["fields"][0] == "id" and index["paths"] == {"page": "compare/{id}.html", "thumb": "compare/{id}.jpg"}
    assert index["shard"] == 2 and index["files"]["network"] == "data/{dataset}/{network}/{n}.js"
    (ds,) = index["datasets"]
    assert (ds["size"], ds["queries"], ds["networks"], ds["first"]) == (3, 3, ["pixels"], ["img0", "img2"])

    def payload(name: str) -> object:
        return json.loads(files[name][files[name].index(",") + 1 : -3])

    assert payload("data/collection/pixels/0.js") == {
        "k": 1,
        "i": [1, 0],
        "s": [900, 900],
        "t": {"0": ["img0", "Image 0"], "1": ["img1", "Image 1"]},
    }
    assert payload("data/collection/pixels/1.js") == {"k": 1, "i": [0], "s": [500], "t": {"0": ["img0", "Image 0"]}}
    assert payload("data/collection/items/1.js")["id"] == ["img2"]
    assert payload("data/collection/search.js") == {
        "title": ["Image 0", "Image 1", "Image 2"],
        "artist": ["Ann", "", ""],
    }


def test_attribute_values_go_bare_only_where_html_allows_it() -> None:
    from html.parser import HTMLParser

    values = ["compare/animals-cat_1.html", "../thumbs/a-b.webp", "a b", 'x"y', "it's", "a=b", "<script>", "`x`",
              "", "a&b", "café.html"]  # fmt: skip
    assert attribute_value("../thumbs/a-b.webp") == "../thumbs/a-b.webp"
    assert attribute_value("a b") == '"a b"' and attribute_value("") == '""'
    assert attribute_value('x"y') == '"x&#34;y"' and attribute_value("<script>") == '"&lt;script&gt;"'

    class Read(HTMLParser):
        found: list[str | None] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.found += [value for _, value in attrs]

    reader = Read()
    reader.feed("".join(f"<a href={attribute_value(v)} title=x>" for v in values))
    assert reader.found == [x for v in values for x in (v, "x")]  # each value read back whole, nothing after it lost


def test_ids_are_in_javascript_order_by_utf16_code_units() -> None:
    from builder.site.explorer_data import in_js_order

    assert in_js_order(["a", "b", "ba"]) and not in_js_order(["b", "a"]) and not in_js_order(["a", "a"])
    # U+1F600 sorts before U+FF5E in JavaScript (its first code unit 0xD83D < 0xFF5E), after it by code point
    assert in_js_order(["\U0001f600", "\uff5e"]) and not in_js_order(["\uff5e", "\U0001f600"])


def test_json_for_a_script_cannot_close_it() -> None:
    text = json_for_script({"t": "</script><script>alert(1)</script> & co"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"t": "</script><script>alert(1)</script> & co"}


# Publishing.


def test_publish_swaps_in_a_complete_site_and_skips_an_identical_one(tmp_path: Path) -> None:
    model = small_model(tmp_path / "in")
    out = tmp_path / "site"
    pages = publish(model, out)
    assert pages == 3 + 3 and (out / MARKER).is_file() and (out / "index.html").is_file()
    stamp = (out / "index.html").stat().st_mtime_ns
    assert publish(model, out) == pages and (out / "index.html").stat().st_mtime_ns == stamp  # nothing rendered
    assert fingerprint(model) != fingerprint(small_model(tmp_path / "in", "Another title"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "site"]  # no staging or backup left


def test_publish_never_replaces_a_folder_that_is_not_a_vsis_site(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "thesis.tex").write_text("mine")
    with pytest.raises(VsisError, match="is not a site vsis built"):
        publish(small_model(tmp_path / "in"), tmp_path / "site")
    assert (tmp_path / "site" / "thesis.tex").read_text() == "mine"


# Chart geometry.


def test_a_line_chart_maps_values_into_its_plot_area() -> None:
    chart = line_chart("F1", [1, 3, 5], {"a": [0.0, 0.5, 1.0]}, [1.0, 1.0, 1.0], width=420, height=260)
    ideal, a = chart.series
    assert ideal.dashed and ideal.label == "ideal" and not a.dashed
    xs = [x for x, _, _ in a.markers]
    ys = [y for _, y, _ in a.markers]
    assert xs == [chart.left, (chart.left + chart.right) / 2, chart.right]
    assert ys == [chart.bottom, (chart.top + chart.bottom) / 2, chart.top]
    assert a.markers[1][2] == "a, k = 3: 0.500"
    clipped = line_chart("x", [1], {"b": [1.7]}, [1.0]).series[1].markers[0]
    assert clipped[1] == pytest.approx(line_chart("x", [1], {"b": [1.0]}, [1.0]).series[1].markers[0][1])


# The input pipeline.


def test_prepare_makes_every_variant_and_reports_a_bad_file(tmp_path: Path) -> None:
    good = item(5, tmp_path)
    profile = get_profile("m1")
    task = FileTask(
        good,
        (
            VariantTask("k0", None, 32, (("size", lambda im: np.array(im.size)),)),
            VariantTask("k1", profile, None, (("size", lambda im: np.array(im.size)),)),
        ),
    )
    done = prepare(task, DecodeLimits())
    assert done.error is None and [v.key for v in done.variants] == ["k0", "k1"]
    assert done.variants[0].thumb is not None and webp_problem(done.variants[0].thumb) == ""
    assert done.variants[1].thumb is None and list(done.variants[1].inputs["size"]) == [64, 64]
    (tmp_path / "img5.png").write_bytes(b"")
    assert prepare(task, DecodeLimits()).error == "empty file (0 bytes)"


def test_ordered_map_keeps_order_and_bounds_what_is_in_flight() -> None:
    started: list[int] = []
    lock = threading.Lock()

    def slow(n: int) -> int:
        with lock:
            started.append(n)
        time.sleep(0.01 * (5 - n % 5))
        return n * n

    results = []
    for n, value in enumerate(ordered_map(slow, range(20), workers=2, lookahead=3)):
        results.append(value)
        assert len(started) <= n + 1 + 3  # never more than `lookahead` ahead of what was taken
    assert results == [n * n for n in range(20)]
    assert list(ordered_map(slow, range(4), workers=0)) == [0, 1, 4, 9]


# The caches.


def test_atomic_writes_leave_nothing_half_written(tmp_path: Path) -> None:
    target = tmp_path / "a" / "entry.bin"
    atomic_write(target, b"one")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"one" and [p.name for p in target.parent.iterdir()] == ["entry.bin"]


def test_feature_and_blob_stores_vet_what_they_read(tmp_path: Path) -> None:
    warnings: list[str] = []
    store = FeatureStore(tmp_path, "net", dim=4, on_bad=warnings.append)
    store.put("ab" * 32, np.array([1, 0, 0, 0], dtype=np.float32))
    store.put("cd" * 32, np.array([1, 1, 0, 0], dtype=np.float32))  # not unit length
    assert store.valid("ab" * 32) and not store.valid("cd" * 32) and not store.has("cd" * 32)
    assert not store.valid("ef" * 32) and len(warnings) == 1
    # packed: the sound single files gathered into one matrix, read back memory-mapped in the order packed
    store.put("cd" * 32, np.array([0, 1, 0, 0], dtype=np.float32))
    store.pack(["cd" * 32, "ab" * 32, "ef" * 32])
    assert not list(tmp_path.glob("features/net/??/*.npy"))  # the single files are gone
    packed = store.matrix(["cd" * 32, "ab" * 32])
    assert isinstance(packed, np.memmap) and packed.tolist() == [[0, 1, 0, 0], [1, 0, 0, 0]]
    assert store.matrix(["ab" * 32]).tolist() == [[1, 0, 0, 0]] and store.valid("cd" * 32)
    store.put("ef" * 32, np.array([0, 0, 1, 0], dtype=np.float32))  # a newcomer, then packed after the others
    store.pack(["ab" * 32, "cd" * 32, "ef" * 32])
    again = FeatureStore(tmp_path, "net", dim=4, on_bad=warnings.append)
    assert again.matrix(["cd" * 32, "ab" * 32, "ef" * 32]).tolist() == [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0]]
    (matrix_file,) = tmp_path.glob("features/net/packed-*.npy")
    matrix_file.write_bytes(matrix_file.read_bytes()[:-8])  # truncated
    damaged = FeatureStore(tmp_path, "net", dim=4, on_bad=warnings.append)
    assert not damaged.valid("ab" * 32) and "packed features" in warnings[-1] and len(warnings) == 2
    assert not list(tmp_path.glob("features/net/packed*"))
    blobs = BlobStore(tmp_path / "b", ".bin", lambda data: "" if data == b"ok" else "not ok", warnings.append)
    blobs.put("k1", b"ok")
    blobs.put("k2", b"no")
    assert blobs.has("k1") and not blobs.has("k2") and "not ok" in warnings[-1]


def test_sha256_of_reads_the_whole_stream(tmp_path: Path) -> None:
    import hashlib

    data = bytes(range(256)) * 40_000  # more than one 4 MB chunk
    (tmp_path / "f").write_bytes(data)
    with (tmp_path / "f").open("rb") as fh:
        assert sha256_of(fh) == hashlib.sha256(data).hexdigest()


# The site's size against its budget.


def test_the_site_size_is_measured_and_a_budget_overrun_named(tmp_path: Path) -> None:
    from builder.build import build
    from builder.config import make_config
    from builder.progress import QuietReporter
    from builder.site.size import measure, over_budget

    from .conftest import write_collection

    site = tmp_path / "s"
    (site / "a").mkdir(parents=True)
    (site / "a" / "big.bin").write_bytes(b"x" * 3000)
    (site / "small.txt").write_bytes(b"y" * 10)
    size = measure(site)
    assert (size.bytes, size.files, size.largest, size.largest_bytes) == (3010, 2, "a/big.bin", 3000)
    assert over_budget(size, 10_000) == []
    (problem,) = over_budget(size, 1000)
    assert "over its budget of 0 MB ([site] budget_mb" in problem and "thumb_size" in problem

    write_collection(tmp_path / "images", {"": 4})
    reporter = QuietReporter()
    config = make_config(
        collection=tmp_path / "images", networks=("pixels",), k=2, experiment_enabled=False,
        out=tmp_path / "site", cache_dir=tmp_path / "cache", site_budget_mb=0.001,
    )  # fmt: skip
    result = build(config, reporter)
    assert result.size is not None and result.size == measure(tmp_path / "site")
    assert result.size.bytes > 1000 and any("over its budget" in w for w in reporter.warnings)

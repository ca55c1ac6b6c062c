"""IIIF in and out (issue 29): the IIIF cookbook's 3.0 manifests and collection and the Presentation 2.1 fixtures,
served from 127.0.0.1 with their iiif.io addresses rewritten to it and their images drawn behind an Image API
path scheme, one image missing, one slow and one garbage; a collection of them nested three deep; a manifest of
hostile strings. The site's IIIF collection is checked for the Presentation 3.0 shape viewers read."""

from __future__ import annotations

import hashlib
import io
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from builder.build import build
from builder.collect.sources.iiif import (
    Service,
    SourceRef,
    clean,
    image_url,
    item_id,
    read_document,
    text_of,
)
from builder.config import load_toml, make_config
from builder.errors import ConfigError, VsisError
from builder.iiif.presentation import PER_PART, Size, collections, manifest, value
from builder.pagekit.item import PageItem
from builder.progress import QuietReporter

from .conftest import drawing

FIXTURES = Path(__file__).parent / "fixtures" / "iiif"
BASE = "https://example.org/vsis/"
SLOW_SECONDS = 1.5
TIMEOUT = 0.4  # the builds' per-attempt deadline: the slow image is past it
IMAGE_API = re.compile(
    r"^/(?P<id>.+)/(?P<region>full|square|\d+,\d+,\d+,\d+|pct:[^/]+)/(?P<size>[^/]+)/(?P<rotation>!?\d+)/"
    r"(?P<quality>default|color|gray|bitonal)\.(?P<format>jpg|png)$"
)
BOOK = "/iiif.io/api/image/3.0/example/reference/59d09e6773341f28ea166e9f3c1e674f-gallica_ark_12148_bpt6k1526005v_f"


class FixtureServer(ThreadingHTTPServer):
    """The fixtures at their iiif.io paths, images drawn on request, every request counted."""

    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[str] = []
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def taken(self) -> list[str]:
        """The paths requested since the last call."""
        with self.lock:
            done, self.requests = self.requests, []
        return done


def _picture(seed_text: str, size: str) -> bytes:
    """A drawing seeded by the image's identifier, 200 x 200, scaled as the Image API size asks."""
    seed = int(hashlib.sha1(seed_text.encode()).hexdigest()[:8], 16)
    im = drawing(seed, 200)
    fit = re.fullmatch(r"!(\d+),(\d+)", size)
    if fit:
        im.thumbnail((int(fit.group(1)), int(fit.group(2))))
    buf = io.BytesIO()
    im.save(buf, "PNG" if size == "png" else "JPEG")
    return buf.getvalue()


class _Handler(BaseHTTPRequestHandler):
    server: FixtureServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, code: int, body: bytes, kind: str) -> None:
        try:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (the slow image)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            self.server.requests.append(path)
        file = FIXTURES / path.lstrip("/")
        if path.endswith(".json") and file.is_file() and FIXTURES in file.resolve().parents:
            text = file.read_text(encoding="utf-8")
            folder = path.rsplit("/", 1)[0]
            text = text.replace("{{ id.url }}", self.server.url(path)).replace("{{ id.path }}", self.server.url(folder))
            for scheme in ("https://iiif.io/", "http://iiif.io/"):
                text = text.replace(scheme, self.server.url("/iiif.io/"))
            return self._send(200, text.encode(), "application/ld+json")
        api = IMAGE_API.match(path)
        if api and "f20" in api["id"]:
            return self._send(404, b"not found", "text/plain")
        if api and "f21" in api["id"]:
            time.sleep(SLOW_SECONDS)
        if api and "f22" in api["id"]:
            return self._send(200, b"<html>this is not an image</html>", "image/jpeg")
        if api:
            return self._send(200, _picture(api["id"], api["size"]), "image/jpeg")
        if path.endswith(".png") and path.startswith("/iiif.io/"):
            return self._send(200, _picture(path, "png"), "image/png")
        self._send(404, b"not found", "text/plain")


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    srv = FixtureServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def config_for(tmp_path: Path, source: str, **overrides: object):
    values: dict[str, object] = dict(
        iiif_source=source,
        iiif_size=128,
        iiif_timeout=TIMEOUT,
        iiif_retries=0,
        networks=("pixels",),
        k=3,
        experiment_enabled=False,
        map_enabled=False,
        query_enabled=False,
        site_url=BASE,
        out=tmp_path / "site",
        cache_dir=tmp_path / "cache",
    )
    values.update(overrides)
    return make_config(**values)


def _ids(doc: object) -> Iterator[str]:
    """Every `id` and `@id` in a JSON document."""
    if isinstance(doc, dict):
        for key, val in doc.items():
            if key in ("id", "@id"):
                yield val
            yield from _ids(val)
    elif isinstance(doc, list):
        for val in doc:
            yield from _ids(val)


# --- the build ------------------------------------------------------------------------------------------


@pytest.fixture
def built(server: FixtureServer, tmp_path: Path):
    """One build of the nested collection (vsis-tests/top.json), its result, warnings and requests."""
    reporter = QuietReporter()
    result = build(config_for(tmp_path, server.url("/vsis-tests/top.json")), reporter)
    return result, reporter.warnings, server.taken()


def test_both_versions_nested_collections_and_failures_that_never_stop_the_build(built, server, tmp_path) -> None:
    result, warnings, requests = built
    canvases = sorted(i.extra["iiif_canvas"].removeprefix(server.base) for i in result.items)
    assert canvases == sorted([
        "/iiif.io/api/cookbook/recipe/0032-collection/manifest/1/canvas/p1",
        "/iiif.io/api/cookbook/recipe/0032-collection/manifest/2/canvas/p1",
        "/iiif.io/api/cookbook/recipe/0009-book-1/canvas/p1",
        "/iiif.io/api/cookbook/recipe/0009-book-1/canvas/p2",
        "/iiif.io/api/cookbook/recipe/0001-mvm-image/canvas/p1",
        *(f"/iiif.io/api/presentation/2.1/example/fixtures/canvas/{n}/c1.json" for n in (2, 3, 7, 28, 41, 64)),
        "/vsis-tests/hostile/canvas/1",
    ])  # fmt: skip
    reasons = {what.removeprefix(server.base): why for what, why in result.skipped}
    book = "/iiif.io/api/cookbook/recipe/0009-book-1/canvas/"
    assert "HTTP 404" in reasons[book + "p3"]  # missing: the service's sized image, then the annotation's
    assert "timed out" in reasons[book + "p4"]  # slow
    assert "not an image" in reasons[book + "p5"]  # garbage
    assert reasons[book + "p3"].count("HTTP 404") == 2 and "full/!128,128/0/default.jpg" in reasons[book + "p3"]
    assert "HTTP 404" in reasons["/vsis-tests/missing.json"]
    assert "not an http(s) URL" in reasons["file:///etc/passwd"]
    assert "paints no image" in reasons["/vsis-tests/hostile/canvas/2"]
    assert len(reasons) == 6  # the collection that names itself is read once, not reported
    for what in reasons:
        assert any(what in w for w in warnings)
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "canvas/p4" in index and "missing.json" in index  # the build report lists them
    # the images asked at the size the pipeline needs, never at full resolution where a service can scale
    sized = [p for p in requests if IMAGE_API.match(p) and "f18" in p]
    assert sized == [BOOK + "18/full/!128,128/0/default.jpg"]
    assert not [p for p in requests if "/full/max/" in p and not re.search(r"_f2[012]/", p)]


def test_a_second_build_fetches_nothing_but_what_failed(built, server, tmp_path) -> None:
    first, _warnings, requests = built
    assert any(p.endswith("manifest.json") for p in requests)
    again = build(config_for(tmp_path, server.url("/vsis-tests/top.json")))
    retried = sorted(server.taken())
    assert retried == sorted([
        *(f"{BOOK}{n}/full/!128,128/0/default.jpg" for n in (20, 21, 22)),
        *(f"{BOOK}{n}/full/max/0/default.jpg" for n in (20, 21, 22)),
        "/vsis-tests/missing.json",
    ])  # fmt: skip
    assert [i.id for i in again.items] == [i.id for i in first.items]  # ids stable from build to build
    assert sum(n.extracted for n in again.networks) == 0


def test_a_source_without_failures_is_fetched_once(server, tmp_path) -> None:
    url = server.url("/iiif.io/api/cookbook/recipe/0032-collection/collection.json")
    first = build(config_for(tmp_path, url))
    assert len(first.items) == 2 and server.taken()
    build(config_for(tmp_path, url))
    assert server.taken() == []  # nothing: documents and images from the cache
    build(config_for(tmp_path, url, iiif_refresh=True))
    assert sorted(server.taken()) == sorted(f"/iiif.io/api/cookbook/recipe/0032-collection/{name}.json"
                                            for name in ("collection", "manifest-01", "manifest-02"))  # fmt: skip
    server.shutdown()  # a refresh that cannot reach the source reads what it fetched before
    server.server_close()
    reporter = QuietReporter()
    again = build(config_for(tmp_path, url, iiif_refresh=True, iiif_timeout=0.2), reporter)
    assert len(again.items) == 2 and any("the copy fetched before is read" in w for w in reporter.warnings)


def test_metadata_rights_and_homepage_are_read_from_both_versions(built) -> None:
    result, _warnings, _requests = built
    items = {
        i.extra["iiif_canvas"].rsplit("/", 3)[-2]: i
        for i in result.items
        if "/fixtures/canvas/" in i.extra["iiif_canvas"]
    }
    assert items["2"].date == "some date" and items["2"].title == "Test 2 Manifest: Metadata Pairs"
    assert items["3"].date == "some data"  # the English of {"@value", "@language"} values
    assert items["7"].extra["attribution"] == "Owning Institution"
    assert items["7"].extra["rights"] == "http://creativecommons.org/licenses/by-nc/3.0/"
    assert items["64"].extra["summary"] == "Some HTML"  # HTML reduced to its text
    gulf = next(i for i in result.items if i.title == "The Gulf Stream")
    assert gulf.artist == "Winslow Homer (1836–1910)" and gulf.date == "1899"
    assert gulf.category == "Simple Collection Example"
    book = next(i for i in result.items if i.extra["iiif_canvas"].endswith("0009-book-1/canvas/p2"))
    assert book.title == "Simple Manifest - Book: Frontispiece" and book.category == "Simple Manifest - Book"
    assert book.extra["iiif_service_version"] == "3"
    assert items["41"].extra["iiif_service_version"] == "2"  # a v2 service, inside a specific resource


def test_hostile_strings_stay_text_in_every_page_and_data_file(built, tmp_path) -> None:
    result, _warnings, _requests = built
    site = tmp_path / "site"
    (hostile,) = [i for i in result.items if "hostile" in i.extra["iiif_canvas"]]
    assert hostile.title.startswith("<script>alert('label')</script> & \"quotes\"")  # the English label, as text
    page = (site / "compare" / f"{hostile.id}.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#39;label&#39;)&lt;/script&gt; &amp; &#34;quotes&#34;" in page
    assert "a value &lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "Fine print" in page and "alert('summary')" not in page  # an HTML value: its text, no script
    assert "alert(3)" not in page  # an HTML value that is nothing but a script: nothing
    assert "javascript:" not in page and "<script>alert" not in page and "<img src=x" not in page
    assert "\x07" not in page and "\x1b" not in page and "bell and escape [31m red" in page
    for path in [*site.rglob("*.html"), *site.rglob("*.js")]:
        assert "<script>alert" not in path.read_text(encoding="utf-8"), path
    for path in (site / "data").rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert "<script" not in text and "</script" not in text, path
    own = json.loads((site / "iiif" / "manifests" / f"{hostile.id}.json").read_text(encoding="utf-8"))
    assert own["label"] == {"none": [hostile.title]}  # plain text: labels are never HTML in IIIF


# --- IIIF out -------------------------------------------------------------------------------------------


def test_the_site_carries_a_presentation_3_collection_of_its_items(built, tmp_path) -> None:
    result, _warnings, _requests = built
    site = tmp_path / "site"
    collection = json.loads((site / "iiif" / "collection.json").read_text(encoding="utf-8"))
    assert collection["@context"] == "http://iiif.io/api/presentation/3/context.json"
    assert collection["type"] == "Collection" and collection["id"] == BASE + "iiif/collection.json"
    assert collection["label"] == {"none": ["Visually similar images: vsis test collection"]}
    assert sorted(m["id"] for m in collection["items"]) == sorted(
        f"{BASE}iiif/manifests/{i.id}.json" for i in result.items
    )
    for ref in collection["items"]:
        assert ref["type"] == "Manifest"
        assert isinstance(ref["label"], dict) and all(isinstance(v, list) for v in ref["label"].values())
        doc = json.loads((site / ref["id"].removeprefix(BASE)).read_text(encoding="utf-8"))
        assert doc["@context"] == collection["@context"] and doc["type"] == "Manifest" and doc["id"] == ref["id"]
        assert all(re.match(r"https?://[^/]+/", i) for i in _ids(doc)), doc  # every id absolute
        (canvas,) = doc["items"]
        assert canvas["type"] == "Canvas" and canvas["width"] > 0 and canvas["height"] > 0
        (page,) = canvas["items"]
        (annotation,) = page["items"]
        assert annotation["motivation"] == "painting" and annotation["target"] == canvas["id"]
        assert "#" not in canvas["id"]
        for pair in doc["metadata"]:
            assert set(pair["label"]) == set(pair["value"]) == {"none"}
    items = {i.extra["iiif_canvas"]: i for i in result.items}
    gulf = next(i for c, i in items.items() if c.endswith("manifest/1/canvas/p1"))
    body = json.loads((site / "iiif" / "manifests" / f"{gulf.id}.json").read_text())["items"][0]["items"][0]["items"][
        0
    ]["body"]
    service = gulf.extra["iiif_service"]
    assert body["id"] == f"{service}/full/max/0/default.jpg" and body["service"][0]["id"] == service
    assert body["service"][0]["type"] == "ImageService3"


def test_the_compare_page_links_to_the_full_resolution_image_and_the_source(built, server, tmp_path) -> None:
    result, _warnings, _requests = built
    site = tmp_path / "site"
    by_canvas = {i.extra["iiif_canvas"].removeprefix(server.base): i for i in result.items}
    book = by_canvas["/iiif.io/api/cookbook/recipe/0009-book-1/canvas/p1"]
    page = (site / "compare" / f"{book.id}.html").read_text(encoding="utf-8")
    assert f'href="{server.base}{BOOK}18/full/max/0/default.jpg"' in page  # v3: max
    assert f'href="{server.base}/iiif.io/api/cookbook/recipe/0009-book-1/manifest.json"' in page
    assert f'href="../iiif/manifests/{book.id}.json"' in page
    v2 = by_canvas["/iiif.io/api/presentation/2.1/example/fixtures/canvas/41/c1.json"]
    page = (site / "compare" / f"{v2.id}.html").read_text(encoding="utf-8")
    assert f'href="{server.base}/iiif.io/api/image/2.1/example/reference/page1-full/full/full/0/default.jpg"' in page
    plain = by_canvas["/iiif.io/api/cookbook/recipe/0001-mvm-image/canvas/p1"]  # no service: its own image
    page = (site / "compare" / f"{plain.id}.html").read_text(encoding="utf-8")
    assert f'href="{server.base}/iiif.io/api/presentation/2.1/example/fixtures/resources/page1-full.png"' in page
    assert "IIIF</a>" in (site / "index.html").read_text(encoding="utf-8")  # the navigation's link


def test_without_the_site_address_no_collection_is_written_and_the_build_says_why(server, tmp_path) -> None:
    reporter = QuietReporter()
    url = server.url("/iiif.io/api/cookbook/recipe/0032-collection/collection.json")
    build(config_for(tmp_path, url, site_url=None), reporter)
    assert not (tmp_path / "site" / "iiif").exists()
    assert any("site/iiif/ not written" in w and "--site-url" in w for w in reporter.warnings)
    assert "IIIF</a>" not in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")


def test_an_item_per_manifest(server, tmp_path) -> None:
    result = build(config_for(tmp_path, server.url("/vsis-tests/top.json"), iiif_item="manifest"))
    titles = sorted(i.title for i in result.items)
    assert len(titles) == 11 and "Simple Manifest - Book" in titles  # its first canvas is fetched
    assert {i.category for i in result.items} == {
        "Simple Collection Example", "vsis test collection", "Collection of Test Cases", "Inner collection"
    }  # fmt: skip


def test_a_file_is_read_only_as_the_top_level_argument(server, tmp_path) -> None:
    text = (FIXTURES / "iiif.io/api/cookbook/recipe/0032-collection/collection.json").read_text(encoding="utf-8")
    local = tmp_path / "collection.json"
    local.write_text(text.replace("{{ id.url }}", "https://example.org/c.json").replace(
        "{{ id.path }}", server.url("/iiif.io/api/cookbook/recipe/0032-collection")), encoding="utf-8")  # fmt: skip
    assert len(build(config_for(tmp_path, str(local))).items) == 2
    with pytest.raises(VsisError, match="http\\(s\\) URL or a file path"):
        build(config_for(tmp_path, f"file://{local}", out=tmp_path / "s2"))
    with pytest.raises(VsisError, match="not found"):
        build(config_for(tmp_path, str(tmp_path / "nothing.json"), out=tmp_path / "s3"))


def test_an_unreachable_top_level_source_is_an_error_naming_it(server, tmp_path) -> None:
    url = server.url("/nothing-here.json")
    with pytest.raises(VsisError, match=re.escape(url) + ".*HTTP 404"):
        build(config_for(tmp_path, url))


# --- the reader, unit by unit ---------------------------------------------------------------------------


def test_language_maps_and_v2_values_read_sensibly() -> None:
    assert text_of({"en": ["Title"], "fr": ["Titre"]}, "fr") == "Titre"
    assert text_of({"de": ["Titel"], "none": ["No language"]}, "en") == "No language"
    assert text_of({"de": ["Titel"], "en": ["a", "b"]}, "fr") == "a; b"
    assert text_of({"de": ["Titel"]}, "en") == "Titel"
    assert text_of("plain", "en") == "plain"
    assert text_of([{"@value": "quelque", "@language": "fr"}, {"@value": "some", "@language": "en"}], "en") == "some"
    assert text_of({"@value": "<span>Some <i>HTML</i></span>", "@language": "en"}, "en", html=True) == "Some HTML"
    assert text_of("<b>kept</b> as text, not HTML", "en", html=True) == "<b>kept</b> as text, not HTML"
    assert clean("a\x00b\n\tc\u2028d\x1b[0m") == "a b c d [0m"
    assert text_of(None, "en") == "" and text_of({"en": [None, 3]}, "en") == "3"
    assert text_of([{"@value": "Titel", "@language": "de"}, {"@value": "titre", "@language": "fr"}], "en") == "Titel"


def test_image_api_urls_of_both_versions() -> None:
    assert image_url(Service("https://x.org/iiif/a", 3), 512) == "https://x.org/iiif/a/full/!512,512/0/default.jpg"
    assert image_url(Service("https://x.org/iiif/a", 3), None) == "https://x.org/iiif/a/full/max/0/default.jpg"
    assert image_url(Service("https://x.org/iiif/a", 2), None) == "https://x.org/iiif/a/full/full/0/default.jpg"
    ref = SourceRef("https://x.org/m.json", "https://x.org/c/1", "", 0, "https://x.org/a.png", 10, 10)
    assert ref.full_image == "https://x.org/a.png"


def test_item_ids_are_stable_readable_and_distinct() -> None:
    a = item_id("https://iiif.io/api/cookbook/recipe/0009-book-1/canvas/p1")
    assert a == item_id("https://iiif.io/api/cookbook/recipe/0009-book-1/canvas/p1")
    assert re.fullmatch(r"0009-book-1-canvas-p1-[0-9a-f]{8}", a)
    assert item_id("https://other.org/recipe/0009-book-1/canvas/p1") != a
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", item_id("https://x.org/Ä ß/<script>/é.json"))
    assert len(item_id("https://x.org/" + "a" * 500)) <= 60


def test_a_document_that_is_not_iiif_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="not a IIIF manifest or collection"):
        read_document({"type": "Annotation"}, "https://x.org/a.json", "en")
    with pytest.raises(ValueError, match="JSON object"):
        read_document([], "https://x.org/a.json", "en")


def test_a_value_that_would_read_as_html_in_a_viewer_is_written_to_show_its_text() -> None:
    assert value("<b>bold?</b>") == {"none": ["<span>&lt;b&gt;bold?&lt;/b&gt;</span>"]}
    assert value("plain < text") == {"none": ["plain < text"]}
    item = PageItem(
        "x", "<script>t</script>", "", "", "", "", "", "", "x.png", [("note", "<i>n</i>")], "compare/x.webp"
    )
    doc = manifest(item, Size(10, 20), BASE)
    assert doc["label"] == {"none": ["<script>t</script>"]}
    assert doc["metadata"] == [{"label": {"none": ["note"]}, "value": {"none": ["<span>&lt;i&gt;n&lt;/i&gt;</span>"]}}]
    body = doc["items"][0]["items"][0]["items"][0]["body"]
    assert body == {"id": BASE + "compare/x.webp", "type": "Image", "format": "image/webp"}  # the site's own image
    assert (doc["items"][0]["width"], doc["items"][0]["height"]) == (10, 20)


def test_a_large_collection_is_listed_in_parts() -> None:
    items = [PageItem(f"i{n:05d}", f"t{n}", "", "", "", "", "", "", "", [], f"compare/i{n:05d}.webp")
             for n in range(PER_PART * 2 + 1)]  # fmt: skip
    docs = collections(items, "Big", BASE)
    top = docs["iiif/collection.json"]
    assert [p["type"] for p in top["items"]] == ["Collection"] * 3
    assert sum(len(docs[p["id"].removeprefix(BASE)]["items"]) for p in top["items"]) == len(items)


# --- settings -------------------------------------------------------------------------------------------


def test_settings_iiif_shorthand_and_the_site_address(tmp_path: Path) -> None:
    toml = tmp_path / "vsis.toml"
    toml.write_text('iiif = "https://example.org/collection.json"\n[site]\nurl = "https://example.org/v/"\n')
    values = load_toml(toml)
    assert (
        values["iiif_source"] == "https://example.org/collection.json"
        and values["site_url"] == "https://example.org/v/"
    )
    for bad in ("javascript:alert(1)", "ftp://example.org/", "https://example.org/?q=1", "example.org"):
        with pytest.raises(ConfigError, match="site url"):
            make_config(site_url=bad)
    with pytest.raises(ConfigError, match="iiif item"):
        make_config(iiif_item="page")

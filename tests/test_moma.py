"""MoMA's open data: reading Artworks.json / Artworks.csv as published, the thumbnail downloader against a
local server that misbehaves in every way it can, and a site built from what they give."""

from __future__ import annotations

import csv
import http.server
import io
import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from builder.build import build
from builder.cli import app
from builder.collect.facets import facets_of
from builder.collect.sources.download import Download, Policy, download_all
from builder.collect.sources.moma import METADATA_FIELDS, read_artworks, sample, write_metadata
from builder.config import make_config
from builder.errors import MetadataError

from .conftest import drawing

POLICY = Policy(connections=4, timeout=0.5, retries=1, backoff=0.01)


class Museum(http.server.BaseHTTPRequestHandler):
    """/thumb/<n>.jpg: a JPEG; /superscript/<n>.jpg: the JPEG with Content-Length "²"; /missing: 404;
    /broken: 500; /flaky/<n>.jpg: 500 once, then the JPEG; /slow: answers after 2 s; /page: 200 with HTML.
    Counts every request by path."""

    hits: Counter = Counter()
    lock = threading.Lock()

    def log_message(self, *args: object) -> None:
        pass

    def _jpeg(self, n: int, length: str | None = None) -> None:
        buf = io.BytesIO()
        drawing(n, size=64).save(buf, format="JPEG")
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        if length is not None:
            self.send_header("Content-Length", length)
            self.close_connection = True  # the body ends where the connection does
        self.end_headers()
        self.wfile.write(buf.getvalue())

    _bomb_png: bytes = b""

    @classmethod
    def _bomb(cls) -> bytes:
        if not cls._bomb_png:
            buf = io.BytesIO()
            Image.new("1", (20_000, 20_000)).save(buf, format="PNG")
            cls._bomb_png = buf.getvalue()
        return cls._bomb_png

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        with self.lock:
            self.hits[self.path] += 1
            count = self.hits[self.path]
        if self.path.startswith("/thumb/"):
            return self._jpeg(int(Path(self.path).stem))
        if self.path.startswith("/superscript/"):  # a digit to str.isdigit, not to int()
            return self._jpeg(int(Path(self.path).stem), length="²")
        if self.path.startswith("/flaky/") and count > 1:
            return self._jpeg(int(Path(self.path).stem))
        if self.path == "/missing":
            return self.send_error(404, "Not Found")
        if self.path == "/slow":
            time.sleep(2)
            return self._jpeg(1)
        if self.path == "/bomb":  # 20000x20000 pixels: Pillow refuses it as a decompression bomb
            return self._send(self._bomb())
        if self.path == "/short":  # promises more than it sends, then closes
            self.send_response(200)
            self.send_header("Content-Length", "50000")
            self.end_headers()
            self.wfile.write(b"\xff\xd8\xff" + b"\0" * 97)
            self.close_connection = True
            return None
        if self.path == "/huge":  # 3 MB with no Content-Length
            self.send_response(200)
            self.end_headers()
            for _ in range(48):
                self.wfile.write(b"\0" * 65536)
            self.close_connection = True
            return None
        if self.path == "/trickle":  # a byte every 0.1 s, for 10 s
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                try:
                    self.wfile.write(b"\0")
                    self.wfile.flush()
                except OSError:
                    return None
                time.sleep(0.1)
            return None
        if self.path == "/page":
            body = b"<html><body>Rate limited</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)
            return None
        return self.send_error(500, "Internal Server Error")  # /broken, and /flaky the first time


@pytest.fixture
def museum():
    Museum.hits = Counter()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Museum)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_downloader_gets_every_good_file_and_reports_every_bad_one(tmp_path: Path, museum: str) -> None:
    good = [Download(f"{museum}/thumb/{n}.jpg", tmp_path / f"{n}.jpg") for n in range(5)]
    good.append(Download(f"{museum}/superscript/5.jpg", tmp_path / "5.jpg"))  # a Content-Length that means none
    flaky = Download(f"{museum}/flaky/7.jpg", tmp_path / "7.jpg")
    bad = {
        "missing": "HTTP 404",
        "broken": "HTTP 500",
        "slow": "timed out",
        "page": "not an image",
    }
    jobs = good + [flaky] + [Download(f"{museum}/{path}", tmp_path / f"{path}.jpg") for path in bad]
    seen = []
    outcomes = download_all(jobs, POLICY, seen.append)
    assert len(seen) == len(jobs)
    by_url = {o.download.url: o for o in outcomes}
    for job in good + [flaky]:
        assert by_url[job.url].status == "downloaded"
        assert job.dest.read_bytes()[:2] == b"\xff\xd8"
    assert by_url[flaky.url].attempts == 2  # the 500 was retried
    for path, reason in bad.items():
        outcome = by_url[f"{museum}/{path}"]
        assert outcome.status == "failed" and reason in outcome.reason, outcome
        assert not (tmp_path / f"{path}.jpg").exists()  # nothing kept of a failure
    assert by_url[f"{museum}/missing"].attempts == 1  # a 404 is not retried
    assert by_url[f"{museum}/broken"].attempts == 2  # a 500 is, once (retries=1)
    assert not list(tmp_path.glob(".*.tmp"))

    Museum.hits.clear()
    again = download_all(good + [flaky], POLICY)
    assert {o.status for o in again} == {"present"}
    assert sum(Museum.hits.values()) == 0  # a second run downloads nothing already present


def test_hostile_answers_fail_one_file_each_and_local_urls_are_never_read(tmp_path: Path, museum: str) -> None:
    Museum._bomb()  # made before the clock starts
    secret = tmp_path / "private.jpg"
    drawing(3).save(secret, format="JPEG")
    policy = Policy(connections=4, timeout=0.5, retries=1, backoff=0.01, max_mb=1)
    bad = {
        secret.as_uri(): "not an http(s) URL (file scheme)",
        "ftp://127.0.0.1/thumb.jpg": "not an http(s) URL (ftp scheme)",
        f"{museum}/bomb": "not an image Pillow can read",
        f"{museum}/short": "incomplete",
        f"{museum}/huge": "too large",
        f"{museum}/trickle": "timed out",
    }
    good = [Download(f"{museum}/thumb/{n}.jpg", tmp_path / "out" / f"{n}.jpg") for n in range(3)]
    jobs = good + [Download(url, tmp_path / "out" / f"bad{n}.jpg") for n, url in enumerate(bad)]
    started = time.monotonic()
    outcomes = {o.download.url: o for o in download_all(jobs, policy)}
    assert time.monotonic() - started < 10  # the trickle is cut at 0.5 s an attempt, not 10 s
    for job in good:
        assert outcomes[job.url].status == "downloaded"
    for url, reason in bad.items():
        assert outcomes[url].status == "failed" and reason in outcomes[url].reason, outcomes[url]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0.jpg", "1.jpg", "2.jpg"]  # no temp left


def test_moma_sample_finishes_with_its_metadata_whatever_fails(tmp_path: Path, museum: str) -> None:
    Museum._bomb()
    records = moma_records(museum)
    records[0]["ThumbnailURL"] = f"{museum}/bomb"
    records[1]["ThumbnailURL"] = (tmp_path / "secret.jpg").as_uri()
    records[2]["ThumbnailURL"] = f"{museum}/short"
    (tmp_path / "Artworks.json").write_text(json.dumps(records), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "moma",
            "sample",
            "--artworks",
            str(tmp_path / "Artworks.json"),
            "--n",
            "6",
            "--out",
            str(tmp_path / "moma"),
            "--timeout",
            "1",
            "--retries",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    rows = list(csv.DictReader((tmp_path / "moma" / "metadata.csv").open(encoding="utf-8")))
    assert {r["object_id"] for r in rows} == {"11", "17"}  # 13 is missing; 2, 3 and 5 hostile
    assert "4 failed" in " ".join(result.output.split())


def moma_records(museum: str, image_key: str = "ThumbnailURL") -> list[dict]:
    """Records in the layout of MoMA's Artworks.json (fields as published, most of them)."""

    def record(object_id, title, artists, thumb, **extra):
        return {
            "Title": title,
            "Artist": artists,
            "ConstituentID": [1000 + i for i, _ in enumerate(artists)],
            "ArtistBio": ["(American, 1900–1980)"] * len(artists),
            "Nationality": extra.get("nationality", ["American"] * len(artists)),
            "BeginDate": [1900] * len(artists),
            "EndDate": [1980] * len(artists),
            "Gender": ["(Male)"] * len(artists),
            "Date": extra.get("date", "1920"),
            "Medium": extra.get("medium", "Gelatin silver print"),
            "Dimensions": extra.get("dimensions", '9 1/2 x 7" (24.1 x 17.8 cm)'),
            "CreditLine": "Gift",
            "AccessionNumber": f"{object_id}.1",
            "Classification": extra.get("classification", "Photograph"),
            "Department": extra.get("department", "Photography"),
            "DateAcquired": extra.get("acquired", "1960-01-01"),
            "Cataloged": "Y",
            "ObjectID": object_id,
            "URL": f"http://www.moma.org/collection/works/{object_id}",
            image_key: thumb,
            "Height (cm)": 24.1,
            "Width (cm)": 17.8,
        }

    return [
        record(
            2,
            "Ferdinandsbrücke Project, Vienna, Austria",
            ["Otto Wagner"],
            f"{museum}/thumb/2.jpg",
            medium="Ink and cut-and-pasted painted paper",
            classification="Architecture",
            department="Architecture & Design",
            nationality=["(Austrian)"],  # as releases before 2020 wrote it
            acquired="1996-04-09",
            date="1896",
        ),
        record(
            3,
            "Two works by two hands",
            ["Anni Albers", "Josef Albers"],
            f"{museum}/thumb/3.jpg",
            nationality=["American", "American"],  # one value, once
            date="c. 1925-27",
        ),
        record(
            5,
            "Château, île de la Cité",
            ["Eugène Atget", "Berenice Abbott", "Unnamed"],
            f"{museum}/thumb/5.jpg",
            dimensions="",
            date="",
            nationality=["French", "American", ""],  # MoMA's "()" for an artist without one
            acquired=None,
        ),
        record(7, "No thumbnail", ["Nobody"], None),
        record(11, "Untitled <script>alert(1)</script>", [], f"{museum}/thumb/11.jpg", medium=""),
        record(13, "Gone", ["Lost Artist"], f"{museum}/missing"),
        record(17, "Dreizehn", ["Hannah Höch"], f"{museum}/thumb/17.jpg"),
    ]


# The artist columns Artworks.csv writes with each artist's value in brackets: "(American) () (French)"
BRACKETED = ("ArtistBio", "Nationality", "BeginDate", "EndDate", "Gender")


def _csv_cell(key: str, value: object) -> object:
    if not isinstance(value, list):
        return "" if value is None else value
    if key in BRACKETED:
        return " ".join(f"({str(v).strip('()')})" for v in value)
    return ", ".join(map(str, value))


def as_moma_csv(records: list[dict]) -> str:
    """The same records in the layout of MoMA's Artworks.csv (artists comma-joined, their nationalities and
    the like bracketed one per artist)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow({k: _csv_cell(k, v) for k, v in r.items()})
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_artworks_json_and_csv_read_alike(tmp_path: Path, fmt: str) -> None:
    records = moma_records("http://example.org", image_key="ImageURL" if fmt == "csv" else "ThumbnailURL")
    path = tmp_path / f"Artworks.{fmt}"
    path.write_text(json.dumps(records) if fmt == "json" else as_moma_csv(records), encoding="utf-8")
    artworks = {a.object_id: a for a in read_artworks(path)}
    assert len(artworks) == 7
    two = artworks["3"]
    assert ", ".join(two.artists) == "Anni Albers, Josef Albers"
    assert artworks["5"].title == "Château, île de la Cité" and artworks["5"].dimensions == ""
    assert artworks["7"].thumbnail == ""
    assert artworks["2"].thumbnail == "http://example.org/thumb/2.jpg"  # ThumbnailURL or ImageURL
    assert artworks["2"].url == "http://www.moma.org/collection/works/2"
    chosen = sample(list(artworks.values()), 4, seed=71)
    assert len(chosen) == 4 and all(a.thumbnail for a in chosen)
    assert chosen == sample(list(artworks.values()), 4, seed=71)  # reproducible
    assert [a.object_id for a in sample(list(artworks.values()), 100, seed=71)] == ["2", "3", "5", "11", "13", "17"]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_the_columns_museums_browse_by_reach_the_metadata_file(tmp_path: Path, fmt: str) -> None:
    """Department, classification, nationality (several a cell, joined by "; ", each once) and the date
    acquired, from either form of MoMA's records, in the file the builder reads; the join stays the file name."""
    records = moma_records("http://example.org")
    records[-1]["Nationality"] = ["(German)", "()", "(Nationality unknown)"]  # Höch's record, as the older JSON
    path = tmp_path / f"Artworks.{fmt}"
    path.write_text(json.dumps(records) if fmt == "json" else as_moma_csv(records), encoding="utf-8")
    write_metadata(read_artworks(path), tmp_path / "metadata.csv")
    rows = {r["object_id"]: r for r in csv.DictReader((tmp_path / "metadata.csv").open(encoding="utf-8"))}
    assert list(rows["2"]) == list(METADATA_FIELDS)
    assert rows["2"] == {
        "file": "2.jpg",
        "object_id": "2",
        "title": "Ferdinandsbrücke Project, Vienna, Austria",
        "artist": "Otto Wagner",
        "date": "1896",
        "medium": "Ink and cut-and-pasted painted paper",
        "dimensions": '9 1/2 x 7" (24.1 x 17.8 cm)',
        "classification": "Architecture",
        "department": "Architecture & Design",
        "nationality": "Austrian",
        "date_acquired": "1996-04-09",
        "url": "http://www.moma.org/collection/works/2",
    }
    assert rows["3"]["nationality"] == "American" and rows["3"]["date"] == "c. 1925-27"
    assert rows["3"]["artist"] == "Anni Albers, Josef Albers"
    assert rows["5"]["nationality"] == "French; American" and rows["5"]["date_acquired"] == ""
    assert rows["17"]["nationality"] == "German; Nationality unknown"
    assert rows["11"]["nationality"] == "" and rows["11"]["department"] == "Photography"
    assert {r["classification"] for r in rows.values()} == {"Architecture", "Photograph"}


def test_a_malformed_artworks_file_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "Artworks.json"
    bad.write_text('[{"ObjectID": 1,\n "Title": }]')
    with pytest.raises(MetadataError, match="line 2"):
        read_artworks(bad)
    other = tmp_path / "Artworks.csv"
    other.write_text("Title,Artist\nA,B\n")
    with pytest.raises(MetadataError, match="no ObjectID column"):
        read_artworks(other)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_moma_sample_downloads_and_a_site_shows_the_artworks(tmp_path: Path, museum: str, fmt: str) -> None:
    records = moma_records(museum)
    artworks = tmp_path / f"Artworks.{fmt}"
    artworks.write_text(json.dumps(records) if fmt == "json" else as_moma_csv(records), encoding="utf-8")
    out = tmp_path / "moma"
    args = [
        "moma",
        "sample",
        "--artworks",
        str(artworks),
        "--n",
        "10",
        "--seed",
        "71",
        "--out",
        str(out),
        "--timeout",
        "2",
        "--retries",
        "1",
        "--backoff",
        "0.01",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "6 artworks: 5 downloaded, 0 already present, 1 failed" in result.output
    assert "ObjectID 13" in result.output and "HTTP 404" in result.output
    assert sorted(p.name for p in (out / "images").iterdir()) == ["11.jpg", "17.jpg", "2.jpg", "3.jpg", "5.jpg"]
    again = CliRunner().invoke(app, args)
    assert "0 downloaded, 5 already present, 1 failed" in again.output  # resumes: nothing fetched twice

    config = make_config(
        collection=out / "images",
        metadata_file=out / "metadata.csv",
        networks=("pixels",),
        k=2,
        experiment_enabled=False,
        out=tmp_path / "site",
        cache_dir=tmp_path / "cache",
    )
    built = build(config)
    assert len(built.items) == 5
    ids = [i.id for i in built.items]
    found = facets_of(built.items, ["department", "classification", "date", "nationality"])
    members = {f.key: {v: {ids[n] for n in m} for v, m in zip(f.values, f.members, strict=True)} for f in found.facets}
    assert members["nationality"] == {"American": {"3", "5", "17"}, "Austrian": {"2"}, "French": {"5"}}
    assert members["department"] == {"Photography": {"3", "5", "11", "17"}, "Architecture & Design": {"2"}}
    assert members["classification"] == {"Photograph": {"3", "5", "11", "17"}, "Architecture": {"2"}}
    assert found.years is not None and found.years.undated == 1 and not found.years.unreadable  # 5 has no date
    assert (int(found.years.first[ids.index("3")]), int(found.years.last[ids.index("3")])) == (1925, 1927)
    page = (tmp_path / "site" / "compare" / "3.html").read_text(encoding="utf-8")
    assert "Two works by two hands" in page and "Anni Albers, Josef Albers" in page
    assert "Gelatin silver print" in page and "24.1 x 17.8 cm" in page
    assert 'href="http://www.moma.org/collection/works/3"' in page
    assert "Château, île de la Cité" in (tmp_path / "site" / "compare" / "5.html").read_text(encoding="utf-8")
    untitled = (tmp_path / "site" / "compare" / "11.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;" in untitled and "<script>alert" not in untitled
    assert "Architecture" in (tmp_path / "site" / "compare" / "2.html").read_text(encoding="utf-8")


def test_the_builder_reads_moma_records_directly(tmp_path: Path, museum: str) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for object_id in (2, 3, 17):
        drawing(object_id).save(images / f"{object_id}.jpg")
    (tmp_path / "Artworks.json").write_text(json.dumps(moma_records(museum)), encoding="utf-8")
    config = make_config(
        collection=images,
        metadata_file=tmp_path / "Artworks.json",
        networks=("pixels",),
        k=2,
        experiment_enabled=False,
        out=tmp_path / "site",
        cache_dir=tmp_path / "cache",
    )
    result = build(config)
    items = {i.id: i for i in result.items}
    assert set(items) == {"2", "3", "17"}  # ObjectID is the id
    assert items["3"].artist == "Anni Albers, Josef Albers" and items["17"].title == "Dreizehn"
    assert items["2"].category == "Architecture" and items["2"].url == "http://www.moma.org/collection/works/2"
    page = (tmp_path / "site" / "compare" / "17.html").read_text(encoding="utf-8")
    assert "Hannah Höch" in page and 'href="http://www.moma.org/collection/works/17"' in page


def test_the_example_config_is_the_original_study() -> None:
    from .conftest import REPO

    config = make_config(REPO / "examples" / "moma.toml")
    assert config.networks == ("vgg16", "resnet152", "densenet201")
    assert (config.experiment.enabled, config.experiment.originals, config.experiment.k) == (True, 1000, (1, 3, 5))
    assert config.experiment.profiles == ("m1", "m2", "m3", "m4", "m5")
    assert config.collection.resolve() == (REPO / "data" / "moma" / "images").resolve()
    assert config.metadata.file is not None
    assert config.metadata.file.resolve() == (REPO / "data" / "moma" / "metadata.csv").resolve()
    assert config.metadata.facets == ("department", "classification", "date", "nationality")

"""Faults met by the commands around a build: what reaches the terminal, `vsis evaluate` on a damaged
metrics file, `vsis moma sample`'s options and ObjectIDs, and `vsis serve` on a hostile site or client."""

from __future__ import annotations

import http.client
import io
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from builder.cli import app
from builder.progress import RichReporter
from builder.serve import SiteHandler, site_server

from .conftest import write_collection

# Sets the terminal window's title, then clears the screen.
HOSTILE = "\x1b]0;title\x07\x1b[2J"


def assert_harmless(output: str) -> None:
    """Nothing a terminal acts on, and the text still there to be read."""
    assert "\x1b" not in output and "\x07" not in output and "\x9b" not in output, repr(output)
    assert "\\x1b]0;title" in output, repr(output)


# ---- 1. terminal escape sequences in user strings ----


def test_a_warning_reaches_the_terminal_without_its_escape_sequences() -> None:
    out = io.StringIO()
    with RichReporter(Console(file=out, width=200)) as reporter:
        reporter.warn(f"{HOSTILE}photo.png: cannot read; skipped \x9b2J \ud800")
    assert_harmless(out.getvalue())
    assert "photo.png: cannot read; skipped" in out.getvalue() and "\ufffd" in out.getvalue()
    assert reporter.warnings == [f"{HOSTILE}photo.png: cannot read; skipped \x9b2J \ud800"]  # kept as given


def test_the_error_line_quotes_a_hostile_path_harmlessly(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / f"{HOSTILE}site")])
    assert result.exit_code == 1
    assert "error: " in result.output and "metrics.json: not found" in result.output
    assert_harmless(result.output)


def test_a_build_warning_from_metadata_is_printed_harmlessly(tmp_path: Path) -> None:
    write_collection(tmp_path / "images", {"": 2})
    (tmp_path / "meta.csv").write_text(f"file,title\n../{HOSTILE}.png,x\nimg_000.png,a\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(tmp_path / "images"),
            "--metadata",
            str(tmp_path / "meta.csv"),
            "--networks",
            "pixels",
            "--no-experiment",
            "--k",
            "1",
            "--out",
            str(tmp_path / f"{HOSTILE}site"),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "names a file outside the collection" in result.output and "Built 2 items" in result.output
    assert_harmless(result.output)


def test_a_moma_failure_line_quotes_a_hostile_address_harmlessly(tmp_path: Path) -> None:
    records = [{"ObjectID": 2, "Title": "A", "ThumbnailURL": f"file:///{HOSTILE}[/bold].jpg"}]
    (tmp_path / "Artworks.json").write_text(json.dumps(records), encoding="utf-8")
    result = CliRunner().invoke(
        app, ["moma", "sample", "--artworks", str(tmp_path / "Artworks.json"), "--out", str(tmp_path / "moma")]
    )
    assert result.exit_code == 0, result.output
    assert "failed: ObjectID 2" in result.output and "[/bold].jpg" in result.output  # not read as markup
    assert_harmless(result.output)


# ---- 2. `vsis evaluate` on a damaged metrics.json ----


def _fields(mean: str, value: float, prefix: str = "") -> dict[str, float]:
    return {mean: value, f"{prefix}std": 0.1, f"{prefix}low": value - 0.05, f"{prefix}high": value + 0.05}


def metrics_as_written(network: str = "pixels") -> dict:
    """The fields `vsis evaluate` reads, in the layout pages.experiment_metrics writes them."""
    from builder.experiment.metrics import RECOVERY_METRICS

    return {
        "originals": 12,
        "indexed": 72,
        "profiles": [{"name": "m1", "label": "crop", "description": "a crop"}],
        "ks": [1, 3],
        "depth": 5,
        "bootstrap": {"resamples": 2000, "seed": 7, "level": 0.95, "method": "percentile"},
        "recovery": [
            {
                "network": network,
                "k": 1,
                **{k: v for m, _ in RECOVERY_METRICS for k, v in _fields(f"{m}_mean", 0.5, f"{m}_").items()},
            }
        ],
        "map": [{"network": network, **_fields("mean", 0.625)}],
        "recall_curve": [{"network": network, "k": 1, "ideal": 1.0, **_fields("mean", 0.75)}],
        "per_profile": [{"network": network, "profile": "m1", "k": 1, **_fields("share", 0.5)}],
        "profile_rank": [],  # an inconsistent file: a share without its rank is shown as not measured
        "comparisons": [{"a": network, "b": "pixels", "metric": "F1@1", "verdict": "", **_fields("difference", 0.0)}],
        "category_precision": [{"network": network, "k": 1, **_fields("value", 0.25)}],
        "category_chance": None,
        "agreement": [],
    }


def _evaluate(tmp_path: Path, content: bytes) -> tuple[object, Path]:
    path = tmp_path / "site" / "experiments" / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return CliRunner().invoke(app, ["evaluate", str(tmp_path / "site")]), path


def test_evaluate_prints_what_the_builder_writes_and_quotes_its_texts_harmlessly(tmp_path: Path) -> None:
    result, _ = _evaluate(tmp_path, json.dumps(metrics_as_written(f"[bold]net{HOSTILE}")).encode())
    assert result.exit_code == 0, result.output
    assert "0.625 ± 0.100 [0.575, 0.675]" in result.output and "Category precision" in result.output
    assert "[bold]net" in result.output  # not read as markup
    assert_harmless(result.output)


def _damaged(change) -> bytes:
    metrics = metrics_as_written()
    change(metrics)
    return json.dumps(metrics).encode()


DAMAGED = {
    "missing key": (_damaged(lambda m: m.pop("bootstrap")), "bootstrap: missing"),
    "missing field of a row": (_damaged(lambda m: m["map"][0].pop("std")), "map[0].std: missing"),
    "text for a number": (
        _damaged(lambda m: m["recovery"][0].update(f1_mean="0.5")),
        "recovery[0].f1_mean: expected a number, found text",
    ),
    "true for a number": (_damaged(lambda m: m["bootstrap"].update(resamples=True)), "expected a whole number"),
    "object for a list": (_damaged(lambda m: m.update(profiles={"m1": 1})), "profiles: expected a list"),
    "number for a name": (_damaged(lambda m: m["map"][0].update(network=3)), "map[0].network: expected text"),
    "number too large for a float": (_damaged(lambda m: m["map"][0].update(mean=10**400)), "expected a number"),
    "a list": (b"[]", "expected an object, found a list"),
    "nested too deeply": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "not UTF-8": (b'{"originals": "\xff\xfe"}', "not UTF-8"),
    "empty": (b"", "invalid JSON"),
    "cut short": (json.dumps(metrics_as_written()).encode()[:300], "invalid JSON"),
    "5,000 digits": (b'{"originals": ' + b"9" * 5000 + b"}", "more digits than can be read"),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_evaluate_on_a_damaged_metrics_file_is_one_line_naming_it(tmp_path: Path, case: str) -> None:
    content, problem = DAMAGED[case]
    result, path = _evaluate(tmp_path, content)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # typer.Exit(1), not an exception escaping the command
    [line] = result.output.splitlines()
    assert line.startswith(f"error: {path}: ") and problem in line, line


# ---- 3. `vsis moma sample`: its options' bounds and ObjectIDs ----


def _moma_sample(tmp_path: Path, records_text: str, *options: str, name: str = "Artworks.json") -> object:
    (tmp_path / name).write_text(records_text, encoding="utf-8")
    args = ["moma", "sample", "--artworks", str(tmp_path / name), "--out", str(tmp_path / "moma"), *options]
    return CliRunner().invoke(app, args)


def assert_one_line_error(result, *words: str) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # typer.Exit(1), not an exception escaping the command
    [line] = result.output.splitlines()
    assert line.startswith("error: ") and all(w in line for w in words), line
    return line


@pytest.mark.parametrize(
    "option, value",
    [
        ("--timeout", "-1"),
        ("--timeout", "0"),
        ("--timeout", "nan"),
        ("--timeout", "inf"),
        ("--timeout", "1e300"),
        ("--retries", "-5"),
        ("--retries", "1000000"),
        ("--backoff", "-1"),
        ("--backoff", "inf"),
        ("--max-mb", "-1"),
        ("--max-mb", "0"),
        ("--max-mb", "inf"),
        ("--max-mb", "nan"),
        ("--connections", "0"),
        ("--connections", "-3"),
        ("--connections", "100000"),
    ],
)
def test_moma_sample_refuses_an_option_out_of_bounds_before_any_work(tmp_path: Path, option: str, value: str) -> None:
    records = [{"ObjectID": 2, "ThumbnailURL": "http://127.0.0.1:9/2.jpg"}]
    result = _moma_sample(tmp_path, json.dumps(records), option, value)
    assert_one_line_error(result, f"{option} must be", "got")
    assert not (tmp_path / "moma").exists()


@pytest.mark.parametrize(
    "object_id",
    ['"²"', '"٣"', '"1e5"', '"-3"', '"9' + "9" * 18 + '"', '"' + "7" * 5000 + '"', "7" * 5000, "true", "2.5"],
)
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_an_object_id_that_is_not_a_few_ascii_digits_is_one_line(tmp_path: Path, object_id: str, fmt: str) -> None:
    good = {"ObjectID": 2, "ThumbnailURL": "http://127.0.0.1:9/2.jpg"}
    if fmt == "json":
        text = f'[{json.dumps(good)}, {{"ObjectID": {object_id}, "ThumbnailURL": "http://127.0.0.1:9/3.jpg"}}]'
    else:
        value = json.loads(object_id) if len(object_id) < 4300 else object_id
        text = f"ObjectID,ThumbnailURL\n2,http://127.0.0.1:9/2.jpg\n{value},http://127.0.0.1:9/3.jpg\n"
    result = _moma_sample(tmp_path, text, name=f"Artworks.{fmt}")
    line = assert_one_line_error(result, f"Artworks.{fmt}")
    assert len(line) < 500  # the ObjectID quoted, not 5,000 digits of it
    assert not (tmp_path / "moma").exists()


def test_an_object_id_of_eighteen_ascii_digits_is_taken(tmp_path: Path) -> None:
    from builder.collect.sources.moma import read_artworks

    path = tmp_path / "Artworks.csv"
    path.write_text("ObjectID,ThumbnailURL\n123456789012345678,http://x/1.jpg\n0042,http://x/2.jpg\n", encoding="utf-8")
    assert [a.file_name for a in read_artworks(path)] == ["123456789012345678.jpg", "0042.jpg"]


# ---- 4. `vsis serve`: nothing but the site, and no thread held for ever ----


@pytest.fixture
def planted_site(tmp_path: Path) -> Path:
    """A site with symbolic links planted in it: to a file and a folder outside, and one that stays inside."""
    site = tmp_path / "site"
    (site / "pages").mkdir(parents=True)
    (site / "index.html").write_text("<p>home</p>")
    (site / "pages" / "a.html").write_text("<p>a</p>")
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "index.html").write_text("outside")
    (site / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (site / "etc").symlink_to(tmp_path / "outside")
    (site / "inner.html").symlink_to(site / "pages" / "a.html")
    (site / "led-out").mkdir()
    (site / "led-out" / "index.html").symlink_to(tmp_path / "secret.txt")
    return site


@contextmanager
def serving(site: Path, handler: type[SiteHandler] = SiteHandler) -> Iterator[int]:
    server = site_server(site, 0, handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_serve_gives_the_site_and_nothing_a_link_leads_to_outside_it(planted_site: Path, capfd) -> None:
    with serving(planted_site) as port:
        assert _get(port, "/") == (200, b"<p>home</p>")
        assert _get(port, "/pages/a.html") == (200, b"<p>a</p>")
        assert _get(port, "/inner.html") == (200, b"<p>a</p>")  # a link that stays inside
        for path in ("/leak.txt", "/etc", "/etc/", "/etc/index.html", "/led-out/", "/pages/", "/%2e%2e/secret.txt"):
            status, body = _get(port, path)
            assert status == 404, path
            assert b"secret" not in body and b"outside" not in body and b"a.html" not in body, path
        for path in ("/%00", "/index.html%00.txt", "/%ED%A0%80"):
            assert _get(port, path)[0] == 400, path
    log = capfd.readouterr().err
    assert "Traceback" not in log and '"GET /%00 HTTP/1.1" 400' in log


def test_serve_ends_a_connection_left_idle(planted_site: Path) -> None:
    assert SiteHandler.timeout is not None and 0 < SiteHandler.timeout <= 60  # what `vsis serve` waits

    class Quick(SiteHandler):  # the same, in less time
        timeout = 0.5

    with serving(planted_site, Quick) as port:
        for sent in (b"", b"GET / HTTP/1.1\r\n"):  # nothing, or a request never finished
            with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
                idle.sendall(sent)
                started = time.monotonic()
                assert idle.recv(1024) == b""  # closed by the server
                assert time.monotonic() - started < 5


def test_vsis_serve_uses_the_confined_handler(planted_site: Path) -> None:
    serve = subprocess.Popen(
        [str(Path(sys.executable).parent / "vsis"), "serve", str(planted_site), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stdout is not None
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", serve.stdout.readline())
        assert found, "no address printed"
        port = int(found.group(1))
        assert _get(port, "/")[0] == 200 and _get(port, "/leak.txt")[0] == 404
    finally:
        serve.terminate()
        serve.wait(timeout=30)

"""Faults met by the commands around a build: what reaches the terminal, `vsis evaluate` on a damaged
metrics file, `vsis moma sample`'s options and ObjectIDs, and `vsis serve` on a hostile site or client."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from builder.cli import app
from builder.progress import RichReporter

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

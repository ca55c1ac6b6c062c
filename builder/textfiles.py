"""Reading the text files users hand us (metadata, published collection data) with errors that name the
file and say what is wrong: missing, not UTF-8 (where, in bytes), or not JSON (where, by line)."""

from __future__ import annotations

import json
from pathlib import Path

from builder.errors import MetadataError


def read_text(path: Path, kind: str = "file") -> str:
    """The file's text (UTF-8, a byte-order mark dropped). kind names it in the error when it is missing."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:  # line ends as written: the CSV reader decides
            return fh.read()
    except FileNotFoundError:
        raise MetadataError(f"{path}: {kind} not found") from None
    except UnicodeDecodeError as exc:
        raise MetadataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def parse_json(text: str, path: Path) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MetadataError(f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise MetadataError(
            f"{path}: JSON nested too deeply to read (records are expected a level or two down)"
        ) from None

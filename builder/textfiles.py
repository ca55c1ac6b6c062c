"""Reading the text files users hand us (metadata, published collection data) with errors that name the
file and say what is wrong: missing, not UTF-8 (where, in bytes), or not JSON (where, by line)."""

from __future__ import annotations

import json
import re
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


_SURROGATE = re.compile("[\ud800-\udfff]")


def shown(text: str) -> str:
    """Text as it can be written to a page, a JSON file or a terminal: a name that is not UTF-8 comes from
    the file system with each undecodable byte as a lone surrogate (Python's surrogateescape), and JSON may
    hold a lone surrogate itself; neither can be encoded, so each becomes U+FFFD. Where the bytes matter
    (opening the file, a stable id) the original string is kept, not this."""
    return _SURROGATE.sub("\ufffd", text)

"""Text from users' files made safe to print on a terminal.

File names, metadata values and published collection data reach the terminal in warnings and errors. A
terminal obeys the control characters in what it is sent: ESC starts sequences that set the window's
title, clear the screen or move the cursor, and a line break or carriage return forges a line of its own.
So every user string passes through `printable` on its way out: each control character becomes a visible
escape (so the text stays recognisable), each lone surrogate (a byte of a name that is not UTF-8, kept by
Python's surrogateescape, or one JSON held) becomes U+FFFD, which no terminal can be sent otherwise.
"""

from __future__ import annotations

import re

# C0 controls but the tab, DEL, C1 controls (U+009B is a one-character CSI), the line and paragraph
# separators, the bidirectional embeddings, overrides and isolates (they reorder what follows them on the
# line), and lone surrogates.
_SURROGATES = "\ud800-\udfff"
_SURROGATE = re.compile(f"[{_SURROGATES}]")
_UNSAFE = re.compile(f"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069{_SURROGATES}]")


def shown(text: str) -> str:
    """Text as it can be written to a page, a JSON file or a terminal: a name that is not UTF-8 comes from
    the file system with each undecodable byte as a lone surrogate (Python's surrogateescape), and JSON may
    hold a lone surrogate itself; neither can be encoded, so each becomes U+FFFD. Where the bytes matter
    (opening the file, a stable id) the original string is kept, not this."""
    return _SURROGATE.sub("\ufffd", text)


def is_printable(text: str) -> bool:
    """Whether `text` holds nothing `printable` would change."""
    return _UNSAFE.search(text) is None


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if _SURROGATE.fullmatch(char):
        return "\ufffd"
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with nothing a terminal would act on: control characters as `\\x1b`-style escapes, lone
    surrogates as U+FFFD."""
    return _UNSAFE.sub(_visible, text)

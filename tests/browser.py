"""Headless Chromium for the site's tests: the system's Chromium driven by Playwright, never a download.

Skipped where Chromium or Playwright is missing, unless VSIS_REQUIRE_BROWSER=1 (as in .ci/run), where their
absence fails the run instead of hiding the tests.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@contextmanager
def launched() -> Iterator[object]:
    """A headless Chromium, or a skip (a failure when VSIS_REQUIRE_BROWSER is set)."""
    required = os.environ.get("VSIS_REQUIRE_BROWSER") == "1"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            raise
        pytest.skip("playwright is not installed")
    path = chromium_path()
    if path is None:
        if required:
            raise RuntimeError("VSIS_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)")
        pytest.skip("no chromium on PATH (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A browser that drops a request it no longer wants (a lazy thumbnail as the page closes) is no
        error of the site: only anything else is printed."""
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


@contextmanager
def served(root: Path) -> Iterator[str]:
    """root served on http://127.0.0.1:<free port>/ in a thread; yields that base URL."""
    handler = functools.partial(_Quiet, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class Watched:
    """A page that records console errors, uncaught exceptions and every request leaving `base`."""

    def __init__(self, page, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("request", self._request)

    def _request(self, request) -> None:
        url = request.url
        # data: and blob: URLs are the page's own memory (a blob: one: the visitor's own file, shown back)
        if not (url.startswith(self.base) or url.startswith(("data:", "blob:"))):
            self.outside.append(url)

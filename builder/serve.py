"""`vsis serve`: a built site previewed over http on 127.0.0.1, and nothing but the site.

The standard library's SimpleHTTPRequestHandler serves whatever a path leads to: a symbolic link planted in
the site served /etc/passwd and listed /etc; a path holding NUL ended in a traceback and an empty reply;
and an idle connection held its thread for ever. `SiteHandler` serves a file only where its real path (every
link followed) is inside the site's real path, answers a path no file can have with 400, lists no folder
(a site has an index.html where it needs one), and drops a connection idle for `timeout` seconds.
"""

from __future__ import annotations

import functools
import io
import os
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO

IDLE_TIMEOUT = 30.0  # seconds a connection may wait for its next request, or for a read or write


class SiteHandler(SimpleHTTPRequestHandler):
    """Serves the files under `directory` whose real path is inside its real path; 404 for anything else."""

    timeout = IDLE_TIMEOUT  # StreamRequestHandler.setup sets it on the socket: an idle connection ends

    def send_head(self) -> io.BytesIO | BinaryIO | None:
        """The file to send, its headers sent; or None, the refusal sent."""
        try:
            refusal = self._refusal(self.translate_path(self.path))
        except ValueError:  # a NUL or a lone surrogate: a name no file can have
            refusal = HTTPStatus.BAD_REQUEST
        if refusal is not None:
            self.send_error(refusal)
            return None
        return super().send_head()

    def _refusal(self, path: str) -> HTTPStatus | None:
        """404 unless `path` (a folder: its index.html) is a file whose real path is inside the site's."""
        root = os.path.realpath(self.directory)
        target = os.path.join(path, "index.html") if os.path.isdir(path) else path
        for real in (os.path.realpath(path), os.path.realpath(target)):
            if os.path.commonpath((root, real)) != root:
                return HTTPStatus.NOT_FOUND
        return None if os.path.isfile(target) else HTTPStatus.NOT_FOUND


def site_server(site_dir: Path, port: int, handler: type[SiteHandler] = SiteHandler) -> ThreadingHTTPServer:
    """A server of `site_dir` on 127.0.0.1:`port` (0: any free port), bound, not yet serving; each connection
    in a daemon thread of its own (ThreadingHTTPServer's), so none holds the process open. An OSError (a port
    in use) is the caller's to report. `handler`: SiteHandler or a subclass (a test's shorter timeout)."""
    return ThreadingHTTPServer(("127.0.0.1", port), functools.partial(handler, directory=str(site_dir)))

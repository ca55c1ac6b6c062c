"""Downloading many files: a bounded number of connections, a deadline, retries with back-off, resuming.

A file already present that decodes as an image is not fetched again, so a stopped run resumes where it
left off. Only http(s) URLs are fetched (a `file://` or `ftp://` address in someone's data is refused, never
read). A body is streamed to a temporary file beside its destination, never held whole in memory, and cut
off past `Policy.max_mb`; `Policy.timeout` bounds a whole attempt (connecting and every read), so a
server that trickles cannot hold a connection for longer. Every download is checked to be what was asked for
before it is renamed into place: by default an image that decodes (within Pillow's decompression-bomb limit);
a job may bring its own check (the IIIF reader's documents are JSON). A failure (an HTTP error, a
timeout, a short or oversized body, a body that is not an image) is reported with its reason and never
stops the others.
"""

from __future__ import annotations

import http.client
import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from builder.errors import VsisError

USER_AGENT = "vsis (https://github.com/) thumbnail downloader"
_CHUNK = 1 << 16


def not_an_image(path: Path) -> str:
    """What is wrong with a downloaded file that should be an image ('' where nothing is)."""
    return "" if is_image(path) else f"not an image Pillow can read ({path.stat().st_size:,} bytes)"


@dataclass(frozen=True)
class Download:
    url: str
    dest: Path
    problem: Callable[[Path], str] = not_an_image  # what is wrong with the file ('' where it is what was asked)


@dataclass(frozen=True)
class Outcome:
    download: Download
    status: str  # "downloaded", "present" or "failed"
    reason: str = ""
    attempts: int = 0


# The bounds of each setting of a Policy, named as `vsis moma sample`'s options that set them: (option, least,
# most). Beyond them a run fails or never ends: no connections, a negative, NaN or infinite timeout (the
# socket refuses it), retries or back-off that wait for days (the wait doubles each time: 60 s after 10
# retries is 8.5 hours), a size limit no file is under, or one no thumbnail comes near.
_BOUNDS: dict[str, tuple[str, float, float]] = {
    "connections": ("--connections", 1, 64),
    "timeout": ("--timeout", 0.1, 3600),
    "retries": ("--retries", 0, 10),
    "backoff": ("--backoff", 0, 60),
    "max_mb": ("--max-mb", 0.001, 1000),
}


@dataclass(frozen=True)
class Policy:
    connections: int = 8
    timeout: float = 20.0  # seconds for a whole attempt: connecting, the headers and the last byte
    retries: int = 3  # further attempts after a timeout, a connection error, a short body or a 5xx / 429
    backoff: float = 1.0  # seconds before the first retry, doubled each time
    max_mb: float = 50.0  # a larger body is refused (a thumbnail is a few hundred KB)

    def __post_init__(self) -> None:
        """Refuse a setting out of its bounds (`_BOUNDS`) before any download starts."""
        for name, (option, least, most) in _BOUNDS.items():
            value = getattr(self, name)
            whole = name in ("connections", "retries")
            if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
                raise VsisError(f"{option} must be a {'whole ' if whole else ''}number, got {value!r}")
            if not least <= value <= most:  # NaN is refused too
                raise VsisError(f"{option} must be {least:g} ... {most:g}, got {value!r}")

    @property
    def max_bytes(self) -> int:
        return int(self.max_mb * 1_000_000)


class _Retryable(Exception):
    pass


def is_image(path: Path) -> bool:
    """Whether the file is an image Pillow can read, within its decompression-bomb limit."""
    try:
        with Image.open(path) as im:
            im.verify()
        return True
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return False


def _fetch(url: str, policy: Policy, into: Path) -> None:
    """Stream `url`'s body into the file `into`, within the policy's deadline and size."""
    deadline = time.monotonic() + policy.timeout
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=policy.timeout) as response, into.open("wb") as out:
            length = _declared_length(response.headers.get("Content-Length"))
            if length is not None and length > policy.max_bytes:
                raise ValueError(f"too large: {length:,} bytes (limit {policy.max_bytes:,})")
            received = 0
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise _Retryable(f"timed out (whole download over {policy.timeout:g} s)")
                _set_read_timeout(response, left)
                chunk = response.read1(_CHUNK) if hasattr(response, "read1") else response.read(_CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if received > policy.max_bytes:
                    raise ValueError(f"too large: over {policy.max_bytes:,} bytes")
                out.write(chunk)
            if length is not None and received < length:
                raise _Retryable(f"incomplete: {received:,} of {length:,} bytes")
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise _Retryable(f"HTTP {exc.code} {exc.reason}") from None
        raise ValueError(f"HTTP {exc.code} {exc.reason}") from None
    except http.client.IncompleteRead as exc:
        raise _Retryable(f"incomplete: {len(exc.partial):,} bytes, then the connection closed") from None
    except TimeoutError:
        raise _Retryable("timed out") from None
    except (ConnectionError, urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        text = "timed out" if isinstance(reason, TimeoutError) or "timed out" in str(reason) else str(reason)
        raise _Retryable(text) from None


def _declared_length(header: str | None) -> int | None:
    """The Content-Length a server declared, or None where it declared none it could mean: only ASCII digits
    (str.isdigit also takes "²", which int() refuses), and few enough of them for int()."""
    if header is None or not (header.isascii() and header.isdigit()) or len(header) > 18:
        return None
    return int(header)


def _set_read_timeout(response: object, seconds: float) -> None:
    """Bound the next read by what is left of the attempt's deadline."""
    fp = getattr(response, "fp", None)
    raw = getattr(fp, "raw", None)
    sock = getattr(raw, "_sock", None)
    if sock is not None:
        sock.settimeout(max(seconds, 0.001))


def fetch_one(job: Download, policy: Policy, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    if job.dest.is_file() and not job.problem(job.dest):
        return Outcome(job, "present")
    scheme = urllib.parse.urlsplit(job.url).scheme.lower()
    if scheme not in ("http", "https"):
        return Outcome(job, "failed", f"not an http(s) URL ({scheme or 'no'} scheme); not fetched", 0)
    job.dest.parent.mkdir(parents=True, exist_ok=True)
    attempts = 0
    while True:
        attempts += 1
        fd, name = tempfile.mkstemp(dir=job.dest.parent, prefix=f".{job.dest.name}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(name)
        try:
            try:
                _fetch(job.url, policy, tmp)
            except _Retryable as exc:
                if attempts > policy.retries:
                    return Outcome(job, "failed", f"{exc} (after {attempts} attempts)", attempts)
                sleep(policy.backoff * 2 ** (attempts - 1))
                continue
            except ValueError as exc:
                return Outcome(job, "failed", str(exc), attempts)
            problem = job.problem(tmp)
            if problem:
                return Outcome(job, "failed", problem, attempts)
            os.replace(tmp, job.dest)
            return Outcome(job, "downloaded", "", attempts)
        finally:
            tmp.unlink(missing_ok=True)


def download_all(
    jobs: Iterable[Download], policy: Policy = Policy(), on_outcome: Callable[[Outcome], None] | None = None
) -> list[Outcome]:
    """Every job, `policy.connections` at a time; outcomes in the order of `jobs`."""
    jobs = list(jobs)
    outcomes: dict[int, Outcome] = {}
    with ThreadPoolExecutor(max_workers=max(1, policy.connections), thread_name_prefix="vsis-download") as pool:
        futures = {pool.submit(fetch_one, job, policy): n for n, job in enumerate(jobs)}
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - one file's unforeseen failure must not end the run
                outcome = Outcome(jobs[futures[future]], "failed", f"{type(exc).__name__}: {exc}")
            outcomes[futures[future]] = outcome
            if on_outcome:
                on_outcome(outcome)
    return [outcomes[n] for n in range(len(jobs))]

"""Downloading many files: a bounded number of connections, a timeout, retries with back-off, resuming.

A file already present that decodes as an image is not fetched again, so a stopped run resumes where it
left off. Every download is checked to decode as an image before it is kept, and written atomically
(never a half file under the real name). A failure (an HTTP error, a timeout, a body that is not an
image) is reported with its reason and never stops the others.
"""

from __future__ import annotations

import io
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from PIL import Image, UnidentifiedImageError

from ..cache import atomic_write

USER_AGENT = "vsis (https://github.com/) thumbnail downloader"


@dataclass(frozen=True)
class Download:
    url: str
    dest: Path


@dataclass(frozen=True)
class Outcome:
    download: Download
    status: str  # "downloaded", "present" or "failed"
    reason: str = ""
    attempts: int = 0


@dataclass(frozen=True)
class Policy:
    connections: int = 8
    timeout: float = 20.0  # seconds per attempt, connecting and reading
    retries: int = 3  # further attempts after a timeout, a connection error or a 5xx / 429 answer
    backoff: float = 1.0  # seconds before the first retry, doubled each time


class _Retryable(Exception):
    pass


def is_image(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.verify()
        return True
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False


def _fetch(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise _Retryable(f"HTTP {exc.code} {exc.reason}") from None
        raise ValueError(f"HTTP {exc.code} {exc.reason}") from None
    except (TimeoutError, ConnectionError, urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        text = "timed out" if isinstance(reason, TimeoutError) or "timed out" in str(reason) else str(reason)
        raise _Retryable(text) from None


def fetch_one(job: Download, policy: Policy, sleep: Callable[[float], None] = time.sleep) -> Outcome:
    if job.dest.is_file() and is_image(job.dest.read_bytes()):
        return Outcome(job, "present")
    attempts = 0
    while True:
        attempts += 1
        try:
            data = _fetch(job.url, policy.timeout)
        except _Retryable as exc:
            if attempts > policy.retries:
                return Outcome(job, "failed", f"{exc} (after {attempts} attempts)", attempts)
            sleep(policy.backoff * 2 ** (attempts - 1))
            continue
        except ValueError as exc:
            return Outcome(job, "failed", str(exc), attempts)
        if not is_image(data):
            return Outcome(job, "failed", f"not an image ({len(data)} bytes)", attempts)
        atomic_write(job.dest, data)
        return Outcome(job, "downloaded", "", attempts)


def download_all(
    jobs: Iterable[Download], policy: Policy = Policy(), on_outcome: Callable[[Outcome], None] | None = None
) -> list[Outcome]:
    """Every job, `policy.connections` at a time; outcomes in the order of `jobs`."""
    jobs = list(jobs)
    outcomes: dict[int, Outcome] = {}
    with ThreadPoolExecutor(max_workers=max(1, policy.connections), thread_name_prefix="vsis-download") as pool:
        futures = {pool.submit(fetch_one, job, policy): n for n, job in enumerate(jobs)}
        for future in as_completed(futures):
            outcome = future.result()
            outcomes[futures[future]] = outcome
            if on_outcome:
                on_outcome(outcome)
    return [outcomes[n] for n in range(len(jobs))]

"""What vsis owns on disk, and how it holds it: build locks, and marks on the folders it makes.

- A build holds an exclusive lock on its cache and on its output while it runs, so that two builds never
  write the same cache entries or swap sites under each other. A second build refuses at once with a
  message naming the first one's process. The locks are `flock`s, which the kernel releases when their
  process ends however it ends, so the lock of a dead build never stands in the way.
- Every folder vsis makes beside the user's files (where a site is staged, and which then holds the
  previous site until it is removed) carries a mark with the process that made it and a random token.
  Only folders with such a mark, made by a process that is no longer running, are ever removed as stale:
  a user's `.site.old-backup` is not vsis', whatever its name.
- Folders vsis fills are recognisable, so a scan never feeds them back in as images: the site has its
  `SITE_MARKER`, the cache the standard `CACHEDIR.TAG` (https://bford.info/cachedir/) with vsis' text.
- The cache folder is owned like the output: vsis makes it, or takes one that carries its tag, and
  refuses a folder of the user's (`claim_cache`); whatever vsis then removes in it (locks, litter) is its own.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from builder.errors import VsisError

SITE_MARKER = ".vsis-site"
CACHE_TAG = "CACHEDIR.TAG"
_CACHE_TAG_TEXT = "Signature: 8a477f597d28d172789f06886806bc55\n# A cache made by vsis; it can be deleted.\n"
_FOLDER_MARK = ".vsis-made"


def owned_by_vsis(folder: Path) -> bool:
    """A site or cache vsis made (not to be scanned for images)."""
    return (folder / SITE_MARKER).is_file() or (folder / CACHE_TAG).is_file()


def within_vsis_folder(folder: Path) -> Path | None:
    """The site or cache vsis made that holds `folder` (or is it), if any: what such a folder holds is
    vsis' output (thumbnails, perturbed copies, atlases), never a collection to scan."""
    real = folder.resolve()
    for candidate in (real, *real.parents):
        if owned_by_vsis(candidate):
            return candidate
    return None


def is_vsis_cache(cache_dir: Path) -> bool:
    """Whether the folder carries the tag vsis writes (another tool's CACHEDIR.TAG does not make it vsis')."""
    try:
        with (cache_dir / CACHE_TAG).open("rb") as fh:
            return fh.read(len(_CACHE_TAG_TEXT) + 1) == _CACHE_TAG_TEXT.encode()
    except OSError:
        return False


def claim_cache(cache_dir: Path) -> None:
    """Make `cache_dir` vsis' cache, or check that it is one: a folder that is missing or empty is made
    and tagged; one that carries vsis' tag is taken as it is; anything else is the user's, and refused
    before vsis writes, locks or deletes anything in it (a cache's lock file, the litter of killed builds
    and its tag would otherwise land among the user's files, and the tag would hide them from backups)."""
    if cache_dir.exists() and not cache_dir.is_dir():
        raise VsisError(f"{cache_dir}: the cache folder is a file; choose another --cache-dir")
    if cache_dir.is_dir() and not is_vsis_cache(cache_dir) and any(cache_dir.iterdir()):
        raise VsisError(
            f"{cache_dir}: not empty and not a cache vsis made (no vsis {CACHE_TAG}); refusing to use it as the "
            "cache: choose another --cache-dir (a new or empty folder)"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    if not is_vsis_cache(cache_dir):
        (cache_dir / CACHE_TAG).write_text(_CACHE_TAG_TEXT)


class Busy(VsisError):
    """Another build holds the lock."""


@contextmanager
def exclusive(lock_file: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (created if needed) for the block; refuse at once when another
    process holds it. The file is removed on release; a lock taken on a file that another build removed
    meanwhile is taken again on the new one, so two builds never both believe they hold it."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise Busy(
                    f"{what} is in use by another vsis build{f' (process {holder})' if holder else ''}; "
                    "wait for it to finish, or give this one another --out / --cache-dir"
                ) from None
            raise
        try:
            same = os.fstat(fd).st_ino == os.stat(lock_file).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the file was removed (and perhaps made anew) between our open and our lock
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        try:
            os.unlink(lock_file)
        except FileNotFoundError:
            pass
        os.close(fd)


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return ""


def out_lock(out: Path) -> Path:
    """The lock file of an output folder: beside it, since the folder itself is swapped."""
    return out.parent / f".{out.name}.lock"


def cache_lock(cache_dir: Path) -> Path:
    return cache_dir / "lock"


def mark_as_made(folder: Path) -> None:
    """Mark a folder vsis just made (see `remove_stale`)."""
    (folder / _FOLDER_MARK).write_text(f"pid: {os.getpid()}\ntoken: {secrets.token_hex(8)}\n")


def made_by_a_dead_build(folder: Path) -> bool:
    try:
        fields = dict(line.split(": ", 1) for line in (folder / _FOLDER_MARK).read_text().splitlines() if ": " in line)
        pid = int(fields["pid"])
    except (OSError, KeyError, ValueError):
        return False  # not vsis' (or not provably): never removed
    return pid != os.getpid() and not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(candidates: list[Path]) -> None:
    """Remove the folders among `candidates` that a build which is no longer running made."""
    for folder in candidates:
        if folder.is_dir() and not folder.is_symlink() and made_by_a_dead_build(folder):
            shutil.rmtree(folder, ignore_errors=True)

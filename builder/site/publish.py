"""Publishing a rendered site: staged in a folder beside the output, then exchanged with it in one step.

The output folder is only ever replaced when it is empty or holds the marker of a site vsis built, so a
folder of the user's is never touched; `check_destination` refuses any other (and the file system's root,
the home folder, a folder that holds the collection or the cache, a file) before the build takes a lock or
does any work, not hours later when it publishes. The marker also records a fingerprint of everything the
site's bytes depend on; when a build would make the same site again, the one there is left as it is (a
no-change rebuild renders nothing).

The site is rendered into `site/` of a staging folder `.<out>.building-<random>` beside the output, which
carries the mark of the build that made it (ownership.py). On Linux the two folders are then exchanged in
one step (renameat2 with RENAME_EXCHANGE): at every moment `out` holds a complete site, the previous one or
the new one, so a build killed at any moment leaves one there. The previous site, now in the staging
folder, is removed with it; a staging folder left by a killed build (while rendering, or after the
exchange) still carries its mark, and the next build removes it (`remove_stale`: only once the build that
made it has ended, and never a folder without the mark).

Where folders cannot be exchanged (not Linux, a C library without renameat2, a kernel or file system that
refuses it: EINVAL, ENOSYS, EOPNOTSUPP), the last resort is two renames: `out` into the staging folder as
`old`, then the new site to `out`. A build killed between the two leaves no `out`; the next build, when it
publishes, first puts the killed build's new site (complete: only a complete site is renamed) in its place.

`out` is the folder itself where a symbolic link leads to one: the site is published into the folder the
link points to, and the link is left as it is. The permissions of a folder being replaced are kept (an
empty private folder stays private); a new one gets 0o755. The caller holds the output's lock
(ownership.out_lock), so no other build publishes here meanwhile.

Test hook: with VSIS_TEST_PAUSE=<moment>:<file>, a build creates <file> when it reaches <moment> and waits
a minute there, so that a test can kill it at that moment (tests/test_robustness.py). The moments: `swap`
(the new site complete, just before the exchange), `between` (between the fallback's two renames) and
`swapped` (the new site in place, the previous one not yet removed).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import hashlib
import json
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import is_dataclass
from pathlib import Path

import numpy as np

from builder.cache import atomic_write, stored_name
from builder.errors import VsisError
from builder.ownership import SITE_MARKER as MARKER
from builder.ownership import made_by_a_dead_build, mark_as_made, remove_stale
from builder.site.model import PageNeighbour, SiteModel
from builder.site.render import Reuse, render, theme_digest

_RENAME_EXCHANGE = 2  # <linux/fs.h>
_AT_FDCWD = -100  # <fcntl.h>: paths relative to the working folder
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}  # the call or the file system lacks it
_NEW_SITE_MODE = 0o755


def check_destination(out: Path, collection: Path, cache_dir: Path) -> None:
    """Refuse an output folder that publishing must not replace, before the build takes a lock or does any
    work: a museum's build takes hours, and the output's lock file is made beside it (in `/` for `/`)."""
    real = out.resolve()
    problem = _destination_problem(real, collection.resolve(), cache_dir.resolve())
    if problem:
        shown = str(out) if out.absolute() == real else f"{out} ({real})"
        raise VsisError(f"{shown}: {problem}")


def _destination_problem(out: Path, collection: Path, cache_dir: Path) -> str:
    """Why `out` (resolved) may not be the output ('' when it may)."""
    if out.parent == out:
        return "the root of the file system cannot be the output folder; choose another --out"
    if out == _home():
        return "your home folder cannot be the output folder; choose another --out"
    for folder, what in ((collection, "the collection"), (cache_dir, "the cache folder")):
        if out == folder or out in folder.parents:
            role = f"is {what}" if out == folder else f"holds {what}"
            return f"{role}, which publishing would replace; choose another --out"
    if out.exists() and not out.is_dir():
        return "is a file, not a folder; choose another --out"
    return _not_a_site(out)


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except RuntimeError:  # no HOME and no entry in the password database
        return None


def _not_a_site(out: Path) -> str:
    """Why the folder at `out` may not be replaced ('' when it may: missing, empty, or a site vsis built)."""
    if not out.exists() or (out.is_dir() and (not any(out.iterdir()) or (out / MARKER).is_file())):
        return ""
    return (
        f"exists and is not a site vsis built (no {MARKER} file); "
        "refusing to replace it: choose another --out or empty it"
    )


def publish(model: SiteModel, out: Path, on_page: Callable[[], None] | None = None, memo: Path | None = None) -> int:
    """Render into a staging folder beside `out`, then exchange the two; when the site there was built from
    the same model, templates and version, leave it as it is. Returns the page count. memo: a file (in the
    cache) remembering what each compare page of the site at `out` was rendered from, so that the next
    build reuses the pages that would not change (render.Reuse)."""
    out = out.resolve()
    problem = _not_a_site(out)
    if problem:
        raise VsisError(f"{out}: {problem}")
    out.parent.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(out)
    digest = fingerprint(model)
    previous = _published(out)
    if previous.get("fingerprint") == digest and previous.get("pages", "").isdigit() and (out / "index.html").is_file():
        return int(previous["pages"])
    staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(out), dir=out.parent))
    reuse = None
    try:
        mark_as_made(staging)  # first: killed at any later moment, the next build removes the folder
        if memo is not None:
            reuse = Reuse(out, _remembered_pages(memo, previous.get("fingerprint", "")))
            memo.unlink(missing_ok=True)  # until the new site is in place, it describes no site
        pages = _stage(model, staging / "site", digest, _mode(out), on_page, reuse)
        _swap(staging / "site", out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # the unfinished site, or the previous one
    if memo is not None and reuse is not None:
        atomic_write(memo, json.dumps({"fingerprint": digest, "pages": reuse.fresh}).encode())
    return pages


def _staging_prefix(out: Path) -> str:
    return f".{out.name}.building-"


def _mode(out: Path) -> int:
    """The permissions the new site gets: those of the folder it replaces, or 0o755."""
    return stat.S_IMODE(out.stat().st_mode) if out.is_dir() else _NEW_SITE_MODE


def _stage(model: SiteModel, site: Path, digest: str, mode: int, on_page: Callable[[], None] | None,
           reuse: Reuse | None) -> int:  # fmt: skip
    """Render the whole site into `site`, marker last: a folder with the marker is complete."""
    site.mkdir()
    pages = render(model, site, on_page, reuse)
    (site / MARKER).write_text(
        f"This folder was built by vsis and is replaced by the next build.\nfingerprint: {digest}\npages: {pages}\n"
    )
    os.chmod(site, mode)
    return pages


def _clear_leftovers(out: Path) -> None:
    """What killed builds left beside `out`: a new site cut off between the fallback's two renames is put
    in place, then their staging folders are removed (and the `.<out>.old-*` folders that vsis swapped
    previous sites into before it exchanged them)."""
    leftovers = [p for p in out.parent.iterdir() if p.name.startswith(_staging_prefix(out))]
    if not out.exists():
        _restore(out, leftovers)
    remove_stale([*leftovers, *(p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.old-"))])


def _restore(out: Path, leftovers: list[Path]) -> None:
    """`out` is missing where a build was killed between the fallback's two renames: its staging folder
    holds the previous site as `old` and the new, complete one as `site`; the new one takes its place."""
    for folder in leftovers:
        if (folder / "old").is_dir() and (folder / "site" / MARKER).is_file() and made_by_a_dead_build(folder):
            os.rename(folder / "site", out)
            return


def _swap(site: Path, out: Path) -> None:
    """Put the complete site at `out`; the folder that was there ends inside the staging folder."""
    if not out.exists():
        os.rename(site, out)  # nothing to keep until the new site is there
        return
    _pause("swap")
    try:
        _exchange(site, out)
    except OSError as exc:
        if exc.errno not in _NO_EXCHANGE:
            raise
        _rename_twice(site, out)
    _pause("swapped")


def _rename_twice(site: Path, out: Path) -> None:
    """The last resort where folders cannot be exchanged: `out` moved aside, then the site moved in. A
    failure of the second rename puts the previous site back; a kill between them leaves no `out` until
    the next build (`_restore`)."""
    old = site.parent / "old"
    os.rename(out, old)
    _pause("between")
    try:
        os.rename(site, out)
    except BaseException:
        os.rename(old, out)
        raise


def _exchange(a: Path, b: Path) -> None:
    """Exchange two folders in one step; OSError ENOSYS where this system has no renameat2."""
    renameat2 = _renameat2()
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "no renameat2 on this system", str(a))
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(a), None, str(b))


@functools.cache
def _renameat2() -> Callable[[int, bytes, int, bytes, int], int] | None:
    """Linux's renameat2 from the C library (glibc 2.28 and later, musl 1.2.2), or None."""
    if not sys.platform.startswith("linux"):
        return None
    function = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if function is None:
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _pause(moment: str) -> None:
    """The test hook of the module's docstring: announce `moment` in a file and wait there to be killed."""
    at, _, announce = os.environ.get("VSIS_TEST_PAUSE", "").partition(":")
    if at == moment and announce:
        Path(announce).touch()
        time.sleep(60)


def _remembered_pages(memo: Path, fingerprint: str) -> dict[str, str]:
    """The compare pages' digests remembered for the site whose fingerprint is given ({} for another)."""
    try:
        data = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("fingerprint") != fingerprint or not fingerprint:
        return {}
    pages = data.get("pages")
    return pages if isinstance(pages, dict) else {}


def _published(out: Path) -> dict[str, str]:
    """The marker's fields of the site at `out` ({} when there is none)."""
    try:
        lines = (out / MARKER).read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def fingerprint(model: SiteModel) -> str:
    """A digest of everything the site's bytes depend on: the page model (less the build time, which alone
    makes no new site), the templates and static files, and vsis' version."""
    from builder import __version__

    h = hashlib.sha256(__version__.encode())
    timeless = {k: v for k, v in model.manifest.items() if k != "built_at"}
    # a thumbnail's cache path ends in its size and decoding, then its content key: those parts, not where
    # the cache lies, decide its bytes
    sources = {rel: stored_name(src) for rel, src in model.extra_files.items()}
    digests: dict[int, str] = {}  # the lists of a network, shared by its page model and its dataset's

    def lists(rows: list[list[PageNeighbour]]) -> str:
        if id(rows) not in digests:
            digests[id(rows)] = _lists_digest(rows)
        return digests[id(rows)]

    networks = [{**vars(n), "neighbours": lists(n.neighbours)} for n in model.networks]
    datasets = [
        {**vars(d), "items": "the site's items" if d.items is model.items else d.items,
         "networks": [(name, lists(rows)) for name, rows in d.networks]}
        for d in model.datasets
    ]  # fmt: skip
    products = [(p.name, p.nav, p.fingerprint()) for p in model.products]
    plain = {**vars(model), "manifest": timeless, "extra_files": sources, "networks": networks, "datasets": datasets,
             "products": products}  # fmt: skip
    h.update(json.dumps(plain, default=_plain, allow_nan=True, separators=(",", ":")).encode())
    h.update(theme_digest().encode())
    return h.hexdigest()


def _lists_digest(rows: list[list[PageNeighbour]]) -> str:
    """Neighbour lists as the bytes of their lengths, indices and scores: a million neighbours are hashed
    as arrays, not written out as JSON one by one. A neighbour's item is its dataset's item at its index,
    written with the dataset."""
    h = hashlib.sha256()
    for values, dtype in (
        ((len(row) for row in rows), np.int64),
        ((nb.index for row in rows for nb in row), np.int64),
        ((nb.score for row in rows for nb in row), np.float64),
    ):
        h.update(np.fromiter(values, dtype=dtype).tobytes())
    return h.hexdigest()


def _plain(value: object) -> object:
    """What json cannot write itself, as plain data, the same for the same content in every process
    (neighbour lists never come here: fingerprint hashes them as arrays). Callables are left out: a
    perturbation profile's function is named by its name, version and description."""
    if is_dataclass(value) and not isinstance(value, type):
        return {k: v for k, v in vars(value).items() if not callable(v)}
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"no canonical form for {type(value).__name__}")

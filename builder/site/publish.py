"""Publishing a rendered site: into a temporary folder beside the output, then swapped in whole.

The output folder is only ever replaced when it is empty or holds the marker of a site vsis built, so a
folder of the user's is never touched, and a build killed at any moment leaves the previous site as it was.
The marker also records a fingerprint of everything the site's bytes depend on; when a build would make
the same site again, the one there is left as it is (a no-change rebuild renders nothing). The staging and
swapped-out folders carry a mark of the build that made them (ownership.py): a later build removes such a
folder only when that build is no longer running, and never a folder without the mark. The caller holds
the output's lock (ownership.out_lock), so no other build publishes here meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import is_dataclass
from pathlib import Path

import numpy as np

from builder.cache import atomic_write
from builder.errors import VsisError
from builder.ownership import SITE_MARKER as MARKER
from builder.ownership import mark_as_made, remove_stale, unmark
from builder.site.model import PageNeighbour, QueryPage, SiteModel
from builder.site.render import Reuse, render, theme_digest


def publish(model: SiteModel, out: Path, on_page: Callable[[], None] | None = None, memo: Path | None = None) -> int:
    """Render into a temporary folder beside `out`, then swap it in; when the site there was built from
    the same model, templates and version, leave it as it is. Returns the page count. memo: a file (in the
    cache) remembering what each compare page of the site at `out` was rendered from, so that the next
    build reuses the pages that would not change (render.Reuse)."""
    out = out.resolve()
    if not _replaceable(out):
        raise VsisError(
            f"{out}: exists and is not a site vsis built (no {MARKER} file); "
            "refusing to replace it: choose another --out or empty it"
        )
    digest = fingerprint(model)
    previous = _published(out)
    if previous.get("fingerprint") == digest and previous.get("pages", "").isdigit() and (out / "index.html").is_file():
        return int(previous["pages"])
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale([*out.parent.glob(f".{out.name}.building-*"), *out.parent.glob(f".{out.name}.old-*")])
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    reuse = None
    if memo is not None:
        reuse = Reuse(out, _remembered_pages(memo, previous.get("fingerprint", "")))
        memo.unlink(missing_ok=True)  # until the new site is in place, it describes no site
    try:
        mark_as_made(staging)
        pages = render(model, staging, on_page, reuse)
        (staging / MARKER).write_text(
            f"This folder was built by vsis and is replaced by the next build.\nfingerprint: {digest}\npages: {pages}\n"
        )
        os.chmod(staging, 0o755)
        unmark(staging)  # the site itself is marked by MARKER
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            mark_as_made(old)
            os.replace(out, old / "site")
            os.replace(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if memo is not None and reuse is not None:
        atomic_write(memo, json.dumps({"fingerprint": digest, "pages": reuse.fresh}).encode())
    return pages


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


def _replaceable(out: Path) -> bool:
    return not out.exists() or (out.is_dir() and (not any(out.iterdir()) or (out / MARKER).is_file()))


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
    sources = {rel: "/".join(src.split("/")[-3:]) for rel, src in model.extra_files.items()}
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
    plain = {**vars(model), "manifest": timeless, "extra_files": sources, "networks": networks, "datasets": datasets,
             "query": _query_plain(model.query)}  # fmt: skip
    h.update(json.dumps(plain, default=_plain, allow_nan=True, separators=(",", ":")).encode())
    h.update(theme_digest().encode())
    return h.hexdigest()


def _query_plain(query: QueryPage | None) -> object:
    """The query page with each network's arrays as a digest of their bytes (a museum's codes are 25
    million numbers, too many to write out as JSON) and its model by its file name, which the model's cache
    key makes (model_files.onnx_path), not by where the cache lies."""
    if query is None:
        return None
    networks = []
    for q in query.networks:
        h = hashlib.sha256()
        for array in (q.vectors.axes, q.vectors.levels, q.vectors.codes):
            h.update(f"{array.dtype}{array.shape}".encode() + np.ascontiguousarray(array).tobytes())
        network = {**vars(q.network), "model": q.network.model.name if q.network.model else None}
        vectors = {"arrays": h.hexdigest(), "recall": q.vectors.recall, "k": q.vectors.k, "queries": q.vectors.queries}
        networks.append({"network": network, "vectors": vectors})
    return {**vars(query), "networks": networks}


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

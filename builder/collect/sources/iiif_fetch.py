"""IIIF in: a manifest or collection (by URL, or a file the user names) becomes a folder of images and a
metadata file in the cache, which the build then scans as its collection.

Every document and image is fetched through the downloader (download.py): a bounded number of connections,
a deadline per attempt, retries with back-off, http(s) only. A file path is taken only as the top-level
argument: a collection that names a `file:` member (or any other scheme) has that member refused, not read.
Both are kept in the cache (CacheLayout: iiif/documents/ by URL, iiif/images/<source>/ by item id), so a
rebuild fetches nothing it has, and a stopped fetch resumes where it stopped; `refresh` fetches the documents
again (images whose URL is unchanged are kept; a document that cannot be fetched again is read as fetched
before). A document, canvas or image that cannot be had is one skipped entry with its URL and reason: it never
stops the others.

Items: one per canvas that paints an image, or one per manifest (its first such canvas). An item's id comes
from its canvas's (or manifest's) URI (sources/iiif.py: item_id), so it is the same from build to build. Its
category: a book's (a manifest of several images, an item per canvas) its manifest's label; any other's the
label of the collection that names its manifest, where the source has several collections.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from builder.cache import CacheLayout, atomic_write
from builder.collect.sources.download import Download, Outcome, Policy, download_all
from builder.collect.sources.iiif import Document, IiifError, Member, Picture, item_id, read_document, web_url
from builder.errors import VsisError
from builder.textfiles import parse_json, read_text

ITEM_RULES = ("canvas", "manifest")
MAX_DEPTH = 8  # collections within collections: deeper ones are reported, not read (a loop is caught anyway)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True)
class IiifSettings:
    """How a IIIF source is read: `source` a URL or file; `item` canvas or manifest; `size` the longer side
    asked of an Image API service; `language` preferred for text; `refresh` fetch the documents again."""

    source: str
    item: str = "canvas"
    size: int = 512
    language: str = "en"
    refresh: bool = False
    policy: Policy = field(default_factory=lambda: Policy(connections=4, timeout=30.0, retries=2))

    @property
    def key(self) -> str:
        """What names the source's image folder: the source and everything that changes which images it holds."""
        text = "|".join(("v1", self.source, self.item, str(self.size)))
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass
class FetchedSource:
    """What the build scans: the folder of images and their metadata file; what could not be had, with why."""

    root: Path
    metadata: Path
    label: str  # the top document's label: the site's name where no title is set
    skipped: list[tuple[str, str]]
    requests: int  # documents and images fetched over the network (0 on a rebuild with everything cached)


def _json_problem(path: Path) -> str:
    """What is wrong with a downloaded document ('' where it is a JSON object)."""
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as exc:
        return f"not JSON ({type(exc).__name__}: {str(exc)[:80]})"
    return "" if isinstance(data, dict) else "not a JSON object"


class _Reader:
    """Walks the source: documents fetched a level at a time (a level's at once), read, and their pictures
    gathered; each failure kept with the URI it concerns."""

    def __init__(self, settings: IiifSettings, cache_dir: Path, warn: Callable[[str], None]) -> None:
        self.settings, self.layout, self.warn = settings, CacheLayout(cache_dir), warn
        self.skipped: list[tuple[str, str]] = []
        self.requests = 0
        self.seen: set[str] = set()
        # each picture with its manifest's label (where the manifest has several) and its collection's
        self.found: list[tuple[Picture, str, str]] = []

    def fail(self, what: str, why: str) -> None:
        self.skipped.append((what, why))
        self.warn(f"IIIF: {what}: {why}; skipped")

    def top(self) -> Document:
        source = self.settings.source
        if web_url(source):
            (outcome,) = self._fetch([source])
            if outcome.status == "failed":
                raise VsisError(f"{source}: cannot fetch the IIIF manifest or collection: {outcome.reason}")
            data = json.loads(outcome.download.dest.read_bytes())
        elif _SCHEME.match(source) and not re.match(r"^[A-Za-z]:[\\/]", source):  # a URL, but not http(s)
            raise VsisError(f"{source}: a IIIF source is an http(s) URL or a file path")
        else:
            data = parse_json(read_text(Path(source), "IIIF manifest or collection"), Path(source))
        try:
            return read_document(data, source, self.settings.language)
        except IiifError as exc:
            raise VsisError(str(exc)) from None

    def _fetch(self, urls: list[str]) -> list[Outcome]:
        """The documents at `urls`, from the cache where it has them (unless refreshing): fetched at once."""
        jobs = [Download(url, self.layout.iiif_document(url), _json_problem) for url in urls]
        kept: dict[Path, Path] = {}  # refreshing: the copy held before, until the new one is in
        if self.settings.refresh:  # each document is fetched once a build: this is its first time
            for job in jobs:
                if job.dest.is_file():
                    kept[job.dest] = job.dest.with_name(f".{job.dest.name}.kept.tmp")
                    job.dest.replace(kept[job.dest])
        outcomes = download_all(jobs, self.settings.policy)
        self.requests += sum(o.attempts for o in outcomes)
        for n, outcome in enumerate(outcomes):
            before = kept.get(outcome.download.dest)
            if before is not None and outcome.status == "failed":  # the copy fetched before serves
                before.replace(outcome.download.dest)
                self.warn(f"IIIF: {outcome.download.url}: not fetched again ({outcome.reason}); the copy fetched "
                          "before is read")  # fmt: skip
                outcomes[n] = Outcome(outcome.download, "present", outcome.reason, outcome.attempts)
            elif before is not None:
                before.unlink(missing_ok=True)
        return outcomes

    def walk(self, top: Document) -> None:
        self.seen.add(top.id)
        self.seen.add(self.settings.source)
        level: list[tuple[Document, str]] = [(top, "")]
        depth = 0
        while level:
            wanted: list[tuple[Member, str]] = []
            for doc, parent in level:
                if doc.kind == "Manifest":
                    self._pictures(doc, parent)
                    continue
                for member in doc.members:
                    if member.id in self.seen and member.id:
                        continue
                    self.seen.add(member.id)
                    wanted.append((member, doc.label))
            depth += 1
            if wanted and depth > MAX_DEPTH:
                for member, _parent in wanted:
                    self.fail(member.id, f"collections nested more than {MAX_DEPTH} deep; not read")
                break
            level = self._documents(wanted)

    def _documents(self, wanted: list[tuple[Member, str]]) -> list[tuple[Document, str]]:
        """The members' documents: embedded ones as they are, the others fetched (all at once)."""
        out: list[tuple[Document, str]] = []
        refs = [(m, p) for m, p in wanted if m.embedded is None]
        for member, parent in wanted:
            if member.embedded is not None:
                self._read(member.embedded, member.id or "an embedded document", parent, out)
        for member, _parent in refs:
            if not web_url(member.id):
                self.fail(member.id or "a member without an id", "not an http(s) URL; not fetched")
        fetchable = [(m, p) for m, p in refs if web_url(m.id)]
        for (member, parent), outcome in zip(fetchable, self._fetch([m.id for m, _ in fetchable]), strict=True):
            if outcome.status == "failed":
                self.fail(member.id, f"cannot fetch the {member.kind.lower()}: {outcome.reason}")
                continue
            self._read(json.loads(outcome.download.dest.read_bytes()), member.id, parent, out)
        return out

    def _read(self, data: object, where: str, parent: str, out: list[tuple[Document, str]]) -> None:
        try:
            doc = read_document(data, where, self.settings.language)
        except IiifError as exc:
            self.fail(where, str(exc).removeprefix(f"{where}: "))
            return
        self.seen.add(doc.id)
        out.append((doc, parent))

    def _pictures(self, doc: Document, collection: str) -> None:
        for canvas, why in doc.without_image:
            if self.settings.item == "canvas":
                self.fail(canvas, why)
        if self.settings.item == "manifest":
            if not doc.pictures:
                self.fail(doc.id, "no canvas of the manifest paints an image it can fetch")
                return
            first = doc.pictures[0]
            record = {k: v for k, v in first.record.items() if k != "title"}
            if doc.label:
                record["title"] = doc.label
            first.record = record
            self.found.append((first, doc.label, collection))
            return
        book = doc.label if len(doc.pictures) > 1 else ""  # pages: their manifest is their category
        self.found.extend((p, book, collection) for p in doc.pictures)


def fetch_source(settings: IiifSettings, cache_dir: Path, warn: Callable[[str], None]) -> FetchedSource:
    """Read the source, fetch what is missing, and write the folder the build scans (see the module docstring).
    An error only where nothing can be read at all: the top-level document missing, unreadable or not IIIF."""
    if settings.item not in ITEM_RULES:
        raise VsisError(f"iiif item must be one of {', '.join(ITEM_RULES)}, got {settings.item!r}")
    reader = _Reader(settings, cache_dir, warn)
    top = reader.top()
    reader.walk(top)
    layout = CacheLayout(cache_dir)
    folder = layout.iiif_images(settings.key)
    records_file, fetched_file = layout.iiif_records(settings.key)
    folder.mkdir(parents=True, exist_ok=True)

    items: dict[str, tuple[Picture, str]] = {}  # id -> (picture, category)
    by_manifest = settings.item == "manifest"
    several = len({c for _p, _m, c in reader.found}) > 1
    for picture, manifest_label, collection in reader.found:
        key = item_id(picture.manifest if by_manifest else picture.canvas)
        book = "" if by_manifest else manifest_label
        items.setdefault(key, (picture, book or (collection if several else "")))
    got = _fetch_images({key: p for key, (p, _c) in items.items()}, settings, folder, fetched_file, reader)

    for stale in folder.glob("*.jpg"):  # images of items the source no longer has, or that failed this time
        if stale.stem not in got:
            stale.unlink(missing_ok=True)
    atomic_write(fetched_file, json.dumps(got, sort_keys=True).encode())
    records = [_record(key, *items[key]) for key in sorted(got)]
    atomic_write(records_file, json.dumps(records, ensure_ascii=False, indent=1).encode())
    return FetchedSource(folder, records_file, top.label, reader.skipped, reader.requests)


def _fetch_images(pictures: dict[str, Picture], settings: IiifSettings, folder: Path, fetched_file: Path,
                  reader: _Reader) -> dict[str, str]:  # fmt: skip
    """Each picture's image as `<id>.jpg` in `folder`: the one there kept where it came from one of the
    picture's URLs (fetched.json says which), else the service's URL at the size asked, then the annotation's
    image. Returns id -> the URL its image came from; the others are the reader's failures."""
    known = _read_fetched(fetched_file)
    got: dict[str, str] = {}
    pending: list[tuple[str, list[str]]] = []
    for key, picture in pictures.items():
        urls, dest = picture.urls(settings.size), folder / f"{key}.jpg"
        if known.get(key) in urls and dest.is_file():
            got[key] = known[key]  # vetted as an image below, with the others, without a request
        else:
            dest.unlink(missing_ok=True)  # fetched from a URL the source no longer gives, or never
        pending.append((key, urls))
    reasons: dict[str, list[str]] = {}
    for attempt in (0, 1):
        jobs = [(key, Download(got.get(key) or urls[attempt], folder / f"{key}.jpg"))
                for key, urls in pending if key in got or attempt < len(urls)]  # fmt: skip
        outcomes = download_all([job for _key, job in jobs], settings.policy)
        reader.requests += sum(o.attempts for o in outcomes)
        for (key, job), outcome in zip(jobs, outcomes, strict=True):
            if outcome.status == "failed":
                got.pop(key, None)
                reasons.setdefault(key, []).append(f"{job.url}: {outcome.reason}")
            else:
                got[key] = job.url
        pending = [(key, urls) for key, urls in pending if key not in got]
    for key, _urls in pending:
        picture = pictures[key]
        why = "; then ".join(reasons.get(key, ["no image URL"]))
        reader.fail(picture.canvas or picture.manifest, f"image not fetched ({why})")
    return got


def _record(key: str, picture: Picture, category: str) -> dict[str, str]:
    """The metadata record of a fetched image: its text, its category, and where it came from (SOURCE_KEYS)."""
    record: dict[str, str] = {}
    for label, value in picture.record.items():
        name = re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")
        if name in ("file", "category") or name.startswith("iiif_"):
            label = f"{label} (IIIF)"  # never taken for the join column, the category or the source
        record[label] = value
    if category:
        record["category"] = category
    service = picture.service
    record.update({
        "file": f"{key}.jpg",
        "iiif_manifest": picture.manifest,
        "iiif_canvas": picture.canvas,
        "iiif_service": service.id if service else "",
        "iiif_service_version": str(service.version) if service else "",
        "iiif_image": picture.image,
        "iiif_width": str(picture.width or ""),
        "iiif_height": str(picture.height or ""),
    })  # fmt: skip
    return record


def _read_fetched(path: Path) -> dict[str, str]:
    """Which URL each image in the folder was fetched from (empty where the note is missing or damaged)."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return (
        {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) else {}
    )

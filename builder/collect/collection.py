"""The collection: which images there are, their stable ids, categories and metadata.

Nothing here decodes an image; that is `inputs/images.py`. An item's id is derived from its path relative to
the collection root, so it stays the same from build to build and is safe in a URL.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import os
import re
import stat
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from builder.cache import FileFacts, sha256_of
from builder.collect.header import pixel_size
from builder.collect.sources import moma
from builder.errors import MetadataError, VsisError
from builder.ownership import owned_by_vsis, within_vsis_folder
from builder.terminal import shown
from builder.textfiles import parse_json, read_text

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})

# Metadata fields with a fixed meaning; every other column is kept as an extra.
STANDARD_FIELDS = ("title", "artist", "date", "medium", "dimensions", "url", "category")
# Columns tried, in order, to join a metadata record onto an image, when no key is configured.
# ... then the columns that published collection data joins on (sources/: MoMA's ObjectID).
# Columns taken as the category where there is none: published collection data's (sources/: MoMA's Classification)
CATEGORY_ALIASES = moma.CATEGORY_ALIASES
JOIN_COLUMNS = ("file", "filename", "file_name", "path", "image", "id", *moma.JOIN_ALIASES)


@dataclass
class Item:
    """One image of the collection."""

    id: str
    path: Path
    relpath: str  # posix path relative to the collection root
    category: str | None
    content_hash: str
    title: str
    artist: str = ""
    date: str = ""
    medium: str = ""
    dimensions: str = ""
    url: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    pixels: tuple[int, int] = (0, 0)  # (width, height) from the file's header; (0, 0): none could be read


@dataclass
class Collection:
    """The scanned collection: items sorted by id, plus what was passed over and why."""

    root: Path
    items: list[Item]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relpath, reason)
    metadata_file: Path | None = None
    unmatched_metadata: int = 0

    @property
    def categories(self) -> list[str]:
        return sorted({i.category for i in self.items if i.category})


def slugify(text: str) -> str:
    """ASCII, lower case, [a-z0-9_-] only: safe as a file name and in a URL on every platform."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9_]+", "-", ascii_text.lower()).strip("-_")
    return slug or "item"


# Ids name files in the site (compare/<id>.html, compare/<id>.webp): well under any file system's 255-byte
# limit on a name, whatever the length of the path they come from.
MAX_ID_LENGTH = 80


def _plain(rel: str, slug: str) -> bool:
    """Whether the path is its slug already (lower-case ASCII words joined by '-' or '_', folders by '/'):
    then no other name can slug to the same id except by a different suffix or by '/' in place of '-'."""
    return _without_suffix(rel).replace("/", "-") == slug


def _suffix(name: str) -> str:
    """PurePath(name).suffix, without making a path (a scan asks it of every file): a leading or final
    dot is not a suffix."""
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def _without_suffix(rel: str) -> str:
    """str(PurePosixPath(rel).with_suffix("")) for a file's relative posix path, without making a path."""
    folder, _, name = rel.rpartition("/")
    stem = name[: len(name) - len(_suffix(name))]
    return f"{folder}/{stem}" if folder else stem


def assign_ids(relpaths: Iterable[str]) -> dict[str, str]:
    """Map each relative path to a unique id, from that path alone, so that adding or removing other
    files never changes it.

    A path that is already in id form (`animals/cat-1.png`) has its slug as its id (`animals-cat-1`);
    any other (`animals/Cat 1.png`, `IMG_0001.JPG`, non-Latin names) has its slug and a suffix from a hash
    of the path (`animals-cat-1-3f2a9c`), since another file could slug alike. A long slug is cut, the
    hash suffix kept. The one exception: two paths both in id form that differ only by their file type or
    by '/' against '-' (`cat-1.png`, `cat-1.jpg`) both take a suffix while both exist.
    """
    ids: dict[str, str] = {}
    for rel in sorted(set(relpaths)):
        slug = slugify(_without_suffix(rel))
        ids[rel] = slug if _plain(rel, slug) and len(slug) <= MAX_ID_LENGTH else _suffixed(slug, rel, 6)
    by_id: dict[str, list[str]] = {}
    for rel, item_id in ids.items():
        by_id.setdefault(item_id, []).append(rel)
    for rels in by_id.values():
        if len(rels) > 1:
            for rel in rels:
                ids[rel] = _suffixed(slugify(_without_suffix(rel)), rel, 12)
    return ids


def _suffixed(slug: str, rel: str, digits: int) -> str:
    # the name's own bytes: a name that is not UTF-8 (Latin-1 from an old archive) comes from the file
    # system with its bytes escaped as surrogates, and two such names differ only there
    digest = hashlib.sha1(rel.encode("utf-8", "surrogateescape")).hexdigest()[:digits]
    return f"{slug[: MAX_ID_LENGTH - digits - 1].rstrip('-')}-{digest}"


def file_hash(path: Path) -> str:
    """sha256 of the file's bytes: the key of every cache entry derived from this image."""
    return identify(path).content_hash


def identify(path: Path) -> FileFacts:
    """The file's content hash and, from the same open file, the pixel size in its header."""
    with open_regular(path) as fh:
        digest = sha256_of(fh)
        fh.seek(0)
        return FileFacts(digest, *pixel_size(fh))


def find_images(
    root: Path, exclude: Iterable[Path] = (), follow_external_links: bool = False
) -> tuple[list[str], list[tuple[str, str]]]:
    """Relative posix paths of the image files under root (recursively), and what was passed over.

    Hidden files and folders are ignored, and so are the folders in `exclude` (the build's output and
    cache) and any site or cache vsis made (ownership.owned_by_vsis), so a build never reads its own
    output back as images. Only regular files are taken: a FIFO, device or socket with an image's name is
    reported, never opened. Symbolic links are followed within the collection (a folder once: a loop is
    reported); a link that leads outside the collection is reported and left out unless
    `follow_external_links`: whoever publishes a folder they did not make (an archive, a download) should
    not find a link to their home folder published with it.
    """
    found: list[str] = []
    skipped: list[tuple[str, str]] = []
    seen_dirs: set[tuple[int, int]] = set()
    real_root = root.resolve()
    excluded = {p.resolve() for p in exclude}

    def outside(path: Path) -> bool:
        return not follow_external_links and not path.resolve().is_relative_to(real_root)

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        here = Path(dirpath)
        folder = here.relative_to(root).as_posix()
        prefix = "" if folder == "." else f"{folder}/"
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen_dirs:
            dirnames[:] = []
            skipped.append((shown(here.relative_to(root).as_posix()), "folder already scanned (symlink loop)"))
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        kept = []
        for d in sorted(dirnames):
            sub = here / d
            if d.startswith(".") or sub.resolve() in excluded or owned_by_vsis(sub):
                continue
            if outside(sub):
                skipped.append((shown(sub.relative_to(root).as_posix()), "link to a folder outside the collection"))
                continue
            kept.append(d)
        dirnames[:] = kept
        for name in sorted(filenames):
            if name.startswith(".") or _suffix(name).lower() not in IMAGE_SUFFIXES:
                continue
            full, rel = os.path.join(dirpath, name), prefix + name  # strings: this runs per file
            if os.path.islink(full) and outside(Path(full)):  # only a link leaves a folder already vetted
                skipped.append((shown(rel), "link to a file outside the collection"))
                continue
            try:
                mode = os.stat(full).st_mode
            except OSError as exc:
                skipped.append((shown(rel), f"cannot read: {exc.strerror or exc}"))
                continue
            if not stat.S_ISREG(mode):
                skipped.append((shown(rel), f"not a regular file ({_kind(mode)})"))
                continue
            found.append(rel)
    return found, skipped


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "not a plain file"


def open_regular(path: Path) -> BinaryIO:
    """Open a file for reading only if it is a regular file: opened without blocking (a FIFO put in its
    place after the scan would otherwise wait forever for a writer), then checked."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"not a regular file ({_kind(mode)})", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _title_from_path(rel: str) -> str:
    stem = _without_suffix(rel.rpartition("/")[2])
    return re.sub(r"[_\s]+", " ", stem).strip() or stem


# --- metadata ---------------------------------------------------------------------------------------


def _norm_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", key.strip().lower()).strip("_")


def read_metadata(path: Path) -> list[dict[str, str]]:
    """Records from a CSV or JSON file, keys normalised to snake_case, values as strings.

    JSON may be a list of objects or an object of objects (keyed by file name or id). Lists inside a
    record (several artists, say) are joined with ", ".
    """
    text = read_text(path, "metadata file")
    if path.suffix.lower() == ".json":
        data = parse_json(text, path)
        if isinstance(data, dict):
            data = [{"file": k, **v} if isinstance(v, dict) else v for k, v in data.items()]
        if not isinstance(data, list):
            raise MetadataError(f"{path}: expected a list of records")
        records = []
        for n, rec in enumerate(data, 1):
            if not isinstance(rec, dict):
                raise MetadataError(f"{path}: record {n} is not an object")
            records.append({_norm_key(k): _as_text(v) for k, v in rec.items()})
        return records
    if path.suffix.lower() in (".csv", ".tsv"):
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        # newline="": line breaks inside quoted fields (and U+2028 or a form feed anywhere) stay in the field
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        try:
            rows = list(reader)
        except csv.Error as exc:
            raise MetadataError(f"{path}: malformed CSV at line {reader.line_num}: {exc}") from None
        if not rows:
            return []
        header = [_norm_key(h) for h in rows[0]]
        records = []
        for line, row in enumerate(rows[1:], 2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                raise MetadataError(f"{path}: line {line} has {len(row)} fields, the header has {len(header)}")
            records.append({h: v.strip() for h, v in zip(header, row, strict=False)})
        return records
    raise MetadataError(f"{path}: metadata must be .csv, .tsv or .json")


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_as_text(v) for v in value if v not in (None, ""))
    return str(value).strip()


def _join_column(records: list[dict[str, str]], key: str | None, path: Path) -> str:
    if key is not None:
        norm = _norm_key(key)
        if records and norm not in records[0]:
            raise MetadataError(f"{path}: join column '{key}' not found (columns: {', '.join(records[0])})")
        return norm
    columns = set().union(*(r.keys() for r in records)) if records else set()
    for candidate in JOIN_COLUMNS:
        if candidate in columns:
            return candidate
    raise MetadataError(f"{path}: no column to join on; name one of {', '.join(JOIN_COLUMNS)} or set metadata_key")


def _lookup_keys(rel: str, item_id: str) -> list[str]:
    name = rel.rpartition("/")[2]
    return [rel, rel.lower(), name, name.lower(), _without_suffix(rel), _without_suffix(name), item_id]


# A metadata value is shown on its image's page and on the pages of the images it neighbours (about 30
# places): a 10 MB title would make a 270 MB site. Longer values are cut here, with a warning.
MAX_FIELD_CHARS = 2000


def _bounded(text: str) -> str:
    """A metadata key or value as the site shows it: what is not text (a lone surrogate that JSON allows)
    replaced, at most MAX_FIELD_CHARS characters."""
    text = shown(text)
    return text if len(text) <= MAX_FIELD_CHARS else text[: MAX_FIELD_CHARS - 1] + "\u2026"


def _bounded_records(
    records: list[dict[str, str]], path: Path, warn: Callable[[str], None] | None
) -> list[dict[str, str]]:
    bounded = [{_bounded(k): _bounded(v) for k, v in rec.items()} for rec in records]
    cut = sum(len(v) > MAX_FIELD_CHARS for rec in records for v in rec.values())
    if cut and warn:
        warn(f"{shown(str(path))}: {cut} value(s) longer than {MAX_FIELD_CHARS:,} characters cut to that length")
    return bounded


def scan(
    root: Path,
    metadata: Path | None = None,
    metadata_key: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    identify: Callable[[Path], FileFacts] = identify,
    exclude: Iterable[Path] = (),
    follow_external_links: bool = False,
    fetched: bool = False,
) -> Collection:
    """Scan `root` for images, give each a stable id, read its hash and size and join its metadata.
    identify: how a file's facts are had (the build passes one that remembers unchanged files). exclude
    and follow_external_links: see find_images. A folder inside a site or cache vsis made is refused: what
    such a folder holds is vsis' own output, and scanning it would publish thumbnails as images.

    Names are kept as the bytes they are: an item's `path` opens the file whatever its encoding, its id
    comes from the name's bytes, and its `relpath` and title show what is not UTF-8 as U+FFFD."""
    if not root.exists():
        raise VsisError(f"{shown(str(root))}: collection folder not found")
    if not root.is_dir():
        raise VsisError(f"{shown(str(root))}: not a folder")
    holder = within_vsis_folder(root)
    if holder is not None and not fetched:  # fetched: the images a source put in the cache (sources/iiif_fetch.py)
        raise VsisError(
            f"{shown(str(root))}: inside a site or cache that vsis made ({shown(str(holder))}); "
            "its files are vsis' output, not a collection"
        )
    relpaths, skipped = find_images(root, exclude, follow_external_links)
    if not relpaths:
        raise VsisError(f"{shown(str(root))}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    ids = assign_ids(relpaths)
    has_folders = any("/" in rel for rel in relpaths)

    records: list[dict[str, str]] = []
    by_key: dict[str, dict[str, str]] = {}
    column = ""
    if metadata is not None:
        given = read_metadata(metadata)
        column = _join_column(given, metadata_key, metadata)
        records = _bounded_records(given, metadata, warn)
        for original, rec in zip(given, records, strict=True):
            # joined by the name as given, not as shown: two names that differ in bytes that are not UTF-8
            # show alike, and JSON can name each by its own (as \udcXX escapes)
            value = original.get(column, "").replace("\\", "/").strip()
            if not value:
                continue
            if value.startswith("/") or ".." in value.split("/"):
                if warn:
                    warn(f"{shown(str(metadata))}: record '{shown(value)}' names a file outside the collection; "
                         "ignored")  # fmt: skip
                continue
            by_key.setdefault(value, rec)
            by_key.setdefault(value.lower(), rec)

    items: list[Item] = []
    used: set[int] = set()
    for n, raw in enumerate(relpaths, 1):
        path, rel = root / raw, shown(raw)
        try:
            facts = identify(path)
        except OSError as exc:
            skipped.append((rel, f"cannot read: {exc.strerror or exc}"))
            if warn:
                warn(f"{shown(str(path))}: cannot read ({exc.strerror or exc}); skipped")
            continue
        rec = next((by_key[k] for k in _lookup_keys(raw, ids[raw]) if k in by_key), {})
        if rec:
            used.add(id(rec))
        category = (
            rec.get("category")
            or next((rec[c] for c in CATEGORY_ALIASES if rec.get(c)), None)
            or (rel.rpartition("/")[0].rpartition("/")[2] if has_folders and "/" in rel else None)
        )
        items.append(
            Item(
                id=ids[raw],
                path=path,
                relpath=rel,
                category=category or None,
                content_hash=facts.content_hash,
                title=rec.get("title") or _title_from_path(rel),
                artist=rec.get("artist", ""),
                date=rec.get("date", ""),
                medium=rec.get("medium", ""),
                dimensions=rec.get("dimensions", ""),
                url=rec.get("url", ""),
                # a column taken as the category (MoMA's classification) is shown as the category only
                extra={
                    k: v
                    for k, v in rec.items()
                    if k not in STANDARD_FIELDS and k != column and v and not (k in CATEGORY_ALIASES and v == category)
                },  # fmt: skip
                pixels=(facts.width, facts.height),
            )
        )
        if on_progress:
            on_progress(n, len(relpaths))
    items.sort(key=lambda i: i.id)
    return Collection(
        root=root,
        items=items,
        skipped=skipped,
        metadata_file=metadata,
        unmatched_metadata=sum(1 for r in records if id(r) not in used),
    )

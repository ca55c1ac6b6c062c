"""The collection: which images there are, their stable ids, categories and metadata.

Nothing here decodes an image; that is `images.py`. An item's id is derived from its path relative to
the collection root, so it stays the same from build to build and is safe in a URL.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable

from .errors import MetadataError, VsisError
from .textfiles import parse_json, read_text

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"})

# Metadata fields with a fixed meaning; every other column is kept as an extra.
STANDARD_FIELDS = ("title", "artist", "date", "medium", "dimensions", "url", "category")
# Columns tried, in order, to join a metadata record onto an image, when no key is configured.
JOIN_COLUMNS = ("file", "filename", "file_name", "path", "image", "id", "objectid")  # objectid: MoMA


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
    """ASCII, lower case, [a-z0-9-] only: safe as a file name and in a URL on every platform."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or "item"


def assign_ids(relpaths: Iterable[str]) -> dict[str, str]:
    """Map each relative path to a unique id.

    The id is the slug of the path without its suffix. Where slugs collide, the path that sorts first
    keeps the plain slug and each other gets a suffix from a hash of its own path, so the result does not
    depend on the order files were found in.
    """
    by_slug: dict[str, list[str]] = {}
    for rel in sorted(relpaths):
        by_slug.setdefault(slugify(str(PurePosixPath(rel).with_suffix(""))), []).append(rel)
    ids: dict[str, str] = {}
    taken = set(by_slug)
    for slug, rels in by_slug.items():
        ids[rels[0]] = slug
        for rel in rels[1:]:
            digest = hashlib.sha1(rel.encode("utf-8")).hexdigest()
            n = 6
            while f"{slug}-{digest[:n]}" in taken:
                n += 2
            ids[rel] = f"{slug}-{digest[:n]}"
            taken.add(ids[rel])
    return ids


def file_hash(path: Path) -> str:
    """sha256 of the file's bytes: the key of every cache entry derived from this image."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_images(root: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Relative posix paths of the image files under root (recursively), and what was passed over.

    Hidden files and folders are ignored; symlinked folders are followed once (a loop is not).
    """
    found: list[str] = []
    skipped: list[tuple[str, str]] = []
    seen_dirs: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen_dirs:
            dirnames[:] = []
            skipped.append((Path(dirpath).relative_to(root).as_posix(), "folder already scanned (symlink loop)"))
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            found.append((Path(dirpath) / name).relative_to(root).as_posix())
    return found, skipped


def _title_from_path(rel: str) -> str:
    stem = PurePosixPath(rel).stem
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
        reader = csv.reader(text.splitlines(), delimiter=delimiter, strict=True)
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
            records.append({h: v.strip() for h, v in zip(header, row)})
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
    raise MetadataError(
        f"{path}: no column to join on; name one of {', '.join(JOIN_COLUMNS)} or set metadata_key"
    )


def _lookup_keys(rel: str, item_id: str) -> list[str]:
    p = PurePosixPath(rel)
    return [rel, rel.lower(), p.name, p.name.lower(), str(p.with_suffix("")), p.stem, item_id]


def scan(
    root: Path,
    metadata: Path | None = None,
    metadata_key: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    warn: Callable[[str], None] | None = None,
    hash_file: Callable[[Path], str] = file_hash,
) -> Collection:
    """Scan `root` for images, give each a stable id, hash it and join its metadata. hash_file: how a
    file's content hash is had (the build passes one that remembers unchanged files)."""
    if not root.exists():
        raise VsisError(f"{root}: collection folder not found")
    if not root.is_dir():
        raise VsisError(f"{root}: not a folder")
    relpaths, skipped = find_images(root)
    if not relpaths:
        raise VsisError(f"{root}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    ids = assign_ids(relpaths)
    has_folders = any("/" in rel for rel in relpaths)

    records: list[dict[str, str]] = []
    by_key: dict[str, dict[str, str]] = {}
    column = ""
    if metadata is not None:
        records = read_metadata(metadata)
        column = _join_column(records, metadata_key, metadata)
        for rec in records:
            value = rec.get(column, "").replace("\\", "/").strip()
            if not value:
                continue
            if value.startswith("/") or ".." in PurePosixPath(value).parts:
                if warn:
                    warn(f"{metadata}: record '{value}' names a file outside the collection; ignored")
                continue
            by_key.setdefault(value, rec)
            by_key.setdefault(value.lower(), rec)

    items: list[Item] = []
    used: set[int] = set()
    for n, rel in enumerate(relpaths, 1):
        path = root / rel
        try:
            digest = hash_file(path)
        except OSError as exc:
            skipped.append((rel, f"cannot read: {exc.strerror or exc}"))
            if warn:
                warn(f"{path}: cannot read ({exc.strerror or exc}); skipped")
            continue
        rec = next((by_key[k] for k in _lookup_keys(rel, ids[rel]) if k in by_key), {})
        if rec:
            used.add(id(rec))
        # MoMA's records name the kind of work "Classification": the category where none is given
        category = (rec.get("category") or rec.get("classification")
                    or (PurePosixPath(rel).parent.name if has_folders and "/" in rel else None))
        items.append(
            Item(
                id=ids[rel],
                path=path,
                relpath=rel,
                category=category or None,
                content_hash=digest,
                title=rec.get("title") or _title_from_path(rel),
                artist=rec.get("artist", ""),
                date=rec.get("date", ""),
                medium=rec.get("medium", ""),
                dimensions=rec.get("dimensions", ""),
                url=rec.get("url", ""),
                extra={k: v for k, v in rec.items() if k not in STANDARD_FIELDS and k != column and v},
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

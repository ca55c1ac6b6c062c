"""The cache: its layout (CacheLayout, the one place a path in it is composed) and its stores, each entry
written atomically (a kill at any moment leaves no half-written entry) and vetted when read, a damaged one
said in one way (damaged_entry) and computed again.

The stores: EntryStore (keyed entries of arrays or JSON, versioned: the search's memo, the map's layouts and
clusters, the compact vectors), FeatureStore (a vector per image, packed), BlobStore (bytes per key: the
thumbnails and atlases) and HashCache (each file's facts by its path and times).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np

T = TypeVar("T")


@dataclass(frozen=True)
class CacheLayout:
    """What lies where in the cache folder `root`: every store's folder and every file vsis keeps there is
    named here and nowhere else (tests/test_cache_kit.py holds the other modules to it). The cache's tag and
    lock files (ownership.py: CACHE_TAG, cache_lock) are the exception: they say whose the folder is, and are
    read before any store is.

        features/<key>/           FeatureStore: a vector per image, per network configuration (the key)
        tags/<key>/               FeatureStore: a tagging network's top classes per image, per configuration
        models/<name>             exported and quantized ONNX models (features/runtime/model_files.py)
        thumbs/<settings>/        BlobStore: a thumbnail per image, per size, format and decoding
        atlases/<settings>/       BlobStore: the map's atlases, per geometry and format
        neighbours/               EntryStore: the search's lists, cells and recall; neighbours/cells/: the
                                  cells last used per network, for the next build to continue from
        layouts/                  EntryStore: the map's layouts and clusters
        compact/                  EntryStore: the compact vectors of search by image
        hashes.json               HashCache: each file's facts by its path and times
        site-pages/<out>.json     what the site at <out> was rendered from (site/publish.py)
        iiif/documents/<url>.json IIIF manifests and collections fetched, by their URL's hash
        iiif/images/<source>/     the images of one IIIF source, its records.json and fetched.json
    """

    root: Path

    @property
    def all_features(self) -> Path:
        """The folder of every configuration's features."""
        return self.root / "features"

    def features(self, key: str) -> Path:
        return self.all_features / key

    @property
    def all_tags(self) -> Path:
        """The folder of every tagging configuration's top classes (features/tags.py)."""
        return self.root / "tags"

    def tags(self, key: str) -> Path:
        return self.all_tags / key

    @property
    def models(self) -> Path:
        return self.root / "models"

    def model(self, name: str) -> Path:
        return self.models / name

    @property
    def all_thumbs(self) -> Path:
        return self.root / "thumbs"

    def thumbs(self, settings: str) -> Path:
        return self.all_thumbs / settings

    def atlases(self, settings: str) -> Path:
        return self.root / "atlases" / settings

    @property
    def neighbours(self) -> Path:
        return self.root / "neighbours"

    @property
    def layouts(self) -> Path:
        return self.root / "layouts"

    @property
    def compact(self) -> Path:
        return self.root / "compact"

    @property
    def hashes(self) -> Path:
        return self.root / "hashes.json"

    def page_memo(self, out: Path) -> Path:
        """Where what the site at `out` was rendered from is remembered: a file per site folder, named by its
        resolved path's bytes (a path need not be UTF-8)."""
        return self.root / "site-pages" / f"{hashlib.sha256(os.fsencode(out.resolve())).hexdigest()[:16]}.json"

    @property
    def iiif_documents(self) -> Path:
        return self.root / "iiif" / "documents"

    def iiif_document(self, url: str) -> Path:
        """Where a IIIF manifest or collection fetched from `url` is kept (collect/sources/iiif_fetch.py)."""
        key = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return self.iiif_documents / f"{key}.json"

    def iiif_images(self, source: str) -> Path:
        """The folder of the images of one IIIF source, named by a key of the source and how it is read: what
        the build scans as its collection."""
        return self.root / "iiif" / "images" / source

    def iiif_records(self, source: str) -> tuple[Path, Path]:
        """The metadata file of one IIIF source's images (a record per image, joined by file name), and the
        note of the URL each image was fetched from (an image whose URL changed is fetched again)."""
        return self.iiif_images(source) / "records.json", self.iiif_images(source) / "fetched.json"

    @property
    def litter_folders(self) -> tuple[Path, ...]:
        """The folders a killed build may leave temporary files in (remove_litter)."""
        return (self.root, self.models, self.all_thumbs, self.iiif_documents)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path in the target's folder to write the file at, renamed over the target when the block
    ends without an error, and removed when it does not: a kill leaves at most a hidden .tmp file (which a
    build holding the cache's lock removes: remove_litter)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise with_filename(exc, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename over the target."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def sha256_of(stream: BinaryIO) -> str:
    """The sha256 of everything left to read in `stream`, read in 4 MB chunks."""
    h = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 22), b""):
        h.update(chunk)
    return h.hexdigest()


def with_filename(exc: OSError, path: Path) -> OSError:
    """The error, naming `path` if it names no file (a failed write does not): so that 'No space left on
    device' says where."""
    if exc.filename is None and exc.errno is not None:
        return type(exc)(exc.errno, exc.strerror, str(path))
    return exc


def remove_litter(cache_dir: Path) -> None:
    """Temporary files and folders that builds killed part-way left in the cache's own folders (atomic
    writes, exports, quantizations, the model child's scratch). Called with the cache's lock held, when no
    other build can be writing them. The feature folders are left alone: there a killed build leaves at most
    one batch of small files, and walking 100,000 entries at every build would cost more."""
    for folder in CacheLayout(cache_dir).litter_folders:
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.name.startswith(".") and entry.name.endswith(".tmp") and entry.is_file():
                entry.unlink(missing_ok=True)
            elif entry.name.startswith((".quantize-", "vsis-model-")) and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)


class BadEntry(Exception):
    """A cache entry that cannot be what was written there (truncated, garbled, of another shape)."""


def damaged_entry(path: Path | str, why: str) -> str:
    """What every store says of a damaged entry, which it then computes again."""
    return f"{path}: damaged cache entry ({why}); computed again"


def versioned_key(version: str, *parts: str, data: bytes = b"") -> str:
    """The sha256 of the version and the parts joined by '|', then of `data`: an entry's key, which a
    change of version (the code that computes the entry changed its results) moves elsewhere."""
    h = hashlib.sha256("|".join((version, *parts)).encode())
    h.update(data)
    return h.hexdigest()


class EntryStore:
    """Results remembered by a key of what they depend on (the search's lists, cells and recall, the map's
    layouts and clusters, the compact vectors of search by image), one file an entry under root: a few named
    arrays in a .npz file (get, put, read, remembered), or a small JSON value (read_json, put_json), written
    atomically. An entry that cannot be read, or that the caller's `check` or `convert` refuses (raising
    anything: BadEntry, ValueError, a missing name), is said once through `on_bad` (damaged_entry) and counts
    as missing, so it is computed again (and written over). root None: nothing is remembered.

    version: part of every key made by `key`, so entries of another version are never read. suffix: the
    entries' file ending (each kind of entry has its own: with_suffix). sharded: entries lie in a folder
    per the key's first two characters (a store of few entries lies flat: sharded False)."""

    def __init__(
        self,
        root: Path | None,
        on_bad: Callable[[str], None] | None = None,
        *,
        version: str = "",
        suffix: str = ".npz",
        sharded: bool = True,
    ) -> None:
        self.root = root
        self.on_bad = on_bad
        self.version = version
        self.suffix = suffix
        self.sharded = sharded

    def with_suffix(self, suffix: str) -> EntryStore:
        """Another kind of entry beside these (the same folder, version and reporting), ending in `suffix`."""
        return EntryStore(self.root, self.on_bad, version=self.version, suffix=suffix, sharded=self.sharded)

    def sub(self, name: str, *, suffix: str = ".npz", sharded: bool = False) -> EntryStore:
        """A store in the sub-folder `name` (not remembering where this one does not)."""
        root = None if self.root is None else self.root / name
        return EntryStore(root, self.on_bad, version=self.version, suffix=suffix, sharded=sharded)

    def key(self, *parts: str, data: bytes = b"") -> str:
        return versioned_key(self.version, *parts, data=data)

    def path(self, key: str) -> Path:
        assert self.root is not None
        folder = self.root / key[:2] if self.sharded else self.root
        return folder / f"{key}{self.suffix}"

    def has(self, key: str) -> bool:
        """An entry is there (not vetted: read says whether it is sound)."""
        return self.root is not None and self.path(key).is_file()

    def _load(self, key: str, parse: Callable[[Path], Any], convert: Callable[[Any], T]) -> T | None:
        if not self.has(key):
            return None
        path = self.path(key)
        try:
            return convert(parse(path))
        except Exception as exc:  # noqa: BLE001 - zipfile, numpy, JSON, EOF, a missing name, the check: all mean damaged
            if self.on_bad:
                self.on_bad(damaged_entry(path, f"{type(exc).__name__}: {exc}"))
            return None

    def read(self, key: str, convert: Callable[[dict[str, np.ndarray]], T]) -> T | None:
        """The entry's arrays made into what they hold by `convert` (which raises where they cannot be)."""
        return self._load(key, _load_arrays, convert)

    def get(
        self, key: str, check: Callable[[dict[str, np.ndarray]], None] | None = None
    ) -> dict[str, np.ndarray] | None:
        """The entry's arrays by name, `check`ed (which raises where they are not what was written)."""

        def checked(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            if check is not None:
                check(arrays)
            return arrays

        return self.read(key, checked)

    def put(self, key: str, /, **arrays: np.ndarray) -> None:
        if self.root is None:
            return
        named: dict[str, Any] = dict(arrays)  # (numpy's stubs would read a name as one of savez's own options)
        with atomic_path(self.path(key)) as tmp, tmp.open("wb") as fh:
            np.savez(fh, **named)

    def read_json(self, key: str, convert: Callable[[Any], T]) -> T | None:
        """The entry's JSON value made into what it holds by `convert` (which raises where it cannot be)."""
        return self._load(key, lambda path: json.loads(path.read_bytes()), convert)

    def put_json(self, key: str, value: object) -> None:
        if self.root is None:
            return
        with atomic_path(self.path(key)) as tmp:
            tmp.write_bytes(json.dumps(value).encode())

    def remembered(
        self,
        key: str,
        compute: Callable[[], T],
        convert: Callable[[dict[str, np.ndarray]], T],
        arrays: Callable[[T], dict[str, np.ndarray]],
    ) -> T:
        """The entry of `key` made into a result by `convert`; where there is none sound, `compute`d and
        remembered as its `arrays`."""
        found = self.read(key, convert)
        if found is None:
            found = compute()
            self.put(key, **arrays(found))
        return found


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def _discard(path: Path, why: str, on_bad: Callable[[str], None] | None) -> None:
    path.unlink(missing_ok=True)
    if on_bad:
        on_bad(damaged_entry(path, why))


def _check_rows(matrix: np.ndarray, dim: int | None, n: int, check: Callable[[np.ndarray], None]) -> None:
    """Raise BadEntry unless `matrix` is n float32 rows of `dim`, finite, and each block passes `check`."""
    if (
        matrix.dtype != np.float32
        or matrix.ndim != 2
        or matrix.shape[0] != n
        or (dim is not None and matrix.shape[1] != dim)
    ):
        raise BadEntry(f"{matrix.dtype} array of shape {matrix.shape}, expected float32 ({n}, {dim})")
    for start in range(0, n, 65536):  # in blocks: a memory-mapped pack is vetted without loading it whole
        block = np.asarray(matrix[start : start + 65536])
        if not np.isfinite(block).all():
            raise BadEntry("not finite")
        check(block)


def _check_unit(block: np.ndarray) -> None:
    """Features: each row of unit length, or all zero."""
    norms = np.linalg.norm(block, axis=1)
    bad = (norms != 0.0) & (np.abs(norms - 1.0) > 1e-3)
    if bad.any():
        raise BadEntry(f"length {norms[bad][0]:.4f}, expected 1")


class FeatureStore:
    """One float32 vector per image content hash, for one network configuration (its cache key). Every
    vector read is checked to be what extraction writes: `dim` float32 values, finite, of unit length (or
    all zero); `valid` discards one that is not (and says so through `on_bad`), so it is extracted again.

    Vectors are written one file each as they are extracted (a killed build loses at most a batch), then
    `pack` gathers them into one matrix file, read memory-mapped: a rebuild of 100,000 images opens one file
    per network instead of 100,000, and vets the matrix whole, by vector operations. The pack's rows are in
    the order first packed (a collection's order), so reading a collection as it was packed copies nothing."""

    PACK = "packed.json"

    def __init__(
        self,
        cache_dir: Path,
        key: str,
        dim: int | None = None,
        on_bad: Callable[[str], None] | None = None,
        check: Callable[[np.ndarray], None] | None = None,
        tags: bool = False,
    ) -> None:
        layout = CacheLayout(cache_dir)
        self.root = layout.tags(key) if tags else layout.features(key)
        self.dim = dim
        self.on_bad = on_bad
        # what a row must be beyond `dim` finite float32 values (raise BadEntry): of unit length or zero, unless
        # the store holds other rows (`tags`: a tagging network's top classes, features/tags.py)
        self.check = check or _check_unit
        self._packed: tuple[np.ndarray, dict[str, int]] | None = None

    def _path(self, content_hash: str) -> Path:
        return self.root / content_hash[:2] / f"{content_hash}.npy"

    def _pack(self) -> tuple[np.ndarray, dict[str, int]]:
        """(matrix, hash -> row) of the pack, empty when there is none; a damaged pack is removed."""
        if self._packed is None:
            self._packed = self._open_pack()
        return self._packed

    def _open_pack(self) -> tuple[np.ndarray, dict[str, int]]:
        empty: tuple[np.ndarray, dict[str, int]] = (np.zeros((0, self.dim or 0), dtype=np.float32), {})
        index = self.root / self.PACK
        if not index.is_file():
            return empty
        try:
            meta = json.loads(index.read_text(encoding="utf-8"))
            keys, matrix = meta["keys"], np.load(self.root / meta["matrix"], mmap_mode="r", allow_pickle=False)
            _check_rows(matrix, self.dim, len(keys), self.check)
        except (OSError, ValueError, KeyError, TypeError, EOFError, BadEntry) as exc:
            for matrix_file in self.root.glob("packed-*.npy"):
                matrix_file.unlink(missing_ok=True)
            _discard(index, f"packed features: {exc}; every vector in it", self.on_bad)
            return empty
        return matrix, {h: row for row, h in enumerate(keys)}

    def has(self, content_hash: str) -> bool:
        return content_hash in self._pack()[1] or self._path(content_hash).is_file()

    def valid(self, content_hash: str) -> bool:
        """Present and sound; a damaged entry is removed."""
        if content_hash in self._pack()[1]:
            return True  # the pack was vetted whole when opened
        if not self._path(content_hash).is_file():
            return False
        try:
            self.get(content_hash)
        except BadEntry as exc:
            _discard(self._path(content_hash), str(exc), self.on_bad)
            return False
        return True

    def get(self, content_hash: str) -> np.ndarray:
        matrix, rows = self._pack()
        if content_hash in rows:
            return np.array(matrix[rows[content_hash]])
        path = self._path(content_hash)
        try:
            vector = np.load(path, allow_pickle=False)
        except FileNotFoundError:
            raise
        except (OSError, ValueError, EOFError) as exc:
            raise BadEntry(f"unreadable: {exc}") from None
        if vector.ndim != 1:
            raise BadEntry(f"{vector.dtype} array of shape {vector.shape}, expected float32 ({self.dim},)")
        _check_rows(vector[None, :], self.dim, 1, self.check)
        return vector

    def matrix(self, hashes: list[str]) -> np.ndarray:
        """The vectors of `hashes`, in order, as one (n, dim) float32 matrix: the pack itself, memory-mapped,
        when it holds exactly these in this order; else gathered from the pack and the single files."""
        matrix, rows = self._pack()
        if len(hashes) == len(rows) and all(rows.get(h) == i for i, h in enumerate(hashes)):
            return matrix
        out = np.empty((len(hashes), self.dim or matrix.shape[1]), dtype=np.float32)
        at = np.array([rows.get(h, -1) for h in hashes], dtype=np.int64)
        packed = at >= 0
        out[packed] = matrix[at[packed]]
        for i in np.flatnonzero(~packed):
            out[i] = self.get(hashes[i])
        return out

    def pack(self, hashes: list[str]) -> None:
        """Gather the single files among `hashes` into a new pack (the old pack's rows first, then these in
        the order given), then remove those files. Nothing to do when all are packed already."""
        matrix, rows = self._pack()
        loose = [h for h in dict.fromkeys(hashes) if h not in rows and self.valid(h)]  # a damaged file: dropped
        if not loose:
            return
        vectors = np.stack([self.get(h) for h in loose]).astype(np.float32)
        keys = [*rows, *loose]
        data = np.concatenate([np.asarray(matrix, dtype=np.float32).reshape(-1, vectors.shape[1]), vectors])
        name = f"packed-{hashlib.sha256(chr(10).join(keys).encode()).hexdigest()[:16]}.npy"
        with atomic_path(self.root / name) as tmp, tmp.open("wb") as fh:
            np.save(fh, data, allow_pickle=False)
        atomic_write(self.root / self.PACK, json.dumps({"matrix": name, "keys": keys}).encode())
        for old in self.root.glob("packed-*.npy"):
            if old.name != name:
                old.unlink(missing_ok=True)
        for h in loose:
            self._path(h).unlink(missing_ok=True)
        self._packed = None

    def put(self, content_hash: str, vector: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, np.asarray(vector, dtype=np.float32), allow_pickle=False)
        atomic_write(self._path(content_hash), buf.getvalue())

    @staticmethod
    def clear_all(cache_dir: Path, key_prefix: str) -> None:
        """Drop the vectors of every configuration whose key starts with key_prefix (the folders are the
        cache's own, never the user's)."""
        layout = CacheLayout(cache_dir)
        for root in [*layout.all_features.glob(f"{key_prefix}*"), *layout.all_tags.glob(f"{key_prefix}*")]:
            shutil.rmtree(root, ignore_errors=True)


def stored_name(location: str) -> str:
    """What names a BlobStore entry's bytes wherever the cache lies: the last three parts of its location (the
    store's folder, named for its settings, then the entry's key)."""
    return "/".join(location.split("/")[-3:])


class BlobStore:
    """Bytes per key under a folder, e.g. thumbnails per content hash and size. `check` (bytes -> what is
    wrong, or '') vets an entry in `has`: a damaged one is removed (and said through `on_bad`), so it is
    made again rather than published."""

    def __init__(
        self,
        root: Path,
        suffix: str,
        check: Callable[[bytes], str] | None = None,
        on_bad: Callable[[str], None] | None = None,
    ) -> None:
        self.root = root
        self.suffix = suffix
        self.check = check
        self.on_bad = on_bad

    def path(self, key: str) -> Path:
        return Path(self.location(key))

    def location(self, key: str) -> str:
        """path() as a string: asked of every image on every build, where making a Path costs more than the
        rest of the question."""
        return f"{self.root}/{key[:2]}/{key}{self.suffix}"

    def has(self, key: str) -> bool:
        """Whether a sound entry is there (asked of every image on every build: string paths, no Path)."""
        path = self.location(key)
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return False
        except OSError:
            return False
        if self.check is not None:
            try:
                with open(path, "rb") as fh:
                    wrong = self.check(fh.read())
            except OSError as exc:
                wrong = f"unreadable: {exc.strerror or exc}"
            if wrong:
                _discard(Path(path), wrong, self.on_bad)
                return False
        return True

    def put(self, key: str, data: bytes) -> None:
        atomic_write(self.path(key), data)


@dataclass(frozen=True)
class FileFacts:
    """What the scan learns of a file by reading it: its content hash (the key of every cache entry derived
    from it) and its pixel size from the header ((0, 0) where there is none to read)."""

    content_hash: str
    width: int = 0
    height: int = 0


class HashCache:
    """A file's facts (FileFacts), remembered by its path, size, modification time, inode and change time,
    so an unchanged collection is not read again on every build. A changed file changes one of those and is
    read anew: an image rewritten in place with its size and modification time put back (as some tools and
    `touch -r` do) still changes its change time, which no user program can set."""

    VERSION = 2

    def __init__(
        self, path: Path, identify: Callable[[Path], FileFacts], on_bad: Callable[[str], None] | None = None
    ) -> None:
        self.path = path
        self.identify = identify
        self.entries: dict[str, list[object]] = {}
        self.fresh: dict[str, list[object]] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == self.VERSION:  # another version's: read everything, say nothing
                self.entries = data["files"]
                if not isinstance(self.entries, dict):
                    raise TypeError(f"files: {type(self.entries).__name__}, expected an object")
        except FileNotFoundError:
            pass  # no cache yet: read everything
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self.entries = {}  # an unreadable one: read everything (written anew by save)
            if on_bad:
                on_bad(damaged_entry(path, f"{type(exc).__name__}: {exc}"))

    def __call__(self, file: Path) -> FileFacts:
        st = file.stat()
        stamp: list[object] = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]
        key = os.path.abspath(file)
        known = self.entries.get(key)
        facts = _remembered_facts(known[len(stamp) :]) if known is not None and known[: len(stamp)] == stamp else None
        if facts is None:
            facts = self.identify(file)
        self.fresh[key] = [*stamp, facts.content_hash, facts.width, facts.height]
        return facts

    def save(self) -> None:
        """Keep the files seen in this scan (entries for files gone are dropped)."""
        if self.fresh != self.entries:
            data = {"version": self.VERSION, "files": self.fresh}
            atomic_write(self.path, json.dumps(data, sort_keys=True).encode())


def _remembered_facts(fields: list[object]) -> FileFacts | None:
    """The facts of a remembered entry, or None when they are not what `HashCache` writes."""
    if len(fields) != 3:
        return None
    digest, width, height = fields
    if not (isinstance(digest, str) and isinstance(width, int) and isinstance(height, int)):
        return None
    return FileFacts(digest, width, height)

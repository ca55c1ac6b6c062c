"""Small on-disk caches, written atomically: a kill at any moment leaves no half-written entry."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class FeatureStore:
    """One float32 vector per image content hash, for one network configuration (its cache key)."""

    def __init__(self, cache_dir: Path, key: str) -> None:
        self.root = cache_dir / "features" / key

    def _path(self, content_hash: str) -> Path:
        return self.root / content_hash[:2] / f"{content_hash}.npy"

    def has(self, content_hash: str) -> bool:
        return self._path(content_hash).is_file()

    def get(self, content_hash: str) -> np.ndarray:
        return np.load(self._path(content_hash), allow_pickle=False)

    def put(self, content_hash: str, vector: np.ndarray) -> None:
        buf = io.BytesIO()
        np.save(buf, np.asarray(vector, dtype=np.float32), allow_pickle=False)
        atomic_write(self._path(content_hash), buf.getvalue())

    @staticmethod
    def clear_all(cache_dir: Path, key_prefix: str) -> None:
        """Drop the vectors of every configuration whose key starts with key_prefix (the folders are the
        cache's own, never the user's)."""
        for root in (cache_dir / "features").glob(f"{key_prefix}*"):
            shutil.rmtree(root, ignore_errors=True)


class BlobStore:
    """Bytes per key under a folder, e.g. thumbnails per content hash and size."""

    def __init__(self, root: Path, suffix: str) -> None:
        self.root = root
        self.suffix = suffix

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{self.suffix}"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def put(self, key: str, data: bytes) -> None:
        atomic_write(self.path(key), data)


class HashCache:
    """A file's content hash, remembered by its path, size, modification time and inode, so an unchanged
    collection is not read again on every build. A changed file changes one of those and is hashed anew."""

    VERSION = 1

    def __init__(self, path: Path, hash_file: Callable[[Path], str]) -> None:
        self.path = path
        self.hash_file = hash_file
        self.entries: dict[str, list[object]] = {}
        self.fresh: dict[str, list[object]] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == self.VERSION:
                self.entries = data["files"]
        except (OSError, ValueError, KeyError, AttributeError):
            pass  # no cache yet, or an unreadable one: hash everything

    def __call__(self, file: Path) -> str:
        st = file.stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        key = os.path.abspath(file)
        known = self.entries.get(key)
        if known is not None and known[:3] == stamp:
            digest = str(known[3])
        else:
            digest = self.hash_file(file)
        self.fresh[key] = [*stamp, digest]
        return digest

    def save(self) -> None:
        """Keep the files seen in this scan (entries for files gone are dropped)."""
        if self.fresh != self.entries:
            data = {"version": self.VERSION, "files": self.fresh}
            atomic_write(self.path, json.dumps(data, sort_keys=True).encode())

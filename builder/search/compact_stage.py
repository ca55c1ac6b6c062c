"""The compact vectors of each network a browser can search with (compact.py), remembered on disk.

The key is the features' digest (the search stage's, so a rebuild that changes nothing reads one file per
network and neither reads nor projects the features again) and the settings.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from builder.cache import atomic_write
from builder.collect.collection import Item
from builder.features.extract import load_matrix
from builder.features.stage import NetworkRun
from builder.progress import Reporter
from builder.search.compact import CompactSettings, CompactVectors, compact
from builder.search.neighbours import features_digest
from builder.search.results import NetworkResult

COMPACT_VERSION = "3"  # bump when compact.py changes its results


@dataclass
class NetworkCompact:
    name: str
    vectors: CompactVectors


def compact_key(features: str, settings: CompactSettings) -> str:
    return hashlib.sha256(f"{COMPACT_VERSION}|{settings.key}|{features}".encode()).hexdigest()


def _read(path: Path, n: int, dim: int) -> CompactVectors:
    """A remembered entry, checked to be one: the shapes agree with each other and with the features."""
    with np.load(path, allow_pickle=False) as data:
        axes, levels, codes = data["axes"], data["levels"], data["codes"]
        meta = json.loads(bytes(data["meta"]).decode())
    dims, count = levels.shape if levels.ndim == 2 else (-1, -1)
    width = dims * (8 if count == 256 else 4) // 8
    if axes.shape != (dims, dim) or count not in (16, 256) or codes.shape != (n, width) or codes.dtype != np.uint8:
        raise ValueError(f"arrays of shapes {axes.shape}, {levels.shape}, {codes.shape}")
    return CompactVectors(axes, levels, codes, float(meta["recall"]), int(meta["k"]), int(meta["queries"]))


def _write(path: Path, v: CompactVectors) -> None:
    meta = json.dumps({"recall": v.recall, "k": v.k, "queries": v.queries}).encode()
    buf = io.BytesIO()
    np.savez(buf, axes=v.axes, levels=v.levels, codes=v.codes, meta=np.frombuffer(meta, dtype=np.uint8))
    atomic_write(path, buf.getvalue())


def compact_vectors(
    items: list[Item],
    runs: dict[str, NetworkRun],
    results: list[NetworkResult],
    names: list[str],
    cache_dir: Path | None,
    reporter: Reporter,
    settings: CompactSettings = CompactSettings(),
    on_bad: Callable[[str], None] | None = None,
) -> list[NetworkCompact]:
    """The compact vectors of each network of `names` (in items' order), from its features."""
    hashes = [i.content_hash for i in items]
    by_name = {r.name: r for r in results}
    out = []
    with reporter.task("compacting vectors for search by image", len(names)) as task:
        for name in names:
            run, result = runs[name], by_name[name]
            matrix = partial(load_matrix, run.store, hashes, run.spec.dim)  # read only where needed
            key = compact_key(result.features or features_digest(matrix()), settings)
            path = cache_dir / "compact" / key[:2] / f"{key}.npz" if cache_dir is not None else None
            vectors = None
            if path is not None and path.is_file():
                try:
                    vectors = _read(path, len(items), run.spec.dim)
                except Exception as exc:  # noqa: BLE001 - zipfile, numpy, JSON and EOF errors all mean damaged
                    (on_bad or reporter.warn)(f"{path}: damaged cache entry ({type(exc).__name__}: {exc}); "
                                              "computed again")  # fmt: skip
            if vectors is None:
                vectors = compact(matrix(), settings)
                if path is not None:
                    _write(path, vectors)
            out.append(NetworkCompact(name, vectors))
            task.advance()
    return out

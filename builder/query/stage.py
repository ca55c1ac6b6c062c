"""The compact vectors of each network a browser can search with (compact.py), remembered on disk.

The key is the features' digest (the search stage's, so a rebuild that changes nothing reads one file per
network and neither reads nor projects the features again) and the settings.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from builder.cache import BadEntry, CacheLayout, EntryStore
from builder.collect.collection import Item
from builder.features.stage import NetworkRun
from builder.progress import Reporter
from builder.query.compact import CompactSettings, CompactVectors, compact
from builder.search.neighbours import features_digest
from builder.search.results import NetworkResult
from builder.search.retrieval import Refinement
from builder.search.stage import searched_vectors

COMPACT_VERSION = "4"  # bump when compact.py changes its results


@dataclass
class NetworkCompact:
    name: str
    vectors: CompactVectors
    refinement: Refinement = field(default_factory=Refinement)  # what the vectors were refined by: a query too


def _checked(n: int, dim: int) -> Callable[[dict[str, np.ndarray]], None]:
    """The check of a remembered entry: its arrays' shapes agree with each other and with the features, and
    its measured recall can be read (into arrays["said"]: recall, k, queries)."""

    def check(arrays: dict[str, np.ndarray]) -> None:
        axes, levels, codes = arrays["axes"], arrays["levels"], arrays["codes"]
        dims, count = levels.shape if levels.ndim == 2 else (-1, -1)
        width = dims * (8 if count == 256 else 4) // 8
        if axes.shape != (dims, dim) or count not in (16, 256) or codes.shape != (n, width) or codes.dtype != np.uint8:
            raise BadEntry(f"arrays of shapes {axes.shape}, {levels.shape}, {codes.shape}")
        said = json.loads(bytes(arrays["meta"]).decode())
        arrays["said"] = np.array([float(said["recall"]), int(said["k"]), int(said["queries"])])

    return check


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
    root = CacheLayout(cache_dir).compact if cache_dir is not None else None
    store = EntryStore(root, on_bad or reporter.warn, version=COMPACT_VERSION)
    with reporter.task("compacting vectors for search by image", len(names)) as task:
        for name in names:
            run, result = runs[name], by_name[name]
            matrix = partial(searched_vectors, result, run, hashes)  # read only where needed
            key = store.key(settings.key, result.features or features_digest(matrix()))
            found = store.get(key, _checked(len(items), run.spec.dim))
            if found is not None:
                recall, k, queries = found["said"].tolist()  # read and vetted by the check
                vectors = CompactVectors(found["axes"], found["levels"], found["codes"], recall, int(k), int(queries))
            else:
                vectors = compact(matrix(), settings)
                meta = json.dumps({"recall": vectors.recall, "k": vectors.k, "queries": vectors.queries}).encode()
                store.put(key, axes=vectors.axes, levels=vectors.levels, codes=vectors.codes,
                          meta=np.frombuffer(meta, dtype=np.uint8))  # fmt: skip
            out.append(NetworkCompact(name, vectors, result.refinement))
            task.advance()
    return out

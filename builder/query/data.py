"""What query.html reads, as script files (file:// refuses fetch()), like the explorer's and the map's.

- `data/query/index.js`: `window.VSIS_QUERY`: the collection's size, the shard size, the files' patterns and,
  per network, its preprocessing, what its first search loads, the compact vectors' form (dimensions, levels
  a dimension, bytes an item) and their measured recall.
- `data/query/<network>/axes.js`: the axes the query is projected on (`axes`, dims x dim) and each
  dimension's levels (`levels`, dims x 256 or 16), base64 of little-endian float32, row by row; where the
  collection's features are centred (search/retrieval.py), their mean (`mean`, dim), which the visitor's
  feature is centred on too. The index says per network whether (`centre`) and over how many results the
  query is expanded (`expansion`).
- `data/query/<network>/codes/<n>.js`: the items n*QUERY_SHARD ... as base64 of their codes, `width` bytes
  an item: a level a byte, or two a byte (the lower half the even dimension) (query/compact.py).
- `data/query/<network>/model.js`: the ONNX model, base64 (networks of kind "model" only).

Nothing here is loaded before the visitor asks for a search; then one network's files, whole: ranking every
item needs every item's vector.
"""

from __future__ import annotations

import base64

import numpy as np

from builder.pagekit.datafiles import global_script, shard_script
from builder.query.model import QueryPage

QUERY_SHARD = 10_000  # items per codes file: 1.3 MB at 128 dimensions
QUERY_FILES = {
    "axes": "data/query/{network}/axes.js",
    "codes": "data/query/{network}/codes/{n}.js",
    "model": "data/query/{network}/model.js",
}
DATASET = "collection"  # the explorer's dataset whose items the results are (explorer_data.py)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def query_files(page: QueryPage, n_items: int, runtime_bytes: int = 0) -> dict[str, str]:
    """Site path -> text of every query data file. runtime_bytes: what the network runtime's files weigh (its
    scripts: query_runtime.py), loaded on the first search with a network of kind "model"."""
    files: dict[str, str] = {}
    networks = []
    starts = range(0, n_items, QUERY_SHARD)
    for q in page.networks:
        name, v = q.network.name, q.vectors
        path = QUERY_FILES["axes"].format(network=name)
        payload = {"axes": _b64(np.ascontiguousarray(v.axes, dtype="<f4").tobytes()),
                   "levels": _b64(np.ascontiguousarray(v.levels, dtype="<f4").tobytes())}  # fmt: skip
        if q.refinement.mean is not None:
            payload["mean"] = _b64(np.ascontiguousarray(q.refinement.mean, dtype="<f4").tobytes())
        files[path] = shard_script(path, payload)
        for s, start in enumerate(starts):
            path = QUERY_FILES["codes"].format(network=name, n=s)
            codes = np.ascontiguousarray(v.codes[start : start + QUERY_SHARD], dtype=np.uint8)
            files[path] = shard_script(path, {"c": _b64(codes.tobytes())})
        if q.network.model is not None:
            path = QUERY_FILES["model"].format(network=name)
            files[path] = shard_script(path, {"onnx": _b64(q.network.model.read_bytes())})
    loads = first_search_bytes(page, files, runtime_bytes)
    for q in page.networks:
        net, v = q.network, q.vectors
        networks.append(
            {
                "name": net.name,
                "kind": net.kind,
                "dim": net.dim,
                "input": list(net.input_shape),
                "recipe": net.recipe,
                "dims": v.dims,
                "levels": int(v.levels.shape[1]),  # per dimension: 256 (a byte each) or 16 (two a byte)
                "width": v.width,  # bytes an item
                "recall": v.recall,
                "recall_k": v.k,
                "recall_queries": v.queries,
                "centre": q.refinement.mean is not None,
                "expansion": q.refinement.expansion,
                "bytes": loads[net.name],
            }
        )
    index = {
        "dataset": DATASET,
        "size": n_items,
        "shard": QUERY_SHARD,
        "shards": len(starts),
        "shown": page.shown,
        "files": QUERY_FILES,
        "networks": networks,
    }
    files["data/query/index.js"] = global_script("VSIS_QUERY", index)
    return files


def first_search_bytes(page: QueryPage, files: dict[str, str], runtime_bytes: int) -> dict[str, int]:
    """What a network's first search loads (its model, axes and codes, and the runtime where it runs a
    model): the page states it before the visitor chooses the network."""
    loads = {}
    for q in page.networks:
        folder = f"data/query/{q.network.name}/"
        own = sum(len(text) for path, text in files.items() if path.startswith(folder))  # ASCII: bytes
        loads[q.network.name] = own + (runtime_bytes if q.network.model is not None else 0)
    return loads


def decode_codes(text: str) -> np.ndarray:
    """A codes file's payload undone (its `c`), for tests and benchmarks reading a site back."""
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8)

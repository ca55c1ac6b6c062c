"""What query.html reads, as script files (file:// refuses fetch()), like the explorer's and the map's.

- `data/query/index.js`: `window.VSIS_QUERY`: the collection's size, the shard size, the files' patterns and,
  per network, its preprocessing, what its first search loads, the compact vectors' form (dimensions, levels
  a dimension, bytes an item) and their measured recall.
- `data/query/<network>/axes.js`: the axes the query is projected on (`axes`, dims x dim) and each
  dimension's levels (`levels`, dims x 256 or 16), base64 of little-endian float32, row by row.
- `data/query/<network>/codes/<n>.js`: the items n*QUERY_SHARD ... as base64 of their codes, `width` bytes
  an item: a level a byte, or two a byte (the lower half the even dimension) (search/compact.py).
- `data/query/<network>/model.js`: the ONNX model, base64 (networks of kind "model" only).

Nothing here is loaded before the visitor asks for a search; then one network's files, whole: ranking every
item needs every item's vector.
"""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np

from builder.site.explorer_data import global_script, shard_script
from builder.site.model import QueryPage

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
    for net in page.networks:
        path = QUERY_FILES["axes"].format(network=net.name)
        payload = {"axes": _b64(np.ascontiguousarray(net.axes, dtype="<f4").tobytes()),
                   "levels": _b64(np.ascontiguousarray(net.levels, dtype="<f4").tobytes())}  # fmt: skip
        files[path] = shard_script(path, payload)
        for s, start in enumerate(starts):
            path = QUERY_FILES["codes"].format(network=net.name, n=s)
            codes = np.ascontiguousarray(net.codes[start : start + QUERY_SHARD], dtype=np.uint8)
            files[path] = shard_script(path, {"c": _b64(codes.tobytes())})
        if net.model is not None:
            path = QUERY_FILES["model"].format(network=net.name)
            files[path] = shard_script(path, {"onnx": _b64(Path(net.model).read_bytes())})
    loads = first_search_bytes(page, files, runtime_bytes)
    for net in page.networks:
        networks.append(
            {
                "name": net.name,
                "kind": net.kind,
                "dim": net.dim,
                "input": list(net.input_shape),
                "recipe": net.recipe,
                "dims": int(net.axes.shape[0]),
                "levels": int(net.levels.shape[1]),  # per dimension: 256 (a byte each) or 16 (two a byte)
                "width": net.width,  # bytes an item
                "recall": net.recall,
                "recall_k": net.recall_k,
                "recall_queries": net.recall_queries,
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
    for net in page.networks:
        folder = f"data/query/{net.name}/"
        own = sum(len(text) for path, text in files.items() if path.startswith(folder))  # ASCII: bytes
        loads[net.name] = own + (runtime_bytes if net.model is not None else 0)
    return loads


def decode_codes(text: str) -> np.ndarray:
    """A codes file's payload undone (its `c`), for tests and benchmarks reading a site back."""
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8)

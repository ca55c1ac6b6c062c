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
- `data/query/<network>/text.js`: the int8 ONNX text tower, base64 (networks that take words only).
- `data/query/tokenizer.js`: the tables of open_clip's tokenizer (query/clip_tokenizer.py), which
  static/clip-tokenizer.js reads; only in a site with a network that takes words.

Nothing here is loaded before the visitor asks for a search; then one network's files, whole: ranking every
item needs every item's vector. A network's index entry says whether it takes an image (`images`) and words
(`words`), and what each kind's first search loads (`bytes`, `words_bytes`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np

from builder.pagekit.datafiles import global_script, shard_script
from builder.query.model import QueryPage

QUERY_SHARD = 10_000  # items per codes file: 1.3 MB at 128 dimensions
QUERY_FILES = {
    "axes": "data/query/{network}/axes.js",
    "codes": "data/query/{network}/codes/{n}.js",
    "model": "data/query/{network}/model.js",
    "text": "data/query/{network}/text.js",
    "tokenizer": "data/query/tokenizer.js",
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
        for kind, model in (("model", q.network.model), ("text", q.network.text_model)):
            if model is not None:
                path = QUERY_FILES[kind].format(network=name)
                files[path] = shard_script(path, {"onnx": _b64(model.read_bytes())})
    if page.words:
        from builder.query.clip_tokenizer import tokenizer_data  # open_clip's tables: a CLIP build has it

        files[QUERY_FILES["tokenizer"]] = shard_script(QUERY_FILES["tokenizer"], tokenizer_data())
    loads = first_search_bytes(page, files, runtime_bytes)
    for q in page.networks:
        net, v = q.network, q.vectors
        networks.append(
            {
                "name": net.name,
                "kind": net.kind,
                "images": net.images,
                "words": net.words,
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
                "bytes": loads[net.name].image,
                "words_bytes": loads[net.name].words,
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


@dataclass(frozen=True)
class FirstSearch:
    """What a network's first search loads, by an image and by words (0 where it takes none)."""

    image: int
    words: int


def first_search_bytes(page: QueryPage, files: dict[str, str], runtime_bytes: int) -> dict[str, FirstSearch]:
    """What a network's first search loads, by an image (its model, axes and codes, and the runtime where it
    runs a model) and by words (its text tower, the tokenizer's tables, axes, codes and the runtime): the
    page states it before the visitor chooses the network."""
    loads = {}
    tokenizer = _bytes(files.get(QUERY_FILES["tokenizer"], ""))
    for q in page.networks:
        net = q.network
        own = {path: _bytes(text) for path, text in files.items() if path.startswith(f"data/query/{net.name}/")}
        vectors = sum(size for path, size in own.items() if not path.endswith(("/model.js", "/text.js")))
        model = own.get(QUERY_FILES["model"].format(network=net.name), 0)
        text = own.get(QUERY_FILES["text"].format(network=net.name), 0)
        image = vectors + model + (runtime_bytes if net.model is not None else 0) if net.images else 0
        loads[net.name] = FirstSearch(image, vectors + text + tokenizer + runtime_bytes if net.words else 0)
    return loads


def _bytes(text: str) -> int:
    """A file's size as written (UTF-8: the tokenizer's tables are not ASCII)."""
    return len(text.encode("utf-8"))


def decode_codes(text: str) -> np.ndarray:
    """A codes file's payload undone (its `c`), for tests and benchmarks reading a site back."""
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8)

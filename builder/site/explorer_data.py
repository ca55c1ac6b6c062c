"""What the explorer reads, as small script files that work from file:// as well as over http.

Browsers refuse fetch() of local files, so data reaches the explorer as scripts: `data/index.js` (the
datasets, their networks, the shard size and the files' patterns) is loaded by the page, and the explorer
then adds a <script> for each shard it needs, which hands its payload to `VSIS_SHARD(name, data)`.

Everything is cut into shards of SHARD_SIZE items, so that what the first view loads does not grow with the
collection (a museum's 100,000 images are 500 shards, of which the first page needs two):

- `data/<dataset>/items/<n>.js`: the items n*SHARD_SIZE ... as columns (a list per field, so field names are
  not repeated); by item index, where they apply, a copy's `page` (its original's), `profile` and `owner`.
- `data/<dataset>/<network>/<n>.js`: the neighbours of the rows in the same range, flat: row r's k
  neighbours are `i[j*k:(j+1)*k]` with j = r - n*SHARD_SIZE, cosine similarities `s` in thousandths (what
  the pages show: three decimals), and `t`, by neighbour index, what a neighbour's tile shows: [id, title]
  and, for a perturbed copy, [id, title, profile, page]. The neighbours of a row lie anywhere in the
  collection; carrying their tiles here is what lets a page of rows draw from two files instead of dozens.
- `data/<dataset>/search.js`: every item's title and artist, loaded on the first search only.
- `data/<dataset>/facets.js` and `facets/`: what a visitor filters by, loaded when first used (facet_data.py).
- `data/words.js` and `data/<dataset>/tags/`: what a visitor's words find among the images the networks
  tagged, loaded on the first search (word_data.py).

Items with a neighbour row are the first `queries` of the dataset (all of the collection; the originals of
the perturbation set). When a dataset's items are in id order (the collection's always are), index.js lists
each shard's first id, so an item named in a URL is found by loading one shard. All JSON is escaped for a
script context: '<', '>' and '&' become \\u escapes, so no metadata can close the script.
"""

from __future__ import annotations

from builder.pagekit.datafiles import global_script, shard_script
from builder.pagekit.item import PAGE_PATH, THUMB_PATH
from builder.site.facet_data import facet_files
from builder.site.model import Dataset, PageNeighbour, SiteModel
from builder.site.word_data import CLASS_SHARD, WORD_FILES, word_files

ITEM_FIELDS = ("id", "title", "artist", "date", "medium", "dimensions", "category")
SHARD_SIZE = 200  # items (and neighbour rows) per shard: about 30 KB of items and 60 KB a network at k = 10
FILES = {
    "items": "data/{dataset}/items/{n}.js",
    "network": "data/{dataset}/{network}/{n}.js",
    "search": "data/{dataset}/search.js",
}


def _file(kind: str, ds: Dataset, n: int = 0, network: str = "") -> str:
    return FILES[kind].format(dataset=ds.name, n=n, network=network)


def _ranges(size: int, shard: int) -> list[range]:
    return [range(start, min(size, start + shard)) for start in range(0, size, shard)]


def _query_count(ds: Dataset) -> int:
    """How many items have a neighbour row: they must be the dataset's first ones, in order."""
    if ds.queries is None:
        return len(ds.items)
    if ds.queries != list(range(len(ds.queries))):
        raise ValueError(f"{ds.name}: the items with neighbour rows must come first, in order")
    return len(ds.queries)


def in_js_order(ids: list[str]) -> bool:
    """Whether ids are sorted as JavaScript compares strings (by UTF-16 code units), which the explorer's
    lookup by id relies on."""
    keys = [i.encode("utf-16-be") for i in ids]
    return all(a < b for a, b in zip(keys, keys[1:], strict=False))


def items_payload(ds: Dataset, rows: range) -> dict[str, object]:
    items = ds.items[rows.start : rows.stop]
    columns: dict[str, object] = {f: [getattr(i, f) for i in items] for f in ITEM_FIELDS}
    columns["page"] = {str(n): ds.items[n].page_id for n in rows if ds.items[n].page_id not in ("", ds.items[n].id)}
    columns["profile"] = {str(n): ds.profile_of[n] for n in rows if n in ds.profile_of}
    columns["owner"] = {str(n): ds.owner_of[n] for n in rows if n in ds.owner_of}
    return columns


def _tile(ds: Dataset, nb: PageNeighbour) -> list[str]:
    item = nb.item
    if item.page_id not in ("", item.id):  # a perturbed copy: its profile, and the page it opens
        return [item.id, item.title, ds.profile_of.get(nb.index, ""), item.page_id]
    return [item.id, item.title]


def neighbours_payload(ds: Dataset, rows: list[list[PageNeighbour]]) -> dict[str, object]:
    k = max((len(r) for r in rows), default=0)
    if any(len(r) != k for r in rows):
        raise ValueError(f"{ds.name}: neighbour rows of unequal length")
    return {
        "k": k,
        "i": [nb.index for row in rows for nb in row],
        "s": [round(nb.score * 1000) for row in rows for nb in row],
        "t": {str(nb.index): _tile(ds, nb) for row in rows for nb in row},
    }


def search_payload(ds: Dataset) -> dict[str, object]:
    return {"title": [i.title for i in ds.items], "artist": [i.artist for i in ds.items]}


def explorer_files(model: SiteModel) -> dict[str, str]:
    """Site path -> text of every explorer data file."""
    datasets: list[dict[str, object]] = []
    # the explorer takes the item fields, the page patterns and the files from here, not from a copy of its own
    index = {
        "k": model.k,
        "fields": list(ITEM_FIELDS),
        "paths": {"page": PAGE_PATH, "thumb": THUMB_PATH.replace("{suffix}", model.thumb_suffix)},
        "files": {**FILES, **WORD_FILES},
        "shard": SHARD_SIZE,
        "tagShard": CLASS_SHARD,
        "datasets": datasets,
    }
    files, tag_shards = word_files([(ds.name, ds.tags) for ds in model.datasets if ds.tags])
    for ds in model.datasets:
        queries = _query_count(ds)
        parts = _ranges(len(ds.items), SHARD_SIZE)
        for n, rows in enumerate(parts):
            files[_file("items", ds, n)] = shard_script(_file("items", ds, n), items_payload(ds, rows))
        for name, neighbours in ds.networks:
            for n, rows in enumerate(_ranges(queries, SHARD_SIZE)):
                path = _file("network", ds, n, name)
                files[path] = shard_script(path, neighbours_payload(ds, neighbours[rows.start : rows.stop]))
        files[_file("search", ds)] = shard_script(_file("search", ds), search_payload(ds))
        summary = None
        if ds.facets:
            more, summary = facet_files(ds.name, ds.facets, len(ds.items))
            files.update(more)
        ids = [i.id for i in ds.items]
        ordered = in_js_order(ids)
        datasets.append(
            {
                "name": ds.name,
                "label": ds.label,
                "size": len(ds.items),
                "queries": queries,
                "networks": [name for name, _ in ds.networks],
                # each shard's first id, when ids are in order: the shard that holds an id is found at once
                "first": [ids[rows.start] for rows in parts] if ordered else None,
                "facets": summary,  # the facets' summary file (facet_data.py); null: none
                "tags": tag_shards.get(ds.name),  # network -> its word-search shards (word_data.py); null: none
            }
        )
    files["data/index.js"] = global_script("VSIS_INDEX", index)
    return files

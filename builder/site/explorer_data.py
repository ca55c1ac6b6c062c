"""What the explorer reads, as small script files that work from file:// as well as over http.

Browsers refuse fetch() of local files, so data reaches the explorer as scripts: `data/index.js` (a few
hundred bytes: the datasets, their networks and the files that hold them) is loaded by the page, and the
explorer then adds a <script> for each shard it needs, which hands its payload to `VSIS_SHARD(name, data)`:

- `data/<dataset>/items.js`: the dataset's items, column by column (a list per field, so field names are
  not repeated 5,000 times);
- `data/<dataset>/<network>.js`: the neighbours of each query, flat: row r's k neighbours are
  `i[r*k:(r+1)*k]`, with cosine similarities `s` in thousandths (what the pages show: three decimals).

A 5,000-item explorer therefore loads one dataset's items and one network's neighbours before it can draw,
and the other networks only when asked for (bench/explorer.py measures both). All JSON is escaped for a
script context: '<', '>' and '&' become \\u escapes, so no metadata can close the script.
"""

from __future__ import annotations

import json

from builder.site.model import PAGE_PATH, THUMB_PATH, Dataset, SiteModel

ITEM_FIELDS = ("id", "title", "artist", "date", "medium", "dimensions", "category")


def json_for_script(data: object) -> str:
    """JSON that is also safe inside a <script> element or a .js file: '<', '>' and '&' are escaped."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _shard(name: str, payload: object) -> str:
    return f"VSIS_SHARD({json_for_script(name)},{json_for_script(payload)});\n"


def items_file(ds: Dataset) -> str:
    return f"data/{ds.name}/items.js"


def network_file(ds: Dataset, network: str) -> str:
    return f"data/{ds.name}/{network}.js"


def items_payload(ds: Dataset) -> dict[str, object]:
    """Columns of the dataset's items; then, by item index, only where they apply: `page`, whose compare
    page an item opens when not its own (a perturbed copy opens its original's), and per copy its
    `profile` and `owner` (its original's index)."""
    columns: dict[str, object] = {f: [getattr(i, f) for i in ds.items] for f in ITEM_FIELDS}
    columns["page"] = {str(n): i.page_id for n, i in enumerate(ds.items) if i.page_id not in ("", i.id)}
    columns["profile"] = {str(n): label for n, label in sorted(ds.profile_of.items())}
    columns["owner"] = {str(n): owner for n, owner in sorted(ds.owner_of.items())}
    columns["queries"] = ds.queries
    return columns


def neighbours_payload(ds: Dataset, rows: list) -> dict[str, object]:
    k = max((len(r) for r in rows), default=0)
    if any(len(r) != k for r in rows):
        raise ValueError(f"{ds.name}: neighbour rows of unequal length")
    return {
        "k": k,
        "i": [nb.index for row in rows for nb in row],
        "s": [round(nb.score * 1000) for row in rows for nb in row],
    }


def explorer_files(model: SiteModel) -> dict[str, str]:
    """Site path -> text of every explorer data file."""
    files: dict[str, str] = {}
    datasets: list[dict[str, object]] = []
    # the explorer takes the item fields and the page patterns from here, not from a copy of its own
    index = {
        "k": model.k,
        "fields": list(ITEM_FIELDS),
        "paths": {"page": PAGE_PATH, "thumb": THUMB_PATH.replace("{suffix}", model.thumb_suffix)},
        "datasets": datasets,
    }
    for ds in model.datasets:
        files[items_file(ds)] = _shard(items_file(ds), items_payload(ds))
        networks = []
        for name, rows in ds.networks:
            files[network_file(ds, name)] = _shard(network_file(ds, name), neighbours_payload(ds, rows))
            networks.append({"name": name, "file": network_file(ds, name)})
        datasets.append(
            {
                "name": ds.name,
                "label": ds.label,
                "items": items_file(ds),
                "size": len(ds.items),
                "queries": len(ds.queries) if ds.queries is not None else len(ds.items),
                "networks": networks,
            }
        )
    files["data/index.js"] = f"window.VSIS_INDEX = {json_for_script(index)};\n"
    return files

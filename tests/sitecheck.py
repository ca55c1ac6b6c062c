"""Reading a built site back: every reference a page makes, resolved the way a browser would."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

from builder.pagekit.datafiles import read_global, read_shard

__all__ = ["read_global", "read_shard"]  # the site's readers, used here and by bench/


@dataclass(frozen=True)
class Ref:
    page: Path
    tag: str
    attr: str
    value: str


class _Collector(HTMLParser):
    def __init__(self, page: Path) -> None:
        super().__init__()
        self.page = page
        self.refs: list[Ref] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for attr, value in attrs:
            if attr in ("href", "src") and value is not None:
                self.refs.append(Ref(self.page, tag, attr, value))


def references(site: Path) -> list[Ref]:
    refs = []
    for page in sorted(site.rglob("*.html")):
        collector = _Collector(page)
        collector.feed(page.read_text(encoding="utf-8"))
        refs.extend(collector.refs)
    return refs


def broken_or_outside(site: Path) -> list[str]:
    """References that leave the site or point at nothing. Outbound <a> links (a record's URL) are allowed;
    anything the page loads (img, script, link) must be inside the site."""
    problems = []
    root = site.resolve()
    for ref in references(site):
        parsed = urlparse(ref.value)
        if parsed.scheme or ref.value.startswith("//"):
            if not (ref.tag == "a" and parsed.scheme in ("http", "https")):
                problems.append(f"{ref.page.relative_to(site)}: <{ref.tag} {ref.attr}={ref.value!r}> leaves the site")
            continue
        if ref.value.startswith("/"):
            problems.append(f"{ref.page.relative_to(site)}: absolute path {ref.value!r}")
            continue
        target = (ref.page.parent / unquote(parsed.path)).resolve() if parsed.path else ref.page.resolve()
        if root not in target.parents and target != root:
            problems.append(f"{ref.page.relative_to(site)}: {ref.value!r} resolves outside the site")
        elif not target.is_file():
            problems.append(f"{ref.page.relative_to(site)}: {ref.value!r} does not exist")
    return problems


def explorer_index(site: Path) -> dict:
    return read_global(site, "data/index.js", "VSIS_INDEX")


def explorer_data(site: Path) -> dict:
    """The explorer's data as the page gets it, decoded the way static/explore.js decodes it, shards joined:
    per dataset its items (one dict each) and per network each query's [item index, score] pairs. Checks on
    the way that every shard is where the index says, and every neighbour's tile is the item's own."""
    index = explorer_index(site)
    files, size = index["files"], index["shard"]
    datasets = []
    for ds in index["datasets"]:
        items = []
        for s in range(-(-ds["size"] // size)):
            cols = read_shard(site, files["items"].format(dataset=ds["name"], n=s))
            for j, item_id in enumerate(cols["id"]):
                n = s * size + j
                item = {f: cols[f][j] for f in index["fields"]}
                item["thumb"] = index["paths"]["thumb"].replace("{id}", item_id)
                item["page"] = index["paths"]["page"].replace("{id}", cols["page"].get(str(n), item_id))
                if str(n) in cols["profile"]:
                    item["profile"] = cols["profile"][str(n)]
                    item["owner"] = cols["owner"][str(n)]
                items.append(item)
        assert len(items) == ds["size"]
        if ds["first"] is not None:
            assert ds["first"] == [items[s]["id"] for s in range(0, ds["size"], size)]
        networks = []
        for name in ds["networks"]:
            rows = []
            for s in range(-(-ds["queries"] // size)):
                data = read_shard(site, files["network"].format(dataset=ds["name"], n=s, network=name))
                k = data["k"]
                assert len(data["i"]) == len(data["s"]) == k * min(size, ds["queries"] - s * size)
                for x in range(0, len(data["i"]), k):
                    rows.append(
                        [[j, v / 1000] for j, v in zip(data["i"][x : x + k], data["s"][x : x + k], strict=True)]
                    )
                for j, tile in data["t"].items():
                    item = items[int(j)]
                    assert tile[:2] == [item["id"], item["title"]] and (len(tile) == 4) == ("profile" in item)
            networks.append({"name": name, "neighbours": rows})
        search = read_shard(site, files["search"].format(dataset=ds["name"]))
        assert search == {"title": [i["title"] for i in items], "artist": [i["artist"] for i in items]}
        queries = None if ds["queries"] == ds["size"] else list(range(ds["queries"]))
        datasets.append(
            {"name": ds["name"], "label": ds["label"], "queries": queries, "items": items, "networks": networks}
        )
    return {"k": index["k"], "datasets": datasets}


def tagged_with(site: Path, dataset: str, network: str, classes: list[int]) -> dict[int, float]:
    """item -> the highest probability among `classes` of the items the network tagged with any of them, read
    from the word-search shards (builder/site/word_data.py)."""
    index = explorer_index(site)
    ds = next(d for d in index["datasets"] if d["name"] == dataset)
    best: dict[int, float] = {}
    for c in classes:
        n = c // index["tagShard"]
        if n not in (ds["tags"] or {}).get(network, []):
            continue
        posting = read_shard(site, index["files"]["tags"].format(dataset=dataset, network=network, n=n)).get(str(c))
        for item, p in zip(*(posting or [[], []]), strict=True):
            best[item] = max(best.get(item, 0), p / 1000)
    return best


def words_find(site: Path, dataset: str, network: str, q: str) -> list[int]:
    """The items a search for q lists, as the pages list them (static/reader.js): those whose title or artist
    contains q, in order, then those the network tagged with a class q names, by descending probability."""
    index = explorer_index(site)
    ds = next(d for d in index["datasets"] if d["name"] == dataset)
    search = read_shard(site, index["files"]["search"].format(dataset=dataset))
    needle = q.lower()
    found = [n for n in range(ds["queries"]) if needle in (search["title"][n] + "\n" + search["artist"][n]).lower()]
    terms = read_shard(site, index["files"]["words"])["terms"] if (ds["tags"] or {}).get(network) else {}
    best = tagged_with(site, dataset, network, terms.get(needle, []))
    ranked = sorted((n for n in best if n < ds["queries"]), key=lambda n: (-best[n], n))
    return found + [n for n in ranked if n not in set(found)]


def map_data(site: Path) -> dict:
    """The map's data as static/map.js decodes it, shards joined: its index (data/map/index.js), per network
    an (n, 2) array of each item's place in [0, 1], each item's legend entry (`codes`) and id (`ids`), and
    where there are atlases, per network each item's cell number in them (`slots`) and their coarse copies as
    images (`coarse`: per network, atlas 0 first)."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    index = read_global(site, "data/map/index.js", "VSIS_MAP")
    files, shards = index["files"], range(index["shards"])
    layouts = {}
    for network in index["networks"]:
        parts = [read_shard(site, files["layout"].format(network=network, n=s))["xy"] for s in shards]
        grid = np.concatenate([np.frombuffer(base64.b64decode(p), dtype="<u2").reshape(-1, 2) for p in parts])
        assert grid.shape == (index["size"], 2)
        layouts[network] = grid / index["grid"]
    codes = np.concatenate(
        [np.frombuffer(base64.b64decode(read_shard(site, files["codes"].format(n=s))["c"]), np.uint8) for s in shards]
    )
    ids = [i for s in shards for i in read_shard(site, files["ids"].format(n=s))["id"]]
    assert len(codes) == len(ids) == index["size"]
    slots = {}
    for network in index["networks"] if "slots" in files else []:
        parts = [read_shard(site, files["slots"].format(network=network, n=s))["s"] for s in shards]
        slots[network] = np.concatenate([np.frombuffer(base64.b64decode(p), dtype="<u4") for p in parts])
        assert sorted(slots[network].tolist()) == list(range(index["size"]))  # each cell holds one item
    coarse = {}
    for network in index["networks"] if "coarse" in files else []:
        count = index["atlas"]["count"]
        sheets = [read_shard(site, files["coarse"].format(network=network, n=n)) for n in range(count)]
        coarse[network] = [Image.open(io.BytesIO(base64.b64decode(sheet["image"]))) for sheet in sheets]
    return {"index": index, "layouts": layouts, "codes": codes, "ids": ids, "slots": slots, "coarse": coarse}

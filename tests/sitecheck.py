"""Reading a built site back: every reference a page makes, resolved the way a browser would."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse


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


def read_shard(path: Path) -> object:
    """The payload of one explorer data file, `VSIS_SHARD("name", {...});`."""
    import json
    import re

    text = path.read_text(encoding="utf-8")
    match = re.fullmatch(r'VSIS_SHARD\("([^"]+)",(.*)\);\n', text, re.S)
    assert match, f"{path}: not a shard"
    assert match.group(1) == path.relative_to(path.parents[2]).as_posix()  # named after its own path
    return json.loads(match.group(2))


def explorer_data(site: Path) -> dict:
    """The explorer's data as the page gets it, decoded the way static/explore.js decodes it: per dataset
    its items (one dict each) and per network each query's [item index, score] pairs."""
    import json
    import re

    text = (site / "data" / "index.js").read_text(encoding="utf-8")
    index = json.loads(re.fullmatch(r"window\.VSIS_INDEX = (.*);\n", text, re.S).group(1))
    datasets = []
    for ds in index["datasets"]:
        cols = read_shard(site / ds["items"])
        items = []
        for n, item_id in enumerate(cols["id"]):
            item = {f: cols[f][n] for f in ("id", "title", "artist", "date", "medium", "dimensions", "category")}
            item["thumb"] = index["paths"]["thumb"].replace("{id}", item_id)
            item["page"] = f"compare/{cols['page'].get(str(n), item_id)}.html"
            if str(n) in cols["profile"]:
                item["profile"] = cols["profile"][str(n)]
                item["owner"] = cols["owner"][str(n)]
            items.append(item)
        networks = []
        for net in ds["networks"]:
            data = read_shard(site / net["file"])
            k = data["k"]
            rows = [
                [
                    [j, s / 1000]
                    for j, s in zip(data["i"][r * k : (r + 1) * k], data["s"][r * k : (r + 1) * k], strict=False)
                ]
                for r in range(ds["queries"])
            ]
            assert len(data["i"]) == ds["queries"] * k
            networks.append({"name": net["name"], "neighbours": rows})
        datasets.append(
            {"name": ds["name"], "label": ds["label"], "queries": cols["queries"], "items": items, "networks": networks}
        )
    return {"k": index["k"], "datasets": datasets}

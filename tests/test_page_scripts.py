"""The page scripts: the parts in static/ joined into one published script a page (builder/site/scripts.py), and
the explorer-format reader the explorer, the map and the query page share (static/reader.js) in Chromium."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from builder.resources import static_dir, templates_dir
from builder.site import scripts

from .browser import Watched

PAGES = {"explore.html": "explore.js", "map.html": "map.js", "query.html": "query.js"}


def test_each_published_script_is_its_parts_in_order(tmp_path: Path) -> None:
    scripts.write_static(tmp_path / "static")
    for name, parts in scripts.SCRIPTS.items():
        text = (tmp_path / "static" / name).read_text(encoding="utf-8")
        at = 0
        for part in parts:
            source = (static_dir() / part).read_text(encoding="utf-8")
            block = f"// ---- static/{part}\n" + scripts.uncommented(source)
            found = text.find(block, at)
            assert found >= at, f"{name}: static/{part} missing or out of order"
            at = found + len(block)
        assert text[at:].strip() == "", f"{name}: more than its parts"
        if name in scripts.LATER:  # loaded by a page's own script, whose shared parts it uses
            assert not set(parts) & set(scripts.SHARED), f"{name}: a second copy of the shared parts"
        else:
            assert parts[0] == "shards.js", f"{name}: the data files' loader first, which the other parts use"


def test_a_published_script_leaves_out_only_the_lines_that_are_only_a_comment() -> None:
    source = (
        '// the header\n(function () {\n  "use strict";\n    // indented\n'
        '  var u = "http://example"; // kept: code before it\n  var t = `a${u}b`;  // `slot`\n\n})();'
    )
    assert scripts.uncommented(source) == (
        '(function () {\n  "use strict";\n  var u = "http://example"; // kept: code before it\n'
        "  var t = `a${u}b`;  // `slot`\n\n})();\n"
    )
    for risky in ("var s = `one\n// two\n`;", 'var s = "one \\\n// two";'):
        with pytest.raises(ValueError, match="span lines"):
            scripts.uncommented(risky)
    for name in scripts.SCRIPTS:
        comments = [line for line in scripts.joined(name).splitlines() if line.lstrip().startswith("//")]
        assert comments == [f"// ---- static/{part}" for part in scripts.SCRIPTS[name]]


def test_the_site_static_folder_holds_the_published_scripts_and_the_other_files_but_no_part(tmp_path: Path) -> None:
    scripts.write_static(tmp_path / "static")
    published = sorted(p.name for p in (tmp_path / "static").iterdir())
    others = sorted(
        p.name for p in static_dir().iterdir() if p.name != scripts.VENDOR and p.name not in scripts.parts()
    )
    assert published == sorted([*scripts.SCRIPTS, *others])
    assert "style.css" in published and "vendor" not in published
    assert not {"shards.js", "reader.js", "url-state.js", "map-view.js", "ort-loader.js"} & set(published)


def test_every_script_of_static_is_a_part_of_a_published_script() -> None:
    """A script left out of SCRIPTS would be published on its own, and no page would load it."""
    sources = {p.name for p in static_dir().glob("*.js")}
    assert sources == scripts.parts()
    assert set(scripts.SCRIPTS) <= sources


def test_the_templates_name_only_published_scripts() -> None:
    for template in templates_dir().glob("*.html"):
        named = re.findall(r'<script src="(?:\{\{ root \}\})?static/([^"]+)"', template.read_text(encoding="utf-8"))
        assert set(named) <= set(scripts.SCRIPTS), f"{template.name} names {named}"
        if template.name in PAGES:
            assert named == [PAGES[template.name]], template.name


def test_a_built_page_loads_one_script_of_static(sample_site: Path) -> None:
    for page, script in PAGES.items():
        html = (sample_site / page).read_text(encoding="utf-8")
        named = re.findall(r'<script src="([^"]+)"', html)
        assert [n for n in named if n.startswith("static/")] == [f"static/{script}"], page
        assert (sample_site / "static" / script).read_text(encoding="utf-8") == scripts.joined(script)


# ---- the shared reader in the browser: find() over the shards' first ids ----

SHARD = 3  # items a shard: 10 items are 4 shards, the last of one item
IDS = [f"id-{n:02d}" for n in range(10)]

READER_PAGE = """<!doctype html>
<meta charset="utf-8">
<title>reader</title>
<link rel="icon" href="data:,">
<body>
<script src="shards.js"></script>
<script src="reader.js"></script>
<script>
window.VSIS_INDEX = %s;
window.failures = [];
window.reader = vsisReader.create(VSIS_INDEX, function (e) { failures.push(e.message); });
// find(dataset name, id) -> [the index found, the items files loaded so far]
window.findIn = function (name, id) {
  var ds = vsisReader.byName(VSIS_INDEX.datasets, name);
  return new Promise(function (resolve) {
    reader.find(ds, id, function (n) {
      resolve([n, Object.keys(vsisShards.payloads).filter(function (f) { return f.indexOf("/items/") >= 0; })]);
    });
  });
};
</script>
"""


def reader_site(root: Path, ids: list[str]) -> Path:
    """A page with static/shards.js and static/reader.js, two datasets of the same items in shards of SHARD:
    "ordered" (ids in order: each shard's first id published) and "unordered" (no first ids)."""
    root.mkdir(parents=True)
    for part in ("shards.js", "reader.js"):
        shutil.copy(static_dir() / part, root / part)
    shards = [ids[s : s + SHARD] for s in range(0, len(ids), SHARD)]
    datasets = []
    for name, first in (("ordered", [s[0] for s in shards]), ("unordered", None)):
        datasets.append({"name": name, "networks": ["n"], "queries": len(ids), "size": len(ids), "first": first})
        for s, chunk in enumerate(shards):
            file = f"data/{name}/items/{s}.js"
            (root / file).parent.mkdir(parents=True, exist_ok=True)
            payload = {"id": chunk, "title": chunk, "page": {}, "profile": {}}
            (root / file).write_text(f"VSIS_SHARD({json.dumps(file)},{json.dumps(payload)});\n")
    index = {
        "datasets": datasets,
        "fields": ["id", "title"],
        "files": {"items": "data/{dataset}/items/{n}.js", "network": "", "search": ""},
        "paths": {"page": "compare/{id}.html", "thumb": "compare/{id}.webp"},
        "shard": SHARD,
        "k": 1,
    }
    (root / "index.html").write_text(READER_PAGE % json.dumps(index), encoding="utf-8")
    return root


@pytest.fixture
def reader_page(tmp_path: Path, browser):
    root = reader_site(tmp_path / "reader", IDS)
    base = root.as_uri() + "/"

    def fresh():
        page = browser.new_page()
        watched = Watched(page, base)
        page.goto(base + "index.html")
        return page, watched

    pages: list = []

    def opened():
        pages.append(fresh())
        return pages[-1][0]

    yield opened
    for page, watched in pages:
        assert page.evaluate("failures") == []
        page.close()
        assert watched.errors == [] and watched.outside == []


def test_find_loads_the_one_shard_that_holds_the_first_and_the_last_id_of_each_shard(reader_page) -> None:
    for s in range(0, len(IDS), SHARD):
        last = min(s + SHARD, len(IDS)) - 1
        for n in sorted({s, last}):
            page = reader_page()  # a fresh page: nothing loaded yet
            found, loaded = page.evaluate("([name, id]) => findIn(name, id)", ["ordered", IDS[n]])
            assert found == n and loaded == [f"data/ordered/items/{n // SHARD}.js"], IDS[n]


def test_find_says_minus_one_for_an_id_before_between_or_after_the_ids(reader_page) -> None:
    for missing, shard in (("a", 0), ("id-03x", 1), ("id-99", 3), ("", None)):
        page = reader_page()
        found, loaded = page.evaluate("([name, id]) => findIn(name, id)", ["ordered", missing])
        assert found == -1, missing
        # one shard looked in: the one the id would lie in (none for no id)
        assert loaded == ([] if shard is None else [f"data/ordered/items/{shard}.js"]), missing


def test_without_first_ids_find_looks_shard_by_shard(reader_page) -> None:
    page = reader_page()
    for n, id_ in enumerate(IDS):
        assert page.evaluate("([name, id]) => findIn(name, id)", ["unordered", id_])[0] == n
    found, loaded = page.evaluate("([name, id]) => findIn(name, id)", ["unordered", "absent"])
    assert found == -1 and len(loaded) == 4
    item = page.evaluate(
        "() => reader.itemAt(vsisReader.byName(VSIS_INDEX.datasets, 'unordered'), 7)"
    )  # the item as the pages read it
    assert item == {
        "n": 7, "id": "id-07", "title": "id-07", "profile": "", "page": "compare/id-07.html",
        "thumb": "compare/id-07.webp",
    }  # fmt: skip

"""Property-based: whatever the file names, metadata values and image shapes, a build either succeeds with a
complete site in which every value is escaped, or reports each file it could not use, with its reason."""

from __future__ import annotations

import csv
import json
import math
import os
import string
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from PIL import Image

from builder.build import build
from builder.config import MAX_CLUSTERS, TABLES, BuildConfig, make_config
from builder.errors import ConfigError

from .conftest import drawing
from .sitecheck import broken_or_outside

# File names: letters of any script, digits, spaces and punctuation that HTML, URLs and shells treat
# specially; never '/', NUL or a surrogate, never hidden (a leading '.'), at most 120 bytes.
NAME_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\\x00")
names = st.text(NAME_CHARS, min_size=1, max_size=40).filter(
    lambda s: not s.startswith(".") and s.strip() == s and len(s.encode()) <= 120
)
# Metadata values: anything printable or not, markup and line breaks of every kind included.
values = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60
) | st.sampled_from(
    ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "a\u2028b\fc", "&amp;", "javascript:x"]
)
shapes = st.tuples(st.integers(1, 160), st.integers(1, 160)) | st.sampled_from([(1, 4000), (3000, 2), (1, 1)])
files = st.lists(
    st.tuples(names, st.sampled_from([".png", ".jpg", ".gif", ".bmp"]), shapes, values, values),
    min_size=1,
    max_size=4,
    unique_by=lambda f: (f[0] + f[1]).lower(),
)


def read(page: Path) -> str:
    """A page's text as written (no newline translation: a value may hold a bare carriage return)."""
    return page.read_bytes().decode("utf-8")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=files)
def test_any_names_values_and_shapes_build_a_complete_escaped_site_or_are_reported(tmp_path_factory, files) -> None:
    root = tmp_path_factory.mktemp("prop")
    images = root / "images"
    images.mkdir()
    drawing(1).save(images / "base_a.png")
    drawing(2).save(images / "base_b.png")
    rows = []
    for n, (name, suffix, (w, h), title, artist) in enumerate(files):
        Image.new("RGB", (w, h), (n * 40 % 256, 90, 200)).save(images / f"{name}{suffix}")
        rows.append({"file": f"{name}{suffix}", "title": title, "artist": artist})
    with (root / "meta.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "title", "artist"])
        writer.writeheader()
        writer.writerows(rows)
    config = make_config(
        collection=images,
        metadata_file=root / "meta.csv",
        networks=("pixels",),
        k=2,
        experiment_enabled=False,
        out=root / "site",
        cache_dir=root / "cache",
    )
    result = build(config)
    site = root / "site"
    built = {i.relpath: i for i in result.items}
    skipped = dict(result.skipped)
    report = read(site / "index.html")
    for name, suffix, _, title, artist in files:
        rel = f"{name}{suffix}"
        if rel in built:
            page = read(site / "compare" / f"{built[rel].id}.html")
            for value in (title.strip(), artist.strip()):
                if value.strip(string.whitespace):
                    assert str(escape(value)) in page, (rel, value)
            assert built[rel].title == (title.strip() or built[rel].title)
        else:
            assert skipped.get(rel), (rel, result.skipped)  # reported, with a reason
            assert str(escape(rel)) in report
    assert "<script>alert(1)</script>" not in "".join(read(p) for p in site.rglob("*.html"))
    assert broken_or_outside(site) == []
    assert len(list((site / "compare").glob("*.html"))) == len(result.items)


# Names as the bytes a file system holds (any but '/' and NUL: Latin-1 from old archives, broken UTF-8),
# and metadata values as JSON allows them (lone surrogates included).
raw_names = st.binary(min_size=1, max_size=40).filter(
    # (a metadata value is joined stripped of whitespace as Python's str.strip() sees it, and with '\\' as '/')
    lambda b: not set(b) & set(b"/\\\x00") and not b.startswith(b".") and os.fsdecode(b).strip() == os.fsdecode(b)
)
json_values = st.text(st.characters(blacklist_characters="\x00"), max_size=40)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.tuples(raw_names, json_values), min_size=1, max_size=4, unique_by=lambda f: f[0].lower()))
@example(files=[(b"\xff\xd9", ""), (b"\x80\x80", "00")])  # two names that show alike: joined by their bytes
def test_names_of_any_bytes_and_any_json_values_build_a_readable_site(tmp_path_factory, files) -> None:
    root = tmp_path_factory.mktemp("bytes")
    images = root / "images"
    images.mkdir()
    drawing(1).save(images / "base_a.png")
    drawing(2).save(images / "base_b.png")
    records = []
    for n, (name, title) in enumerate(files):
        file_name = os.fsdecode(name + b".png")
        drawing(10 + n).save(os.path.join(os.fsencode(images), name + b".png"))
        records.append({"file": file_name, "title": title})
    (root / "meta.json").write_text(json.dumps(records), encoding="ascii")  # surrogates as \u escapes
    config = make_config(collection=images, metadata_file=root / "meta.json", networks=("pixels",), k=2,
                         experiment_enabled=False, out=root / "site", cache_dir=root / "cache")  # fmt: skip
    result = build(config)
    assert len(result.items) == len(files) + 2 and not result.skipped  # every name is a file to build
    assert len({i.id for i in result.items}) == len(result.items)
    site = root / "site"
    for page in site.rglob("*.html"):
        page.read_bytes().decode("utf-8")  # every page is UTF-8 text
    built = {i.path.name: i for i in result.items}
    for name, title in files:
        item = built[os.fsdecode(name + b".png")]
        assert "\ufffd" in item.relpath or item.relpath == os.fsdecode(name + b".png")
        shown = title.strip()
        if shown.strip(string.whitespace):
            page = read(site / "compare" / f"{item.id}.html")
            expected = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in shown)
            assert str(escape(expected)) in page
    assert broken_or_outside(site) == []


# Configuration values of every type and size, in vsis.toml: each is accepted as a valid configuration or
# refused with one line naming the problem, at once; never a traceback.
def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value == math.inf else "-inf" if value == -math.inf else repr(value))
        )
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string, but for escapes TOML lacks (a lone surrogate: invalid TOML)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


scalars = (
    st.integers(-(2**70), 2**70)
    | st.sampled_from([0, 1, -1, 2**31, 2**32, 2**40, 10**9, 10**12])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.text(max_size=12)
    | st.sampled_from(["pixels", "efficientnet_lite0", "annoy", "exact", "cells", "m1", "webp", "ray", "int8"])
)
config_values = scalars | st.lists(scalars, max_size=3)
TOP_KEYS = [key for key, s, _default in BuildConfig.settings() if s.kind != "path"]  # paths: a folder anywhere
TABLE_KEYS = [(name, key) for name, table in TABLES.items() for key, _s, _d in table.settings()]


@settings(max_examples=300, deadline=None)
@given(
    top=st.dictionaries(st.sampled_from(TOP_KEYS), config_values, max_size=4),
    tables=st.dictionaries(st.sampled_from(TABLE_KEYS), config_values, max_size=4),
)
def test_any_config_value_is_accepted_or_refused_in_one_line_at_once(tmp_path_factory, top, tables) -> None:
    lines = [f"{key} = {_toml_value(value)}" for key, value in top.items()]
    for table in sorted({t for t, _ in tables}):
        lines.append(f"[{table}]")
        lines += [f"{key} = {_toml_value(value)}" for (t, key), value in tables.items() if t == table]
    path = tmp_path_factory.mktemp("config") / "vsis.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.perf_counter()
    try:
        config = make_config(path)
    except ConfigError as exc:
        message = str(exc)
        assert message and "\n" not in message and "\r" not in message, message
    else:
        assert config.validate() is config
        assert 1 <= config.k <= 1000 and 1 <= config.annoy.trees <= 1000 and 0 <= config.map.epochs <= 5000
        assert all(0 <= s <= 2**31 - 1 for s in (config.annoy.seed, config.map.seed, config.experiment.seed))
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("end", ["least", "most"])
def test_a_build_at_either_end_of_every_bound_finishes(tmp_path: Path, end: str) -> None:
    """What the bounds allow is what a build can do: the least and the most effort every setting accepts
    build a small collection (the most: 1,000 Annoy trees, 5,000 map epochs, the largest seeds)."""
    images = tmp_path / "images"
    images.mkdir()
    for n in range(6):
        drawing(n).save(images / f"{n}.png")
    settings_at = {
        "least": dict(k=1, annoy_trees=1, annoy_seed=0, map_epochs=0, map_seed=0, map_clusters=0, thumb_size=16,
                      batch_size=1, workers=0, neighbours_recall_queries=1, experiment_originals=1, experiment_seed=0,
                      experiment_k=(1,)),
        "most": dict(k=1000, annoy_trees=1000, annoy_seed=2**31 - 1, map_epochs=5000, map_seed=2**31 - 1,
                     map_clusters=MAX_CLUSTERS, thumb_size=1024, batch_size=4096, workers=256,
                     neighbours_recall_queries=100_000, experiment_originals=1_000_000, experiment_seed=2**31 - 1,
                     experiment_k=(1, 1000)),
    }[end]  # fmt: skip
    config = make_config(collection=images, networks=("pixels",), neighbours_method="annoy", out=tmp_path / "site",
                         cache_dir=tmp_path / "cache", **settings_at)  # fmt: skip
    result = build(config)
    assert len(result.items) == 6 and all(len(n.neighbours.indices) == 6 for n in result.networks)

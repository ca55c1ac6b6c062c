"""Property-based: whatever the file names, metadata values and image shapes, a build either succeeds with a
complete site in which every value is escaped, or reports each file it could not use, with its reason."""

from __future__ import annotations

import csv
import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from PIL import Image

from builder.build import build
from builder.config import make_config

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
        metadata=root / "meta.csv",
        networks=("pixels",),
        k=2,
        experiment=False,
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

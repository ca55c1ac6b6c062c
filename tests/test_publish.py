"""Publishing (site/publish.py): the bytes a site shares with the cache and with the site it replaces."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from builder.build import build
from builder.config import make_config

from .conftest import drawing, write_collection


def pixels_config(images: Path, out: Path, cache: Path):
    return make_config(collection=images, networks=("pixels",), k=3, experiment=False, out=out, cache_dir=cache)


# The bytes a site shares with nothing.


def test_an_in_place_edit_of_a_published_thumbnail_changes_neither_the_cache_nor_the_next_site(
    tmp_path: Path,
) -> None:
    write_collection(tmp_path / "images", {"": 4})
    cache = tmp_path / "cache"
    build(pixels_config(tmp_path / "images", tmp_path / "site", cache))
    thumb = sorted((tmp_path / "site" / "compare").glob("*.webp"))[0]
    original = thumb.read_bytes()
    (entry,) = [p for p in (cache / "thumbs").rglob("*.webp") if p.read_bytes() == original]
    optimised = io.BytesIO()
    Image.open(io.BytesIO(original)).save(optimised, format="WEBP", quality=5)  # still a whole WebP file
    assert optimised.getvalue() != original
    with thumb.open("r+b") as fh:  # as an image optimiser rewrites a file in place
        fh.write(optimised.getvalue())
        fh.truncate()
    assert entry.read_bytes() == original
    build(pixels_config(tmp_path / "images", tmp_path / "again", cache))
    assert (tmp_path / "again" / "compare" / thumb.name).read_bytes() == original


def test_a_compare_page_edited_in_the_published_site_is_rendered_again(tmp_path: Path) -> None:
    write_collection(tmp_path / "images", {"": 30})
    config = pixels_config(tmp_path / "images", tmp_path / "site", tmp_path / "cache")
    build(config)
    pages = sorted((tmp_path / "site" / "compare").glob("*.html"))
    for page in pages:
        with page.open("r+b") as fh:  # the same length: only the bytes tell
            fh.write(b"<!--edited-->")
    drawing(77).save(tmp_path / "images" / "added.png")
    build(config)
    edited = [p.name for p in (tmp_path / "site" / "compare").glob("*.html") if b"<!--edited-->" in p.read_bytes()]
    assert edited == []

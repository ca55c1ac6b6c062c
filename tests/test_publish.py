"""Publishing (site/publish.py): the exchange of the staging folder with the output, its fallback, the
bytes a site shares with the cache and with the site it replaces, and the output folders refused up front."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from builder.build import build
from builder.cli import app
from builder.config import make_config
from builder.site import publish as publish_module
from builder.site.publish import publish

from .conftest import drawing, write_collection
from .test_robustness import tree
from .test_units import small_model


def pixels_config(images: Path, out: Path, cache: Path):
    return make_config(collection=images, networks=("pixels",), k=3, experiment_enabled=False, out=out, cache_dir=cache)


# The exchange, and the two renames where there is none.


def test_the_exchange_swaps_two_folders_in_one_step(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one").write_text("1")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two").write_text("2")
    publish_module._exchange(tmp_path / "a", tmp_path / "b")
    assert tree(tmp_path / "a") == {"two": b"2"} and tree(tmp_path / "b") == {"one": b"1"}


def refuse_exchange(code: int):
    def exchange(a: Path, b: Path) -> None:
        raise OSError(code, os.strerror(code), str(a))

    return exchange


@pytest.mark.parametrize("code", [errno.EINVAL, errno.ENOSYS])
def test_where_folders_cannot_be_exchanged_the_site_is_renamed_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    monkeypatch.setattr(publish_module, "_exchange", refuse_exchange(code))
    out = tmp_path / "site"
    publish(small_model(tmp_path / "in"), out)
    publish(small_model(tmp_path / "in", "Another title"), out)
    assert "Another title" in (out / "index.html").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "site"]  # no staging folder or previous site


def test_an_exchange_that_fails_otherwise_leaves_the_previous_site_and_no_staging_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    publish(small_model(tmp_path / "in"), out)
    previous = tree(out)
    monkeypatch.setattr(publish_module, "_exchange", refuse_exchange(errno.EIO))
    with pytest.raises(OSError, match="Input/output error"):
        publish(small_model(tmp_path / "in", "Another title"), out)
    assert tree(out) == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "site"]


def test_a_failed_second_rename_puts_the_previous_site_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "site"
    publish(small_model(tmp_path / "in"), out)
    previous = tree(out)
    monkeypatch.setattr(publish_module, "_exchange", refuse_exchange(errno.EINVAL))
    rename = os.rename

    def full_disk_on_the_way_in(source: Path, target: Path) -> None:
        if Path(source).name == "site" and Path(target) == out:  # the new site, not the previous one back
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        rename(source, target)

    monkeypatch.setattr(publish_module.os, "rename", full_disk_on_the_way_in)
    with pytest.raises(OSError, match="No space left"):
        publish(small_model(tmp_path / "in", "Another title"), out)
    monkeypatch.setattr(publish_module.os, "rename", rename)
    assert tree(out) == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "site"]


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


# The output folder: refused before any work, its permissions kept, a link to it left in place.


def refusals(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """--out of each kind refused, with what the one-line error says."""
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "thesis.tex").write_text("mine")
    return {
        "root": (Path("/"), "the root of the file system"),
        "home": (tmp_path / "home", "your home folder"),
        "collection": (tmp_path / "images", "is the collection"),
        "above the collection": (tmp_path, "holds the collection"),
        "cache": (tmp_path / "cache", "is the cache folder"),
        "file": (tmp_path / "notes.txt", "is a file"),
        "user's folder": (tmp_path / "thesis", "is not a site vsis built"),
    }


@pytest.mark.parametrize(
    "kind", ["root", "home", "collection", "above the collection", "cache", "file", "user's folder"]
)
def test_an_output_folder_that_may_not_be_replaced_is_refused_in_one_line_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    write_collection(tmp_path / "images", {"": 3})
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    out, reason = refusals(tmp_path)[kind]
    before = sorted(p.name for p in out.parent.iterdir())
    result = CliRunner().invoke(
        app,
        ["build", str(tmp_path / "images"), "--networks", "pixels", "--no-experiment", "--out", str(out),
         "--cache-dir", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output, result.output
    assert str(out) in result.output and reason in result.output, result.output
    assert not (tmp_path / "cache").exists()  # refused before the cache was claimed, let alone features made
    assert sorted(p.name for p in out.parent.iterdir()) == before  # no lock file, no staging folder


def test_an_empty_private_folder_behind_a_link_keeps_its_mode_and_the_link(tmp_path: Path) -> None:
    write_collection(tmp_path / "images", {"": 3})
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    link = tmp_path / "site"
    link.symlink_to(private)
    config = pixels_config(tmp_path / "images", link, tmp_path / "cache")
    build(config)
    drawing(77).save(tmp_path / "images" / "added.png")
    build(config)  # a new site replaces the one there
    assert link.is_symlink() and link.readlink() == private
    assert (private / "index.html").is_file() and len(list((private / "compare").glob("*.html"))) == 4
    assert private.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "images", "private", "site"]

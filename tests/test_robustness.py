"""Robust and safe builds: a corpus of bad files, reproducible output, and builds killed part-way."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from builder.build import build
from builder.config import make_config

from .conftest import drawing, write_collection


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root, by relative path, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def jpeg_bytes(im: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="JPEG", **kwargs)
    return buf.getvalue()


def bad_corpus(root: Path) -> dict[str, str]:
    """Write good, awkward and bad files under root; return {relative path: expected reason} of the bad."""
    write_collection(root, {"": 4})
    good = drawing(40, size=120)
    # awkward but usable
    exif = Image.Exif()
    exif[0x0112] = 6
    (root / "rotated.jpg").write_bytes(jpeg_bytes(good, exif=exif.tobytes()))
    (root / "cmyk.jpg").write_bytes(jpeg_bytes(good.convert("CMYK")))
    Image.fromarray(np.arange(120 * 120, dtype=np.uint16).reshape(120, 120) * 4).save(root / "sixteen.png")
    pal = good.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.info["transparency"] = 0
    pal.save(root / "palette.png", transparency=0)
    frames = [drawing(41 + i) for i in range(3)]
    frames[0].save(root / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    (root / "same").mkdir()
    (root / "other").mkdir()
    drawing(50).save(root / "same" / "name.png")
    drawing(51).save(root / "other" / "name.png")
    (root / "duplicate.png").write_bytes((root / "same" / "name.png").read_bytes())
    drawing(52).save(root / "with spaces & <img src=x>.png")
    drawing(53).save(root / "unicodé 猫.png")
    (root / "loop").mkdir()
    (root / "loop" / "back").symlink_to(root / "loop")
    # bad
    (root / "zero.jpg").write_bytes(b"")
    whole = jpeg_bytes(drawing(60, size=200))
    (root / "truncated.jpg").write_bytes(whole[: len(whole) // 3])
    png = io.BytesIO()
    drawing(61, size=200).save(png, format="PNG")
    (root / "truncated.png").write_bytes(png.getvalue()[: len(png.getvalue()) // 2])
    (root / "notes.png").write_text("this is not an image")
    Image.new("1", (9000, 9000)).save(root / "bomb.png")  # 81 megapixels, a few KB on disk
    bad = {
        "zero.jpg": "empty file",
        "truncated.jpg": "damaged or truncated",
        "truncated.png": "damaged or truncated",
        "notes.png": "not an image",
        "bomb.png": "too large",
        "loop/back": "symlink loop",
    }
    locked = root / "locked.png"
    drawing(62).save(locked)
    locked.chmod(0)
    if os.geteuid() != 0:  # root reads it anyway
        bad["locked.png"] = "Permission denied"
    return bad


def test_a_corpus_of_bad_files_is_reported_and_the_build_goes_on(tmp_path: Path) -> None:
    bad = bad_corpus(tmp_path / "images")
    config = make_config(
        collection=tmp_path / "images",
        networks=("pixels",),
        k=3,
        experiment_enabled=False,
        out=tmp_path / "site",
        cache_dir=tmp_path / "cache",
    )
    result = build(config)
    reasons = dict(result.skipped)
    assert set(reasons) == set(bad)
    for rel, reason in bad.items():
        assert reason in reasons[rel], (rel, reasons[rel])
    built = {i.relpath for i in result.items}
    for rel in (
        "rotated.jpg",
        "cmyk.jpg",
        "sixteen.png",
        "palette.png",
        "animated.gif",
        "same/name.png",
        "other/name.png",
        "duplicate.png",
        "with spaces & <img src=x>.png",
        "unicodé 猫.png",
    ):
        assert rel in built
    ids = [i.id for i in result.items]
    assert len(set(ids)) == len(ids)  # identical names in different folders get different ids
    by_rel = {i.relpath: i for i in result.items}
    assert by_rel["duplicate.png"].content_hash == by_rel["same/name.png"].content_hash
    assert result.networks[0].extracted == len(result.items) - 1  # byte-identical files: one extraction
    report = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    for rel in bad:
        assert rel in report
    page = (tmp_path / "site" / "compare" / f"{by_rel['with spaces & <img src=x>.png'].id}.html").read_text(
        encoding="utf-8"
    )
    assert "with spaces &amp; &lt;img src=x&gt;.png" in page and "<img src=x>" not in page


def config_args(images: Path, out: Path, cache: Path, networks: str = "efficientnet_lite0") -> list[str]:
    return [
        str(Path(sys.executable).parent / "vsis"),
        "build",
        str(images),
        "--networks",
        networks,
        "--k",
        "3",
        "--out",
        str(out),
        "--cache-dir",
        str(cache),
        "--originals",
        "4",
        "--batch-size",
        "2",
    ]


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    return {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}


def test_two_builds_of_the_same_inputs_are_byte_identical(tmp_path: Path, pinned: dict[str, str]) -> None:
    write_collection(tmp_path / "images", {"a": 6, "b": 6})
    sites = []
    for n in (1, 2):
        config = make_config(
            collection=tmp_path / "images",
            networks=("efficientnet_lite0", "pixels"),
            k=3,
            experiment_originals=4,
            out=tmp_path / f"site{n}",
            cache_dir=tmp_path / f"cache{n}",
        )
        build(config)
        sites.append(tree(tmp_path / f"site{n}"))
    assert sites[0].keys() == sites[1].keys()
    assert [p for p in sites[0] if sites[0][p] != sites[1][p]] == []
    assert b'"built_at": "2023-11-14T22:13:20+00:00"' in sites[0]["data/manifest.json"]


def kill_when(cmd: list[str], env: dict[str, str], ready, timeout: float = 120.0) -> None:
    """Start cmd, SIGKILL it as soon as ready() is true; fail if it finished first."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert proc.poll() is None, "the build finished before the moment to kill it"
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()


def test_a_build_killed_during_extraction_or_rendering_leaves_the_previous_site(
    tmp_path: Path, pinned: dict[str, str]
) -> None:
    images = tmp_path / "images"
    write_collection(images, {"a": 40, "b": 40})
    # the reference: the final collection built without interruption
    ref_out, out, cache = tmp_path / "reference", tmp_path / "site", tmp_path / "cache"
    # the previous site: half the collection
    hidden = tmp_path / "later"
    hidden.mkdir()
    for p in sorted((images / "b").iterdir())[:20]:
        p.rename(hidden / p.name)
    subprocess.run(config_args(images, out, cache), env=pinned, check=True, capture_output=True)
    previous = tree(out)
    for p in hidden.iterdir():
        p.rename(images / "b" / p.name)
    subprocess.run(config_args(images, ref_out, tmp_path / "ref-cache"), env=pinned, check=True, capture_output=True)

    features = cache / "features"
    before = sum(1 for _ in features.rglob("*.npy"))
    kill_when(config_args(images, out, cache), pinned, lambda: sum(1 for _ in features.rglob("*.npy")) >= before + 6)
    assert tree(out) == previous  # killed while extracting
    assert not list(features.rglob("*.tmp"))  # no half-written cache entry under a real name

    def rendering() -> bool:
        return any(sum(1 for _ in d.glob("site/compare/*.html")) >= 3 for d in tmp_path.glob(".site.building-*"))

    kill_when(config_args(images, out, cache), pinned, rendering)
    assert tree(out) == previous  # killed while rendering

    subprocess.run(config_args(images, out, cache), env=pinned, check=True, capture_output=True)
    assert tree(out) == tree(ref_out)
    assert not list(tmp_path.glob(".site.*"))  # the killed builds' leftovers are gone


# A program that runs `vsis` on a system whose folders cannot be exchanged (publish.py's last resort).
WITHOUT_EXCHANGE = """
import errno
import builder.site.publish as publish
def refuse(a, b):
    raise OSError(errno.EINVAL, "not supported here")
publish._exchange = refuse
from builder.cli import app
app(prog_name="vsis")
"""


@pytest.mark.parametrize("moment", ["swap", "swapped", "between"])
def test_a_build_killed_at_the_swap_leaves_a_complete_site_and_the_next_build_no_staging_folder(
    tmp_path: Path, pinned: dict[str, str], moment: str
) -> None:
    images, out, cache = tmp_path / "images", tmp_path / "site", tmp_path / "cache"
    write_collection(images, {"a": 6, "b": 6})
    (tmp_path / "later").mkdir()
    added = sorted((images / "b").iterdir())[:3]
    for p in added:
        p.rename(tmp_path / "later" / p.name)
    subprocess.run(config_args(images, out, cache, "pixels"), env=pinned, check=True, capture_output=True)
    previous = tree(out)
    for p in added:
        (tmp_path / "later" / p.name).rename(p)
    reference = tmp_path / "reference"
    subprocess.run(config_args(images, reference, tmp_path / "ref-cache", "pixels"), env=pinned, check=True,
                   capture_output=True)  # fmt: skip
    new = tree(reference)

    command = config_args(images, out, cache, "pixels")
    if moment == "between":  # only the fallback has a moment between two renames
        command = [sys.executable, "-c", WITHOUT_EXCHANGE, *command[1:]]
    reached = tmp_path / "reached"
    kill_when(command, {**pinned, "VSIS_TEST_PAUSE": f"{moment}:{reached}"}, reached.exists)
    (staging,) = tmp_path.glob(".site.building-*")  # the killed build's, marked for the next one to remove
    if moment == "between":  # no site at out until the next build: both are kept whole
        assert not out.exists()
        assert tree(staging / "old") == previous and tree(staging / "site") == new
    else:
        assert tree(out) == (previous if moment == "swap" else new)

    subprocess.run(config_args(images, out, cache, "pixels"), env=pinned, check=True, capture_output=True)
    assert tree(out) == new
    assert not list(tmp_path.glob(".site.*"))

"""Hostile and unlucky inputs: builds never publish a broken site, never hang, never touch what is not theirs.

Each test is one of the cases found by trying (issue 12), kept fixed: concurrent builds, damaged cache
entries, FIFOs and devices named like images, absurd aspect ratios, long names, a site inside its own
collection, folders that only look like vsis', one-line errors for expected OS failures, metadata with
odd line breaks, litter and orphans of interrupted builds, ids that never change when a file is added.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from builder import cache as cache_module
from builder.build import build
from builder.cli import app
from builder.collect.collection import MAX_ID_LENGTH, assign_ids, read_metadata
from builder.config import make_config
from builder.errors import VsisError
from builder.inputs.images import webp_problem
from builder.ownership import mark_as_made

from .conftest import drawing, write_collection

VSIS = str(Path(sys.executable).parent / "vsis")


def build_command(images: Path, root: Path, *extra: str, networks: str = "pixels") -> list[str]:
    """`vsis build` of `images` into root/site with root/cache, experiment off."""
    return [VSIS, "build", str(images), "--networks", networks, "--no-experiment", "--k", "2",
            "--out", str(root / "site"), "--cache-dir", str(root / "cache"), *extra]  # fmt: skip


def pixels_config(images: Path, root: Path, **overrides):
    values = dict(
        collection=images,
        networks=("pixels",),
        k=3,
        experiment_enabled=False,
        out=root / "site",
        cache_dir=root / "cache",
    )
    values.update(overrides)
    return make_config(**values)


def complete(site: Path, n_items: int) -> bool:
    """Every file a finished site has: the pages, the explorer's data, a compare page and thumbnail per item."""
    return (
        all(
            (site / name).is_file()
            for name in (
                "index.html",
                "explore.html",
                "images.html",
                "data/index.js",
                "data/manifest.json",
                ".vsis-site",
            )
        )
        and len(list((site / "compare").glob("*.html"))) == n_items
        and len(list((site / "compare").glob("*.webp"))) == n_items
    )


# 1. Two builds at once.


def test_concurrent_builds_give_a_complete_site_or_a_clear_refusal(tmp_path: Path) -> None:
    images = tmp_path / "images"
    write_collection(images, {"a": 10, "b": 10})
    args = build_command(images, tmp_path)
    subprocess.run(args, check=True, capture_output=True)  # a warm cache, as in the report
    for attempt in range(8):
        (tmp_path / "images" / "a" / f"new_{attempt}.png").parent.mkdir(exist_ok=True)
        drawing(500 + attempt).save(tmp_path / "images" / "a" / f"new_{attempt}.png")  # each round a new site
        first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.1)
        second = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        outcomes = [(p.wait(timeout=120), *p.communicate()) for p in (first, second)]
        for code, _, err in outcomes:
            assert "Traceback" not in err, err
            assert code == 0 or (code == 1 and "in use by another vsis build" in err), (code, err)
        assert any(code == 0 for code, _, _ in outcomes)
        assert complete(tmp_path / "site", 21 + attempt), attempt
    assert not list(tmp_path.glob(".site.*"))  # no staging, backup or lock left


# 2. Damaged cache entries.


def test_damaged_cache_entries_are_computed_again_with_a_warning(tmp_path: Path) -> None:
    images = tmp_path / "images"
    write_collection(images, {"": 8})
    first = build(pixels_config(images, tmp_path))
    cache = tmp_path / "cache"
    (features,) = sorted((cache / "features").rglob("packed-*.npy"))  # every vector, packed in one matrix
    thumbs = sorted((cache / "thumbs").rglob("*.webp"))
    neighbours = sorted((cache / "neighbours").rglob("*.npz"))
    data = np.load(features)
    data[2] *= 3  # not of unit length
    with features.open("wb") as fh:
        np.save(fh, data)
    thumbs[0].write_bytes(thumbs[0].read_bytes()[:200])  # truncated WebP
    for entry in neighbours:
        entry.write_bytes(entry.read_bytes()[:50])  # truncated npz
    reporter_warnings: list[str] = []
    from builder.progress import QuietReporter

    reporter = QuietReporter()
    again = build(pixels_config(images, tmp_path, out=tmp_path / "site2"), reporter)
    reporter_warnings = reporter.warnings
    assert again.networks[0].extracted == 8  # a damaged pack is extracted again whole (single files: test_units)
    damaged = [w for w in reporter_warnings if "damaged cache entry" in w]
    assert len(damaged) == 1 + 1 + len(neighbours), reporter_warnings
    assert (again.networks[0].neighbours.indices == first.networks[0].neighbours.indices).all()
    for thumb in (tmp_path / "site2" / "compare").glob("*.webp"):
        assert webp_problem(thumb.read_bytes()) == ""
        Image.open(thumb).load()


# 3 and 4. Files that are not regular files; images whose derived sizes would explode.


def test_fifos_devices_and_elongated_images_are_reported_and_never_hang(tmp_path: Path) -> None:
    images = tmp_path / "images"
    write_collection(images, {"": 4})
    os.mkfifo(images / "y.png")
    (images / "z.png").symlink_to("/dev/zero")
    Image.new("RGB", (1, 100_000), "white").save(images / "needle.png")
    Image.new("RGB", (20_000, 1), "white").save(images / "thread.png")
    done = subprocess.run(
        build_command(images, tmp_path, "--title", "x"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "site" / "index.html").read_text()
    assert "y.png" in report and "not a regular file (a FIFO)" in report
    assert "z.png" in report and "link to a file outside the collection" in report
    assert "needle.png" in report and "thread.png" in report and "too elongated" in report
    assert complete(tmp_path / "site", 4)


def test_a_link_outside_the_collection_is_followed_only_when_asked(tmp_path: Path) -> None:
    images, private = tmp_path / "images", tmp_path / "private"
    write_collection(images, {"": 3})
    write_collection(private, {"": 1}, start_seed=50)
    (images / "linked.png").symlink_to(private / "img_050.png")
    (images / "album").symlink_to(private, target_is_directory=True)
    refused = build(pixels_config(images, tmp_path))
    assert {rel for rel, _ in refused.skipped} == {"linked.png", "album"}
    followed = build(pixels_config(images, tmp_path, follow_external_links=True, out=tmp_path / "site2"))
    assert {i.relpath for i in followed.items} >= {"linked.png", "album/img_050.png"}


# 5 and 12. Ids: short enough for any file system, and never changed by another file.


def test_long_names_and_deep_paths_build(tmp_path: Path) -> None:
    images = tmp_path / "images"
    long_name = "a" * 251 + ".png"
    deep = images / "/".join(["folder-with-a-rather-long-name"] * 6)
    deep.mkdir(parents=True)
    drawing(1).save(images / long_name)
    drawing(2).save(deep / ("b" * 200 + ".png"))
    drawing(3).save(images / "short.png")
    result = build(pixels_config(images, tmp_path))
    assert len(result.items) == 3
    assert all(len(i.id) <= MAX_ID_LENGTH for i in result.items)
    assert complete(tmp_path / "site", 3)


def test_adding_a_file_never_changes_another_files_id() -> None:
    before = assign_ids(["Cat 1.png", "animals/cat-1.png", "dog.png", "IMG_0001.JPG"])
    after = assign_ids(
        ["Cat 1.png", "animals/cat-1.png", "dog.png", "IMG_0001.JPG", "CAT 1.jpg", "Dog.PNG", "animals/Cat 1.png"]
    )
    assert {rel: after[rel] for rel in before} == before
    assert len(set(after.values())) == len(after)
    assert before["dog.png"] == "dog" and before["animals/cat-1.png"] == "animals-cat-1"  # already in id form


# 6. The site and the cache inside the collection.


@pytest.mark.parametrize("cache_dir", [".vsis-cache", "cache"])
def test_a_site_built_inside_its_collection_is_not_scanned_back(tmp_path: Path, cache_dir: str) -> None:
    images = tmp_path / "images"
    write_collection(images, {"": 8})
    counts = []
    for _ in range(3):
        done = subprocess.run(
            [VSIS, "build", ".", "--networks", "pixels", "--no-experiment", "--k", "2", "--cache-dir", cache_dir],
            cwd=images,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        counts.append(int(done.stdout.split("Built ")[1].split()[0]))
    assert counts == [8, 8, 8]


# 7. Folders that look like vsis' but are the user's.


def test_only_folders_a_dead_build_made_are_removed(tmp_path: Path) -> None:
    images = tmp_path / "images"
    write_collection(images, {"": 4})
    backup = tmp_path / ".site.old-backup"
    backup.mkdir()
    (backup / "important.txt").write_text("mine")
    lookalike = tmp_path / ".site.building-mine"
    lookalike.mkdir()
    stale = tmp_path / ".site.building-stale"
    stale.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (stale / ".vsis-made").write_text(f"pid: {dead.pid}\ntoken: 0\n")  # made by a build that is gone
    live = tmp_path / ".site.building-live"
    live.mkdir()
    mark_as_made(live)  # made by a build that is running (this process)
    build(pixels_config(images, tmp_path))
    assert (backup / "important.txt").read_text() == "mine"
    assert lookalike.is_dir() and live.is_dir()
    assert not stale.exists()


# 9. Expected OS errors are one line, not a traceback.


def test_a_full_disk_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_collection(tmp_path / "images", {"": 3})

    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(cache_module, "atomic_write", full)
    monkeypatch.setattr("builder.cache.atomic_write", full)
    result = CliRunner().invoke(
        app,
        [
            "build",
            str(tmp_path / "images"),
            "--networks",
            "pixels",
            "--no-experiment",
            "--out",
            str(tmp_path / "site"),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
    )
    assert result.exit_code == 1
    assert "No space left on device" in result.output and "Traceback" not in result.output
    assert not list(tmp_path.glob(".site.*"))


def test_serve_on_a_busy_port_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<p>hi</p>")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [VSIS, "serve", str(tmp_path / "site"), "--port", str(port)], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr and "Traceback" not in done.stderr


def test_deeply_nested_json_metadata_is_a_one_line_error(tmp_path: Path) -> None:
    write_collection(tmp_path / "images", {"": 3})
    (tmp_path / "meta.json").write_text("[" * 100_000 + "]" * 100_000)
    done = subprocess.run(
        build_command(tmp_path / "images", tmp_path, "--metadata", str(tmp_path / "meta.json")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "nested too deeply" in done.stderr and "Traceback" not in done.stderr


# 10. Line breaks inside CSV fields.


def test_csv_fields_keep_unicode_line_separators_and_form_feeds(tmp_path: Path) -> None:
    path = tmp_path / "meta.csv"
    path.write_text(
        'file,title,artist\na.png,"Line\u2028two\fthree",Ann\nb.png,"Para\u2029graph",Bob\n', encoding="utf-8"
    )
    records = read_metadata(path)
    assert records == [
        {"file": "a.png", "title": "Line\u2028two\fthree", "artist": "Ann"},
        {"file": "b.png", "title": "Para\u2029graph", "artist": "Bob"},
    ]


# 11. Litter and orphans of interrupted builds.


def test_litter_of_killed_builds_is_removed_from_the_cache(tmp_path: Path) -> None:
    write_collection(tmp_path / "images", {"": 3})
    build(pixels_config(tmp_path / "images", tmp_path))  # the cache vsis made, where its litter can be
    models = tmp_path / "cache" / "models"
    models.mkdir(parents=True, exist_ok=True)
    for entry in models.iterdir():
        entry.unlink()
    (models / ".net-opset17.onnx.abc.tmp").write_bytes(b"")
    (models / "vsis-model-xyz").mkdir()
    (models / ".quantize-xyz").mkdir()
    (models / "kept.onnx").write_bytes(b"a model")
    build(pixels_config(tmp_path / "images", tmp_path))
    assert sorted(p.name for p in models.iterdir()) == ["kept.onnx"]


def test_sigterm_while_a_model_is_made_stops_the_child_and_leaves_nothing(tmp_path: Path) -> None:
    write_collection(tmp_path / "images", {"": 4})
    models = tmp_path / "cache" / "models"
    build_cmd = build_command(tmp_path / "images", tmp_path, networks="efficientnet_lite0")
    parent = subprocess.Popen(build_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    # The scratch folder is made before the child is started: wait for both.
    children: list[int] = []
    while not (children and models.is_dir() and any(p.name.startswith("vsis-model-") for p in models.iterdir())):
        assert parent.poll() is None, parent.communicate()
        assert time.monotonic() < deadline, "no model-making child seen"
        time.sleep(0.01)
        children = _children(parent.pid)
    parent.send_signal(signal.SIGTERM)
    _, err = parent.communicate(timeout=60)
    assert parent.returncode == 143, err
    assert "Traceback" not in err
    time.sleep(0.5)
    assert not [pid for pid in children if _running(pid)]
    assert not [p.name for p in models.iterdir() if p.name.startswith(("vsis-model-", ".")) or p.suffix == ".tmp"]
    assert not list(tmp_path.glob(".site.*"))


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(c) for c in text.split()]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# Round 3 (issue 25): the cache folder, invalid UTF-8, bounds, identity, limits, field lengths.


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under folder with its bytes (None for a folder)."""
    return {p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes()) for p in folder.rglob("*")}


def test_a_cache_dir_at_a_folder_of_the_users_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    images = tmp_path / "images"
    write_collection(images, {"": 3})
    mine = tmp_path / "thesis"
    (mine / "vsis-model-notes").mkdir(parents=True)
    (mine / "vsis-model-notes" / "notes.txt").write_text("mine")
    (mine / "lock").write_text("my lock file")
    (mine / ".thesis.tex.tmp").write_text("autosave")
    (mine / "models" / ".quantize-draft").mkdir(parents=True)
    before = snapshot(mine)
    done = subprocess.run(
        [*build_command(images, tmp_path)[:-2], "--cache-dir", str(mine)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stderr
    assert "not a cache vsis made" in done.stderr and str(mine) in done.stderr and "Traceback" not in done.stderr
    assert snapshot(mine) == before  # nothing removed, truncated or added (no CACHEDIR.TAG)
    assert not (tmp_path / "site").exists()
    # an empty folder becomes the cache, and the cache vsis made is used again
    empty = tmp_path / "empty"
    empty.mkdir()
    for _ in range(2):
        again = subprocess.run([*build_command(images, tmp_path)[:-2], "--cache-dir", str(empty)], capture_output=True,
                               text=True, timeout=120)  # fmt: skip
        assert again.returncode == 0, again.stderr
    assert (empty / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")


def test_the_cache_is_never_scanned_as_the_collection(tmp_path: Path) -> None:
    images = tmp_path / "images"
    write_collection(images, {"a": 3, "b": 3})
    before = snapshot(images)
    for _ in range(2):  # the collection as its own cache: refused, every time, and untouched
        done = subprocess.run(
            [*build_command(images, tmp_path)[:-2], "--cache-dir", str(images)], capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        assert done.returncode == 1 and "not a cache vsis made" in done.stderr, done.stderr
    assert snapshot(images) == before
    build(pixels_config(images, tmp_path))
    for inside in (tmp_path / "cache", tmp_path / "cache" / "thumbs", tmp_path / "site" / "compare"):
        with pytest.raises(VsisError, match="inside a site or cache that vsis made"):
            build(pixels_config(inside, tmp_path, out=tmp_path / "site2", cache_dir=tmp_path / "cache2"))


def test_names_and_values_that_are_not_utf8_build_and_show_replacement_characters(tmp_path: Path) -> None:
    root = Path(os.fsdecode(bytes(tmp_path) + b"/collection-caf\xe9"))  # a folder name: the site's title
    root.mkdir()
    for n, name in enumerate([b"caf\xe9.png", b"caf\xe8.png", b"plain.png"]):
        drawing(n).save(os.fsdecode(bytes(root) + b"/" + name))
    (tmp_path / "meta.json").write_text('[{"file": "plain.png", "title": "lone \\ud800 surrogate"}]')
    out = Path(os.fsdecode(bytes(tmp_path) + b"/site-\xff"))
    args = [VSIS, "build", os.fsencode(root), "--networks", "pixels", "--no-experiment", "--k", "2",
            "--metadata", str(tmp_path / "meta.json"), "--out", os.fsencode(out),
            "--cache-dir", str(tmp_path / "c")]  # fmt: skip
    done = subprocess.run(args, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"Traceback" not in done.stderr
    first = sorted(p.name for p in (out / "compare").glob("*.html"))
    assert len(first) == 3 and len(set(first)) == 3  # two names differing in one undecodable byte: two ids
    pages = "".join(p.read_text(encoding="utf-8") for p in (out / "compare").glob("*.html"))
    assert "caf\ufffd" in pages and "lone \ufffd surrogate" in pages
    assert "collection-caf\ufffd" in (out / "index.html").read_text(encoding="utf-8")
    subprocess.run(args, capture_output=True, timeout=120, check=True)
    assert sorted(p.name for p in (out / "compare").glob("*.html")) == first  # ids stable


@pytest.mark.parametrize(
    "table, setting",
    [("annoy", "trees = 1000000000"), ("map", "epochs = 1000000000"), ("annoy", "seed = -1"),
     ("map", "seed = 1099511627776"), ("experiment", "seed = -5"), ("neighbours", "recall_queries = 1000000000")],
)  # fmt: skip
def test_effort_settings_out_of_bounds_are_refused_in_one_line_before_any_work(
    tmp_path: Path, table: str, setting: str
) -> None:
    write_collection(tmp_path / "images", {"": 3})
    config = tmp_path / "vsis.toml"
    config.write_text(f'collection = "images"\nnetworks = ["pixels"]\n[annoy]\n[{table}]\n{setting}\n'.replace(
        "[annoy]\n[annoy]", "[annoy]"))  # fmt: skip
    started = time.monotonic()
    done = subprocess.run([VSIS, "build", "--config", str(config)], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1 and done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "must be" in done.stderr, done.stderr
    assert time.monotonic() - started < 30  # refused before any extraction (a process start and imports)
    assert not (tmp_path / ".vsis-cache").exists()


def test_a_config_file_with_a_byte_order_mark_reads_and_one_not_utf8_is_a_one_line_error(tmp_path: Path) -> None:
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbfk = 4\n")
    assert make_config(bom).k == 4
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'title = "caf\xe9"\n')
    with pytest.raises(VsisError, match=r"latin.toml: not UTF-8 text \(invalid continuation byte at byte 12\)"):
        make_config(latin)


def test_tightened_decoding_limits_apply_to_cached_images(tmp_path: Path) -> None:
    images = tmp_path / "images"
    write_collection(images, {"": 4})
    for n in range(3):
        drawing(20 + n, size=200).save(images / f"big_{n}.png")
    Image.new("RGB", (300, 20), "white").save(images / "long.png")
    warm = build(pixels_config(images, tmp_path))
    assert len(warm.items) == 8
    tight = dict(max_pixels=20_000, max_aspect=10.0)
    again = build(pixels_config(images, tmp_path, out=tmp_path / "warm", **tight))
    clean = build(pixels_config(images, tmp_path, out=tmp_path / "clean", cache_dir=tmp_path / "clean-cache", **tight))
    assert (
        sorted(i.relpath for i in again.items)
        == sorted(i.relpath for i in clean.items)
        == [f"img_00{n}.png" for n in range(4)]
    )
    assert dict(again.skipped) == dict(clean.skipped)
    assert "too large: 200x200" in dict(again.skipped)["big_0.png"]
    assert "too elongated: 300x20" in dict(again.skipped)["long.png"]


def test_a_huge_metadata_value_is_cut_with_a_warning(tmp_path: Path) -> None:
    from builder.collect.collection import MAX_FIELD_CHARS
    from builder.progress import QuietReporter

    write_collection(tmp_path / "images", {"": 6})
    title = "long title " * 100_000  # 1.1 MB
    (tmp_path / "meta.json").write_text(json.dumps([{"file": "img_000.png", "title": title}]), encoding="utf-8")
    reporter = QuietReporter()
    result = build(pixels_config(tmp_path / "images", tmp_path, metadata_file=tmp_path / "meta.json"), reporter)
    kept = next(i.title for i in result.items if i.relpath == "img_000.png")
    assert len(kept) == MAX_FIELD_CHARS and kept.endswith("\u2026") and title.startswith(kept[:-1])
    assert any("1 value(s) longer than 2,000 characters cut" in w for w in reporter.warnings), reporter.warnings
    assert result.size is not None and result.size.bytes < 5_000_000

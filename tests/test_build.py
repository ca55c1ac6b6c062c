"""End to end: a small collection becomes a site, through the same `build()` the CLI calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from builder.build import build
from builder.config import make_config
from builder.errors import VsisError
from builder.progress import QuietReporter

from .conftest import build_in_fresh_process, drawing, write_collection
from .sitecheck import broken_or_outside, explorer_data

NETWORKS = ("efficientnet_lite0", "pixels")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_collection(tmp_path / "images", {"red": 4, "blue": 4, "": 3})
    (tmp_path / "meta.csv").write_text(
        "file,title,artist,url,donor\n"
        "red/img_000.png,The <b>red</b> one,Ann & Co,https://example.org/a?x=1&y=2,Mr. X\n"
        'img_008.png,Evil,"<script>alert(1)</script>",javascript:alert(1),\n',
        encoding="utf-8",
    )
    return tmp_path


def config_for(project: Path, **overrides):
    values = dict(
        collection=project / "images",
        metadata_file=project / "meta.csv",
        networks=NETWORKS,
        k=3,
        out=project / "site",
        cache_dir=project / "cache",
        title="Test collection",
        experiment_enabled=False,
    )
    values.update(overrides)
    return make_config(**values)


def test_build_writes_a_complete_self_contained_site(project: Path) -> None:
    result = build(config_for(project))
    site = project / "site"
    assert (site / "index.html").is_file() and (site / "explore.html").is_file()
    assert (site / ".nojekyll").is_file()
    ids = sorted(i.id for i in result.items)
    assert len(ids) == 11
    assert sorted(p.stem for p in (site / "compare").glob("*.html")) == ids
    assert sorted(p.stem for p in (site / "compare").glob("*.webp")) == ids
    assert broken_or_outside(site) == []

    (data,) = explorer_data(site)["datasets"]
    assert data["name"] == "collection" and data["queries"] is None
    assert [i["id"] for i in data["items"]] == ids
    assert [n["name"] for n in data["networks"]] == list(NETWORKS)
    for net in data["networks"]:
        for i, row in enumerate(net["neighbours"]):
            assert len(row) == 3
            assert i not in [j for j, _ in row]  # never its own neighbour
            assert all(-1.0 <= s <= 1.0 for _, s in row)


def test_the_published_neighbours_are_the_computed_ones(project: Path) -> None:
    result = build(config_for(project))
    (data,) = explorer_data(project / "site")["datasets"]
    for net in result.networks:
        published = next(n for n in data["networks"] if n["name"] == net.name)["neighbours"]
        assert [[j for j, _ in row] for row in published] == net.neighbours.indices.tolist()
        assert net.search_recall == pytest.approx(1.0)  # 11 items, 50 trees: Annoy is exact here


def test_metadata_is_shown_escaped_and_unsafe_urls_are_not_links(project: Path) -> None:
    build(config_for(project))
    site = project / "site"
    red = (site / "compare" / "red-img_000.html").read_text(encoding="utf-8")
    assert "The &lt;b&gt;red&lt;/b&gt; one" in red
    assert "Ann &amp; Co" in red
    assert 'href="https://example.org/a?x=1&amp;y=2"' in red
    assert "Mr. X" in red  # an extra column is kept and shown
    evil = (site / "compare" / "img_008.html").read_text(encoding="utf-8")
    assert "<script>alert" not in evil and "&lt;script&gt;alert(1)&lt;/script&gt;" in evil
    assert "javascript:" not in evil
    for js in (site / "data").rglob("*.js"):
        text = js.read_text(encoding="utf-8")
        assert "</script>" not in text and "<script>" not in text
    items = {i["id"]: i for i in explorer_data(site)["datasets"][0]["items"]}
    assert items["img_008"]["artist"] == "<script>alert(1)</script>"  # the data keeps the text, shown as text


def test_a_second_build_extracts_nothing_and_an_added_image_costs_one(project: Path) -> None:
    first = build(config_for(project))
    assert {n.name: n.extracted for n in first.networks} == {"efficientnet_lite0": 11, "pixels": 11}
    second = build(config_for(project))
    assert {n.name: (n.extracted, n.cached) for n in second.networks} == {
        "efficientnet_lite0": (0, 11),
        "pixels": (0, 11),
    }
    drawing(99).save(project / "images" / "blue" / "new.png")
    third = build(config_for(project))
    assert {n.name: n.extracted for n in third.networks} == {"efficientnet_lite0": 1, "pixels": 1}
    assert len(third.items) == 12
    # a different k reuses every feature
    fourth = build(config_for(project, k=2))
    assert sum(n.extracted for n in fourth.networks) == 0


def test_a_bad_image_is_reported_and_the_build_goes_on(project: Path) -> None:
    (project / "images" / "red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (project / "images" / "empty.jpg").write_bytes(b"")
    reporter = QuietReporter()
    result = build(config_for(project), reporter)
    assert len(result.items) == 11
    reasons = dict(result.skipped)
    assert set(reasons) == {"red/broken.png", "empty.jpg"}
    assert "empty file" in reasons["empty.jpg"]
    assert any("broken.png" in w for w in reporter.warnings)
    index = (project / "site" / "index.html").read_text(encoding="utf-8")
    assert "red/broken.png" in index and "empty.jpg" in index


def test_an_existing_folder_that_is_not_a_site_is_never_replaced(project: Path) -> None:
    precious = project / "mine"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(VsisError, match="refusing to replace"):
        build(config_for(project, out=precious))
    assert (precious / "thesis.tex").read_text() == "years of work"
    # a previous site is replaced, with nothing of it left behind
    build(config_for(project))
    (project / "site" / "stale.html").write_text("old")
    build(config_for(project, title="A new title"))
    assert not (project / "site" / "stale.html").exists()
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(".site")) == []


def test_a_collection_too_small_for_neighbours_is_an_error(tmp_path: Path) -> None:
    write_collection(tmp_path / "one", {"": 1})
    with pytest.raises(VsisError, match="at least 2"):
        build(
            make_config(collection=tmp_path / "one", networks=("pixels",), out=tmp_path / "s", cache_dir=tmp_path / "c")
        )


def test_worker_threads_change_nothing_but_speed(project: Path) -> None:
    (project / "images" / "bad.png").write_bytes(b"nope")
    inline = build(
        config_for(project, workers=0, experiment_enabled=True, cache_dir=project / "c0", out=project / "s0")
    )
    threaded = build(
        config_for(project, workers=3, experiment_enabled=True, cache_dir=project / "c3", out=project / "s3")
    )
    assert inline.skipped == threaded.skipped
    for a, b in zip(inline.networks, threaded.networks, strict=False):
        assert (a.neighbours.indices == b.neighbours.indices).all()
        np.testing.assert_array_equal(a.neighbours.scores, b.neighbours.scores)
    ex_a, ex_b = inline.experiment, threaded.experiment
    assert [r.f1 for n in ex_a.networks for r in n.recovery] == [r.f1 for n in ex_b.networks for r in n.recovery]
    feats = sorted(p.relative_to(project / "c0") for p in (project / "c0" / "features").rglob("*.npy"))
    assert feats == sorted(p.relative_to(project / "c3") for p in (project / "c3" / "features").rglob("*.npy"))
    for rel in feats:
        assert (project / "c0" / rel).read_bytes() == (project / "c3" / rel).read_bytes()


def test_a_rebuild_with_nothing_changed_leaves_the_site_untouched(project: Path) -> None:
    build(config_for(project))
    index = project / "site" / "index.html"
    before = index.stat()
    again = build(config_for(project))
    assert again.pages > 0
    after = index.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten
    retitled = build(config_for(project, title="Another title"))
    assert retitled.pages == again.pages
    assert "Another title" in index.read_text(encoding="utf-8")


def test_a_rebuild_with_nothing_to_extract_never_imports_torch(project: Path) -> None:
    build(config_for(project))
    assert build_in_fresh_process(
        collection=project / "images",
        metadata_file=project / "meta.csv",
        networks=NETWORKS,
        k=3,
        out=project / "site",
        cache_dir=project / "cache",
        title="Test collection",
        experiment_enabled=False,
    ) == (0, False)


def test_byte_identical_files_are_extracted_once_even_in_different_batches(tmp_path: Path) -> None:
    paths = write_collection(tmp_path / "images", {"a": 3, "b": 3})
    (tmp_path / "images" / "b" / "zz_copy.png").write_bytes(paths[0].read_bytes())  # last, far from its twin
    cfg = make_config(
        collection=tmp_path / "images",
        networks=("pixels",),
        k=2,
        experiment_enabled=False,
        batch_size=2,
        out=tmp_path / "site",
        cache_dir=tmp_path / "cache",
    )
    result = build(cfg)
    assert len(result.items) == 7
    assert (result.networks[0].extracted, result.networks[0].cached) == (6, 0)


def test_an_added_image_renders_only_the_pages_that_change_and_the_site_is_as_if_built_anew(tmp_path: Path) -> None:
    write_collection(tmp_path / "images", {"": 30})
    # not centred: centring on the collection's mean moves every score a little when an image is added
    config = make_config(collection=tmp_path / "images", networks=("pixels",), k=3, experiment_enabled=False,
                         out=tmp_path / "site", cache_dir=tmp_path / "cache", features_centre=False)  # fmt: skip
    build(config)
    inodes = {p.name: p.stat().st_ino for p in (tmp_path / "site" / "compare").glob("*.html")}
    drawing(77).save(tmp_path / "images" / "added.png")
    grown = build(config)
    after = {p.name: p.stat().st_ino for p in (tmp_path / "site" / "compare").glob("*.html")}
    kept = {name for name, inode in after.items() if inodes.get(name) == inode}
    assert len(after) == 31 and 0 < len(kept) < 30  # some pages reused (linked), the changed ones rendered
    (net,) = grown.networks
    ids = [i.id for i in grown.items]
    added = ids.index(next(i.id for i in grown.items if i.relpath == "added.png"))
    for row, item_id in zip(net.neighbours.indices.tolist(), ids, strict=True):
        if added in row or item_id == ids[added]:
            assert f"{item_id}.html" not in kept  # its neighbours changed: rendered again
    fresh = build(
        make_config(
            collection=tmp_path / "images",
            networks=("pixels",),
            k=3,
            experiment_enabled=False,
            out=tmp_path / "fresh",
            cache_dir=tmp_path / "cache2",
            features_centre=False,
        )
    )
    assert (fresh.networks[0].neighbours.indices == net.neighbours.indices).all()
    for name in after:
        assert (tmp_path / "site" / "compare" / name).read_bytes() == (
            tmp_path / "fresh" / "compare" / name
        ).read_bytes()

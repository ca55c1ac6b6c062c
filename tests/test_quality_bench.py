"""bench/quality.py: its sample (content collapsed, stratified, seeded), its settings, and one small run whose
figures are the published ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import REPO, write_collection


@pytest.fixture
def quality(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    import quality

    return quality


def test_allocation_by_largest_remainder(quality: ModuleType) -> None:
    # quotas of 5 over sizes 5, 3, 2 (of 10): 2.5, 1.5, 1.0 -> 2, 1, 1 and one left for the largest remainder,
    # a tie of 0.5 between a and b: the name decides
    assert quality.allocation({"a": 5, "b": 3, "c": 2}, 5) == {"a": 3, "b": 1, "c": 1}
    # 7 over 6, 3, 1: 4.2, 2.1, 0.7 -> 4, 2, 0 and one to c (0.7)
    assert quality.allocation({"a": 6, "b": 3, "c": 1}, 7) == {"a": 4, "b": 2, "c": 1}
    assert quality.allocation({"a": 2, "b": 1}, 10) == {"a": 2, "b": 1}  # never more than a label holds


def test_identical_files_are_collapsed_and_labelled_by_their_first_real_path(tmp_path: Path, quality) -> None:
    root = tmp_path / "png"
    write_collection(root, {"animals/birds": 2, "food": 2})
    same = root / "special" / "copy.png"
    same.parent.mkdir()
    same.write_bytes((root / "food" / "img_002.png").read_bytes())  # the same drawing under another label
    (root / "special" / "link.png").symlink_to(root / "animals" / "birds" / "img_000.png")  # a link to another
    (root / "loose.png").write_bytes(b"at the root: no label")
    found = quality.labelled_files(root)
    assert (found.scanned, found.distinct, found.multi_labelled) == (7, 4, 2)
    assert {label: [p.name for p in files] for label, files in found.files.items()} == {
        "animals": ["img_000.png", "img_001.png"],  # the link yields to the file it points at
        "food": ["img_002.png", "img_003.png"],  # food/ sorts before special/
    }


def test_the_sample_is_seeded_stratified_and_skips_what_cannot_be_used(tmp_path: Path, quality) -> None:
    root = tmp_path / "png"
    write_collection(root, {"a": 8, "b": 4})
    found = quality.labelled_files(root)
    bad = root / "a" / "img_000.png"
    one = quality.stratified_sample(found, 6, seed=3, usable=lambda p: p != bad)
    assert {label: len(p) for label, p in one.items()} == {"a": 4, "b": 2}
    assert bad not in one["a"]
    assert one == quality.stratified_sample(found, 6, seed=3, usable=lambda p: p != bad)
    other = quality.stratified_sample(found, 6, seed=4, usable=lambda p: True)
    assert any(set(other[lb]) != set(one[lb]) for lb in one)


def test_settings_are_parsed_as_config_fields(quality) -> None:
    assert quality.parse_settings("") == [{}]
    assert quality.parse_settings("framing=pad, pooling=gem ;centre=true,expansion=3") == [
        {"framing": "pad", "pooling": "gem"},
        {"centre": True, "expansion": 3},
    ]
    with pytest.raises(SystemExit, match="not one of"):
        quality.parse_settings("k=3")
    with pytest.raises(SystemExit, match="true or false"):
        quality.parse_settings("centre=yes")


def test_a_small_run_writes_the_published_figures_and_its_table(tmp_path: Path) -> None:
    root = tmp_path / "collection"
    write_collection(root, {"warm": 9, "cool": 9, "grey": 6})
    out = tmp_path / "quality.json"
    bench = [sys.executable, str(REPO / "bench" / "quality.py")]
    run = [*bench, "--collection", str(root), "--n", "20", "--networks", "pixels", "--out", str(out)]
    done = subprocess.run(run, capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(out.read_text()).values()
    assert record["sample"]["labels"] == {"cool": 8, "grey": 5, "warm": 7}  # 20 of 24 by largest remainder
    (row,) = record["rows"]
    assert (row["network"], row["setting"], row["images"], row["queries_map"]) == ("pixels", "pad/auto/centre", 20, 20)
    assert row["near_dup_originals"] == 20 and row["near_dup_indexed"] == 120
    # every sampled image is an original here: the guard searches the experiment's own set, and finds what it does
    assert row["near_dup_recall@5"] == row["near_dup_recall@5_experiment_set"]
    assert 0 <= row["chance_map@10"] <= row["map@10"]["high"] and "cpu" in row and "cpu_flags" in record
    shown = subprocess.run([*bench, "--table", "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    assert shown.returncode == 0, shown.stderr
    p1 = row["p@1"]
    assert f"| pixels | pad/auto/centre | {p1['mean']:.3f} [{p1['low']:.3f}, {p1['high']:.3f}] |" in shown.stdout

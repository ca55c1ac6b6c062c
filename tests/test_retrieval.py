"""Retrieval refinements (search/retrieval.py): centring on the collection's mean, and expansion over neighbours,
on hand-checkable cases, and in the build (what is searched, what later stages read, what the caches key by)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from builder.build import build
from builder.config import make_config
from builder.search.neighbours import exact_neighbours
from builder.search.retrieval import Refinement, centred, collection_mean, expanded

from .conftest import write_collection


def test_centring_subtracts_the_mean_and_keeps_unit_length() -> None:
    x = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32) / np.float32([1, 1, np.sqrt(2)])[:, None]
    mean = collection_mean(x)
    assert mean == pytest.approx([(1 + np.sqrt(0.5)) / 3, (1 + np.sqrt(0.5)) / 3])
    c = centred(x, mean)
    expected = (x - mean) / np.linalg.norm(x - mean, axis=1, keepdims=True)
    assert c == pytest.approx(expected, abs=1e-6)
    assert centred(np.float32([[0.5, 0.5]]), np.float32([0.5, 0.5])).tolist() == [[0.0, 0.0]]  # the mean: zero


def test_the_mean_is_summed_block_by_block_in_float64() -> None:
    x = np.random.default_rng(1).normal(size=(1000, 7)).astype(np.float32)
    assert collection_mean(x, block=64) == pytest.approx(x.astype(np.float64).mean(axis=0), abs=1e-6)


def test_expansion_adds_each_rows_listed_neighbours_then_unit_length() -> None:
    # four unit vectors; row 0 lists rows 1 and 2, row 3 lists row 0 and no second (-1)
    x = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.6, 0.8, 0]], dtype=np.float32)
    nearest = np.array([[1, 2], [0, 3], [3, 0], [0, -1]])
    e = expanded(x, nearest, block=3)
    by_hand = np.array([[1, 1, 1], [1.6, 1.8, 0], [1.6, 0.8, 1], [1.6, 0.8, 0]], dtype=np.float32)
    assert e == pytest.approx(by_hand / np.linalg.norm(by_hand, axis=1, keepdims=True), abs=1e-6)


def test_a_refinement_of_nothing_returns_the_features_themselves() -> None:
    x = np.eye(3, dtype=np.float32)
    assert Refinement().apply(x, lambda v, n: pytest.fail("no neighbours are needed")) is x
    asked: list[int] = []

    def nearest(v: np.ndarray, n: int) -> np.ndarray:
        asked.append(n)
        return exact_neighbours(v, n).indices

    refined = Refinement(np.float32([0.1, 0.1, 0.1]), expansion=2).apply(x, nearest)
    assert asked == [2] and refined.shape == x.shape
    assert np.linalg.norm(refined, axis=1) == pytest.approx(1.0)


def test_the_build_searches_the_refined_features_and_every_later_stage_reads_them(tmp_path: Path) -> None:
    write_collection(tmp_path / "images", {"a": 8, "b": 8})

    def built(name: str, **settings):
        config = make_config(collection=tmp_path / "images", networks=("pixels",), k=3, out=tmp_path / name,
                             cache_dir=tmp_path / "cache", experiment_originals=4, **settings)  # fmt: skip
        return build(config)

    plain, refined = (
        built("plain", features_centre=False),
        built("refined", features_centre=True, neighbours_expansion=2),
    )
    (p,), (r,) = [r for r in plain.networks], [r for r in refined.networks]
    assert r.features != p.features  # the digest every later cache keys by: a changed setting computes anew
    assert r.searched is not None and p.searched is not None
    x = np.asarray(p.searched)
    by_hand = expanded(centred(x, collection_mean(x)), exact_neighbours(centred(x, collection_mean(x)), 2).indices)
    assert r.searched == pytest.approx(by_hand, abs=1e-6)
    assert (r.neighbours.indices == exact_neighbours(by_hand, 3).indices).all()
    assert r.refinement.expansion == 2 and r.refinement.mean == pytest.approx(collection_mean(x))
    # the manifest says how the lists were made
    manifest = (tmp_path / "refined" / "data" / "manifest.json").read_text()
    assert '"features_centre": true' in manifest and '"neighbours_expansion": 2' in manifest
    again = built("again", features_centre=True, neighbours_expansion=2)
    assert (again.networks[0].neighbours.indices == r.neighbours.indices).all()  # remembered, the same lists

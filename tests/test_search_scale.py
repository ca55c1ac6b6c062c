"""Neighbours that are right at any size: exact search by partition gives a full sort's answer, and the search
effort of the cells and of Annoy is raised until the recall reached on a sample of queries meets the target."""

from __future__ import annotations

import numpy as np

from builder.search import cells
from builder.search.neighbours import (
    AnnoySettings,
    NeighbourSearch,
    annoy_neighbours,
    exact_neighbours,
    tuned_annoy,
    tuned_cells,
)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def full_sort(x: np.ndarray, k: int) -> np.ndarray:
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]


def test_exact_search_by_partition_is_a_stable_full_sort_even_with_ties() -> None:
    rng = np.random.default_rng(1)
    x = unit(rng.standard_normal((300, 16)))
    x[50:60] = x[10]  # ten duplicates of one row: ties at and across the k-th place
    x[200:230] = unit(np.round(rng.standard_normal((30, 16))))  # coarse values: more ties
    for k in (1, 5, 12):
        got = exact_neighbours(x, k, block=64)
        assert (got.indices == full_sort(x, k)).all()
    rows = [3, 57, 299]
    assert (exact_neighbours(x, 5, rows=rows).indices == full_sort(x, 5)[rows]).all()


def hard_case() -> np.ndarray:
    """Gaussian noise in 64 dimensions: no structure for Annoy's random splits to follow."""
    return unit(np.random.default_rng(7).standard_normal((3000, 64)))


def test_tuning_raises_the_search_effort_until_the_sampled_recall_reaches_the_target() -> None:
    x, k = hard_case(), 10
    weak = AnnoySettings(trees=4, search_k=44, seed=3)
    exact = full_sort(x, k)
    untuned = annoy_neighbours(x, k, weak)
    untuned_recall = np.mean([len(set(a) & set(e)) / k for a, e in zip(untuned.indices, exact, strict=True)])
    assert untuned_recall < 0.5  # the case is hard for the settings given
    found, recall = tuned_annoy(x, k, weak, target=0.95, sample=300)
    assert recall.value >= 0.95 and recall.queries == 300 and recall.search_k > 44
    assert recall.low <= recall.value <= recall.high and recall.high - recall.low < 0.05
    true_recall = np.mean([len(set(a) & set(e)) / k for a, e in zip(found.indices, exact, strict=True)])
    assert recall.low - 0.02 <= true_recall  # the sample speaks for the whole collection
    assert true_recall >= 0.93


def test_a_small_collection_is_measured_whole_and_the_result_remembered(tmp_path) -> None:
    x = hard_case()[:400]
    search = NeighbourSearch(AnnoySettings(trees=4, search_k=44, seed=3), tmp_path)
    found, recall = search.tuned(x, 5, 0.99, 1000)
    assert recall.queries == 400 and recall.low == recall.high == recall.value >= 0.99
    again, same = search.tuned(x, 5, 0.99, 1000)
    assert same == recall and (again.indices == found.indices).all()


def clusters(n: int = 4000, d: int = 48, centres: int = 60, seed: int = 11) -> np.ndarray:
    """Points scattered about random centres, as image features are: structure the cells can follow, with
    neighbours near their cells' borders all the same (the spread is wide)."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, d))
    return unit(c[rng.integers(0, centres, n)] + 0.6 * rng.standard_normal((n, d)))


def test_the_cells_reach_the_recall_target_and_the_sample_speaks_for_the_whole() -> None:
    x, k = clusters(), 10
    exact = full_sort(x, k)
    found, recall = tuned_cells(x, k, target=0.95, sample=400, seed=3)
    assert recall.method == "cells" and recall.value >= 0.95 and recall.queries == 400
    assert 1 <= recall.probes < recall.cells == cells.cell_count(len(x))
    true_recall = np.mean([len(set(a) & set(e)) / k for a, e in zip(found.indices, exact, strict=True)])
    assert true_recall >= recall.low - 0.02 and true_recall >= 0.93
    assert "cells searched per item" in recall.describe() and "95% interval" in recall.describe()
    assert np.allclose(found.scores, np.einsum("ij,ikj->ik", x, x[found.indices]), atol=1e-6)
    assert (found.indices != np.arange(len(x))[:, None]).all()  # never yourself
    _, stricter = tuned_cells(x, k, target=0.995, sample=400, seed=3)
    assert stricter.probes > recall.probes and stricter.value >= 0.995


def test_searching_every_cell_is_exact_search() -> None:
    x = clusters(n=900, d=16)
    index = cells.build_cells(x, seed=5)
    indices, scores = cells.cell_neighbours(x, 7, index, probes=index.cells)
    assert (indices == full_sort(x, 7)).all()
    assert sorted(np.concatenate([index.members(c) for c in range(index.cells)]).tolist()) == list(range(900))


def test_auto_searches_exactly_where_the_cells_would_cost_more_and_remembers_the_choice(tmp_path) -> None:
    """Gaussian noise in 768 dimensions has no cells to speak of: nearly all must be searched to reach a
    recall of 0.999, so auto searches exactly (on any CPU: the choice counts cells, not seconds)."""
    x = unit(np.random.default_rng(5).standard_normal((3000, 768)))
    search = NeighbourSearch(AnnoySettings(seed=3), tmp_path)
    found, recall = search.tuned(x, 10, 0.999, 500, "auto")
    assert recall.method == "exact" and recall.value == 1.0 and recall.probes > 0.25 * recall.cells
    assert (found.indices == full_sort(x, 10)).all() and "more than exact search costs" in recall.describe()
    again, same = search.tuned(x, 10, 0.999, 500, "auto")
    assert same == recall and (again.indices == found.indices).all()
    small, whole = search.tuned(x[:400], 10, 0.98, 500, "auto")  # measured whole: exact at once
    assert whole.method == "exact" and whole.cells == 0 and (small.indices == full_sort(x[:400], 10)).all()
    assert "every item was searched exactly" in whole.describe()


def test_remembered_cells_come_out_the_same_when_only_the_lists_are_lost(tmp_path) -> None:
    x = clusters(n=3000)
    search = NeighbourSearch(AnnoySettings(seed=3), tmp_path)
    found, recall = search.tuned(x, 10, 0.95, 300, "auto")
    assert recall.method == "cells"
    lost = [p for p in tmp_path.rglob("*.npz") if not p.name.endswith(".cells.npz")]
    assert len(lost) == 1
    lost[0].unlink()  # the recall and the cells are remembered, the lists are computed again from them
    again, same = search.tuned(x, 10, 0.95, 300, "auto")
    assert same == recall and (again.indices == found.indices).all() and (again.scores == found.scores).all()


def test_damaged_cells_are_said_and_trained_again_to_the_same_lists(tmp_path) -> None:
    x = clusters(n=3000)
    said: list[str] = []
    search = NeighbourSearch(AnnoySettings(seed=3), tmp_path, said.append)
    found, recall = search.tuned(x, 10, 0.95, 300, "auto", place="pixels")
    kept = sorted(tmp_path.rglob("*.cells.npz")) + sorted((tmp_path / "cells").glob("*.npz"))
    assert len(kept) == 2
    for path in kept:
        path.write_bytes(path.read_bytes()[:40])
    again, same = search.tuned(x, 10, 0.95, 300, "auto", place="pixels")
    assert len([m for m in said if "damaged cache entry" in m]) == 2, said
    assert same.probes == recall.probes and (again.indices == found.indices).all()


def test_the_next_build_continues_from_the_cells_so_only_lists_a_new_image_enters_change(tmp_path) -> None:
    grown = clusters(n=3200)
    x = grown[:3000]
    search = NeighbourSearch(AnnoySettings(seed=3), tmp_path)
    before, first = search.tuned(x, 10, 0.95, 300, "auto", place="pixels")
    after, second = search.tuned(grown, 10, 0.95, 300, "auto", place="pixels")
    assert first.method == second.method == "cells" and second.value >= 0.95 and second.probes >= first.probes
    entered = (after.indices[:3000] >= 3000).any(axis=1)
    assert 0 < entered.sum() < 3000
    # no other list moves (but for a near tie, which a product of another shape may round the other way)
    moved = (after.indices[:3000][~entered] != before.indices[~entered]).any(axis=1).sum()
    assert moved <= 3
    _, cold = tuned_cells(grown, 10, 0.95, 300, seed=3)  # cells trained anew: other lists move too
    retrained, _ = NeighbourSearch(AnnoySettings(seed=3), tmp_path / "elsewhere").tuned(grown, 10, 0.95, 300, "auto")
    assert (retrained.indices[:3000][~entered] != before.indices[~entered]).any(axis=1).sum() > 30 * max(1, moved)
    assert cold.value >= 0.95
    assert not cells.Cells(np.zeros((cold.cells, 12), np.float32), 4).fit(len(grown), grown.shape[1])  # other width
    assert not cells.Cells(np.zeros((4, 48), np.float32), 4).fit(len(grown), 48)  # far too few cells


def test_a_build_publishes_exact_or_tuned_neighbours_as_configured(tmp_path) -> None:
    import pytest

    from builder.build import build
    from builder.config import make_config
    from builder.errors import ConfigError

    from .conftest import write_collection

    write_collection(tmp_path / "images", {"": 12})
    common = dict(collection=tmp_path / "images", networks=("pixels",), k=3, experiment_enabled=False)
    exact = build(make_config(**common, neighbours_method="exact", out=tmp_path / "s1", cache_dir=tmp_path / "c1"))
    tuned = build(
        make_config(
            **common,
            neighbours_method="annoy",
            neighbours_recall_target=1.0,
            out=tmp_path / "s2",
            cache_dir=tmp_path / "c2",
        )
    )
    assert exact.networks[0].recall_note == "exact search" and exact.networks[0].search_k == 0
    assert tuned.networks[0].search_recall == 1.0 and "every item measured" in tuned.networks[0].recall_note
    assert (exact.networks[0].neighbours.indices == tuned.networks[0].neighbours.indices).all()
    assert "every item measured" in (tmp_path / "s2" / "index.html").read_text()
    with pytest.raises(ConfigError, match="neighbours method must be one of auto, cells, annoy, exact"):
        make_config(neighbours_method="faiss")
    with pytest.raises(ConfigError, match="recall_target"):
        make_config(neighbours_recall_target=1.5)

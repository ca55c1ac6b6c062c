from __future__ import annotations

import numpy as np
import pytest

from builder.features.extract import l2_normalise
from builder.search.neighbours import (
    AnnoySettings,
    Neighbours,
    angular_to_cosine,
    annoy_neighbours,
    exact_neighbours,
    recall_against,
)


def unit_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    return l2_normalise(np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32))


def test_angular_distance_to_cosine_on_hand_computed_cases() -> None:
    # identical unit vectors: d = 0 -> cos 1; orthogonal: d = sqrt(2) -> cos 0; opposite: d = 2 -> cos -1
    assert angular_to_cosine(0.0) == pytest.approx(1.0)
    assert angular_to_cosine(np.sqrt(2.0)) == pytest.approx(0.0)
    assert angular_to_cosine(2.0) == pytest.approx(-1.0)
    # 60 degrees apart: d = 2 sin(30deg) = 1 -> cos 0.5 (the seed's 1 - d would say 0)
    assert angular_to_cosine(1.0) == pytest.approx(0.5)


def test_exact_neighbours_on_a_hand_made_set() -> None:
    x = l2_normalise(np.array([[1, 0], [1, 0.1], [0, 1], [-1, 0]], dtype=np.float32))
    nb = exact_neighbours(x, k=2)
    assert nb.indices.tolist() == [[1, 2], [0, 2], [1, 0], [2, 1]]
    assert nb.scores[0, 0] == pytest.approx(1 / np.sqrt(1.01), abs=1e-6)
    assert nb.scores[0, 1] == pytest.approx(0.0, abs=1e-6)


def test_annoy_excludes_the_item_itself_and_reports_cosine() -> None:
    x = unit_vectors(60, 16)
    nb = annoy_neighbours(x, k=5)
    assert nb.indices.shape == (60, 5)
    for i, row in enumerate(nb.indices):
        assert i not in row
        assert len(set(row.tolist())) == 5
    # the scores are the true cosines of the pairs returned, nearest first
    true = np.einsum("id,ikd->ik", x, x[nb.indices])
    np.testing.assert_allclose(nb.scores, true, atol=1e-5)
    assert (np.diff(nb.scores, axis=1) <= 1e-6).all()


def test_annoy_agrees_with_brute_force_on_a_small_set() -> None:
    x = unit_vectors(300, 32, seed=1)
    approx = annoy_neighbours(x, k=10, settings=AnnoySettings(trees=50))
    exact = exact_neighbours(x, k=10)
    assert recall_against(approx, exact) >= 0.98
    assert recall_against(exact, exact) == 1.0


def test_exact_duplicates_are_each_others_neighbours() -> None:
    x = unit_vectors(20, 8, seed=2)
    x[5] = x[3]
    for nb in (annoy_neighbours(x, k=3), exact_neighbours(x, k=3)):
        assert nb.indices[3, 0] == 5 and nb.indices[5, 0] == 3
        assert nb.scores[3, 0] == pytest.approx(1.0, abs=1e-5)


def test_k_is_capped_by_the_collection_size() -> None:
    x = unit_vectors(4, 8)
    assert annoy_neighbours(x, k=10).indices.shape == (4, 3)
    assert exact_neighbours(x, k=10).indices.shape == (4, 3)


def test_annoy_is_reproducible_with_a_seed() -> None:
    x = unit_vectors(200, 16, seed=3)
    a = annoy_neighbours(x, k=5, settings=AnnoySettings(trees=5, seed=9))
    b = annoy_neighbours(x, k=5, settings=AnnoySettings(trees=5, seed=9))
    assert (a.indices == b.indices).all()


def test_recall_counts_shared_neighbours() -> None:
    exact = Neighbours(np.array([[1, 2], [0, 2]]), np.zeros((2, 2)))
    approx = Neighbours(np.array([[2, 3], [0, 2]]), np.zeros((2, 2)))
    assert recall_against(approx, exact) == pytest.approx(3 / 4)


def test_l2_normalise_keeps_zero_rows_zero() -> None:
    out = l2_normalise(np.array([[3, 4], [0, 0]], dtype=np.float32))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0, 0]])


def test_annoy_can_query_a_subset_of_the_indexed_items() -> None:
    x = unit_vectors(80, 8, seed=4)
    everyone = annoy_neighbours(x, k=4)
    some = annoy_neighbours(x, k=4, queries=[3, 70])
    assert some.indices.tolist() == everyone.indices[[3, 70]].tolist()


def test_a_remembered_search_is_not_run_again(tmp_path, monkeypatch) -> None:
    import builder.search.neighbours as nbmod

    x = unit_vectors(60, 8, seed=3)
    search = nbmod.NeighbourSearch(AnnoySettings(trees=5), tmp_path)
    first, exact = search.annoy(x, 4), search.exact(x, 4)
    some = search.annoy(x, 4, queries=[1, 2])
    exact_some = search.exact(x, 4, rows=[1, 2])  # those rows against all: the rows of the whole search
    assert exact_some.indices.tolist() == exact.indices[[1, 2]].tolist()

    def refuse(*args, **kwargs):
        raise AssertionError("searched again")

    monkeypatch.setattr(nbmod, "annoy_neighbours", refuse)
    monkeypatch.setattr(nbmod, "exact_neighbours", refuse)
    again = nbmod.NeighbourSearch(AnnoySettings(trees=5), tmp_path)
    assert (again.annoy(x, 4).indices == first.indices).all()
    assert (again.exact(x, 4).indices == exact.indices).all()
    assert (again.annoy(x, 4, queries=[1, 2]).indices == some.indices).all()
    assert (again.exact(x, 4, rows=[1, 2]).indices == exact_some.indices).all()
    with pytest.raises(AssertionError, match="searched again"):
        again.exact(x, 4, rows=[1, 3])  # other rows: searched anew
    with pytest.raises(AssertionError, match="searched again"):
        again.annoy(x[:-1], 4)  # other features: searched anew
    with pytest.raises(AssertionError, match="searched again"):
        nbmod.NeighbourSearch(AnnoySettings(trees=6), tmp_path).annoy(x, 4)  # other settings too


def test_recall_measured_on_one_sampled_row_has_the_widest_interval() -> None:
    from builder.search.neighbours import _Sample

    x = l2_normalise(np.random.default_rng(3).normal(size=(6, 8)).astype(np.float32))
    one = _Sample.of(x, 2, 1, seed=0)  # recall_queries = 1: the sample's spread is unknown
    assert one.interval(np.array([0.5])) == (0.5, 0.0, 1.0)
    two = _Sample.of(x, 2, 2, seed=0)
    mean, low, high = two.interval(np.array([0.5, 1.0]))
    assert mean == 0.75 and low == pytest.approx(0.75 - 1.96 * np.std([0.5, 1.0], ddof=1) / np.sqrt(2)) and high == 1.0
    assert _Sample.of(x, 2, 6, seed=0).interval(np.array([1.0] * 6)) == (1.0, 1.0, 1.0)  # every row measured


def test_annoy_is_imported_only_where_its_method_runs() -> None:
    """A build by cells or exact search never imports Annoy (an extra, compiled where no wheel exists); asked for
    without it installed, method = "annoy" says how to get it."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import numpy as np\n"
        "import builder.build, builder.cli\n"
        "from builder.search.neighbours import AnnoySettings, NeighbourSearch\n"
        "x = np.random.default_rng(0).standard_normal((300, 8)).astype(np.float32)\n"
        "x /= np.linalg.norm(x, axis=1, keepdims=True)\n"
        "found, recall = NeighbourSearch(AnnoySettings(), None).tuned(x, 5, 0.9, 100, method='auto')\n"
        "print(recall.method, 'annoy' in sys.modules)\n"
        "sys.modules['annoy'] = None  # as if not installed\n"
        "try:\n"
        "    NeighbourSearch(AnnoySettings(), None).tuned(x, 5, 0.9, 100, method='annoy')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, second = done.stdout.splitlines()
    assert first.split()[1] == "False" and first.split()[0] in ("cells", "exact")
    assert second == "VsisError [neighbours] method = \"annoy\" needs Annoy: pip install 'vsis[annoy]'"

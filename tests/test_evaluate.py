"""The metric definitions, on cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from builder.experiment.metrics import (
    MeanStd,
    agreement_matrix,
    category_precision,
    copies_found,
    ideal,
    jaccard_agreement,
    precision_recall_f1,
    profile_recovery,
    recovery,
)


def test_no_copy_found_gives_zero_everywhere() -> None:
    p, r, f1 = precision_recall_f1(np.array([0]), k=3, n_profiles=5)
    assert (p[0], r[0], f1[0]) == (0.0, 0.0, 0.0)  # F1 is 0, not NaN


@pytest.mark.parametrize(
    "c, k, n_profiles, expected",
    [
        (1, 1, 5, (1.0, 0.2, 2 * 1.0 * 0.2 / 1.2)),  # 1/3
        (2, 3, 5, (2 / 3, 0.4, 2 * (2 / 3) * 0.4 / (2 / 3 + 0.4))),  # 0.5
        (5, 5, 5, (1.0, 1.0, 1.0)),
        (5, 10, 5, (0.5, 1.0, 2 * 0.5 / 1.5)),  # k larger than the number of profiles
        (3, 10, 5, (0.3, 0.6, 0.4)),
    ],
)
def test_precision_recall_f1_by_hand(c: int, k: int, n_profiles: int, expected: tuple) -> None:
    got = [float(v[0]) for v in precision_recall_f1(np.array([c]), k, n_profiles)]
    assert got == pytest.approx(list(expected))


def test_f1_values_are_the_hand_computed_fractions() -> None:
    assert precision_recall_f1(np.array([1]), 1, 5)[2][0] == pytest.approx(1 / 3)
    assert precision_recall_f1(np.array([2]), 3, 5)[2][0] == pytest.approx(0.5)


def test_ideal_bounds() -> None:
    assert ideal(1, 5) == pytest.approx((1.0, 0.2, 1 / 3))
    assert ideal(3, 5) == pytest.approx((1.0, 0.6, 0.75))
    assert ideal(5, 5) == pytest.approx((1.0, 1.0, 1.0))
    assert ideal(10, 5) == pytest.approx((0.5, 1.0, 2 / 3))  # recall <= k / profiles, precision <= P / k


def test_copies_found_counts_only_own_copies_in_the_first_k() -> None:
    # owners of each query's neighbours, nearest first; queries own 0 and 1
    owners = np.array([[0, 1, 0, 0], [2, 2, 1, 1]])
    assert copies_found(owners, np.array([0, 1]), 1).tolist() == [1, 0]
    assert copies_found(owners, np.array([0, 1]), 3).tolist() == [2, 1]
    assert copies_found(owners, np.array([0, 1]), 4).tolist() == [3, 2]


def test_recovery_reports_mean_and_population_std() -> None:
    owners = np.array([[0, 0, 9], [9, 9, 9]])  # query 0 finds 2 copies in 3, query 1 none
    (at3,) = recovery("net", owners, np.array([0, 1]), [3], n_profiles=2)
    # per query precision: 2/3 and 0 -> mean 1/3, std 1/3; recall: 1 and 0 -> mean 0.5, std 0.5
    assert (at3.precision.mean, at3.precision.std) == pytest.approx((1 / 3, 1 / 3))
    assert (at3.recall.mean, at3.recall.std) == pytest.approx((0.5, 0.5))
    f1 = 2 * (2 / 3) * 1 / (2 / 3 + 1)  # 0.8
    assert (at3.f1.mean, at3.f1.std) == pytest.approx((f1 / 2, f1 / 2))
    assert MeanStd.of(np.array([])) == MeanStd(0.0, 0.0)


def test_profile_recovery_is_the_share_of_queries_whose_copy_was_found() -> None:
    owners = np.array([[0, 0], [1, 5], [5, 2]])
    profiles = np.array([[1, 0], [1, 0], [0, 1]])  # query 2's own copy (profile 1) is second
    queries = np.array([0, 1, 2])
    assert profile_recovery(owners, profiles, queries, profile=1, k=1) == pytest.approx(2 / 3)
    assert profile_recovery(owners, profiles, queries, profile=1, k=2) == pytest.approx(1.0)
    assert profile_recovery(owners, profiles, queries, profile=0, k=2) == pytest.approx(1 / 3)


def test_category_precision_over_items_with_a_category() -> None:
    neighbours = np.array([[1, 2], [0, 2], [0, 1], [0, 1]])
    cats = ["a", "a", "b", None]
    # item 0: [a, b] -> 1/2; item 1: [a, b] -> 1/2; item 2: [a, a] -> 0; item 3 has none: left out
    assert category_precision(neighbours, cats, 2) == pytest.approx(1 / 3)
    assert category_precision(neighbours, cats, 1) == pytest.approx(2 / 3)
    assert category_precision(neighbours, [None] * 4, 2) is None


def test_jaccard_agreement_by_hand() -> None:
    a = np.array([[1, 2, 3], [0, 2, 3]])
    b = np.array([[1, 2, 4], [4, 5, 6]])
    # row 0: {1,2} / {1,2,3,4} = 0.5; row 1: 0 / 6 = 0
    assert jaccard_agreement(a, b, 3) == pytest.approx(0.25)
    assert jaccard_agreement(a, b, 2) == pytest.approx((1.0 + 0.0) / 2)
    # sets, not lists: a repeated entry counts once ({1, 2} and {2, 3}: 1/3), and two blocks give one mean
    assert jaccard_agreement(np.array([[1, 1, 2]]), np.array([[2, 3, 3]]), 3) == pytest.approx(1 / 3)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 9, (50, 4)), rng.integers(0, 9, (50, 4))
    pairs = zip(x.tolist(), y.tolist(), strict=True)
    by_sets = np.mean([len(set(r) & set(s)) / len(set(r) | set(s)) for r, s in pairs])
    assert jaccard_agreement(x, y, 4, block=7) == pytest.approx(by_sets)
    assert agreement_matrix({"x": a, "y": b, "z": a}, 3) == pytest.approx(
        {("x", "y"): 0.25, ("x", "z"): 1.0, ("y", "z"): 0.25}
    )

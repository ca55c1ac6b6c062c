"""The metric definitions, on cases computed by hand."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from builder.experiment.metrics import (
    average_precision,
    average_precision_at,
    categorised,
    category_chance,
    category_codes,
    category_matches,
    category_others,
    category_shares,
    copies_found,
    copy_rank,
    found_within,
    ideal,
    ideal_recall,
    jaccard_rows,
    own_copies,
    precision_recall_f1,
    random_average_precision,
    reciprocal_rank,
)
from builder.experiment.stats import Estimate, estimate


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
    relevant = own_copies(owners, np.array([0, 1]))
    assert relevant.tolist() == [[True, False, True, True], [False, False, True, True]]
    found = copies_found(relevant)  # column k - 1: c at k
    assert found.tolist() == [[1, 1, 2, 3], [0, 0, 1, 2]]
    assert found[:, 0].tolist() == [1, 0] and found[:, 2].tolist() == [2, 1] and found[:, 3].tolist() == [3, 2]
    assert copies_found(np.zeros((2, 0), dtype=bool)).shape == (2, 0)


def test_recovery_reports_mean_and_population_std() -> None:
    owners = np.array([[0, 0, 9], [9, 9, 9]])  # query 0 finds 2 copies in 3, query 1 none
    p, r, f1 = precision_recall_f1(copies_found(own_copies(owners, np.array([0, 1])))[:, 2], 3, n_profiles=2)
    # per query precision: 2/3 and 0 -> mean 1/3, std 1/3; recall: 1 and 0 -> mean 0.5, std 0.5
    at3 = [estimate(v) for v in (p, r, f1)]
    assert (at3[0].mean, at3[0].std) == pytest.approx((1 / 3, 1 / 3))
    assert (at3[1].mean, at3[1].std) == pytest.approx((0.5, 0.5))
    f = 2 * (2 / 3) * 1 / (2 / 3 + 1)  # 0.8
    assert (at3[2].mean, at3[2].std) == pytest.approx((f / 2, f / 2))
    assert all(e.low <= e.mean <= e.high for e in at3)
    assert estimate(np.array([])) == Estimate(0.0, 0.0, 0.0, 0.0)


def test_average_precision_by_hand() -> None:
    # own copies at ranks 1 and 3 of 5, P = 2: (1/1 + 2/3) / 2 = 5/6
    assert average_precision(np.array([[1, 0, 1, 0, 0]]), 2)[0] == pytest.approx(5 / 6)
    # ranks 2 and 4: (1/2 + 2/4) / 2 = 1/2
    assert average_precision(np.array([[0, 1, 0, 1, 0]]), 2)[0] == pytest.approx(0.5)
    # every copy first: 1, however long the list (k larger than the number of copies)
    assert average_precision(np.array([[1, 1, 0, 0, 0, 0, 0, 0, 0, 0]]), 2)[0] == pytest.approx(1.0)
    # a copy that is not listed adds 0: 2 of P = 3 found first -> (1 + 1) / 3
    assert average_precision(np.array([[1, 1, 0]]), 3)[0] == pytest.approx(2 / 3)


def test_no_copy_found_gives_zero_ap_recall_and_rank() -> None:
    none = np.zeros((1, 10), dtype=bool)
    assert average_precision(none, 5)[0] == 0.0
    assert copies_found(none).tolist() == [[0] * 10]  # recall 0 at every k
    rank = copy_rank(none, np.zeros((1, 10), dtype=np.int64), 5)
    assert rank.tolist() == [[0] * 5]  # not listed
    assert reciprocal_rank(rank).tolist() == [[0.0] * 5] and not found_within(rank, 10).any()
    assert average_precision(np.zeros((2, 0), dtype=bool), 5).tolist() == [0.0, 0.0]  # empty lists


def test_the_recall_curve_and_its_ideal_beyond_the_number_of_copies() -> None:
    relevant = np.array([[1, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 1]], dtype=bool)  # P = 3
    found = copies_found(relevant)
    curve = [precision_recall_f1(found[:, k - 1], k, 3)[1] for k in range(1, 7)]  # recall@k, k = 1..6
    assert [c[0] for c in curve] == pytest.approx([1 / 3, 1 / 3, 2 / 3, 1, 1, 1])
    assert [c[1] for c in curve] == pytest.approx([0, 0, 0, 0, 0, 1 / 3])
    assert [ideal_recall(k, 3) for k in (1, 2, 3, 4, 10)] == pytest.approx([1 / 3, 2 / 3, 1, 1, 1])


def test_ties_are_read_in_the_listed_order() -> None:
    """A copy tied in score with a stranger: the search lists the lower row first (an original, rows
    0..M-1, before any copy), and every metric reads that order, so a tie counts against the network."""
    from builder.search.neighbours import annoy_neighbours, exact_neighbours

    x = np.array([[1.0, 0.0], [0.6, 0.8], [0.6, 0.8], [0.6, 0.8]])  # rows 1 (stranger), 3 (copy of 2) tie
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    for nb in (exact_neighbours(x, 2, rows=[2]), annoy_neighbours(x, 2, queries=[2])):
        assert nb.indices[0].tolist() == [1, 3]
        owner = np.array([[1, 2]])  # row 3 is owned by original 2
        relevant = own_copies(owner, np.array([2]))
        assert average_precision(relevant, 1)[0] == pytest.approx(0.5)
        rank = copy_rank(relevant, np.array([[-1, 0]]), 1)  # row 3 is the copy made with profile 0
        assert rank.tolist() == [[2]] and reciprocal_rank(rank)[0, 0] == pytest.approx(0.5)
        assert copies_found(relevant)[0, 0] == 0 and not found_within(rank, 1)[0, 0]
    # the order, not the score, decides: the same relevance in the other order gives AP 1
    assert average_precision(np.array([[1, 0]]), 1)[0] == pytest.approx(1.0)


def test_copy_rank_says_where_each_profile_copy_stands() -> None:
    # query 0 lists: a stranger, its copy of profile 1, another's copy, its copy of profile 0
    owners = np.array([[5, 0, 3, 0], [1, 1, 1, 4], [7, 2, 8, 9]])
    profiles = np.array([[-1, 1, 0, 0], [2, 0, 1, 0], [-1, 2, -1, -1]])
    relevant = own_copies(owners, np.array([0, 1, 2]))
    rank = copy_rank(relevant, profiles, 3)
    assert rank.tolist() == [[4, 2, 0], [2, 3, 1], [0, 0, 2]]
    assert found_within(rank, 1).tolist() == [[False] * 3, [False, False, True], [False] * 3]
    assert found_within(rank, 2)[:, 0].tolist() == [False, True, False]  # profile 0 found within 2: 1 of 3
    assert found_within(rank, 4)[:, 0].mean() == pytest.approx(2 / 3)
    assert reciprocal_rank(rank).ravel().tolist() == pytest.approx([1 / 4, 1 / 2, 0, 1 / 2, 1 / 3, 1, 0, 0, 1 / 2])


def test_reciprocal_rank_is_the_ap_of_one_copy() -> None:
    relevant = np.array([[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=bool)
    rank = copy_rank(relevant, np.zeros(relevant.shape, dtype=np.int64), 1)
    assert rank[:, 0].tolist() == [3, 1, 0]
    assert reciprocal_rank(rank[:, 0]).tolist() == pytest.approx([1 / 3, 1.0, 0.0])
    assert reciprocal_rank(rank[:, 0]).tolist() == pytest.approx(average_precision(relevant, 1).tolist())


def test_category_precision_over_items_with_a_category() -> None:
    neighbours = np.array([[1, 2], [0, 2], [0, 1], [0, 1]])
    codes = category_codes(["a", "a", "b", None])
    assert codes[0] == codes[1] != codes[2] and codes[3] == -1 and categorised(codes).tolist() == [0, 1, 2]
    # item 0: [a, b] -> 1/2; item 1: [a, b] -> 1/2; item 2: [a, a] -> 0; item 3 has none: left out
    assert category_shares(neighbours, codes, 2).tolist() == pytest.approx([0.5, 0.5, 0.0])
    assert category_shares(neighbours, codes, 1).tolist() == pytest.approx([1.0, 1.0, 0.0])
    assert category_shares(neighbours, category_codes([None] * 4), 2).tolist() == []
    assert category_codes(["", "b", "a", "b"]).tolist()[0] == -1 and category_codes([]).tolist() == []


def test_category_chance_is_the_share_of_the_others_in_the_query_category() -> None:
    codes = category_codes(["a", "a", "a", "b", None])  # an "a" has 2 of the 4 others in "a", the "b" none
    assert category_chance(codes).tolist() == pytest.approx([2 / 4, 2 / 4, 2 / 4, 0.0])
    assert category_chance(category_codes([None, None])).tolist() == []
    assert category_chance(category_codes(["a"])).tolist() == [0.0]


def test_jaccard_rows_by_hand() -> None:
    a = np.array([[1, 2, 3], [0, 2, 3]])
    b = np.array([[1, 2, 4], [4, 5, 6]])
    # row 0: {1,2} / {1,2,3,4} = 0.5; row 1: 0 / 6 = 0
    assert jaccard_rows(a, b, 3).tolist() == pytest.approx([0.5, 0.0])
    assert jaccard_rows(a, b, 2).tolist() == pytest.approx([1.0, 0.0])
    # sets, not lists: a repeated entry counts once ({1, 2} and {2, 3}: 1/3), and blocks change nothing
    assert jaccard_rows(np.array([[1, 1, 2]]), np.array([[2, 3, 3]]), 3).tolist() == pytest.approx([1 / 3])
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 9, (50, 4)), rng.integers(0, 9, (50, 4))
    pairs = zip(x.tolist(), y.tolist(), strict=True)
    by_sets = [len(set(r) & set(s)) / len(set(r) | set(s)) for r, s in pairs]
    assert jaccard_rows(x, y, 4, block=7).tolist() == pytest.approx(by_sets)


# A collection worked by hand for the category measures: seven items, n - 1 = 6 candidates for each query.
#   item:      0  1  2  3  4  5  6
#   category:  a  a  a  b  b  c  (none)
# R (the OTHER items of the query's category): a -> 2, b -> 1, c -> 0; item 6 is no query.
HAND_CATEGORIES = ["a", "a", "a", "b", "b", "c", None]
HAND_LISTS = np.array(
    [
        [3, 1, 2],  # a: b, a, a -> relevance 0 1 1
        [0, 2, 3],  # a: a, a, b -> 1 1 0 (perfect: R = 2 < k = 3)
        [6, 5, 4],  # a: none of its category listed -> 0 0 0
        [5, 4, 0],  # b: c, b, a -> 0 1 0 (R = 1, smaller than k)
        [3, 0, 1],  # b: b first -> 1 0 0 (perfect with R = 1)
        [0, 1, 2],  # c: no other item of c in the collection (R = 0): no AP
        [0, 1, 2],  # no category: in no figure
    ]
)


def test_category_ap_at_k_by_hand() -> None:
    codes = category_codes(HAND_CATEGORIES)
    matches = category_matches(HAND_LISTS, codes, 3)
    assert matches.astype(int).tolist() == [[0, 1, 1], [1, 1, 0], [0, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]]
    others = category_others(codes)
    assert others.tolist() == [2, 2, 2, 1, 1, 0]
    # AP@3 = (1 / min(3, R)) * sum of P@i at the relevant ranks:
    #   item 0: (P@2 + P@3) / 2 = (1/2 + 2/3) / 2 = 7/12;  item 1: (1 + 1) / 2 = 1;  item 2: 0
    #   item 3: P@2 / min(3, 1) = 1/2;  item 4: P@1 / 1 = 1;  item 5: R = 0 -> 0, and left out of the mean
    assert average_precision_at(matches, 3, others).tolist() == pytest.approx([7 / 12, 1, 0, 1 / 2, 1, 0])
    # at k = 1 the divisor is min(1, R) = 1: AP@1 = P@1 where R >= 1
    assert average_precision_at(matches, 1, others).tolist() == pytest.approx([0, 1, 0, 0, 1, 0])
    # at k = 2: item 0 (P@2) / 2 = 1/4; item 3 P@2 / 1 = 1/2
    assert average_precision_at(matches, 2, others).tolist() == pytest.approx([1 / 4, 1, 0, 1 / 2, 1, 0])
    queries = others >= 1  # mAP@3 over items 0..4: (7/12 + 1 + 0 + 1/2 + 1) / 5 = 37/60
    assert average_precision_at(matches, 3, others)[queries].mean() == pytest.approx(37 / 60)
    # P@3 over every item with a category: (2/3 + 2/3 + 0 + 1/3 + 1/3 + 0) / 6 = 1/3
    assert category_shares(HAND_LISTS, codes, 3).mean() == pytest.approx(1 / 3)
    # a list shorter than k reads what there is; the divisor is still min(k, R)
    assert average_precision_at(matches[:, :2], 3, others).tolist() == pytest.approx([1 / 4, 1, 0, 1 / 2, 1, 0])
    assert average_precision_at(np.zeros((2, 0), dtype=bool), 3, np.array([1, 2])).tolist() == [0.0, 0.0]


def test_category_chance_levels_by_hand() -> None:
    codes = category_codes(HAND_CATEGORIES)
    others = category_others(codes)
    # P@k: R / (n - 1) = 2/6, 2/6, 2/6, 1/6, 1/6, 0
    assert category_chance(codes).tolist() == pytest.approx([2 / 6] * 3 + [1 / 6] * 2 + [0])
    # AP@3 of a random ranking, exactly, with N = 6 candidates and H(3) = 11/6:
    #   R = 2: (11/6 * 2/6 + (3 - 11/6) * 2/30) / 2 = (11/18 + 7/90) / 2 = 31/90
    #   R = 1: 11/6 * 1/6 = 11/36 (the one relevant item uniform over 6 ranks: (1 + 1/2 + 1/3) / 6)
    assert random_average_precision(3, others, 6).tolist() == pytest.approx([31 / 90] * 3 + [11 / 36] * 2 + [0])
    assert random_average_precision(1, np.array([2, 1]), 6).tolist() == pytest.approx([2 / 6, 1 / 6])  # = R / N


def _ap_at(relevant: tuple[bool, ...], k: int, n_relevant: int) -> float:
    """AP@k of one list by the definition, read rank by rank (the plainest loop)."""
    hits, total = 0, 0.0
    for i, r in enumerate(relevant[:k], start=1):
        if r:
            hits += 1
            total += hits / i
    return total / min(k, n_relevant)


@pytest.mark.parametrize("n, r, k", [(6, 2, 3), (5, 3, 4), (7, 1, 2), (8, 4, 5), (4, 4, 6), (3, 2, 5), (9, 3, 1)])
def test_the_chance_ap_is_the_mean_over_every_ranking(n: int, r: int, k: int) -> None:
    """Every placement of the R relevant items among the N candidates is equally likely under a random
    ranking: their mean AP@k is the chance level, to rounding (k beyond N included)."""
    every = [_ap_at(tuple(i in at for i in range(n)), k, r) for at in combinations(range(n), r)]
    assert random_average_precision(k, np.array([r]), n)[0] == pytest.approx(np.mean(every), abs=1e-12)


def test_the_chance_ap_agrees_with_a_seeded_simulation() -> None:
    n, k, draws = 40, 10, 20_000
    rng = np.random.default_rng(26)
    for r in (1, 7, 25):
        relevant = rng.permuted(np.tile(np.arange(n) < r, (draws, 1)), axis=1)  # each row a random ranking
        simulated = average_precision_at(relevant, k, np.full(draws, r))
        expected = random_average_precision(k, np.array([r]), n)[0]
        assert abs(simulated.mean() - expected) < 4 * simulated.std() / np.sqrt(draws)

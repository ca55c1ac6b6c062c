"""The metrics, as pure functions of published neighbour lists. No network, index or file in sight:
what is computed here can be recomputed by anyone from the site's data.

Each function gives values per query (per original, or per item of the plain collection), for every query
at once by array operations (no Python loop over queries: they run per network and k over up to 100,000);
the figures are their means over the queries, with a bootstrap interval (stats.py). The pipeline
(run.py) computes every figure with these functions, and the tests check them on hand-computed cases.

Perturbation recovery, per original query q with its ranked neighbours (q itself excluded) and P profiles
(one copy each):
    c  = how many of q's own perturbed copies are among its top k
    precision@k = c / k,  recall@k = c / P,  F1@k = 2PR / (P + R)  (0 when both are 0)
    AP = (1 / P) * sum of precision@i over the ranks i (within the list) that hold an own copy; a copy not
         in the list adds 0, so AP = 1 exactly when the P copies come first. mAP is its mean.
    recall@k for k = 1 .. 10 is the recall curve; per profile, the rank of that profile's copy gives
    found@k (rank <= k) and 1 / rank (that one copy's AP).
Meaning, on the plain collection's lists, per query item q with a category c, its ranked neighbours (q itself
excluded) read to depth k, and R = the number of OTHER items of category c in the collection (n items in all,
those without a category included):
    P@k  = the share of the top k in category c  (category precision)
    AP@k = (1 / min(k, R)) * sum of P@i over the ranks i <= k that hold an item of category c
           (so AP@k = 1 exactly when the first min(k, R) neighbours are all of c; 0 when none is)
    mAP@k = the mean of AP@k over the queries with a category and R >= 1 (with R = 0 nothing can be found:
           such a query has no AP; it stays in P@k's mean, where its chance level is 0 too)
Chance levels, what a list drawn at random from the other n - 1 items would score on average:
    P@k: R / (n - 1), averaged over the queries of P@k (the same for every k)
    AP@k: computed exactly (no simulation). With N = n - 1 and rel_i = [rank i holds an item of c], a random
        ranking has P(rel_i) = R / N and P(rel_i and rel_j) = R(R - 1) / (N(N - 1)) for i != j, so
        E[rel_i * P@i] = (1 / i) * (R / N + (i - 1) R(R - 1) / (N(N - 1))), and summed over i <= k' = min(k, N):
        E[AP@k] = (1 / min(k, R)) * (H(k') R / N + (k' - H(k')) R(R - 1) / (N(N - 1))),  H(k') = sum 1 / i.
        It is averaged over the queries of mAP@k; the tests check it against every ranking of a small case
        and against a seeded simulation.
The figures per query are bootstrapped over the queries of each figure (stats.py), and networks are compared
paired on the same queries: category P@k over the items with a category, mAP@k over those with R >= 1.

Ties: the metrics read the lists in their published order; the search ranks equal scores by lower row
(so an original comes before a copy it ties with), which makes every figure a function of the lists alone.
Means are reported with the population standard deviation (ddof = 0), as the original study did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from builder.experiment.stats import Estimate


@dataclass(frozen=True)
class RecoveryAtK:
    network: str
    k: int
    precision: Estimate
    recall: Estimate
    f1: Estimate


def precision_recall_f1(c: np.ndarray, k: int, n_profiles: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-query precision, recall and F1 from the count c of own copies found in the top k."""
    c = np.asarray(c, dtype=np.float64)
    precision = c / k
    recall = c / n_profiles
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    return precision, recall, f1


# The recovery metrics as (field, label), in the order of `precision_recall_f1` and `ideal`: every table,
# chart and file names its columns from here.
RECOVERY_METRICS = (("precision", "precision"), ("recall", "recall"), ("f1", "F1"))


def ideal(k: int, n_profiles: int) -> tuple[float, float, float]:
    """The best any network can do at k: all min(k, P) slots filled with own copies."""
    best = min(k, n_profiles)
    p, r, f1 = precision_recall_f1(np.array([best]), k, n_profiles)
    return float(p[0]), float(r[0]), float(f1[0])


def own_copies(neighbour_owner: np.ndarray, query_owner: np.ndarray) -> np.ndarray:
    """(queries, depth) booleans: which neighbours are owned by (are copies of) the query."""
    return np.asarray(neighbour_owner) == np.asarray(query_owner)[:, None]


def copies_found(relevant: np.ndarray) -> np.ndarray:
    """(queries, depth) counts from own_copies: column k - 1 is c at k, how many of the query's first k
    neighbours are its own copies (every k at once, by one running sum)."""
    return np.cumsum(np.asarray(relevant, dtype=bool), axis=1, dtype=np.int32)


def average_precision(relevant: np.ndarray, n_relevant: int) -> np.ndarray:
    """AP per query from its (queries, depth) relevance in rank order, over n_relevant relevant items
    (those not in the list count as found at no rank: they add 0)."""
    relevant = np.asarray(relevant, dtype=bool)
    if relevant.shape[1] == 0 or n_relevant == 0:
        return np.zeros(len(relevant))
    precision_at = np.cumsum(relevant, axis=1) / np.arange(1, relevant.shape[1] + 1)
    return (precision_at * relevant).sum(axis=1) / n_relevant


def ideal_recall(k: int, n_relevant: int) -> float:
    """The best recall@k any network can reach: min(k, P) / P."""
    return min(k, n_relevant) / n_relevant


def copy_rank(relevant: np.ndarray, neighbour_profile: np.ndarray, n_profiles: int) -> np.ndarray:
    """(queries, P) ranks: where the query's own copy made with each profile stands in its list, from 1;
    0 when it is not listed. One small integer per copy, from which found@k and 1 / rank follow for every k
    (a query lists each of its copies at most once: each is one row of the experiment set)."""
    relevant = np.asarray(relevant, dtype=bool)
    rank = np.zeros((len(relevant), n_profiles), dtype=np.int32)
    query, position = np.nonzero(relevant)
    rank[query, np.asarray(neighbour_profile)[query, position]] = position + 1
    return rank


def found_within(rank: np.ndarray, k: int) -> np.ndarray:
    """From copy_rank: True where the copy is among the first k neighbours."""
    rank = np.asarray(rank)
    return (rank >= 1) & (rank <= k)


def reciprocal_rank(rank: np.ndarray) -> np.ndarray:
    """From copy_rank: 1 / rank of the copy (0 when it is not listed), the AP of a query with one relevant
    item, such as one profile's copy."""
    rank = np.asarray(rank)
    return np.where(rank >= 1, 1.0 / np.maximum(rank, 1), 0.0)


def category_codes(categories: list[str | None]) -> np.ndarray:
    """Each item's category as an integer (-1 for none), found once by np.unique: the category measures,
    run per network and k over up to 100,000 items, then compare integers, never strings in Python."""
    names = np.array([c or "" for c in categories], dtype=str)
    if len(names) == 0:
        return np.zeros(0, dtype=np.int64)
    _, codes = np.unique(names, return_inverse=True)
    return np.where(names == "", -1, codes.reshape(-1)).astype(np.int64)


def categorised(codes: np.ndarray) -> np.ndarray:
    """The rows of the items that have a category: the queries of the category measures."""
    return np.flatnonzero(np.asarray(codes) >= 0)


def category_matches(neighbours: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """(items with a category, min(k, depth)) booleans, in `categorised` order: which of each one's first k
    neighbours share its category. What P@k and AP@k are read from. codes: category_codes of the items."""
    codes = np.asarray(codes)
    rows = categorised(codes)
    nb = np.asarray(neighbours)[rows, :k]
    return codes[nb] == codes[rows][:, None]


def category_shares(neighbours: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Per item with a category (in `categorised` order), the share of its top-k neighbours in that category:
    P@k. codes: category_codes of the items."""
    matches = category_matches(neighbours, codes, k)
    return matches.mean(axis=1) if len(matches) else np.zeros(0)


def category_others(codes: np.ndarray) -> np.ndarray:
    """Per item with a category (in `categorised` order), R: how many other items share its category, the
    most that its list can find."""
    codes = np.asarray(codes)
    rows = categorised(codes)
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.bincount(codes[rows])[codes[rows]] - 1


def category_chance(codes: np.ndarray) -> np.ndarray:
    """Per item with a category, its chance level of P@k: the share of the other items in its category,
    R / (n - 1), which is what a neighbour drawn at random would score on average."""
    codes = np.asarray(codes)
    if len(codes) < 2:
        return np.zeros(len(categorised(codes)))
    return category_others(codes) / (len(codes) - 1)


def average_precision_at(relevant: np.ndarray, k: int, n_relevant: np.ndarray) -> np.ndarray:
    """AP@k per query: (1 / min(k, R)) * the sum of P@i over the ranks i <= k that hold a relevant item, from
    (queries, depth) relevance in rank order (only the first k columns are read) and each query's R,
    n_relevant. Unlike `average_precision`, whose P is fixed and whose relevant items need not fit in the
    list, the divisor is what the first k ranks can hold, so a perfect top k scores 1 whatever R is. 0 where
    R = 0 (the callers leave such queries out of the mean)."""
    relevant = np.asarray(relevant, dtype=bool)[:, :k]
    most = np.minimum(k, np.asarray(n_relevant)).astype(np.float64)
    if relevant.shape[1] == 0:
        return np.zeros(len(relevant))
    precision_at = np.cumsum(relevant, axis=1) / np.arange(1, relevant.shape[1] + 1)
    total = (precision_at * relevant).sum(axis=1)
    return np.divide(total, most, out=np.zeros(len(relevant)), where=most > 0)


def random_average_precision(k: int, n_relevant: np.ndarray, n_candidates: int) -> np.ndarray:
    """E[AP@k] per query of a ranking drawn uniformly at random from n_candidates items (n - 1: the query
    excluded) of which n_relevant (R) are relevant: exact, by the closed form in this module's docstring.
    0 where R = 0."""
    r = np.asarray(n_relevant, dtype=np.float64)
    big_n = float(n_candidates)
    reach = min(k, n_candidates)  # ranks a list can fill
    if reach <= 0:
        return np.zeros(len(r))
    harmonic = float(np.sum(1.0 / np.arange(1, reach + 1)))
    single = r / big_n
    pair = r * (r - 1) / (big_n * (big_n - 1)) if big_n > 1 else np.zeros_like(r)
    most = np.minimum(k, r)
    expected = harmonic * single + (reach - harmonic) * pair
    return np.divide(expected, most, out=np.zeros(len(r)), where=most > 0)


def jaccard_rows(a: np.ndarray, b: np.ndarray, k: int, block: int = 8192) -> np.ndarray:
    """Per item, the Jaccard overlap |A ∩ B| / |A ∪ B| of two networks' top-k neighbour sets (1 for two
    empty sets). By array operations over blocks of rows: 100,000 items make no Python set."""
    a, b = np.asarray(a)[:, :k], np.asarray(b)[:, :k]
    out = np.zeros(len(a))
    for start in range(0, len(a), block):
        x, y = np.sort(a[start : start + block], axis=1), np.sort(b[start : start + block], axis=1)
        first_x, first_y = _firsts(x), _firsts(y)  # each distinct value once: set semantics
        inter = ((x[:, :, None] == y[:, None, :]).any(axis=2) & first_x).sum(axis=1)
        union = first_x.sum(axis=1) + first_y.sum(axis=1) - inter
        out[start : start + len(x)] = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    return out


def _firsts(sorted_rows: np.ndarray) -> np.ndarray:
    """Per row (sorted), True at the first occurrence of each value."""
    first = np.ones(sorted_rows.shape, dtype=bool)
    first[:, 1:] = sorted_rows[:, 1:] != sorted_rows[:, :-1]
    return first

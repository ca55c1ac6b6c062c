"""The metrics, as pure functions of published neighbour lists. No network, index or file in sight:
what is computed here can be recomputed by anyone from the site's data.

Each function gives one value per query (per original, or per item of the plain collection); the figures
are their means over the queries, with a bootstrap interval (stats.py). Perturbation recovery, per
original query q with its ranked neighbours (q itself excluded) and P profiles (one copy each):
    c  = how many of q's own perturbed copies are among its top k
    precision@k = c / k,  recall@k = c / P,  F1@k = 2PR / (P + R)  (0 when both are 0)
    AP = (1 / P) * sum of precision@i over the ranks i (within the list) that hold an own copy; a copy not
         in the list adds 0, so AP = 1 exactly when the P copies come first. mAP is its mean.
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


def copies_found(neighbour_owner: np.ndarray, query_owner: np.ndarray, k: int) -> np.ndarray:
    """c per query: how many of its first k neighbours are owned by (are copies of) the query."""
    return own_copies(np.asarray(neighbour_owner)[:, :k], query_owner).sum(axis=1)


def average_precision(relevant: np.ndarray, n_relevant: int) -> np.ndarray:
    """AP per query from its (queries, depth) relevance in rank order, over n_relevant relevant items
    (those not in the list count as found at no rank: they add 0)."""
    relevant = np.asarray(relevant, dtype=bool)
    if relevant.shape[1] == 0 or n_relevant == 0:
        return np.zeros(len(relevant))
    precision_at = np.cumsum(relevant, axis=1) / np.arange(1, relevant.shape[1] + 1)
    return (precision_at * relevant).sum(axis=1) / n_relevant


def recall_curve(relevant: np.ndarray, n_relevant: int, up_to: int) -> np.ndarray:
    """(queries, up_to): column k - 1 is recall@k, the share of the query's relevant items in its top k."""
    found = np.cumsum(np.asarray(relevant, dtype=np.float64)[:, :up_to], axis=1)
    return found / n_relevant


def ideal_recall(k: int, n_relevant: int) -> float:
    """The best recall@k any network can reach: min(k, P) / P."""
    return min(k, n_relevant) / n_relevant


def profile_copy(
    neighbour_owner: np.ndarray, neighbour_profile: np.ndarray, query_owner: np.ndarray, profile: int
) -> np.ndarray:
    """(queries, depth) booleans: where the query's own copy made with `profile` stands in its list."""
    return np.logical_and(own_copies(neighbour_owner, query_owner), np.asarray(neighbour_profile) == profile)


def profile_hits(
    neighbour_owner: np.ndarray, neighbour_profile: np.ndarray, query_owner: np.ndarray, profile: int, k: int
) -> np.ndarray:
    """Per query, 1.0 when its copy made with `profile` is among its top k, else 0.0."""
    owner, prof = np.asarray(neighbour_owner)[:, :k], np.asarray(neighbour_profile)[:, :k]
    return np.any(profile_copy(owner, prof, query_owner, profile), axis=1).astype(np.float64)


def profile_recovery(
    neighbour_owner: np.ndarray, neighbour_profile: np.ndarray, query_owner: np.ndarray, profile: int, k: int
) -> float:
    """The share of queries whose copy made with `profile` is among their top k."""
    hit = profile_hits(neighbour_owner, neighbour_profile, query_owner, profile, k)
    return float(hit.mean()) if len(hit) else 0.0


def reciprocal_rank(relevant: np.ndarray) -> np.ndarray:
    """Per query, 1 / rank of its first relevant neighbour (0 when none is in the list): the AP of a
    query with one relevant item, such as one profile's copy."""
    relevant = np.asarray(relevant, dtype=bool)
    if relevant.shape[1] == 0:
        return np.zeros(len(relevant))
    first = relevant.argmax(axis=1)
    return np.where(relevant.any(axis=1), 1.0 / (first + 1), 0.0)


def categorised(categories: list[str | None]) -> np.ndarray:
    """The rows of the items that have a category: the queries of the category measures."""
    return np.array([i for i, c in enumerate(categories) if c], dtype=np.int64)


def category_shares(neighbours: np.ndarray, categories: list[str | None], k: int) -> np.ndarray:
    """Per item with a category (in `categorised` order), the share of its top-k neighbours in that category."""
    rows = categorised(categories)
    cats = np.array([c or "" for c in categories], dtype=object)
    if len(rows) == 0:
        return np.zeros(0)
    nb = np.asarray(neighbours)[rows, :k]
    return (cats[nb] == cats[rows][:, None]).mean(axis=1)


def category_precision(neighbours: np.ndarray, categories: list[str | None], k: int) -> float | None:
    """Mean share of the top-k neighbours that share the query's category, over the items that have one.
    None when no item has a category."""
    shares = category_shares(neighbours, categories, k)
    return float(shares.mean()) if len(shares) else None


def category_chance(categories: list[str | None]) -> np.ndarray:
    """Per item with a category, its chance level: the share of the other items in its category,
    (n_c - 1) / (N - 1), which is what a neighbour drawn at random would score on average."""
    rows = categorised(categories)
    if len(categories) < 2:
        return np.zeros(len(rows))
    names, counts = np.unique(np.array([categories[i] for i in rows], dtype=object), return_counts=True)
    size = dict(zip(names.tolist(), counts.tolist(), strict=True))
    return np.array([(size[categories[i]] - 1) / (len(categories) - 1) for i in rows], dtype=np.float64)


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


def jaccard_agreement(a: np.ndarray, b: np.ndarray, k: int, block: int = 8192) -> float:
    """Mean Jaccard overlap of two networks' top-k neighbour sets, over all items (0 with no items)."""
    rows = jaccard_rows(a, b, k, block)
    return float(rows.mean()) if len(rows) else 0.0


def _firsts(sorted_rows: np.ndarray) -> np.ndarray:
    """Per row (sorted), True at the first occurrence of each value."""
    first = np.ones(sorted_rows.shape, dtype=bool)
    first[:, 1:] = sorted_rows[:, 1:] != sorted_rows[:, :-1]
    return first

"""The metrics, as pure functions of published neighbour lists. No network, index or file in sight:
what is computed here can be recomputed by anyone from the site's data.

Perturbation recovery, per original query q with top-k neighbours (q itself excluded) and P profiles:
    c  = how many of q's own perturbed copies are among its top k
    precision@k = c / k,  recall@k = c / P,  F1@k = 2PR / (P + R)  (0 when both are 0)
reported as mean and population standard deviation (ddof = 0) over the originals.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np


@dataclass(frozen=True)
class MeanStd:
    mean: float
    std: float

    @classmethod
    def of(cls, values: np.ndarray) -> MeanStd:
        return cls(float(np.mean(values)), float(np.std(values))) if len(values) else cls(0.0, 0.0)


@dataclass(frozen=True)
class RecoveryAtK:
    network: str
    k: int
    precision: MeanStd
    recall: MeanStd
    f1: MeanStd


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


def copies_found(neighbour_owner: np.ndarray, query_owner: np.ndarray, k: int) -> np.ndarray:
    """c per query: how many of its first k neighbours are owned by (are copies of) the query."""
    return (np.asarray(neighbour_owner)[:, :k] == np.asarray(query_owner)[:, None]).sum(axis=1)


def recovery(
    network: str, neighbour_owner: np.ndarray, query_owner: np.ndarray, ks: list[int], n_profiles: int
) -> list[RecoveryAtK]:
    out = []
    for k in ks:
        p, r, f1 = precision_recall_f1(copies_found(neighbour_owner, query_owner, k), k, n_profiles)
        out.append(RecoveryAtK(network, k, MeanStd.of(p), MeanStd.of(r), MeanStd.of(f1)))
    return out


def profile_recovery(
    neighbour_owner: np.ndarray, neighbour_profile: np.ndarray, query_owner: np.ndarray, profile: int, k: int
) -> float:
    """The share of queries whose copy made with `profile` is among their top k."""
    owner = np.asarray(neighbour_owner)[:, :k]
    prof = np.asarray(neighbour_profile)[:, :k]
    hit = ((owner == np.asarray(query_owner)[:, None]) & (prof == profile)).any(axis=1)
    return float(hit.mean()) if len(hit) else 0.0


def category_precision(neighbours: np.ndarray, categories: list[str | None], k: int) -> float | None:
    """Mean share of the top-k neighbours that share the query's category, over the items that have one.
    None when no item has a category."""
    cats = np.array([c or "" for c in categories], dtype=object)
    rows = [i for i, c in enumerate(categories) if c]
    if not rows:
        return None
    nb = np.asarray(neighbours)[rows, :k]
    return float((cats[nb] == cats[rows][:, None]).mean())


def jaccard_agreement(a: np.ndarray, b: np.ndarray, k: int, block: int = 8192) -> float:
    """Mean Jaccard overlap |A ∩ B| / |A ∪ B| of two networks' top-k neighbour sets, over all items (1 for
    two empty sets). By array operations over blocks of rows: 100,000 items make no Python set."""
    a, b = np.asarray(a)[:, :k], np.asarray(b)[:, :k]
    if len(a) == 0:
        return 0.0
    total = 0.0
    for start in range(0, len(a), block):
        x, y = np.sort(a[start : start + block], axis=1), np.sort(b[start : start + block], axis=1)
        first_x, first_y = _firsts(x), _firsts(y)  # each distinct value once: set semantics
        inter = ((x[:, :, None] == y[:, None, :]).any(axis=2) & first_x).sum(axis=1)
        union = first_x.sum(axis=1) + first_y.sum(axis=1) - inter
        total += float(np.where(union > 0, inter / np.maximum(union, 1), 1.0).sum())
    return total / len(a)


def _firsts(sorted_rows: np.ndarray) -> np.ndarray:
    """Per row (sorted), True at the first occurrence of each value."""
    first = np.ones(sorted_rows.shape, dtype=bool)
    first[:, 1:] = sorted_rows[:, 1:] != sorted_rows[:, :-1]
    return first


def agreement_matrix(neighbours: dict[str, np.ndarray], k: int) -> dict[tuple[str, str], float]:
    return {(x, y): jaccard_agreement(neighbours[x], neighbours[y], k) for x, y in combinations(neighbours, 2)}

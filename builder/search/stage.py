"""The search stage: each network's neighbours on the plain collection, their recall checked against exact search."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from builder.collect.collection import Item
from builder.features.extract import load_matrix
from builder.features.stage import NetworkRun
from builder.progress import Reporter
from builder.search.neighbours import Neighbours, NeighbourSearch, features_digest
from builder.search.results import NetworkResult
from builder.search.retrieval import Refinement, collection_mean


def find_neighbours(
    items: list[Item],
    runs: dict[str, NetworkRun],
    search: NeighbourSearch,
    k: int,
    n_keys: int,
    reporter: Reporter,
    method: str = "auto",
    recall_target: float = 0.98,
    recall_queries: int = 1000,
    centre: bool = False,
    expansion: int = 0,
) -> list[NetworkResult]:
    """Each network's k nearest per item, by `method`: "cells" (inverted lists over k-means cells) or
    "annoy", each with its search effort raised until the recall@k measured on `recall_queries` sampled items
    against exact search reaches `recall_target`; "exact" (blocked matrix products); "auto" (the default): the
    cells, or exact search where the cells would have to search over a quarter of the collection or the
    collection is no larger than the sample (search/neighbours.py). The features are first refined
    (retrieval.py: centred on the collection's mean, expanded over their `expansion` nearest, found the same
    way). n_keys: the distinct images (originals and copies) whose features this build needed, to report how
    many came from the cache."""
    hashes = [i.content_hash for i in items]
    results = []
    with reporter.task("indexing", len(runs)) as task:
        for name, run in runs.items():
            x = load_matrix(run.store, hashes, run.spec.dim)

            def nearest(v: np.ndarray, n: int, place: str = f"{name} expansion") -> np.ndarray:
                return _searched(search, v, n, method, recall_target, recall_queries, place).found.indices

            refinement = Refinement(collection_mean(x) if centre else None, expansion)
            x = refinement.apply(x, nearest)
            digest = features_digest(x)
            got = _searched(search, x, k, method, recall_target, recall_queries, name, digest)
            results.append(
                NetworkResult(
                    name=name,
                    neighbours=got.found,
                    search_recall=got.recall,
                    extracted=run.extracted,
                    cached=n_keys - run.extracted,
                    images_per_second=run.images_per_second,
                    precision=run.precision,
                    spec=run.spec,
                    recall_note=got.note,
                    search_k=got.search_k,
                    features=digest,
                    searched=x,
                    refinement=refinement,
                )
            )
            task.advance()
    return results


@dataclass(frozen=True)
class _Search:
    found: Neighbours
    recall: float
    note: str
    search_k: int


def _searched(
    search: NeighbourSearch, x: np.ndarray, k: int, method: str, target: float, queries: int, place: str,
    digest: str | None = None,
) -> _Search:  # fmt: skip
    """The k nearest of every row by `method` (see find_neighbours), with the recall reached and how."""
    if method == "exact":
        return _Search(search.exact(x, k), 1.0, "exact search", 0)
    found, measured = search.tuned(x, k, target, queries, method, place, digest)
    return _Search(found, measured.value, measured.describe(), measured.search_k if measured.method == "annoy" else 0)


def searched_vectors(result: NetworkResult, run: NetworkRun, hashes: list[str]) -> np.ndarray:
    """The vectors the search stage searched for a network (its refined features), which every later stage
    reads; the store's features where the result keeps none (a result made of lists alone)."""
    return result.searched if result.searched is not None else load_matrix(run.store, hashes, run.spec.dim)

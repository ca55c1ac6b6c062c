"""The search stage: each network's neighbours on the plain collection, their recall checked against exact search."""

from __future__ import annotations

from builder.collect.collection import Item
from builder.features.extract import load_matrix
from builder.features.stage import NetworkRun
from builder.progress import Reporter
from builder.search.neighbours import NeighbourSearch, features_digest
from builder.search.results import NetworkResult


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
) -> list[NetworkResult]:
    """Each network's k nearest per item, by `method`: "cells" (inverted lists over k-means cells) or
    "annoy", each with its search effort raised until the recall@k measured on `recall_queries` sampled items
    against exact search reaches `recall_target`; "exact" (blocked matrix products); "auto" (the default): the
    cells, or exact search where the cells would have to search over a quarter of the collection or the
    collection is no larger than the sample (search/neighbours.py). n_keys: the distinct images (originals
    and copies) whose features this build needed, to report how many came from the cache."""
    hashes = [i.content_hash for i in items]
    results = []
    with reporter.task("indexing", len(runs)) as task:
        for name, run in runs.items():
            x = load_matrix(run.store, hashes, run.spec.dim)
            digest = features_digest(x)
            if method == "exact":
                found, recall, note, search_k = search.exact(x, k), 1.0, "exact search", 0
            else:
                found, measured = search.tuned(x, k, recall_target, recall_queries, method, name, digest)
                recall, note = measured.value, measured.describe()
                search_k = measured.search_k if measured.method == "annoy" else 0
            results.append(
                NetworkResult(
                    name=name,
                    neighbours=found,
                    search_recall=recall,
                    extracted=run.extracted,
                    cached=n_keys - run.extracted,
                    images_per_second=run.images_per_second,
                    precision=run.precision,
                    recall_note=note,
                    search_k=search_k,
                    features=digest,
                )
            )
            task.advance()
    return results

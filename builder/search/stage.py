"""The search stage: each network's neighbours on the plain collection by Annoy, checked against exact search."""

from __future__ import annotations

from builder.collect.collection import Item
from builder.features.extract import load_matrix
from builder.features.stage import NetworkRun
from builder.progress import Reporter
from builder.search.neighbours import NeighbourSearch, recall_against
from builder.search.results import NetworkResult


def find_neighbours(
    items: list[Item], runs: dict[str, NetworkRun], search: NeighbourSearch, k: int, n_keys: int, reporter: Reporter
) -> list[NetworkResult]:
    """n_keys: the distinct images (originals and copies) whose features this build needed, to report how
    many came from the cache."""
    hashes = [i.content_hash for i in items]
    results = []
    with reporter.task("indexing", len(runs)) as task:
        for name, run in runs.items():
            x = load_matrix(run.store, hashes, run.spec.dim)
            approx = search.annoy(x, k)
            results.append(
                NetworkResult(
                    name=name,
                    neighbours=approx,
                    annoy_recall=recall_against(approx, search.exact(x, k)),
                    extracted=run.extracted,
                    cached=n_keys - run.extracted,
                    images_per_second=run.images_per_second,
                    precision=run.precision,
                )
            )
            task.advance()
    return results

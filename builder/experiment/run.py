"""The perturbation-recovery experiment: can a network find an image's lightly altered copies again?

Given the features of M originals and of their copies (one per profile), one Annoy index per network
holds all M x (1 + P) images; each original is queried (itself excluded) and `evaluate` turns the
neighbour lists into precision, recall and F1 at k. Also here: category precision and agreement between
networks, measured on the plain collection's neighbours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from builder.collect.collection import Item
from builder.experiment.metrics import (
    RecoveryAtK,
    agreement_matrix,
    category_precision,
    profile_recovery,
    recovery,
)
from builder.features.extract import load_matrix
from builder.features.stage import NetworkRun
from builder.inputs.perturb import Profile, copy_key
from builder.progress import Reporter
from builder.search.neighbours import Neighbours, NeighbourSearch
from builder.search.results import NetworkResult

# The network every other is compared against: features without any learning.
BASELINE = "pixels"


def choose_originals(items: list[Item], cap: int, seed: int) -> list[Item]:
    """All items when there are at most `cap`; otherwise the first `cap` in a seeded hash order, returned
    in id order. The order of an item does not depend on the others, so removing an item that cannot be
    decoded, or adding one, changes the choice by at most that item."""
    if len(items) <= cap:
        return list(items)

    def rank(item: Item) -> str:
        return hashlib.sha256(f"{seed}|{item.id}".encode()).hexdigest()

    return sorted(sorted(items, key=rank)[:cap], key=lambda i: i.id)


@dataclass
class ExperimentLayout:
    """Rows of the experiment index: the M originals first, then for each profile j its M copies.
    Row r belongs to original r % M; its profile is -1 for an original, else (r - M) // M."""

    originals: list[Item]
    profiles: list[Profile]

    @property
    def m(self) -> int:
        return len(self.originals)

    @property
    def size(self) -> int:
        """Rows in the index: the originals and all their copies."""
        return self.m * (1 + len(self.profiles))

    @cached_property
    def copies(self) -> list[tuple[Profile, Item]]:
        """(profile, original) of rows m, m + 1, ...: the one place that fixes the copies' order."""
        return [(profile, item) for profile in self.profiles for item in self.originals]

    @cached_property
    def keys(self) -> list[str]:
        """Feature-cache keys, row by row."""
        return [i.content_hash for i in self.originals] + [copy_key(i.content_hash, p) for p, i in self.copies]

    def row(self, original: int, profile: int) -> int:
        """The row of original `original`'s copy made with profile index `profile`."""
        return self.m * (1 + profile) + original

    def owner(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(rows) % self.m

    def profile(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows)
        return np.where(rows < self.m, -1, (rows - self.m) // self.m)


@dataclass
class NetworkExperiment:
    network: str
    neighbours: Neighbours  # (M, K): rows of the experiment index, for each original
    recovery: list[RecoveryAtK]  # one per k
    per_profile: dict[tuple[str, int], float]  # (profile name, k) -> share of originals whose copy was found


@dataclass
class ExperimentResult:
    layout: ExperimentLayout
    ks: list[int]
    networks: list[NetworkExperiment]
    category_precision: dict[tuple[str, int], float]  # (network, k); empty when there are no categories
    agreement: dict[tuple[str, str], float]  # (network a, network b) -> mean Jaccard at agreement_k
    agreement_k: int


def run_network(
    name: str, features: np.ndarray, layout: ExperimentLayout, ks: list[int], search: NeighbourSearch
) -> NetworkExperiment:
    """features: one row per layout row."""
    neighbours = search.annoy(features, max(ks), queries=range(layout.m))
    owner = layout.owner(neighbours.indices)
    prof = layout.profile(neighbours.indices)
    queries = np.arange(layout.m)
    n_profiles = len(layout.profiles)
    ks_here = [k for k in ks if k <= neighbours.k]
    return NetworkExperiment(
        network=name,
        neighbours=neighbours,
        recovery=recovery(name, owner, queries, ks_here, n_profiles),
        per_profile={
            (p.name, k): profile_recovery(owner, prof, queries, j, k)
            for j, p in enumerate(layout.profiles)
            for k in ks_here
        },
    )


def collection_measures(
    plain: dict[str, np.ndarray], categories: list[str | None], ks: list[int], agreement_k: int
) -> tuple[dict[tuple[str, int], float], dict[tuple[str, str], float]]:
    """Category precision per network and k, and pairwise agreement, on the plain collection."""
    cat: dict[tuple[str, int], float] = {}
    for name, nb in plain.items():
        for k in ks:
            if k <= nb.shape[1]:
                value = category_precision(nb, categories, k)
                if value is not None:
                    cat[(name, k)] = value
    return cat, agreement_matrix(plain, agreement_k)


def run_experiment(
    layout: ExperimentLayout,
    items: list[Item],
    runs: dict[str, NetworkRun],
    results: list[NetworkResult],
    search: NeighbourSearch,
    ks: list[int],
    k: int,
    reporter: Reporter,
) -> ExperimentResult:
    """The experiment for every network, and the measures of the plain collection beside it."""
    networks = []
    with reporter.task(f"experiment ({layout.m} x {1 + len(layout.profiles)})", len(runs)) as task:
        for name, run in runs.items():
            networks.append(run_network(name, load_matrix(run.store, layout.keys, run.spec.dim), layout, ks, search))
            task.advance()
    plain = {r.name: r.neighbours.indices for r in results}
    agreement_k = min(k, *(nb.shape[1] for nb in plain.values()))
    category, agreement = collection_measures(plain, [i.category for i in items], ks, agreement_k)
    return ExperimentResult(layout, ks, networks, category, agreement, agreement_k)

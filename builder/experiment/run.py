"""The perturbation-recovery experiment: can a network find an image's lightly altered copies again?

Given the features of M originals and of their copies (one per profile), each original is searched
exactly (itself excluded) among all M x (1 + P) images of its network, and metrics.py turns the
neighbour lists into per-original values: precision, recall and F1 at k, average precision, recall@k
curves, per profile too. Exact, not approximate: with an approximate index the figures would measure the
search's effort as well as the network (Annoy's effort grows with the neighbours asked, so asking for 10
instead of 5 moved F1@5), and the lists are exact whatever depth is fetched, so every figure at k is
the same for any depth >= k. Also here: category precision (beside its chance level) and agreement between
networks, measured on the plain collection's neighbours, and beside category precision the category mAP@k
with its exact chance level (metrics.py defines both). Every figure is a mean with a bootstrap interval
(stats.py), and networks are compared pairwise on the same originals (the same items, for the collection's
measures).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property, partial
from itertools import combinations
from typing import Generic, TypeVar

import numpy as np

from builder.collect.collection import Item
from builder.experiment.metrics import (
    RECOVERY_METRICS,
    RecoveryAtK,
    average_precision,
    average_precision_at,
    category_chance,
    category_codes,
    category_matches,
    category_others,
    category_shares,
    copies_found,
    copy_rank,
    found_within,
    jaccard_rows,
    own_copies,
    precision_recall_f1,
    random_average_precision,
    reciprocal_rank,
)
from builder.experiment.stats import LEVEL, RESAMPLES, SEED, Comparison, Estimate, estimates
from builder.experiment.tag_agreement import TagAgreement
from builder.features.extract import load_matrix
from builder.features.stage import NetworkRun
from builder.inputs.perturb import Profile, copy_key
from builder.progress import Reporter
from builder.search.neighbours import Neighbours, NeighbourSearch
from builder.search.results import NetworkResult

# The network every other is compared against: features without any learning.
BASELINE = "pixels"
# The recall@k curves run from k = 1 to here (the copy-detection literature's usual depth).
CURVE_K = 10


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
    neighbours: Neighbours  # (M, depth): rows of the experiment index, for each original
    recovery: list[RecoveryAtK]  # one per k
    average_precision: Estimate  # mAP over the P copies, within each original's list
    recall_curve: list[Estimate]  # recall@k for k = 1, 2, ... CURVE_K (or the lists' length)
    per_profile: dict[tuple[str, int], Estimate]  # (profile name, k) -> share of originals whose copy was found
    profile_rank: dict[str, Estimate]  # profile name -> 1 / rank of its copy (0 when not listed): its AP


@dataclass
class ExperimentResult:
    layout: ExperimentLayout
    ks: list[int]
    networks: list[NetworkExperiment]
    category_precision: dict[tuple[str, int], Estimate]  # (network, k); empty when there are no categories
    category_chance: float | None  # the mean chance level of category precision; None without categories
    agreement: dict[tuple[str, str], Estimate]  # (network a, network b) -> mean Jaccard at agreement_k
    agreement_k: int
    comparisons: list[Comparison]  # every pair of networks, paired over the originals: F1 at each k and mAP
    depth: int  # neighbours listed per original: what AP is computed within
    curve_ks: list[int]  # the k of the recall curves
    resamples: int = RESAMPLES
    seed: int = SEED
    level: float = LEVEL
    # meaning on the plain collection beside category precision (metrics.py): mAP@k per (network, k), its
    # chance level per k, its queries (items with another of their category), and the paired comparisons of
    # networks on category P@k and mAP@k; empty without categories
    category_map: dict[tuple[str, int], Estimate] = field(default_factory=dict)
    category_map_chance: dict[int, float] = field(default_factory=dict)
    category_map_queries: int = 0
    category_comparisons: list[Comparison] = field(default_factory=list)
    # the tagging networks' tags against the collection's categories (tag_agreement.py): empty where no
    # network tags or no category names a class
    tags: dict[str, TagAgreement] = field(default_factory=dict)
    tags_measured: str = ""  # why not, in words, where `tags` is empty


def list_depth(ks: list[int], n_profiles: int) -> int:
    """Neighbours searched per original: every k asked, the recall curve up to CURVE_K, and all P copies
    (so that a perfect ranking has AP 1)."""
    return max(*ks, CURVE_K, n_profiles)


def curve_ks(depth: int) -> list[int]:
    """The k of the recall curves: 1 to CURVE_K, within lists of `depth` neighbours."""
    return list(range(1, min(CURVE_K, depth) + 1))


def profile_ks(ks: list[int], depth: int) -> list[int]:
    """The k at which recovery per profile is measured: those asked and those of the curves."""
    return sorted(set(ks) | set(curve_ks(depth)))


Key = TypeVar("Key", bound=Hashable)


class Columns(Generic[Key]):
    """Per-query values of many figures under their keys, estimated together: one bootstrap, the same
    resamples of the queries for every figure (what makes a difference of two columns paired).

    Each figure is added as a function that makes its n values, called only to fill its row of the one
    (figures, n) table the bootstrap reads: 100,000 originals x 154 figures (two networks) are that table,
    123 MB, and nothing beside it (no column per figure kept, no stacked or transposed copy)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.makers: dict[Key, Callable[[], np.ndarray]] = {}

    def add(self, key: Key, make: Callable[[], np.ndarray]) -> None:
        self.makers[key] = make

    def estimate(self) -> dict[Key, Estimate]:
        keys = list(self.makers)
        if not keys:
            return {}
        table = np.empty((len(keys), self.n))
        for row, key in enumerate(keys):
            table[row] = self.makers[key]()
        return dict(zip(keys, estimates(table.T), strict=True))  # table.T: (n, figures), a view


RECOVERY_FIELDS = [field for field, _ in RECOVERY_METRICS]


@dataclass(frozen=True)
class Recovery:
    """One network's experiment, per original, held as a few small arrays (not a float column per figure):
    each figure's values are made from them when the bootstrap fills its row (`column`)."""

    found: np.ndarray  # (M, depth) copies_found: column k - 1 is c at k
    rank: np.ndarray  # (M, P) copy_rank: the rank of each profile's copy, 0 when not listed
    ap: np.ndarray  # (M,) average precision within the list
    profiles: list[str]  # the profiles' names, in rank's column order

    @property
    def depth(self) -> int:
        return int(self.found.shape[1])

    def keys(self, ks: list[int]) -> list[tuple]:
        """Every figure: ("precision" | "recall" | "f1", k), ("ap",), ("curve", k), ("profile", name, k),
        ("rank", name)."""
        keys: list[tuple] = [(field, k) for k in ks for field in RECOVERY_FIELDS]
        keys += [("ap",)] + [("curve", k) for k in curve_ks(self.depth)]
        for name in self.profiles:
            keys += [("profile", name, k) for k in profile_ks(ks, self.depth)] + [("rank", name)]
        return keys

    def column(self, key: tuple) -> np.ndarray:
        """The per-original values of the figure under `key`."""
        kind, *rest = key
        if kind in RECOVERY_FIELDS or kind == "curve":  # the recall curve at k is recall@k
            k = rest[0]
            values = precision_recall_f1(self.found[:, k - 1], k, len(self.profiles))
            return values[RECOVERY_FIELDS.index("recall" if kind == "curve" else kind)]
        if kind == "ap":
            return self.ap
        copy = self.rank[:, self.profiles.index(rest[0])]
        return found_within(copy, rest[1]) if kind == "profile" else reciprocal_rank(copy)


def recovered(neighbours: np.ndarray, layout: ExperimentLayout) -> Recovery:
    """One network's Recovery from its neighbour rows (M, depth), by the definitions of metrics.py."""
    relevant = own_copies(layout.owner(neighbours), np.arange(layout.m))
    n_profiles = len(layout.profiles)
    return Recovery(
        found=copies_found(relevant),
        rank=copy_rank(relevant, layout.profile(neighbours), n_profiles),
        ap=average_precision(relevant, n_profiles),
        profiles=[p.name for p in layout.profiles],
    )


def compared_metrics(ks: list[int]) -> list[tuple[str, tuple]]:
    """What networks are compared on, as (label, value key): F1 at each k, and mAP."""
    return [(f"F1@{k}", ("f1", k)) for k in ks] + [("mAP", ("ap",))]


def pairs(names: list[str]) -> list[tuple[str, str]]:
    """Every pair of networks once, in run order, the baseline always second (a network against it)."""
    return [(b, a) if a == BASELINE else (a, b) for a, b in combinations(names, 2)]


def recovery_estimates(values: dict[str, Recovery], ks: list[int]) -> tuple[dict[tuple, Estimate], list[Comparison]]:
    """Every network's figures and the paired differences between networks, in one bootstrap."""
    m = len(next(iter(values.values())).ap) if values else 0
    columns: Columns[tuple] = Columns(m)
    for name, own in values.items():
        for key in own.keys(ks):
            columns.add((name, *key), partial(own.column, key))
    compared = [(a, b, label, key) for a, b in pairs(list(values)) for label, key in compared_metrics(ks)]
    for a, b, label, key in compared:
        columns.add(("difference", a, b, label), partial(_difference, values[a], values[b], key))
    found = columns.estimate()
    comparisons = [Comparison(a, b, label, found[("difference", a, b, label)]) for a, b, label, _ in compared]
    return found, comparisons


def _difference(a: Recovery, b: Recovery, key: tuple) -> np.ndarray:
    """Per original, a's value minus b's of one figure: what a paired comparison estimates."""
    return a.column(key) - b.column(key)


def network_experiment(
    name: str, neighbours: Neighbours, found: dict[tuple, Estimate], ks: list[int], layout: ExperimentLayout
) -> NetworkExperiment:
    """One network's figures, picked from the estimates by key."""
    depth = neighbours.k
    return NetworkExperiment(
        network=name,
        neighbours=neighbours,
        recovery=[RecoveryAtK(name, k, *(found[(name, field, k)] for field, _ in RECOVERY_METRICS)) for k in ks],
        average_precision=found[(name, "ap")],
        recall_curve=[found[(name, "curve", k)] for k in curve_ks(depth)],
        per_profile={
            (p.name, k): found[(name, "profile", p.name, k)] for p in layout.profiles for k in profile_ks(ks, depth)
        },  # fmt: skip
        profile_rank={p.name: found[(name, "rank", p.name)] for p in layout.profiles},
    )


@dataclass
class CollectionMeasures:
    """The measures of the plain collection's lists: meaning (category P@k and mAP@k beside their chance
    levels, networks compared paired) and agreement between networks."""

    category_precision: dict[tuple[str, int], Estimate]  # (network, k): P@k over the items with a category
    category_chance: float | None  # P@k's chance level (the same at every k); None without categories
    category_map: dict[tuple[str, int], Estimate]  # (network, k): mAP@k over the items with R >= 1
    category_map_chance: dict[int, float]  # k -> mAP@k of a random ranking (exact: metrics.py)
    category_map_queries: int  # items with a category and at least one other of it: mAP@k's queries
    category_comparisons: list[Comparison]  # every pair of networks, paired: "category P@k", "category mAP@k"
    agreement: dict[tuple[str, str], Estimate]  # (network a, network b) -> mean Jaccard at agreement_k


def category_compared(ks: list[int]) -> list[tuple[str, tuple[str, int]]]:
    """What networks are compared on in meaning, as (label, (figure, k)): P@k and mAP@k at each k."""
    return [(f"category P@{k}", ("precision", k)) for k in ks] + [(f"category mAP@{k}", ("map", k)) for k in ks]


def collection_measures(
    plain: dict[str, np.ndarray], categories: list[str | None], ks: list[int], agreement_k: int
) -> CollectionMeasures:
    """Category P@k and mAP@k per network and k with their chance levels and the paired differences between
    networks, and pairwise agreement, on the plain collection; bootstrapped over its items (P@k: those with a
    category; mAP@k: those with another item of their category; agreement: all). A k beyond a network's lists
    is not measured."""
    codes = category_codes(categories)  # once: integers from here on
    chance = category_chance(codes)
    others = category_others(codes)
    has_categories = len(chance) > 0
    answerable = others >= 1  # the queries of mAP@k, among the categorised ones
    matches = {name: category_matches(nb, codes, nb.shape[1])[answerable] for name, nb in plain.items()}
    ap_ks = {name: [k for k in ks if k <= nb.shape[1]] for name, nb in plain.items()}

    def values(name: str, figure: str, k: int) -> np.ndarray:
        if figure == "precision":
            return category_shares(plain[name], codes, k)
        return average_precision_at(matches[name], k, others[answerable])

    precision: Columns[tuple] = Columns(len(chance))
    mean_ap: Columns[tuple] = Columns(int(answerable.sum()))
    columns = {"precision": precision, "map": mean_ap}
    for name in plain:
        for k in ap_ks[name]:
            for figure, table in columns.items():
                table.add((name, k), partial(values, name, figure, k))
    compared = [
        (a, b, label, figure, k)
        for a, b in pairs(list(plain))
        for label, (figure, k) in category_compared(ks)
        if k in ap_ks[a] and k in ap_ks[b]
    ]
    for a, b, label, figure, k in compared:
        columns[figure].add(("difference", a, b, label), partial(_paired, values, a, b, figure, k))
    found = {figure: table.estimate() if has_categories else {} for figure, table in columns.items()}
    agreement: Columns[tuple[str, str]] = Columns(len(categories))
    for a, b in combinations(plain, 2):
        agreement.add((a, b), partial(jaccard_rows, plain[a], plain[b], agreement_k))
    n_all = len(categories)
    return CollectionMeasures(
        category_precision={key: e for key, e in found["precision"].items() if key[0] != "difference"},
        category_chance=float(chance.mean()) if has_categories else None,
        category_map={key: e for key, e in found["map"].items() if key[0] != "difference"},
        category_map_chance={
            k: float(random_average_precision(k, others[answerable], n_all - 1).mean())
            for k in sorted({k for measured in ap_ks.values() for k in measured})
        }
        if answerable.any()
        else {},
        category_map_queries=int(answerable.sum()),
        category_comparisons=[
            Comparison(a, b, label, found[figure][("difference", a, b, label)])
            for a, b, label, figure, _ in compared
            if has_categories
        ],
        agreement=agreement.estimate(),
    )


def _paired(values: Callable[[str, str, int], np.ndarray], a: str, b: str, figure: str, k: int) -> np.ndarray:
    """Per query, network a's value of a figure at k minus b's: what a paired comparison estimates."""
    return values(a, figure, k) - values(b, figure, k)


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
    """The experiment for every network, and the measures of the plain collection beside it.

    Each original's row is searched exactly against every row of the experiment set (blocked matrix
    products, ties by lower row): M x N x d multiply-adds per network, N = M x (1 + P). At the default cap of
    1,000 originals and 5 profiles, 1,000 x 6,000 x 1,280 (efficientnet_lite0) is 7.7e9: 0.3 s on the 2-core
    development machine. Remembered in the search cache like the collection's lists."""
    depth = list_depth(ks, len(layout.profiles))
    lists: dict[str, Neighbours] = {}
    refinements = {r.name: r.refinement for r in results}  # as the collection's: the set is the database here
    with reporter.task(f"experiment ({layout.m} x {1 + len(layout.profiles)})", len(runs)) as task:
        for name, run in runs.items():
            features = load_matrix(run.store, layout.keys, run.spec.dim)
            features = refinements[name].apply(features, lambda v, n: search.exact(v, n).indices)
            lists[name] = search.exact(features, depth, rows=range(layout.m))
            task.advance()
    listed = min(nb.k for nb in lists.values())
    ks_here = [k for k in ks if k <= listed]
    values = {name: recovered(nb.indices, layout) for name, nb in lists.items()}
    found, comparisons = recovery_estimates(values, ks_here)
    networks = [network_experiment(name, nb, found, ks_here, layout) for name, nb in lists.items()]
    plain = {r.name: r.neighbours.indices for r in results}
    agreement_k = min(k, *(nb.shape[1] for nb in plain.values()))
    measures = collection_measures(plain, [i.category for i in items], ks, agreement_k)
    return ExperimentResult(layout, ks, networks, measures.category_precision, measures.category_chance,
                            measures.agreement, agreement_k, comparisons, listed, curve_ks(listed),
                            category_map=measures.category_map, category_map_chance=measures.category_map_chance,
                            category_map_queries=measures.category_map_queries,
                            category_comparisons=measures.category_comparisons)  # fmt: skip

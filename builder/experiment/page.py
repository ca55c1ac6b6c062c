"""The experiment's page model: the results of run.py as the page and experiments/metrics.json show them.

Every figure the page shows is decided here (formatted cells, charts, verdicts); the template only lays it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from builder.experiment.metrics import RECOVERY_METRICS, ideal, ideal_recall
from builder.experiment.run import BASELINE, ExperimentLayout, ExperimentResult
from builder.experiment.stats import UNCLEAR, Comparison, Estimate
from builder.experiment.tag_agreement import TagAgreement
from builder.features.tags import THRESHOLD
from builder.inputs.perturb import Profile, copy_id
from builder.pagekit.charts import LineChart, line_chart
from builder.pagekit.formats import NOT_MEASURED, ci, pct_ci, score
from builder.pagekit.item import PageItem, page_item


@dataclass(frozen=True)
class PageComparison:
    """Network a against network b, paired over the originals: the difference mean(a - b) with its
    interval, and the verdict it supports."""

    a: str
    b: str
    metric: str
    difference: Estimate
    verdict: str  # "better", "worse" or "no clear difference"
    css: str  # the verdict's class: "better", "worse" or "unclear"


@dataclass
class RecoveryRow:
    network: str
    k: int
    precision: Estimate
    recall: Estimate
    f1: Estimate
    versus_baseline: PageComparison | None  # F1 against the baseline; None for the baseline / no baseline
    note: str = ""  # shown where there is no comparison: "baseline" on the baseline's own rows


@dataclass
class ProfileRow:
    """One network's recovery of one profile's copies: found in the top k (per k), and 1 / its rank."""

    network: str
    profile: str
    label: str
    found: list[Estimate]  # share of originals whose copy is in the top k, in ExperimentPage.ks order
    rank: Estimate  # mean of 1 / rank of the copy (0 when not listed): the AP of that one copy


@dataclass
class ExperimentPage:
    originals: int
    indexed: int
    profiles: list[Profile]
    ks: list[int]
    examples: list[tuple[PageItem, list[tuple[str, str]]]]  # original, [(profile label, thumb path)]
    recovery: list[RecoveryRow]
    ideal: list[tuple[int, float, float, float]]  # (k, best possible precision, recall, f1)
    average_precision: list[tuple[str, Estimate]]  # (network, mAP)
    depth: int  # neighbours listed per original: what AP is computed within
    per_profile: list[ProfileRow]
    category: list[tuple[str, list[str]]]  # (network, category precision per k, written out: "–" where none)
    category_chance: float | None  # its chance level: the mean share of a query's category among the others
    category_map: list[tuple[str, list[str]]]  # (network, category mAP@k per k, written out: "–" where none)
    category_map_chance: list[str]  # its chance level per k (a random ranking's mean AP@k), written out
    category_map_queries: int  # the items mAP@k is averaged over: those with another image of their category
    category_comparisons: list[PageComparison]  # every pair of networks on category P@k and mAP@k, paired
    agreement: list[tuple[str, str, Estimate]]
    agreement_k: int
    comparisons: list[PageComparison]  # every pair of networks, F1 at each k and mAP
    charts: list[LineChart]  # precision, recall and F1 at the asked k
    recall_chart: LineChart  # recall@k from 1 to 10, with the ideal bound
    profile_charts: list[LineChart]  # the same per profile
    baseline: str
    bootstrap: str  # how the intervals were made, in words
    level: str  # the intervals' confidence level, e.g. "95%"
    metrics: dict[str, object]  # what experiments/metrics.json holds
    tags: list[tuple[str, TagAgreement]] = field(default_factory=list)  # (network, its tags' agreement)
    tags_not_measured: str = ""  # why there are none
    tags_threshold: float = THRESHOLD


EXAMPLES = 4  # originals shown with their copies on the experiment page


def page_comparison(c: Comparison) -> PageComparison:
    return PageComparison(c.a, c.b, c.metric, c.difference, c.verdict, "unclear" if c.verdict == UNCLEAR else c.verdict)


def note(network: str) -> str:
    """What a recovery row shows where it has no comparison with the baseline: the baseline's own rows say so."""
    return "baseline" if network == BASELINE else ""


def category_cell(e: Estimate | None) -> str:
    """Category precision at one k as its cell shows it; none where the lists are shorter than k."""
    return NOT_MEASURED if e is None else pct_ci(e)


def map_cell(e: Estimate | None) -> str:
    """Category mAP at one k as its cell shows it (a score, like the recovery's mAP); none where the lists are
    shorter than k."""
    return NOT_MEASURED if e is None else f"{score(e.mean)} {ci(e)}"


def chance_cell(chance: Mapping[int, float], k: int) -> str:
    """A chance level at one k as its cell shows it; none where it was not measured."""
    return score(chance[k]) if k in chance else NOT_MEASURED


def comparison_fields(c: Comparison) -> dict[str, object]:
    """A paired comparison as metrics.json writes it."""
    return {"a": c.a, "b": c.b, "metric": c.metric, **estimate_fields(c.difference, "difference"), "verdict": c.verdict}


def estimate_fields(e: Estimate, mean: str = "mean") -> dict[str, float]:
    """An Estimate as metrics.json writes it: the mean under `mean`, then std, low and high."""
    return {mean: e.mean, "std": e.std, "low": e.low, "high": e.high}


def bootstrap_words(ex: ExperimentResult) -> str:
    return (
        f"{ex.level:.0%} intervals: percentiles of the mean over {ex.resamples:,} bootstrap resamples of the "
        f"queries (seed {ex.seed}), the same resamples for every figure"
    )


def experiment_metrics(ex: ExperimentResult, recovery_rows: list[RecoveryRow]) -> dict[str, object]:
    """What experiments/metrics.json holds: every figure of the page with its interval."""
    layout, n_profiles = ex.layout, len(ex.layout.profiles)
    return {
        "originals": layout.m,
        "indexed": layout.size,
        "profiles": [{"name": p.name, "label": p.label, "description": p.description} for p in layout.profiles],
        "ks": ex.ks,
        "depth": ex.depth,
        "bootstrap": {
            "resamples": ex.resamples,
            "seed": ex.seed,
            "level": ex.level,
            "method": "percentile interval of the mean over resamples of the originals (the items, for the "
            "collection measures); paired: the same resamples for every figure and difference",
        },
        "recovery": [
            {
                "network": r.network,
                "k": r.k,
                **{
                    f"{name}_{stat}": getattr(getattr(r, name), stat)
                    for name, _ in RECOVERY_METRICS
                    for stat in ("mean", "std", "low", "high")
                },
            }
            for r in recovery_rows
        ],
        "map": [{"network": n.network, **estimate_fields(n.average_precision)} for n in ex.networks],
        "recall_curve": [
            {"network": n.network, "k": k, **estimate_fields(e), "ideal": ideal_recall(k, n_profiles)}
            for n in ex.networks
            for k, e in zip(ex.curve_ks, n.recall_curve, strict=True)
        ],
        "per_profile": [
            {"network": n.network, "profile": p, "k": k, **estimate_fields(e, "share")}
            for n in ex.networks
            for (p, k), e in n.per_profile.items()
        ],
        "profile_rank": [
            {"network": n.network, "profile": p, **estimate_fields(e)}
            for n in ex.networks
            for p, e in n.profile_rank.items()
        ],
        "comparisons": [comparison_fields(c) for c in ex.comparisons],
        "category_precision": [
            {"network": net, "k": k, **estimate_fields(v, "value")}
            for (net, k), v in sorted(ex.category_precision.items())
        ],
        "category_chance": ex.category_chance,
        "category_map": [
            {"network": net, "k": k, **estimate_fields(v, "value")} for (net, k), v in sorted(ex.category_map.items())
        ],
        "category_map_chance": [{"k": k, "value": v} for k, v in sorted(ex.category_map_chance.items())],
        "category_map_queries": ex.category_map_queries,
        "category_map_method": "AP@k = (1 / min(k, R)) * sum of P@i over the ranks i <= k holding an item of the "
        "query's category, R = the other items of its category; mean over the items with R >= 1; chance: the "
        "exact expected AP@k of a random ranking of the other items, averaged the same way",
        "category_comparisons": [comparison_fields(c) for c in ex.category_comparisons],
        "agreement": [
            {"a": a, "b": b, "k": ex.agreement_k, **estimate_fields(v, "jaccard")}
            for (a, b), v in sorted(ex.agreement.items())
        ],
        "tag_agreement": {
            "threshold": THRESHOLD,
            "not_measured": ex.tags_measured,
            "method": "over the images of the categories whose name (or its singular) names ImageNet classes: "
            "precision, the share of their tags in their category's classes; chance, that share were each tag's "
            "category drawn by the categories' shares; agreeing, the share of images with a tag of their category",
            "rows": [
                {
                    "network": network,
                    "images": a.images,
                    "tagged": a.tagged,
                    "agreeing": a.agreeing,
                    "tags": a.tags,
                    "in_category": a.in_category,
                    "precision": a.precision,
                    "chance": a.chance,
                    "agreement": a.agreement,
                    "matched": {c: len(classes) for c, classes in a.matched.items()},
                    "unmatched": list(a.unmatched),
                }
                for network, a in sorted(ex.tags.items())
            ],
        },
    }


def experiment_page(ex: ExperimentResult, originals: list[PageItem], copies: list[PageItem]) -> ExperimentPage:
    layout = ex.layout
    n_profiles = len(layout.profiles)
    versus = {(c.a, c.metric): page_comparison(c) for c in ex.comparisons if c.b == BASELINE}
    recovery_rows = [
        RecoveryRow(r.network, r.k, r.precision, r.recall, r.f1, versus.get((r.network, f"F1@{r.k}")), note(r.network))
        for n in ex.networks
        for r in n.recovery
    ]
    m = layout.m
    examples = [
        (originals[i], [(p.label, copies[layout.row(i, j) - m].thumb) for j, p in enumerate(layout.profiles)])
        for i in range(min(EXAMPLES, m))
    ]
    charts = []
    chart_ks = [r.k for r in ex.networks[0].recovery]
    for index, (name, label) in enumerate(RECOVERY_METRICS):
        values = {n.network: [getattr(r, name).mean for r in n.recovery] for n in ex.networks}
        charts.append(line_chart(f"{label} at k", chart_ks, values, [ideal(k, n_profiles)[index] for k in chart_ks]))
    recall_chart = line_chart(
        "recall at k, all copies",
        ex.curve_ks,
        {n.network: [e.mean for e in n.recall_curve] for n in ex.networks},
        [ideal_recall(k, n_profiles) for k in ex.curve_ks],
    )
    profile_charts = [
        line_chart(
            f"{p.label}: copy found in the top k",
            ex.curve_ks,
            {n.network: [n.per_profile[(p.name, k)].mean for k in ex.curve_ks] for n in ex.networks},
            [1.0 for _ in ex.curve_ks],
            width=300,
            height=200,
        )
        for p in layout.profiles
    ]
    names = [n.network for n in ex.networks]
    return ExperimentPage(
        originals=m,
        indexed=layout.size,
        profiles=layout.profiles,
        ks=chart_ks,
        examples=examples,
        recovery=recovery_rows,
        ideal=[(k, *ideal(k, n_profiles)) for k in chart_ks],
        average_precision=[(n.network, n.average_precision) for n in ex.networks],
        depth=ex.depth,
        per_profile=[
            ProfileRow(
                n.network, p.name, p.label, [n.per_profile[(p.name, k)] for k in chart_ks], n.profile_rank[p.name]
            )
            for p in layout.profiles
            for n in ex.networks
        ],
        category=[(net, [category_cell(ex.category_precision.get((net, k))) for k in chart_ks]) for net in names]
        if ex.category_precision
        else [],
        category_chance=ex.category_chance,
        category_map=[(net, [map_cell(ex.category_map.get((net, k))) for k in chart_ks]) for net in names]
        if ex.category_map
        else [],
        category_map_chance=[chance_cell(ex.category_map_chance, k) for k in chart_ks],
        category_map_queries=ex.category_map_queries,
        category_comparisons=[page_comparison(c) for c in ex.category_comparisons],
        agreement=[(a, b, v) for (a, b), v in sorted(ex.agreement.items())],
        agreement_k=ex.agreement_k,
        comparisons=[page_comparison(c) for c in ex.comparisons],
        charts=charts,
        recall_chart=recall_chart,
        profile_charts=profile_charts,
        baseline=BASELINE,
        bootstrap=bootstrap_words(ex),
        level=f"{ex.level:.0%}",
        metrics=experiment_metrics(ex, recovery_rows),
        tags=sorted(ex.tags.items()),
        tags_not_measured=ex.tags_measured,
    )


def experiment_items(layout: ExperimentLayout, suffix: str) -> tuple[list[PageItem], list[PageItem]]:
    """The experiment's originals and their perturbed copies as pages show them (a copy is titled by its
    original's title and its profile, and links to its original's page). suffix: the thumbnails'."""
    originals = [page_item(i, suffix) for i in layout.originals]
    copies = [page_item(i, suffix, copy_id(i.id, p), f"{i.title} ({p.label})") for p, i in layout.copies]
    return originals, copies

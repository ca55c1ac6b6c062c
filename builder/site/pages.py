"""Page models: the pipeline's results turned into what the pages show (render.py renders them).

All numbers the pages show are decided here, from the results; nothing is recomputed in templates or
in the browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from builder.cache import BlobStore
from builder.collect.collection import Item
from builder.experiment.metrics import RECOVERY_METRICS, ideal, ideal_recall
from builder.experiment.run import BASELINE, ExperimentResult
from builder.experiment.stats import UNCLEAR, Comparison, Estimate
from builder.inputs.perturb import copy_id, copy_key
from builder.layout.stage import NetworkLayout
from builder.search.results import NetworkResult
from builder.site.atlas import NetworkAtlases, atlas_files
from builder.site.charts import line_chart
from builder.site.formats import NOT_MEASURED, ci, pct_ci, score
from builder.site.map_model import map_page
from builder.site.model import (
    THUMB_PATH,
    Dataset,
    ExperimentPage,
    PageComparison,
    PageItem,
    PageNeighbour,
    PageNetwork,
    ProfileRow,
    QueryPage,
    RecoveryRow,
    SiteModel,
)

EXAMPLES = 4  # originals shown with their copies on the experiment page


def safe_url(url: str) -> str:
    """The URL if it is http(s) with a host; otherwise empty, so `javascript:` and friends never become links."""
    if not url:
        return ""  # most items have none: no parse
    parsed = urlparse(url.strip())
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else ""


def page_item(item: Item, suffix: str, item_id: str | None = None, title: str | None = None) -> PageItem:
    """suffix: the thumbnails' file suffix ('.webp', '.jpg')."""
    item_id = item_id or item.id
    return PageItem(
        id=item_id,
        title=title or item.title,
        artist=item.artist,
        date=item.date,
        medium=item.medium,
        dimensions=item.dimensions,
        url=safe_url(item.url),
        category=item.category or "",
        relpath=item.relpath,
        extra=sorted(item.extra.items()),
        thumb=THUMB_PATH.format(id=item_id, suffix=suffix),
        page_id=item.id,
    )


def _rows(items: list[PageItem], indices: list[list[int]], scores: list[list[float]]) -> list[list[PageNeighbour]]:
    return [
        [PageNeighbour(items[j], j, s) for j, s in zip(idx, sc, strict=False)]
        for idx, sc in zip(indices, scores, strict=False)
    ]


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
    for index, (field, label) in enumerate(RECOVERY_METRICS):
        values = {n.network: [getattr(r, field).mean for r in n.recovery] for n in ex.networks}
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
    )


def site_model(
    collection_name: str,
    items: list[Item],
    skipped: list[tuple[str, str]],
    unmatched_metadata: int,
    results: list[NetworkResult],
    experiment: ExperimentResult | None,
    title: str,
    k: int,
    weights_files: Mapping[str, Path],
    thumbs: BlobStore,
    manifest: dict[str, object],
    layouts: list[NetworkLayout] | None = None,
    atlases: list[NetworkAtlases] | None = None,
    query: QueryPage | None = None,
) -> SiteModel:
    """title: '' for one made from the collection's folder name. weights_files: the local checkpoints given.
    thumbs: where the thumbnails were made, by content key. layouts: the map's, one per network (none: no
    map). atlases: each network's thumbnail atlases (site/atlas.py)."""
    pages = [page_item(i, thumbs.suffix) for i in items]
    networks = []
    for r in results:
        spec = r.spec
        weights = str(weights_files[r.name]) if r.name in weights_files else spec.weights.describe()
        rows = _rows(pages, r.neighbours.indices.tolist(), r.neighbours.scores.tolist())
        networks.append(
            PageNetwork(
                r.name,
                spec.dim,
                spec.layer,
                spec.description,
                weights,
                r.search_recall,
                rows,
                r.precision.used,
                r.precision.reason,
                r.recall_note,
            )
        )
    extra_files = {p.thumb: thumbs.location(i.content_hash) for p, i in zip(pages, items, strict=False)}
    datasets = [Dataset("collection", "The collection", pages, [(n.name, n.neighbours) for n in networks])]
    if layouts:  # the map's atlases, published beside the thumbnails they are made of
        extra_files.update(atlas_files(atlases or [], thumbs.suffix))
    experiment_model = None
    if experiment is not None:
        layout = experiment.layout
        originals = [page_item(i, thumbs.suffix) for i in layout.originals]
        copies = [page_item(i, thumbs.suffix, copy_id(i.id, p), f"{i.title} ({p.label})") for p, i in layout.copies]
        for c, (p, i) in zip(copies, layout.copies, strict=True):
            extra_files[c.thumb] = thumbs.location(copy_key(i.content_hash, p))
        ex_items = originals + copies
        m = layout.m
        copy_rows = np.arange(m, layout.size)
        datasets.append(
            Dataset(
                "perturbation",
                f"Perturbation set ({m} originals + {len(copies)} copies)",
                ex_items,
                [
                    (n.network, _rows(ex_items, n.neighbours.indices.tolist(), n.neighbours.scores.tolist()))
                    for n in experiment.networks
                ],
                queries=list(range(m)),
                profile_of={
                    r: layout.profiles[j].label
                    for r, j in zip(copy_rows.tolist(), layout.profile(copy_rows).tolist(), strict=False)
                },
                owner_of=dict(zip(copy_rows.tolist(), layout.owner(copy_rows).tolist(), strict=False)),
            )
        )
        experiment_model = experiment_page(experiment, originals, copies)
        # how the intervals were drawn, so a reader can redo them
        manifest = {**manifest, "bootstrap_resamples": experiment.resamples, "bootstrap_seed": experiment.seed}
    return SiteModel(
        title=title or f"Visually similar images: {collection_name}",
        items=pages,
        networks=networks,
        k=min(k, max(0, len(items) - 1)),
        categories=sorted({i.category for i in items if i.category}),
        skipped=sorted(skipped),
        unmatched_metadata=unmatched_metadata,
        manifest=manifest,
        extra_files=extra_files,
        thumb_suffix=thumbs.suffix,
        datasets=datasets,
        experiment=experiment_model,
        map=map_page(pages, layouts or [], atlases, thumbs.suffix),
        query=query,
    )

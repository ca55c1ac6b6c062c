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
from builder.experiment.metrics import RECOVERY_METRICS, ideal
from builder.experiment.run import BASELINE, ExperimentResult
from builder.features.networks import get as get_network
from builder.inputs.perturb import copy_id, copy_key
from builder.search.results import NetworkResult
from builder.site.charts import line_chart
from builder.site.model import (
    THUMB_PATH,
    Dataset,
    ExperimentPage,
    PageItem,
    PageNeighbour,
    PageNetwork,
    RecoveryRow,
    SiteModel,
)

EXAMPLES = 4  # originals shown with their copies on the experiment page


def safe_url(url: str) -> str:
    """The URL if it is http(s) with a host; otherwise empty, so `javascript:` and friends never become links."""
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


def _versus(value: float, baseline: float | None) -> str:
    if baseline is None:
        return ""
    if abs(value - baseline) < 1e-9:
        return "equal"
    return "better" if value > baseline else "worse"


def experiment_page(ex: ExperimentResult, originals: list[PageItem], copies: list[PageItem]) -> ExperimentPage:
    layout, ks = ex.layout, ex.ks
    baseline = {r.k: r.f1.mean for n in ex.networks if n.network == BASELINE for r in n.recovery}
    recovery_rows = [
        RecoveryRow(
            r.network,
            r.k,
            r.precision,
            r.recall,
            r.f1,
            "" if n.network == BASELINE else _versus(r.f1.mean, baseline.get(r.k)),
        )
        for n in ex.networks
        for r in n.recovery
    ]
    profile_columns = [(p.name, k) for p in layout.profiles for k in ks]
    m = layout.m
    examples = [
        (originals[i], [(p.label, copies[layout.row(i, j) - m].thumb) for j, p in enumerate(layout.profiles)])
        for i in range(min(EXAMPLES, m))
    ]
    charts = []
    for index, (field, label) in enumerate(RECOVERY_METRICS):
        values = {n.network: [getattr(r, field).mean for r in n.recovery] for n in ex.networks}
        chart_ks = [r.k for r in ex.networks[0].recovery]
        charts.append(
            line_chart(f"{label} at k", chart_ks, values, [ideal(k, len(layout.profiles))[index] for k in chart_ks])
        )
    names = [n.network for n in ex.networks]
    metrics = {
        "originals": m,
        "indexed": layout.size,
        "profiles": [{"name": p.name, "label": p.label, "description": p.description} for p in layout.profiles],
        "ks": ks,
        "recovery": [
            {
                "network": r.network,
                "k": r.k,
                **{
                    f"{name}_{stat}": getattr(getattr(r, name), stat)
                    for name, _ in RECOVERY_METRICS
                    for stat in ("mean", "std")
                },
            }
            for r in recovery_rows
        ],
        "per_profile": [
            {"network": n.network, "profile": p, "k": k, "share": n.per_profile[(p, k)]}
            for n in ex.networks
            for (p, k) in profile_columns
            if (p, k) in n.per_profile
        ],
        "category_precision": [
            {"network": net, "k": k, "value": v} for (net, k), v in sorted(ex.category_precision.items())
        ],
        "agreement": [
            {"a": a, "b": b, "k": ex.agreement_k, "jaccard": v} for (a, b), v in sorted(ex.agreement.items())
        ],
    }
    return ExperimentPage(
        originals=m,
        indexed=layout.size,
        profiles=layout.profiles,
        ks=ks,
        examples=examples,
        recovery=recovery_rows,
        ideal=[(k, *ideal(k, len(layout.profiles))) for k in ks],
        per_profile=[
            (n.network, [n.per_profile.get(col, float("nan")) for col in profile_columns]) for n in ex.networks
        ],
        profile_columns=profile_columns,
        category=[(net, [ex.category_precision.get((net, k)) for k in ks]) for net in names]
        if ex.category_precision
        else [],
        agreement=[(a, b, v) for (a, b), v in sorted(ex.agreement.items())],
        agreement_k=ex.agreement_k,
        charts=charts,
        baseline=BASELINE,
        metrics=metrics,
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
) -> SiteModel:
    """title: '' for one made from the collection's folder name. weights_files: the local checkpoints given.
    thumbs: where the thumbnails were made, by content key."""
    pages = [page_item(i, thumbs.suffix) for i in items]
    networks = []
    for r in results:
        spec = get_network(r.name)
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
    )

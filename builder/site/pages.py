"""Page models: the pipeline's results turned into what the pages show (render.py renders them).

All numbers the pages show are decided here, from the results; nothing is recomputed in templates or
in the browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from builder.cache import BlobStore
from builder.collect.collection import Item
from builder.collect.facets import Facets
from builder.experiment.page import experiment_items
from builder.experiment.run import ExperimentResult
from builder.features.networks.classes import imagenet_classes
from builder.features.runtime.backends import PrecisionPlan
from builder.features.tags import Tag
from builder.inputs.perturb import copy_key
from builder.pagekit.item import PageItem, page_item
from builder.pagekit.product import Product
from builder.search.results import NetworkResult
from builder.site.model import Dataset, PageNeighbour, PageNetwork, PageTag, SiteModel


def _rows(items: list[PageItem], indices: list[list[int]], scores: list[list[float]]) -> list[list[PageNeighbour]]:
    return [
        [PageNeighbour(items[j], j, s) for j, s in zip(idx, sc, strict=False)]
        for idx, sc in zip(indices, scores, strict=False)
    ]


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
    pages: list[PageItem],
    products: list[Product] | None = None,
    facets: Facets | None = None,
    tags: Mapping[str, list[list[Tag]]] | None = None,
) -> SiteModel:
    """title: '' for one made from the collection's folder name. weights_files: the local checkpoints given.
    thumbs: where the thumbnails were made, by content key. pages: `items` as pages show them (page_items).
    products: the map, search by image, the experiment's page, ... in the navigation's order. facets: the
    collection's, by its items' order (collect/facets.py). tags: per tagging network, each item's classes
    above the threshold (features/tags.py)."""
    products = products or []
    tags = tags or {}
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
                r.precision.shown(),
                _precision_note(r.precision),
                r.recall_note,
                _page_tags(tags.get(r.name, [])),
            )
        )
    extra_files = {p.thumb: thumbs.location(i.content_hash) for p, i in zip(pages, items, strict=False)}
    tagged = [(r.name, tags[r.name]) for r in results if r.name in tags]
    datasets = [Dataset("collection", "The collection", pages, [(n.name, n.neighbours) for n in networks],
                        facets=facets, tags=tagged)]  # fmt: skip
    for product in products:  # the files a product places from the cache (the map's atlases)
        extra_files.update(product.placed)
    if experiment is not None:
        layout = experiment.layout
        originals, copies = experiment_items(layout, thumbs.suffix)
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
        products=products,
    )


def _precision_note(plan: PrecisionPlan) -> str:
    """Why a network ran in what it did (a fall-back's reason, auto's choice) and a reduced precision's check."""
    checked = f"{plan.used} checked against fp32: {plan.check}" if plan.check else ""
    return "; ".join(part for part in (plan.reason, checked) if part)


def _page_tags(tags: list[list[Tag]]) -> list[list[PageTag]]:
    """Each item's tags as its compare page shows them, the class by its name (its first WordNet lemma)."""
    classes = imagenet_classes()
    return [[PageTag(classes[t.index].name, t.probability) for t in row] for row in tags]


def page_items(items: list[Item], thumbs: BlobStore) -> list[PageItem]:
    """The collection's items as every page shows them, their thumbnails where `thumbs` made them."""
    return [page_item(i, thumbs.suffix) for i in items]

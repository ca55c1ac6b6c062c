"""`vsis build`: collection -> images -> features -> neighbours -> site, in that order.

The one place that knows the order of the stages; each stage lives in its own module and knows nothing of
the ones after it.
"""

from __future__ import annotations

import os
import platform
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from . import __version__
from .cache import BlobStore
from .collection import Collection, Item, scan
from .config import BuildConfig
from .errors import VsisError
from .extract import NetworkRunner, load_matrix, make_runner
from .images import DECODE_VERSION, DecodeLimits, ImageError, decode, save_jpeg, thumbnail
from .neighbours import AnnoySettings, Neighbours, annoy_neighbours, exact_neighbours, recall_against
from .networks import get as get_network
from .progress import QuietReporter, Reporter
from .site import PageItem, PageNeighbour, PageNetwork, SiteModel, publish, safe_url


@dataclass
class NetworkResult:
    name: str
    neighbours: Neighbours
    annoy_recall: float
    extracted: int
    cached: int
    images_per_second: float


@dataclass
class BuildResult:
    out: Path
    items: list[Item]
    pages: int
    networks: list[NetworkResult]
    skipped: list[tuple[str, str]]
    seconds: float
    warnings: list[str] = field(default_factory=list)


def _thumb_store(config: BuildConfig) -> BlobStore:
    return BlobStore(config.cache_dir / "thumbs" / f"{config.thumb_size}-d{DECODE_VERSION}", ".jpg")


def extract_features(
    collection: Collection, config: BuildConfig, reporter: Reporter
) -> tuple[list[Item], dict[str, NetworkRunner]]:
    """Decode each image that needs work once, make its thumbnail and feed it to every network that lacks
    its features. Returns the items that are usable (bad files are reported and left out) and the runners."""
    from .networks.torch_runtime import best_device

    device = best_device()
    runners = {
        name: make_runner(get_network(name), config.cache_dir, config.weights.get(name), device, config.batch_size)
        for name in config.networks
    }
    thumbs = _thumb_store(config)
    limits = DecodeLimits(max_pixels=config.max_pixels)
    todo = [
        item
        for item in collection.items
        if not thumbs.has(item.content_hash) or any(r.needs(item.content_hash) for r in runners.values())
    ]
    bad: set[str] = set()
    with ExitStack() as stack:
        decoding = stack.enter_context(reporter.task("decoding", len(todo)))
        for name, runner in runners.items():
            todo_here = len({i.content_hash for i in todo if runner.needs(i.content_hash)})
            runner.on_batch = stack.enter_context(reporter.task(f"extracting {name}", todo_here)).advance
        for item in todo:
            try:
                im = decode(item.path, limits)
            except ImageError as exc:
                bad.add(item.id)
                collection.skipped.append((item.relpath, str(exc)))
                reporter.warn(f"{item.path}: {exc}; skipped")
            else:
                if not thumbs.has(item.content_hash):
                    thumbs.put(item.content_hash, save_jpeg(thumbnail(im, config.thumb_size)))
                for runner in runners.values():
                    if runner.needs(item.content_hash):
                        runner.submit(item.content_hash, im)
            decoding.advance()
        for runner in runners.values():
            runner.flush()
    return [i for i in collection.items if i.id not in bad], runners


def find_neighbours(
    items: list[Item], runners: dict[str, NetworkRunner], config: BuildConfig, reporter: Reporter
) -> list[NetworkResult]:
    settings = AnnoySettings(trees=config.annoy_trees, search_k=config.annoy_search_k, seed=config.annoy_seed)
    hashes = [i.content_hash for i in items]
    results = []
    with reporter.task("indexing", len(runners)) as task:
        for name, runner in runners.items():
            x = load_matrix(runner.store, hashes, runner.spec.dim)
            approx = annoy_neighbours(x, config.k, settings)
            exact = exact_neighbours(x, config.k)
            stats = runner.stats
            results.append(
                NetworkResult(
                    name=name,
                    neighbours=approx,
                    annoy_recall=recall_against(approx, exact),
                    extracted=stats.extracted,
                    cached=len(set(hashes)) - stats.extracted,
                    images_per_second=stats.per_second,
                )
            )
            task.advance()
    return results


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def manifest(config: BuildConfig, n_items: int) -> dict[str, object]:
    """Versions and settings, so a reader can tell how a site was made. The build time honours
    SOURCE_DATE_EPOCH, for reproducible output."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    return {
        "vsis": __version__,
        "python": platform.python_version(),
        "torch": _package_version("torch"),
        "torchvision": _package_version("torchvision"),
        "annoy": _package_version("annoy"),
        "numpy": _package_version("numpy"),
        "pillow": _package_version("pillow"),
        "built_at": when.replace(microsecond=0).isoformat(),
        "items": n_items,
        "networks": ", ".join(config.networks),
        "k": config.k,
        "annoy_trees": config.annoy_trees,
        "annoy_search_k": AnnoySettings(config.annoy_trees, config.annoy_search_k).search_k_for(config.k),
        "annoy_seed": config.annoy_seed,
        "thumb_size": config.thumb_size,
    }


def site_model(
    collection: Collection, items: list[Item], results: list[NetworkResult], config: BuildConfig
) -> SiteModel:
    thumbs = _thumb_store(config)
    pages = [
        PageItem(
            id=i.id,
            title=i.title,
            artist=i.artist,
            date=i.date,
            medium=i.medium,
            dimensions=i.dimensions,
            url=safe_url(i.url),
            category=i.category or "",
            relpath=i.relpath,
            extra=sorted(i.extra.items()),
            thumb=f"thumbs/{i.id}.jpg",
        )
        for i in items
    ]
    networks = []
    for r in results:
        spec = get_network(r.name)
        weights = str(config.weights[r.name]) if r.name in config.weights else spec.weights.describe()
        rows = [
            [PageNeighbour(pages[j], j, float(s)) for j, s in zip(idx, sc)]
            for idx, sc in zip(r.neighbours.indices.tolist(), r.neighbours.scores.tolist())
        ]
        networks.append(
            PageNetwork(r.name, spec.dim, spec.layer, spec.description, weights, r.extracted, r.cached,
                        r.images_per_second, r.annoy_recall, rows)
        )
    return SiteModel(
        title=config.title or f"Visually similar images: {collection.root.resolve().name}",
        items=pages,
        networks=networks,
        k=min(config.k, max(0, len(items) - 1)),
        categories=sorted({i.category for i in items if i.category}),
        skipped=sorted(collection.skipped),
        manifest=manifest(config, len(items)),
        extra_files={p.thumb: thumbs.path(i.content_hash) for p, i in zip(pages, items)},
    )


def build(config: BuildConfig, reporter: Reporter | None = None) -> BuildResult:
    """Run the whole pipeline and publish the site to `config.out`."""
    reporter = reporter or QuietReporter()
    started = time.perf_counter()
    with reporter.task("scanning", None) as task:
        collection = scan(
            config.collection,
            config.metadata,
            config.metadata_key,
            on_progress=lambda n, total: task.advance(),
            warn=reporter.warn,
        )
    items, runners = extract_features(collection, config, reporter)
    if len(items) < 2:
        raise VsisError(f"{config.collection}: {len(items)} usable image(s); at least 2 are needed for neighbours")
    results = find_neighbours(items, runners, config, reporter)
    model = site_model(collection, items, results, config)
    with reporter.task("rendering", len(items) + 2) as task:
        pages = publish(model, config.out, on_page=task.advance)
    return BuildResult(
        out=config.out,
        items=items,
        pages=pages,
        networks=results,
        skipped=collection.skipped,
        seconds=time.perf_counter() - started,
        warnings=list(reporter.warnings),
    )

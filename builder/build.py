"""`vsis build`: collection -> inputs -> features -> neighbours -> experiment -> site, in that order.

The one place that knows the order of the stages (`_build`); each stage is a package that knows nothing of
the ones after it (import-linter keeps it so), and each stage function takes its inputs and returns its
outputs. What is here besides: turning the config into the stages' arguments, the manifest, the locks.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from builder import __version__
from builder.cache import BlobStore, CacheLayout, HashCache, remove_litter
from builder.collect.collection import Collection, Item, identify, scan
from builder.collect.facets import facet_problems, facets_of
from builder.collect.sources.download import Policy
from builder.collect.sources.iiif_fetch import FetchedSource, IiifSettings, fetch_source
from builder.config import BuildConfig, manifest_settings
from builder.errors import VsisError
from builder.experiment.product import experiment_product
from builder.experiment.run import ExperimentLayout, ExperimentResult, choose_originals, run_experiment
from builder.experiment.tag_agreement import tag_agreements
from builder.features.extract import NetworkRunner, make_runner
from builder.features.networks import configured
from builder.features.ray_engine import RaySettings
from builder.features.stage import Extraction, NetworkRun, extract
from builder.features.stage import runs as network_runs
from builder.features.tags import stored_tags
from builder.features.words import classes_named
from builder.iiif.product import iiif_product
from builder.inputs.images import THUMB_FORMATS, DecodeLimits
from builder.inputs.perturb import Profile, get_profile
from builder.map.atlas import NetworkAtlases, atlas_store, default_grid, network_atlases
from builder.map.product import map_product
from builder.map.stage import NetworkLayout, lay_out
from builder.ownership import cache_lock, claim_cache, exclusive, out_lock
from builder.progress import QuietReporter, Reporter
from builder.query.browser import browser_networks
from builder.query.compact import CompactSettings
from builder.query.model import query_page
from builder.query.product import QueryProduct
from builder.query.stage import compact_vectors
from builder.search.neighbours import AnnoySettings, NeighbourSearch
from builder.search.results import NetworkResult
from builder.search.stage import find_neighbours
from builder.site.pages import page_items, site_model
from builder.site.publish import check_destination, publish
from builder.site.render import page_count
from builder.site.size import SiteSize, measure, over_budget
from builder.terminal import shown


@dataclass
class BuildResult:
    out: Path
    items: list[Item]
    pages: int
    networks: list[NetworkResult]
    skipped: list[tuple[str, str]]
    seconds: float
    experiment: ExperimentResult | None = None
    size: SiteSize | None = None
    warnings: list[str] = field(default_factory=list)


def _annoy(config: BuildConfig) -> AnnoySettings:
    return AnnoySettings(trees=config.annoy.trees, search_k=config.annoy.search_k, seed=config.annoy.seed)


def _search(config: BuildConfig, reporter: Reporter) -> NeighbourSearch:
    return NeighbourSearch(_annoy(config), CacheLayout(config.cache_dir).neighbours, reporter.warn)


def decode_limits(config: BuildConfig) -> DecodeLimits:
    """How files are decoded. JPEG draft mode keeps both sides at least twice what any network (256) or
    the thumbnail reads, so perturbed crops still have pixels to spare (bench/draft.py measures the effect)."""
    draft = 2 * max(256, config.thumb_size) if config.jpeg_draft else None
    return DecodeLimits(max_pixels=config.max_pixels, draft_side=draft, max_aspect=config.max_aspect)


def _ray_settings(config: BuildConfig) -> RaySettings | None:
    if config.engine != "ray":
        return None
    return RaySettings(config.ray.address, config.ray.actors, config.ray.gpus_per_actor, config.batch_size)


def _thumb_store(config: BuildConfig, on_bad: Callable[[str], None] | None = None) -> BlobStore:
    fmt = THUMB_FORMATS[config.thumb_format]
    folder = CacheLayout(config.cache_dir).thumbs(f"{config.thumb_size}-{fmt.settings}-{decode_limits(config).key}")
    return BlobStore(folder, fmt.suffix, fmt.problem, on_bad)


def _atlases(items: list[Item], layouts: list[NetworkLayout], config: BuildConfig,
             reporter: Reporter) -> list[NetworkAtlases]:  # fmt: skip
    """The map's thumbnail atlases (map/atlas.py): per network, the collection's thumbnails in its map's order."""
    fmt, thumbs, grid = THUMB_FORMATS[config.thumb_format], _thumb_store(config), default_grid()
    sources = [thumbs.location(i.content_hash) for i in items]
    store = atlas_store(config.cache_dir, fmt, grid, reporter.warn)
    return [network_atlases(lay.name, lay.points, sources, store, fmt, grid, reporter, config.workers)
            for lay in layouts]  # fmt: skip


def _query(items: list[Item], runs: dict[str, NetworkRun], results: list[NetworkResult], config: BuildConfig,
           reporter: Reporter) -> QueryProduct | None:  # fmt: skip
    """Search by the visitor's own image or words: the networks a browser can run (every built one that can,
    unless [query] networks names some), each with the collection's compact vectors."""
    asked = config.query.networks
    names = asked or tuple(r.name for r in results)
    limits = int(config.query.max_model_mb * 1e6), int(config.query.max_text_model_mb * 1e6)
    networks, refused = browser_networks(names, dict(config.weights), config.cache_dir, limits[0],
                                         config.features.framing, config.features.pooling, limits[1])  # fmt: skip
    for reason in refused if asked else []:  # said where the config asked for it; on the page in any case
        reporter.warn(f"query page: {reason}")
    settings = CompactSettings(recall_target=config.query.recall_target)
    compacts = compact_vectors(items, runs, results, [n.name for n in networks], config.cache_dir, reporter,
                               settings)  # fmt: skip
    page = query_page(networks, compacts, refused, len(items))
    return None if page is None else QueryProduct(page)


def _page_memo(config: BuildConfig) -> Path:
    """Where the cache remembers what the site at config.out was rendered from (site/publish.py)."""
    return CacheLayout(config.cache_dir).page_memo(config.out)


def make_runners(config: BuildConfig, on_bad: Callable[[str], None]) -> dict[str, NetworkRunner]:
    return {
        name: make_runner(
            configured(name, config.features.framing, config.features.pooling),
            config.cache_dir,
            config.weights.get(name),
            config.batch_size,
            config.backend,
            config.precision,
            decode_limits(config).key,
            on_bad,
        )
        for name in config.built_networks
    }


def _fetch_iiif(config: BuildConfig, reporter: Reporter) -> FetchedSource:
    """IIIF in: the source's images fetched into the cache with their records, for the scan to read."""
    c = config.iiif
    policy = Policy(connections=c.connections, timeout=c.timeout, retries=c.retries)
    with reporter.task("fetching IIIF", None):
        return fetch_source(IiifSettings(str(c.source), c.item, c.size, c.language, c.refresh, policy),
                            config.cache_dir, reporter.warn)  # fmt: skip


def _collect(config: BuildConfig, reporter: Reporter, fetched: FetchedSource | None = None) -> Collection:
    """The collection, with each file's hash and size remembered by its size, times and inode. fetched: a IIIF
    source's images and records (in the cache), scanned in place of the collection folder."""
    hashes = HashCache(CacheLayout(config.cache_dir).hashes, identify, reporter.warn)
    with reporter.task("scanning", None) as task:
        collection = scan(
            fetched.root if fetched else config.collection,
            fetched.metadata if fetched else config.metadata.file,
            "file" if fetched else config.metadata.key,
            on_progress=lambda n, total: task.advance(),
            warn=reporter.warn,
            identify=hashes,
            exclude=(config.out, config.cache_dir),
            follow_external_links=config.follow_external_links,
            fetched=fetched is not None,
        )
    hashes.save()
    collection.skipped[:0] = fetched.skipped if fetched else []
    return collection


def _extract(
    items: list[Item],
    profiles: list[Profile],
    runners: dict[str, NetworkRunner],
    config: BuildConfig,
    reporter: Reporter,
) -> tuple[Extraction, list[Item]]:
    """The features of every image and of the perturbed copies of the experiment's originals, and those
    originals. They are chosen before decoding, so that each file is decoded once; one whose file turns out
    bad is replaced by the next in line, whose copies are made in a second pass."""
    run = partial(
        extract,
        runners=runners,
        thumbs=_thumb_store(config, reporter.warn),
        thumb_size=config.thumb_size,
        thumb_format=THUMB_FORMATS[config.thumb_format],
        limits=decode_limits(config),
        workers=config.workers,
        reporter=reporter,
        ray=_ray_settings(config),
    )
    cap, seed = config.experiment.originals, config.experiment.seed
    chosen = {i.id for i in choose_originals(items, cap, seed)} if profiles else set()
    extraction = run(items, {i: profiles for i in chosen})
    if len(extraction.usable) < 2:
        raise VsisError(
            f"{config.collection}: {len(extraction.usable)} usable image(s); at least 2 are needed for neighbours"
        )
    originals = choose_originals(extraction.usable, cap, seed) if profiles else []
    replacements = [i for i in originals if i.id not in chosen]
    if replacements:
        again = run(replacements, {i.id: profiles for i in replacements})
        extraction = Extraction(extraction.usable, extraction.skipped + again.skipped)
    return extraction, originals


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def manifest(config: BuildConfig, n_items: int, results: list[NetworkResult]) -> dict[str, object]:
    """Versions and settings, so a reader can tell how a site was made. The build time honours
    SOURCE_DATE_EPOCH, for reproducible output. Every setting but the paths is written (config.py's schema says
    which), by its flat name; `networks` are those built (the pixel baseline added for the experiment). The
    backend is the configured one ('auto': ONNX Runtime on a CPU, PyTorch on a GPU); fp32 features are the same
    from either. `precision` is the one asked for, `precision_used` what each network really ran in (fp32 where
    the asked one was slow or unfaithful here; under auto, what was chosen and on which backend),
    `annoy_search_k_used` the effort each network's search needed."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)
    return {
        "vsis": __version__,
        "python": platform.python_version(),
        **{name: _package_version(name) for name in ("torch", "torchvision", "annoy", "numpy", "pillow")},
        "built_at": when.replace(microsecond=0).isoformat(),
        "items": n_items,
        **manifest_settings(config),
        "networks": ", ".join(config.built_networks),
        "annoy_search_k_used": ", ".join(f"{r.name} {r.search_k}" for r in results),
        "precision_used": ", ".join(f"{r.name} {r.precision.shown()}" for r in results),
    }


def build(config: BuildConfig, reporter: Reporter | None = None) -> BuildResult:
    """Run the whole pipeline and publish the site to `config.out`, holding the cache and the output
    (ownership.py): a second build on either refuses with a clear message rather than interleaving."""
    check_destination(config.out, config.collection, config.cache_dir)  # before any lock or work
    claim_cache(config.cache_dir)  # before its lock, which is a file in it
    with (
        exclusive(cache_lock(config.cache_dir), f"cache {config.cache_dir}"),
        exclusive(out_lock(config.out.resolve()), f"output folder {config.out}"),
    ):
        remove_litter(config.cache_dir)
        return _build(config, reporter or QuietReporter())


def _build(config: BuildConfig, reporter: Reporter) -> BuildResult:
    """The stages in order: collection -> inputs and features -> neighbours -> experiment -> site."""
    started = time.perf_counter()
    fetched = _fetch_iiif(config, reporter) if config.iiif.source else None
    collection = _collect(config, reporter, fetched)
    profiles = [get_profile(name) for name in config.experiment.profiles] if config.experiment.enabled else []
    runners = make_runners(config, reporter.warn)
    extraction, originals = _extract(collection.items, profiles, runners, config, reporter)
    items, skipped = extraction.usable, collection.skipped + extraction.skipped
    runs = network_runs(runners, reporter)
    hashes = [i.content_hash for i in items]
    tags = {name: stored_tags(run.tags, hashes) for name, run in runs.items() if run.tags is not None}
    layout = ExperimentLayout(originals, profiles) if profiles else None
    n_keys = len({i.content_hash for i in items} | set(layout.keys if layout else []))
    search = _search(config, reporter)
    results = find_neighbours(
        items,
        runs,
        search,
        config.k,
        n_keys,
        reporter,
        config.neighbours.method,
        config.neighbours.recall_target,
        config.neighbours.recall_queries,
        config.features.centre,
        config.neighbours.expansion,
    )
    experiment = None
    if layout is not None:
        experiment = run_experiment(layout, items, runs, results, search, list(config.experiment.k), config.k, reporter)
        agreements, why_not = tag_agreements([i.category or "" for i in items], tags, classes_named)
        experiment = replace(experiment, tags=agreements, tags_measured=why_not)
    layouts = (
        lay_out(items, runs, results, config.cache_dir, reporter, config.map.epochs, config.map.seed,
                config.map.clusters)
        if config.map.enabled
        else []
    )  # fmt: skip
    facets = facets_of(items, config.metadata.facets, config.metadata.facet_values)
    for problem in facet_problems(facets, config.metadata.facets):
        reporter.warn(problem)
    atlases = _atlases(items, layouts, config, reporter)
    thumbs = _thumb_store(config)
    page_list = page_items(items, thumbs)
    products = [
        map_product(page_list, layouts, atlases, thumbs.suffix, facets),
        _query(items, runs, results, config, reporter) if config.query.enabled else None,
        experiment_product(experiment, thumbs.suffix),
        iiif_product(items, page_list, config.site.url, reporter.warn if fetched else None),
    ]  # the site's products, in the navigation's order: one line each
    model = site_model(
        shown((fetched and fetched.label) or collection.root.resolve().name), items, skipped,
        collection.unmatched_metadata, results, experiment, config.title, config.k, config.weights, thumbs,
        manifest(config, len(items), results), page_list,
        [p for p in products if p is not None], facets, tags,
    )  # fmt: skip
    with reporter.task("rendering", page_count(model)) as task:
        pages = publish(model, config.out, on_page=task.advance, memo=_page_memo(config))
    size = measure(config.out)
    for problem in over_budget(size, int(config.site.budget_mb * 1e6)):
        reporter.warn(problem)
    return BuildResult(config.out, items, pages, results, skipped, time.perf_counter() - started, experiment,
                       size, list(reporter.warnings))  # fmt: skip

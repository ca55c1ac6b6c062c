"""`vsis build`: collection -> images -> features -> neighbours -> site, in that order.

The one place that knows the order of the stages; each stage lives in its own module and knows nothing of
the ones after it.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from builder import __version__
from builder.cache import BlobStore, HashCache, remove_litter
from builder.collect.collection import Item, file_hash, scan
from builder.config import BuildConfig
from builder.errors import VsisError
from builder.experiment.run import (
    ExperimentLayout,
    ExperimentResult,
    choose_originals,
    collection_measures,
    run_network,
)
from builder.features.extract import NetworkRunner, load_matrix, make_runner
from builder.features.networks import get as get_network
from builder.inputs.images import DecodeLimits, jpeg_problem
from builder.inputs.perturb import Profile, copy_key, get_profile
from builder.inputs.prepare import FileTask, VariantTask, ordered_map, prepare
from builder.ownership import cache_lock, exclusive, out_lock, tag_cache
from builder.progress import QuietReporter, Reporter
from builder.search.neighbours import AnnoySettings, NeighbourSearch, recall_against
from builder.search.results import NetworkResult
from builder.site.pages import site_model
from builder.site.publish import publish


@dataclass
class BuildResult:
    out: Path
    items: list[Item]
    pages: int
    networks: list[NetworkResult]
    skipped: list[tuple[str, str]]
    seconds: float
    experiment: ExperimentResult | None = None
    warnings: list[str] = field(default_factory=list)


def _annoy(config: BuildConfig) -> AnnoySettings:
    return AnnoySettings(trees=config.annoy_trees, search_k=config.annoy_search_k, seed=config.annoy_seed)


def _search(config: BuildConfig, reporter: Reporter) -> NeighbourSearch:
    return NeighbourSearch(_annoy(config), config.cache_dir / "neighbours", reporter.warn)


def decode_limits(config: BuildConfig) -> DecodeLimits:
    """How files are decoded. JPEG draft mode keeps both sides at least twice what any network (256) or
    the thumbnail reads, so perturbed crops still have pixels to spare (bench/draft.py measures the effect)."""
    draft = 2 * max(256, config.thumb_size) if config.jpeg_draft else None
    return DecodeLimits(max_pixels=config.max_pixels, draft_side=draft, max_aspect=config.max_aspect)


def _thumb_store(config: BuildConfig, on_bad: Callable[[str], None] | None = None) -> BlobStore:
    return BlobStore(
        config.cache_dir / "thumbs" / f"{config.thumb_size}-{decode_limits(config).key}", ".jpg", jpeg_problem, on_bad
    )


def make_runners(config: BuildConfig, on_bad: Callable[[str], None]) -> dict[str, NetworkRunner]:
    return {
        name: make_runner(
            get_network(name),
            config.cache_dir,
            config.weights.get(name),
            None,
            config.batch_size,
            config.backend,
            config.precision,
            decode_limits(config).key,
            on_bad,
        )
        for name in config.built_networks
    }


def extract_features(
    items: list[Item],
    config: BuildConfig,
    reporter: Reporter,
    runners: dict[str, NetworkRunner],
    copies_of: dict[str, list[Profile]],
    skipped: list[tuple[str, str]],
) -> list[Item]:
    """Decode each image that needs work once; make its thumbnail and its perturbed copies (for the
    originals in `copies_of`, by item id) and feed each to every network that lacks its features.
    Returns the items that are usable; bad files are reported, added to `skipped` and left out."""
    thumbs = _thumb_store(config, reporter.warn)

    def variant(key: str, profile: Profile | None) -> VariantTask | None:
        inputs = tuple((name, r.spec.preprocess) for name, r in runners.items() if r.needs(key))
        need_thumb = not thumbs.has(key)
        if not inputs and not need_thumb:
            return None
        return VariantTask(key, profile, config.thumb_size if need_thumb else None, inputs)

    tasks = []
    for item in items:
        wanted = [(item.content_hash, None)] + [(copy_key(item.content_hash, p), p) for p in copies_of.get(item.id, [])]
        variants = tuple(v for v in (variant(key, p) for key, p in wanted) if v is not None)
        if variants:
            tasks.append(FileTask(item, variants))
    bad: set[str] = set()
    limits = decode_limits(config)
    with ExitStack() as stack:
        decoding = stack.enter_context(reporter.task("decoding", len(tasks)))
        for name, runner in runners.items():
            todo = len({v.key for t in tasks for v in t.variants if any(n == name for n, _ in v.inputs)})
            runner.on_batch = stack.enter_context(reporter.task(f"extracting {name}", todo)).advance
        for prepared in ordered_map(lambda t: prepare(t, limits), tasks, config.workers):
            item = prepared.item
            if prepared.error is not None:
                bad.add(item.id)
                skipped.append((item.relpath, prepared.error))
                reporter.warn(f"{item.path}: {prepared.error}; skipped")
            for v in prepared.variants:
                if v.thumb is not None:
                    thumbs.put(v.key, v.thumb)
                for name, array in v.inputs.items():
                    runners[name].submit(v.key, array)
            decoding.advance()
        for runner in runners.values():
            runner.flush()
    return [i for i in items if i.id not in bad]


def find_neighbours(
    items: list[Item], runners: dict[str, NetworkRunner], config: BuildConfig, reporter: Reporter, n_keys: int
) -> list[NetworkResult]:
    """Neighbours on the plain collection. n_keys: the distinct images (originals and copies) whose
    features this build needed, to report how many came from the cache."""
    search = _search(config, reporter)
    hashes = [i.content_hash for i in items]
    results = []
    with reporter.task("indexing", len(runners)) as task:
        for name, runner in runners.items():
            x = load_matrix(runner.store, hashes, runner.spec.dim)
            approx = search.annoy(x, config.k)
            exact = search.exact(x, config.k)
            stats = runner.stats
            results.append(
                NetworkResult(
                    name=name,
                    neighbours=approx,
                    annoy_recall=recall_against(approx, exact),
                    extracted=stats.extracted,
                    cached=n_keys - stats.extracted,
                    images_per_second=stats.per_second,
                    precision=runner.precision,
                )
            )
            task.advance()
    return results


def run_experiment(
    layout: ExperimentLayout,
    items: list[Item],
    runners: dict[str, NetworkRunner],
    results: list[NetworkResult],
    config: BuildConfig,
    reporter: Reporter,
) -> ExperimentResult:
    search = _search(config, reporter)
    ks = list(config.experiment_ks)
    networks = []
    with reporter.task(f"experiment ({layout.m} x {1 + len(layout.profiles)})", len(runners)) as task:
        for name, runner in runners.items():
            x = load_matrix(runner.store, layout.keys, runner.spec.dim)
            networks.append(run_network(name, x, layout, ks, search))
            task.advance()
    plain = {r.name: r.neighbours.indices for r in results}
    agreement_k = min(config.k, *(nb.shape[1] for nb in plain.values()))
    category, agreement = collection_measures(plain, [i.category for i in items], ks, agreement_k)
    return ExperimentResult(layout, ks, networks, category, agreement, agreement_k)


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def manifest(config: BuildConfig, n_items: int, results: list[NetworkResult]) -> dict[str, object]:
    """Versions and settings, so a reader can tell how a site was made. The build time honours
    SOURCE_DATE_EPOCH, for reproducible output. The backend is the configured one ('auto': ONNX Runtime on
    a CPU, PyTorch on a GPU); fp32 features are the same from either. `precision` is the one asked for,
    `precision_used` what each network really ran in (fp32 where the asked one was slow or unfaithful here)."""
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
        "networks": ", ".join(config.built_networks),
        "k": config.k,
        "annoy_trees": config.annoy_trees,
        "annoy_search_k": _annoy(config).search_k_for(config.k),
        "annoy_seed": config.annoy_seed,
        "thumb_size": config.thumb_size,
        "backend": config.backend,
        "jpeg_draft": config.jpeg_draft,
        "precision": config.precision,
        "precision_used": ", ".join(f"{r.name} {r.precision.used}" for r in results),
    }


def build(config: BuildConfig, reporter: Reporter | None = None) -> BuildResult:
    """Run the whole pipeline and publish the site to `config.out`, holding the cache and the output
    (ownership.py): a second build on either refuses with a clear message rather than interleaving."""
    with (
        exclusive(cache_lock(config.cache_dir), f"cache {config.cache_dir}"),
        exclusive(out_lock(config.out.resolve()), f"output folder {config.out}"),
    ):
        tag_cache(config.cache_dir)
        remove_litter(config.cache_dir)
        return _build(config, reporter or QuietReporter())


def _build(config: BuildConfig, reporter: Reporter) -> BuildResult:
    started = time.perf_counter()
    hashes = HashCache(config.cache_dir / "hashes.json", file_hash)
    with reporter.task("scanning", None) as task:
        collection = scan(
            config.collection,
            config.metadata,
            config.metadata_key,
            on_progress=lambda n, total: task.advance(),
            warn=reporter.warn,
            hash_file=hashes,
            exclude=(config.out, config.cache_dir),
            follow_external_links=config.follow_external_links,
        )
    hashes.save()
    profiles = [get_profile(name) for name in config.profiles] if config.experiment else []
    runners = make_runners(config, reporter.warn)
    cap, seed = config.experiment_originals, config.experiment_seed
    chosen = choose_originals(collection.items, cap, seed) if profiles else []
    items = extract_features(
        collection.items, config, reporter, runners, {i.id: profiles for i in chosen}, collection.skipped
    )
    if len(items) < 2:
        raise VsisError(f"{config.collection}: {len(items)} usable image(s); at least 2 are needed for neighbours")
    layout = None
    if profiles:
        originals = choose_originals(items, cap, seed)  # the next in line replace originals that failed
        chosen_ids = {i.id for i in chosen}
        replacements = [i for i in originals if i.id not in chosen_ids]
        if replacements:
            extract_features(
                replacements, config, reporter, runners, {i.id: profiles for i in replacements}, collection.skipped
            )
        layout = ExperimentLayout(originals, profiles)
    for name, runner in runners.items():
        if runner.precision.fell_back:
            reporter.warn(f"{name}: {runner.precision.reason}; running {runner.precision.used} instead")
    keys = {i.content_hash for i in items} | set(layout.keys if layout else [])
    results = find_neighbours(items, runners, config, reporter, len(keys))
    experiment = run_experiment(layout, items, runners, results, config, reporter) if layout else None
    model = site_model(
        collection,
        items,
        results,
        experiment,
        config.title,
        config.k,
        config.weights,
        _thumb_store(config).path,
        manifest(config, len(items), results),
    )
    with reporter.task("rendering", len(items) + 3) as task:
        pages = publish(model, config.out, on_page=task.advance)
    return BuildResult(
        out=config.out,
        items=items,
        pages=pages,
        networks=results,
        skipped=collection.skipped,
        seconds=time.perf_counter() - started,
        experiment=experiment,
        warnings=list(reporter.warnings),
    )

"""The features stage: every image decoded once (inputs stage), its thumbnail and perturbed copies made,
and each fed to every network that lacks its features; bad files come back with their reasons.

The runners belong to this stage: it wires their progress, runs them, and returns what they did (`NetworkRun`),
so that no later stage reads a runner's state.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass

from builder.cache import BlobStore, FeatureStore
from builder.collect.collection import Item
from builder.features.extract import NetworkRunner
from builder.features.networks.registry import NetworkSpec
from builder.features.ray_engine import RaySettings, extract_on_ray
from builder.features.runtime.backends import PrecisionPlan
from builder.features.runtime.quantize import CALIBRATION_INPUTS
from builder.inputs.images import DecodeLimits, ThumbFormat
from builder.inputs.perturb import Profile, copy_key
from builder.inputs.prepare import FileTask, VariantTask, ordered_map, prepare
from builder.progress import Reporter


@dataclass(frozen=True)
class Extraction:
    usable: list[Item]  # the items whose file decoded, in the order given
    skipped: list[tuple[str, str]]  # (relative path, reason) of those whose file did not


@dataclass(frozen=True)
class NetworkRun:
    """What one network's runner did over the whole build: where its features are, and how they were made."""

    spec: NetworkSpec
    store: FeatureStore
    tags: FeatureStore | None  # a tagging network's top classes (features/tags.py)
    precision: PrecisionPlan
    extracted: int
    images_per_second: float


def extract(
    items: list[Item],
    copies_of: dict[str, list[Profile]],
    runners: dict[str, NetworkRunner],
    thumbs: BlobStore,
    thumb_size: int,
    thumb_format: ThumbFormat,
    limits: DecodeLimits,
    workers: int,
    reporter: Reporter,
    ray: RaySettings | None = None,
) -> Extraction:
    """Decode each image that needs work once; make its thumbnail and its perturbed copies (for the
    originals in `copies_of`, by item id) and feed each to every network that lacks its features.
    ray: run that work on a Ray cluster instead (ray_engine.py), all but the files that calibrate an
    int8 model not made yet, which run here first so that every worker loads the one model."""

    def variant(key: str, profile: Profile | None) -> VariantTask | None:
        inputs = tuple((name, r.spec.preprocess) for name, r in runners.items() if r.needs(key))
        need_thumb = not thumbs.has(key)
        if not inputs and not need_thumb:
            return None
        return VariantTask(key, profile, thumb_size if need_thumb else None, inputs, thumb_format)

    tasks, keys, refused = [], [], []
    for item in items:
        if item.pixels != (0, 0) and limits.problem(*item.pixels):  # held to today's limits, cached or not
            refused.append(item)
            continue
        wanted = [(item.content_hash, None)] + [(copy_key(item.content_hash, p), p) for p in copies_of.get(item.id, [])]
        keys += [key for key, _ in wanted]
        variants = tuple(v for v in (variant(key, p) for key, p in wanted) if v is not None)
        if variants:
            tasks.append(FileTask(item, variants))
    skipped: list[tuple[str, str]] = []
    bad: set[str] = set()
    with ExitStack() as stack:
        decoding = stack.enter_context(reporter.task("decoding", len(tasks)))
        for name, runner in runners.items():
            todo = len({v.key for t in tasks for v in t.variants if any(n == name for n, _ in v.inputs)})
            runner.on_batch = stack.enter_context(reporter.task(f"extracting {name}", todo)).advance

        def failed(item: Item, error: str) -> None:
            bad.add(item.id)
            skipped.append((item.relpath, error))
            reporter.warn(f"{item.path}: {error}; skipped")

        for item in refused:
            failed(item, limits.problem(*item.pixels))
        here, remote = (tasks, []) if ray is None else _split(tasks, runners)
        for prepared in ordered_map(lambda t: prepare(t, limits), here, workers):
            if prepared.error is not None:
                failed(prepared.item, prepared.error)
            for v in prepared.variants:
                if v.thumb is not None:
                    thumbs.put(v.key, v.thumb)
                for name, array in v.inputs.items():
                    runners[name].submit(v.key, array)
            decoding.advance()
        for runner in runners.values():
            runner.flush()
        if ray is not None and remote:
            errors = extract_on_ray(remote, runners, thumbs.put, limits, ray, decoding.advance)
            for n, error in sorted(errors.items()):
                if error is not None:
                    failed(remote[n].item, error)
        for runner in runners.values():
            runner.on_batch = None
    for runner in runners.values():
        runner.pack(keys)  # one memory-mapped matrix per network, in the order the images came
    return Extraction([i for i in items if i.id not in bad], skipped)


def _split(tasks: list[FileTask], runners: dict[str, NetworkRunner]) -> tuple[list[FileTask], list[FileTask]]:
    """(here, on the cluster): the first files run here where an int8 model is still to be calibrated on
    them (CALIBRATION_INPUTS inputs), so that it is made and checked once, not once per worker."""
    if not any(r.precision.pending for r in runners.values()):
        return [], tasks
    inputs = 0
    for n, task in enumerate(tasks):
        if inputs >= CALIBRATION_INPUTS:
            return tasks[:n], tasks[n:]
        inputs += len(task.variants)
    return tasks, []


def runs(runners: dict[str, NetworkRunner], reporter: Reporter) -> dict[str, NetworkRun]:
    """What each runner did, once extraction is over; a network that ran in another precision than asked
    says so here, in one line."""
    for name, runner in runners.items():
        if runner.precision.fell_back:
            reporter.warn(f"{name}: {runner.precision.reason}; running {runner.precision.used} instead")
    return {
        name: NetworkRun(r.spec, r.store, r.tags, r.precision, r.stats.extracted, r.stats.per_second)
        for name, r in runners.items()
    }

"""Extraction on a Ray cluster (`--engine ray`): the one stage that is distributed, with Ray Data's batch
inference (a callable class in an actor pool, as Ray documents it for this job).

The driver (this process) has already hashed the files and consulted the cache: only the cache misses are
sent, as plain rows (file path, and per variant its cache key, perturbation, thumbnail size and networks).
Each actor loads the networks once (through the same loaders as in-process extraction, so on a GPU node
they run on its GPU), decodes each file once (inputs/prepare.py, as locally), makes its perturbed copies
and thumbnails, runs every network on a whole batch and returns, per file, its content-hash-keyed
thumbnails and L2-normalised float32 vectors. The driver writes them into the cache as they stream back,
whatever order they come in: results are keyed by content hash, never by position, so an interrupted run
keeps every vector written and the next run sends only what is missing. Everything after (search,
experiment, site) runs on the driver as before.

Files (and the cache folder, where int8 models are kept) must be readable at the same path on every node.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from builder.errors import VsisError
from builder.features.extract import NetworkRunner, features_of
from builder.features.networks.registry import Extractor, NetworkSpec
from builder.features.runtime.backends import PrecisionPlan
from builder.features.runtime.threads import OPENMP_ENVIRONMENT
from builder.inputs.images import THUMB_FORMATS, DecodeLimits
from builder.inputs.perturb import get_profile
from builder.inputs.prepare import FileTask, Variant, VariantTask, prepare_file

EXTRA = "pip install 'vsis[ray]'"


@dataclass(frozen=True)
class RaySettings:
    address: str | None = None  # None: Ray's own resolution (RAY_ADDRESS, else a new local instance)
    actors: int = 0  # 0: the cluster's CPUs less one, which Ray Data's read tasks need (ray-project/ray#44687)
    gpus_per_actor: float = 0.0
    batch_size: int = 16  # files per batch an actor runs


def ray_module() -> Any:
    """Ray, imported only when asked for: `--engine local` never imports it."""
    try:
        import ray
        import ray.data  # noqa: F401  (the batch inference API)
    except ImportError:
        raise VsisError(f"--engine ray needs Ray, which is not installed: {EXTRA}") from None
    return ray


def reachable(address: str, timeout: float = 5.0) -> str:
    """'' where something listens at a cluster address (host:port, or ray://host:port), else why not. Ray
    itself retries an unreachable address for minutes, logging as it goes: a build must say at once."""
    if address in ("auto", "local") or "://" in address and not address.startswith("ray://"):
        return ""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return "not host:port"
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
    return ""


def connect(settings: RaySettings) -> bool:
    """Join the cluster (or start a local instance); True where this call started it (and so ends it)."""
    ray = ray_module()
    if ray.is_initialized():
        return False
    where = settings.address or os.environ.get("RAY_ADDRESS") or "a new local instance"
    problem = reachable(settings.address or os.environ.get("RAY_ADDRESS") or "local")
    if problem:
        raise VsisError(f"cannot reach the Ray cluster at {where}: {problem}")
    try:
        ray.init(address=settings.address, include_dashboard=False, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VsisError(f"cannot reach the Ray cluster at {where}: {first}") from None
    return True


def _rows(tasks: list[FileTask]) -> list[dict[str, object]]:
    """Plain rows for the cluster: no Item, no callables (the workers look networks and profiles up)."""
    rows = []
    for n, task in enumerate(tasks):
        variants = [
            (v.key, v.profile.name if v.profile else None, v.thumb_size, tuple(name for name, _ in v.inputs),
             v.thumb_format.name)
            for v in task.variants
        ]  # fmt: skip
        rows.append({"n": n, "path": str(task.item.path), "variants": pickle.dumps(variants)})
    return rows


# One image's results from one network: its features, and a tagging network's top classes (tags.tag_rows).
_Result = tuple[np.ndarray, np.ndarray | None]


class ExtractionActor:
    """One actor of the pool: its networks loaded on first use, then batches of files in, results out."""

    def __init__(self, loaders: dict[str, tuple[Callable[[np.ndarray, PrecisionPlan], Extractor], PrecisionPlan]],
                 specs: dict[str, NetworkSpec], limits: DecodeLimits):  # fmt: skip
        self.loaders = loaders  # network -> (its runner's loader, what it runs: precision and backend)
        self.specs = specs  # network -> its runner's spec, as the build configured it
        self.limits = limits
        self.extractors: dict[str, Extractor] = {}

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        prepared: list[tuple[str | None, list[Variant]]] = []
        for path, spec in zip(batch["path"], batch["variants"], strict=True):
            variants = tuple(
                VariantTask(key, get_profile(profile) if profile else None, size,
                            tuple((name, self.specs[name].preprocess) for name in names), THUMB_FORMATS[fmt])
                for key, profile, size, names, fmt in pickle.loads(spec)
            )  # fmt: skip
            error, made = prepare_file(Path(path), variants, self.limits)
            if error is not None and not os.path.exists(path):
                error += " on the Ray worker (every node must see the collection at the same path)"
            prepared.append((error, made))
        vectors = self._run(prepared)
        payloads = [
            pickle.dumps((error, [(v.key, v.thumb, vectors.get(v.key, {})) for v in made])) for error, made in prepared
        ]
        return {"n": batch["n"], "payload": np.array(payloads, dtype=object)}

    def _run(self, prepared: list[tuple[str | None, list[Variant]]]) -> dict[str, dict[str, _Result]]:
        """Every network over all of this batch's inputs at once: key -> network -> (features, top classes)."""
        out: dict[str, dict[str, _Result]] = {}
        for name, (load, precision) in self.loaders.items():
            keys, inputs = [], []
            for _, made in prepared:
                for v in made:
                    if name in v.inputs:
                        keys.append(v.key)
                        inputs.append(v.inputs[name])
            if not inputs:
                continue
            if name not in self.extractors:  # the first inputs calibrate nothing here: the model is made already
                self.extractors[name] = load(np.stack(inputs).astype(np.float32, copy=False), precision)
            features, tags = features_of(self.extractors[name], self.specs[name], inputs)
            for n, key in enumerate(keys):
                out.setdefault(key, {})[name] = (features[n], None if tags is None else tags[n])
        return out


def _results(tasks: list[FileTask], runners: dict[str, NetworkRunner], limits: DecodeLimits,
             settings: RaySettings) -> Iterator[tuple[int, bytes]]:  # fmt: skip
    ray = ray_module()
    from ray.data import ActorPoolStrategy

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the build's own bars count the files as they come back
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    actors = settings.actors or max(1, cpus - 1)
    loaders = {name: (r.load, r.precision) for name, r in runners.items()}
    pool = ray.data.from_items(_rows(tasks)).map_batches(
        ExtractionActor,
        fn_constructor_kwargs={"loaders": loaders, "specs": {n: r.spec for n, r in runners.items()}, "limits": limits},
        compute=ActorPoolStrategy(size=actors),
        batch_size=settings.batch_size,
        num_cpus=1,
        num_gpus=settings.gpus_per_actor or None,
        runtime_env={"env_vars": {k: os.environ.get(k, v) for k, v in OPENMP_ENVIRONMENT.items()}},  # threads.py
    )
    for out in pool.iter_batches(batch_size=None, batch_format="numpy"):
        yield from zip((int(n) for n in out["n"]), out["payload"], strict=True)


def extract_on_ray(
    tasks: list[FileTask],
    runners: dict[str, NetworkRunner],
    put_thumb: Callable[[str, bytes], None],
    limits: DecodeLimits,
    settings: RaySettings,
    on_file: Callable[[], None],
) -> dict[int, str | None]:
    """Send the tasks to the cluster and write what comes back into the runners' stores (and thumbnails
    through put_thumb), file by file as it arrives; return each file's error (None: none) by its position
    in `tasks`. A network's runner counts what was extracted for it."""
    if not tasks:
        return {}
    started_here = connect(settings)
    errors: dict[int, str | None] = {}
    written: set[tuple[str, str]] = set()  # a byte-identical file met twice: one extraction counted, as here
    start = time.perf_counter()
    try:
        for n, payload in _results(tasks, runners, limits, settings):
            error, variants = pickle.loads(payload)
            errors[n] = error
            for key, thumb, vectors in variants:
                if thumb is not None:
                    put_thumb(key, thumb)
                for name, (vector, tags) in vectors.items():
                    if (name, key) in written:
                        continue
                    written.add((name, key))
                    runner = runners[name]
                    runner.put(key, vector, tags)
                    runner.stats.extracted += 1
                    if runner.on_batch is not None:
                        runner.on_batch(1)
            on_file()
    finally:
        for runner in runners.values():
            runner.stats.seconds += time.perf_counter() - start
        if started_here:
            ray_module().shutdown()
    return errors

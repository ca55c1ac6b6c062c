"""The input pipeline: each file decoded once, its perturbed copies made, thumbnails encoded and the
inputs of every network preprocessed, in worker threads that run ahead of inference.

Threads suffice: Pillow's decoders and resizing, and numpy, release the GIL, as does the inference they
overlap with. Results come back in submission order, and at most `lookahead` prepared images wait in
memory, so a collection of any size streams through in bounded memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image

from builder.collect.collection import Item
from builder.inputs.images import THUMB_FORMATS, DecodeLimits, ImageError, ThumbFormat, decode, thumbnail
from builder.inputs.perturb import Profile

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class VariantTask:
    """One image to make from the decoded file: the original (profile None) or a perturbed copy."""

    key: str  # feature/thumbnail cache key
    profile: Profile | None
    thumb_size: int | None  # None: the thumbnail is cached already
    inputs: tuple[
        tuple[str, Callable[[Image.Image], np.ndarray]], ...
    ]  # networks lacking this key's features, with their preprocessing
    thumb_format: ThumbFormat = THUMB_FORMATS["webp"]


@dataclass(frozen=True)
class FileTask:
    item: Item
    variants: tuple[VariantTask, ...]


@dataclass
class Variant:
    key: str
    thumb: bytes | None
    inputs: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Prepared:
    item: Item
    error: str | None
    variants: list[Variant]


def prepare(task: FileTask, limits: DecodeLimits) -> Prepared:
    """Everything that can be done without a network, for one file. A file that cannot be decoded
    comes back with its error rather than raising, so one bad file never stops the others."""
    error, variants = prepare_file(task.item.path, task.variants, limits)
    return Prepared(task.item, error, variants)


def prepare_file(path: Path, tasks: tuple[VariantTask, ...], limits: DecodeLimits) -> tuple[str | None, list[Variant]]:
    """prepare() for a file known by its path alone (a Ray worker has no Item): (error or None, variants)."""
    try:
        im = decode(path, limits)
    except ImageError as exc:
        return str(exc), []
    variants = []
    for v in tasks:
        image = v.profile.apply(im) if v.profile else im
        thumb = v.thumb_format.encode(thumbnail(image, v.thumb_size)) if v.thumb_size else None
        variants.append(Variant(v.key, thumb, {name: pre(image) for name, pre in v.inputs}))
    return None, variants


def ordered_map(fn: Callable[[T], R], tasks: Iterable[T], workers: int, lookahead: int | None = None) -> Iterator[R]:
    """fn over tasks in worker threads, results in task order, at most `lookahead` in flight.
    workers = 0 runs everything in the calling thread."""
    if workers <= 0:
        yield from map(fn, tasks)
        return
    lookahead = lookahead or 2 * workers
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vsis-prepare") as pool:
        pending: deque[Future[R]] = deque()
        for task in tasks:
            pending.append(pool.submit(fn, task))
            if len(pending) >= lookahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

"""Tags: the classes a network's own ImageNet head recognises in an image, kept beside its features.

A network that declares its classifier (NetworkSpec.tags) hands out, from the pass that gives its features,
its TOP_CLASSES most probable classes with their probabilities (heads.Pooled). They are cached per image like
the features, one row each in a FeatureStore of their own: the probabilities, in descending order, then the
class indices (as float32, exact below 2**24), so that every precision, backend and engine that stores
features stores these the same way. Which of them an image is tagged with is decided later, by a threshold
(`tags_above`): any threshold at or above 1 / TOP_CLASSES gives exactly the classes above it, so it can be
changed without extracting again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from builder.cache import BadEntry, FeatureStore
from builder.features.networks.classes import IMAGENET_CLASSES
from builder.features.networks.pooling import TOP_CLASSES

ROW = 2 * TOP_CLASSES  # probabilities, then class indices
# The probability a class must reach for an image to be tagged with it: bench/tags.py measures what each
# threshold keeps (tags per image, their agreement with labelled categories); 0.1 is also the lowest at which
# TOP_CLASSES classes are sure to hold every class above it.
THRESHOLD = 0.1


def tag_rows(probabilities: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The rows to store for a batch: (batch, TOP_CLASSES) probabilities and class indices."""
    if probabilities.shape != classes.shape or probabilities.shape[1:] != (TOP_CLASSES,):
        raise RuntimeError(
            f"top classes of shape {probabilities.shape} and {classes.shape}, expected (n, {TOP_CLASSES})"
        )
    return np.concatenate([probabilities, classes], axis=1).astype(np.float32)


def check_tag_rows(block: np.ndarray) -> None:
    """What a stored row must be (FeatureStore's check): probabilities in [0, 1], not increasing, summing to at
    most 1; then distinct whole class indices of the head."""
    probabilities, classes = block[:, :TOP_CLASSES], block[:, TOP_CLASSES:]
    if ((probabilities < 0) | (probabilities > 1)).any() or (np.diff(probabilities, axis=1) > 0).any():
        raise BadEntry("class probabilities out of [0, 1] or not in descending order")
    if (probabilities.sum(axis=1) > 1.001).any():
        raise BadEntry("class probabilities summing past 1")
    if (classes != np.round(classes)).any() or ((classes < 0) | (classes >= IMAGENET_CLASSES)).any():
        raise BadEntry(f"class indices not whole numbers in 0..{IMAGENET_CLASSES - 1}")
    if (np.diff(np.sort(classes, axis=1), axis=1) == 0).any():
        raise BadEntry("a class listed twice")


def tag_store(cache_dir: Path, features_key: str, on_bad: Callable[[str], None] | None = None) -> FeatureStore:
    """The top classes of the images whose features are stored under `features_key` (same network, weights,
    preprocessing, precision and decoding)."""
    return FeatureStore(cache_dir, f"{features_key}-top{TOP_CLASSES}", ROW, on_bad, check_tag_rows, tags=True)


@dataclass(frozen=True)
class Tag:
    index: int  # the class, by its index in the head's output
    probability: float


def stored_tags(store: FeatureStore, hashes: list[str], threshold: float = THRESHOLD) -> list[list[Tag]]:
    """The tags of the images `hashes`, in order, from a network's store of top classes."""
    return tags_above(store.matrix(hashes), threshold)


def tags_above(rows: np.ndarray, threshold: float = THRESHOLD) -> list[list[Tag]]:
    """Each image's classes at or above `threshold`, most probable first, from its stored row."""
    if threshold < 1.0 / TOP_CLASSES:
        raise ValueError(f"a threshold under 1/{TOP_CLASSES} could miss classes that were not kept")
    out = []
    for row in np.asarray(rows, dtype=np.float32):
        kept = row[:TOP_CLASSES] >= threshold
        out.append(
            [Tag(int(c), float(p)) for p, c in zip(row[:TOP_CLASSES][kept], row[TOP_CLASSES:][kept], strict=True)]
        )
    return out

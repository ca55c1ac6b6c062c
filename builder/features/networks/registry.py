"""The network registry: each extractor declared once, with everything that determines its output.

A `NetworkSpec` names the network, where its weights come from, how an image is prepared for it, which
layer is read and how many dimensions come out. `cache_key()` folds all of those in, so a change to any
of them invalidates exactly that network's cached features.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from builder.cache import sha256_of
from builder.errors import ConfigError

# Retrieval settings of the features (issue 26; bench/quality.py measures each on labelled collections):
# how an image is framed for a network, and how the network's feature maps are pooled into one vector.
FRAMINGS = ("crop", "pad")  # the centre square of the image, or the whole image padded to a square
POOLINGS = ("avg", "gem", "stages")  # global average; generalised mean (p = 3); earlier stages' too, concatenated


class Preprocess(Protocol):
    """Turns a decoded RGB image into the network's input array (float32)."""

    def __call__(self, im: Image.Image) -> np.ndarray: ...

    @property
    def key(self) -> str: ...

    @property
    def input_shape(self) -> tuple[int, ...]: ...

    def recipe(self) -> dict[str, object]:
        """The same preprocessing for static/query-preprocess.js, which reproduces it in the browser."""
        ...


class WeightsSource(Protocol):
    """Where a network's weights come from, and whether they are on this machine now."""

    def describe(self) -> str: ...

    def available(self) -> tuple[bool, str]: ...


# A loaded extractor: a float32 batch of preprocessed inputs in, a (batch, dim) float32 array out.
Extractor = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    dim: int
    layer: str  # the output read, in words
    description: str
    preprocess: Preprocess
    weights: WeightsSource
    # A torch network: build_module(weights_file or None) -> the eval-mode torch module that maps a
    # preprocessed batch to features; raises WeightsUnavailable when the weights cannot be had.
    build_module: Callable[[Path | None], Any] | None = None
    # A network computed without a model (the pixel baseline): the extractor itself.
    direct: Extractor | None = None
    # How a visitor's browser computes the feature (query.html): "model", by the exported ONNX model run on
    # the preprocessed input; "input", the preprocessed input is the feature; "": it cannot.
    browser: str = "model"
    version: str = "1"  # bump when the extraction code changes its output

    def cache_key(self, weights_file: Path | None = None) -> str:
        """A short, file-name-safe key for this network's features as configured."""
        weights_id = file_fingerprint(weights_file) if weights_file else self.weights.describe()
        raw = "|".join([self.name, self.version, self.layer, self.preprocess.key, weights_id])
        return f"{self.name}-{hashlib.sha256(raw.encode()).hexdigest()[:12]}"


def file_fingerprint(path: Path) -> str:
    with path.open("rb") as fh:
        return f"file:{sha256_of(fh)}"


_REGISTRY: dict[str, NetworkSpec] = {}


def register(spec: NetworkSpec) -> NetworkSpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"network {spec.name!r} registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def get(name: str) -> NetworkSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown network '{name}' (known: {', '.join(sorted(_REGISTRY))})") from None


def all_specs() -> list[NetworkSpec]:
    return list(_REGISTRY.values())

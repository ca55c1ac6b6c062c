"""The network registry: each extractor declared once, with everything that determines its output.

A `NetworkSpec` names the network, where its weights come from, how an image is prepared for it, which
layer is read and how many dimensions come out. `cache_key()` folds all of those in, so a change to any
of them invalidates exactly that network's cached features.

The registry holds each network as declared (framing "crop", pooling "avg"); a build uses it as its
configuration makes it, `configured(name, framing, pooling)`, whose preprocessing, module, dimension, layer
and cache key follow those settings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from builder.cache import sha256_of
from builder.errors import ConfigError
from builder.features.networks.pooling import POOLINGS, TOP_CLASSES, FeatureMaps

# [features] pooling: one of POOLINGS, or "auto": "stages" where the network declares its earlier stages,
# else "avg" (the default: a build of any network gets the best pooling it offers).
POOLING_CHOICES = ("auto", *POOLINGS)

# Retrieval settings of the features (issue 26; bench/quality.py measures each on labelled collections):
# how an image is framed for a network, and how the network's feature maps are pooled into one vector
# (POOLINGS, declared in pooling.py: global average; generalised mean, p = 3; earlier stages' too, concatenated).
FRAMINGS = ("crop", "pad")  # the centre square of the image, or the whole image padded to a square


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

    def framed(self, framing: str) -> Preprocess:
        """The same network input with the image framed as `framing` (FRAMINGS) says."""
        ...


class WeightsSource(Protocol):
    """Where a network's weights come from, and whether they are on this machine now."""

    def describe(self) -> str: ...

    def available(self) -> tuple[bool, str]: ...


# A loaded extractor: a float32 batch of preprocessed inputs in; out, the (batch, dim) float32 features, or for
# a network that tags (NetworkSpec.tags) the features, its TOP_CLASSES most probable classes' probabilities
# (batch, TOP_CLASSES) in descending order, and their indices in the head's output (batch, TOP_CLASSES).
Extracted = np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]
Extractor = Callable[[np.ndarray], Extracted]


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    dim: int
    layer: str  # the output read, in words
    description: str
    preprocess: Preprocess
    weights: WeightsSource
    # A torch network: load(weights_file or None) -> the network with its weights (raises WeightsUnavailable
    # when they cannot be had), read where `maps` says.
    load: Callable[[Path | None], Any] | None = None
    maps: FeatureMaps | None = None
    # A network computed without a model (the pixel baseline): the extractor itself.
    direct: Extractor | None = None
    # An image-text network's text tower: load(weights_file or None) -> the module from token ids (batch, 77,
    # int64: open_clip's SimpleTokenizer's) to unit-length embeddings in the image features' space; None: the
    # network takes no words.
    text: Callable[[Path | None], Any] | None = None
    # How a visitor's browser computes the feature (query.html): "model", by the exported ONNX model run on
    # the preprocessed input; "input", the preprocessed input is the feature; "": it cannot.
    browser: str = "model"
    version: str = "1"  # bump when the extraction code changes its output
    # The retrieval settings this spec is configured with (configured()); `dim`, `layer`, `preprocess` follow.
    framing: str = FRAMINGS[0]
    pooling: str = POOLINGS[0]

    @property
    def tags(self) -> bool:
        """Whether the network tags images: it declares its classifier, so its module (and exported model)
        hands out its TOP_CLASSES most probable classes beside the features (Extractor)."""
        return self.maps is not None and self.maps.classifier is not None

    @property
    def build_module(self) -> Callable[[Path | None], Any] | None:
        """A torch network's: (weights_file or None) -> the eval-mode module that maps a preprocessed batch
        to features, pooled as configured (inside the module, so an exported model pools the same), and to
        its top classes where it tags."""
        if self.load is None or self.maps is None:
            return None
        return partial(_pooled_module, self.load, self.maps, self.pooling, TOP_CLASSES if self.tags else 0)

    def configured(self, framing: str, pooling: str) -> NetworkSpec:
        """This network (as declared) as a build's [features] framing and pooling make it. A network
        without feature maps (the pixel baseline) takes neither: its preprocessing already pads the whole
        image, and it has nothing to pool. A pooling the network does not declare is a ConfigError."""
        if (self.framing, self.pooling) != (FRAMINGS[0], POOLINGS[0]):
            raise ValueError(f"{self.name}: configured already ({self.framing}, {self.pooling})")
        for setting, value, known in (("framing", framing, FRAMINGS), ("pooling", pooling, POOLING_CHOICES)):
            if value not in known:
                raise ConfigError(f"unknown {setting} '{value}' (known: {', '.join(known)})")
        if pooling == "auto":  # the best the network offers, as measured on labelled collections (bench/quality.py)
            pooling = "stages" if self.maps is not None and "stages" in self.maps.poolings else "avg"
        if self.maps is None:
            return replace(self, preprocess=self.preprocess.framed(framing))
        if pooling not in self.maps.poolings:
            offered = ", ".join(self.maps.poolings)
            raise ConfigError(f"{self.name} offers no pooling '{pooling}' ([features] pooling; it offers {offered})")
        preprocess = self.preprocess.framed(framing)
        if pooling == "avg":
            return replace(self, preprocess=preprocess, framing=framing)
        dim, layer = self.maps.dim(pooling), self.maps.layer(pooling)
        return replace(self, preprocess=preprocess, dim=dim, layer=layer, framing=framing, pooling=pooling)

    def cache_key(self, weights_file: Path | None = None) -> str:
        """A short, file-name-safe key for this network's features as configured. The average pooling adds
        nothing to it, so that features cached before poolings existed stay valid."""
        parts = [self.name, self.version, self.layer, self.preprocess.key, self._weights_id(weights_file)]
        if self.maps is not None and self.pooling != "avg":
            parts.append(self.maps.key(self.pooling))
        return self._key(parts)

    def text_key(self, weights_file: Path | None = None) -> str:
        """The key of this network's text tower: its weights and version only, as the tower reads no image
        (the image's preprocessing, layer and pooling, which cache_key holds, would export it anew)."""
        return self._key([self.name, self.version, "text", self._weights_id(weights_file)])

    def _weights_id(self, weights_file: Path | None) -> str:
        return file_fingerprint(weights_file) if weights_file else self.weights.describe()

    def _key(self, parts: list[str]) -> str:
        return f"{self.name}-{hashlib.sha256('|'.join(parts).encode()).hexdigest()[:12]}"


def _pooled_module(load: Callable[[Path | None], Any], maps: FeatureMaps, pooling: str, classes: int,
                   weights_file: Path | None):  # fmt: skip
    from builder.features.networks.heads import pooled  # torch, imported when a network is loaded

    return pooled(load(weights_file), maps, pooling, classes)


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


def configured(name: str, framing: str, pooling: str) -> NetworkSpec:
    """The network `name` as a build's [features] framing and pooling make it (NetworkSpec.configured)."""
    return get(name).configured(framing, pooling)


def all_specs() -> list[NetworkSpec]:
    return list(_REGISTRY.values())

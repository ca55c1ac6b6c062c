"""The plain-pixel baseline: a 16x16 thumbnail as the vector. A network has to beat this to earn its keep.

The [features] framing and pooling leave it as it is (NetworkSpec.configured): its thumbnail is of the whole
image padded to a square already, and it has no feature maps to pool.
"""

from __future__ import annotations

import numpy as np

from builder.features.networks.preprocess import SmallPixels
from builder.features.networks.registry import NetworkSpec, register


class NoWeights:
    def describe(self) -> str:
        return "none"

    def available(self) -> tuple[bool, str]:
        return True, "needs no weights"


def _identity(batch: np.ndarray) -> np.ndarray:
    return batch.reshape(batch.shape[0], -1)


_PIXELS = SmallPixels(side=16)

register(
    NetworkSpec(
        name="pixels",
        dim=_PIXELS.side * _PIXELS.side * 3,
        layer="16x16 RGB pixels, centred",
        description="plain-pixel baseline",
        preprocess=_PIXELS,
        weights=NoWeights(),
        direct=_identity,
        browser="input",
    )
)

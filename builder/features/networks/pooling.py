"""The poolings' declarations: how a network's feature maps may become one vector (heads.py makes the
torch modules), and where each network's maps are, as data. No torch here: the registry imports this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

POOLINGS = ("avg", "gem", "stages")
# How many of a network's most probable classes its exported model hands out beside the features (heads.Pooled):
# enough that any threshold at or above 1/TOP_CLASSES keeps exactly the classes above it (ten probabilities
# above 0.1 would sum past 1), and few enough to cost nothing beside the features.
TOP_CLASSES = 10
GEM_P = 3.0  # GeM's exponent: Radenović et al.'s fixed choice (p = 1 is the average, p -> inf the maximum)
GEM_EPS = 1e-6  # the map is clamped at this before the power, so that the root is defined


@dataclass(frozen=True)
class Stage:
    """An earlier feature map that "stages" pooling reads: the output of `module` (a dotted path in the
    loaded network), its channels, and the weight its unit-length average is multiplied by (the final
    map's part has weight 1)."""

    module: str
    channels: int
    weight: float = 1.0


@dataclass(frozen=True)
class FeatureMaps:
    """Where a torch network's feature maps are, declared once per network (timm's feature_info, in spirit).

    trunk: the loaded network -> the module whose output is the final map (batch, channels, h, w), which
    "avg" averages and "gem" pools; `final` names it in words. stages: the earlier maps "stages" adds
    (none: the network does not offer that pooling). head: the module from the final map to the network's own
    "avg" read where that is not the map's average (vgg16's fc7), with its dimension and layer on the
    NetworkSpec. classifier: the
    loaded network -> the module that takes the final map to the network's own class scores (its ImageNet
    head's logits, as the network's forward computes them from that map), so that the classes it recognises
    come from the same pass as the features; None where the network has no such head."""

    trunk: Callable[[Any], Any]
    channels: int
    final: str
    stages: tuple[Stage, ...] = ()
    head: Callable[[Any], Any] | None = None
    classifier: Callable[[Any], Any] | None = None

    @property
    def poolings(self) -> tuple[str, ...]:
        return POOLINGS if self.stages else tuple(p for p in POOLINGS if p != "stages")

    def dim(self, pooling: str) -> int:
        """The dimension of "gem" or "stages" ("avg"'s is the NetworkSpec's, vgg16's head being its own)."""
        return self.channels + (sum(s.channels for s in self.stages) if pooling == "stages" else 0)

    def layer(self, pooling: str) -> str:
        if pooling == "gem":
            return f"GeM (p = {GEM_P:g}) of {self.final}"
        parts = ", ".join(f"{s.module} ({s.channels}) x {s.weight:g}" for s in self.stages)
        return f"global average pool of {self.final} and of {parts}, each part unit length"

    def key(self, pooling: str) -> str:
        """What the features of a pooling depend on beyond the layer's words: its constants, the stages read."""
        if pooling == "gem":
            return f"gem:{GEM_P}:{GEM_EPS}"
        return "stages:" + ";".join(f"{s.module}*{s.weight}" for s in self.stages)

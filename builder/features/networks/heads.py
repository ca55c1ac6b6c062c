"""The poolings (registry.POOLINGS) as torch modules: a loaded network, cut at its final feature map, pooled
into one vector inside the module, so that the exported ONNX model (and the query page running it) pools
exactly as the build does.

- avg: the global average of the final map, the read the networks were trained with (vgg16 keeps its fc7).
- gem: generalised mean, (mean of max(x, eps)^p)^(1/p) with p = 3 (Radenović et al., "Fine-tuning CNN image
  retrieval with no human annotation", 2018): between the average (p = 1) and the maximum, it gives the
  strongest responses, the parts an image is recognised by, more say than a plain average does.
- stages: the final map's average, then the averages of earlier maps (shapes and textures nearer the
  pixels, which drawings are made of), each part unit length times its weight, concatenated (issue 26:
  mAP@10 0.577 -> 0.602 on drawings, with centring).

Imported only when a network is loaded: it imports torch.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
from torch import nn

from builder.features.networks.pooling import GEM_EPS, GEM_P, FeatureMaps, Stage


def pooled(network: nn.Module, maps: FeatureMaps, pooling: str, classes: int = 0) -> nn.Module:
    """The eval-mode module: a preprocessed batch in, `network`'s features pooled by `pooling` out. classes > 0,
    where the network declares its classifier: (features, its `classes` most probable classes' probabilities,
    their indices) out, from the same pass through the trunk."""
    classifier = maps.classifier(network) if classes and maps.classifier is not None else None
    return Pooled(maps.trunk(network), _pool(network, maps, pooling), classifier, classes).eval()


def _pool(network: nn.Module, maps: FeatureMaps, pooling: str) -> nn.Module:
    """The module from the final map to the features."""
    if pooling == "avg":
        return maps.head(network) if maps.head is not None else nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
    if pooling == "gem":
        return GeM()
    if pooling == "stages":
        return StagesPool(network, maps.stages)
    raise ValueError(f"unknown pooling {pooling!r}")


class Pooled(nn.Module):
    """The trunk once, then from its final map the features and, where a classifier is given, the network's
    top `classes` classes: softmax of its scores, then TopK (one ONNX operator), so that the exported model
    hands out a few numbers per image instead of 1,000."""

    def __init__(self, trunk: nn.Module, pool: nn.Module, classifier: nn.Module | None, classes: int) -> None:
        super().__init__()
        self.trunk, self.pool, self.classifier, self.classes = trunk, pool, classifier, classes

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        final = self.trunk(x)
        features = self.pool(final)
        if self.classifier is None:
            return features
        probabilities = torch.softmax(self.classifier(final).float(), dim=1)
        top = torch.topk(probabilities, self.classes, dim=1)
        return features, top.values, top.indices


class GeM(nn.Module):
    """Generalised mean over the spatial positions of each channel: (batch, c, h, w) -> (batch, c)."""

    def __init__(self, p: float = GEM_P, eps: float = GEM_EPS) -> None:
        super().__init__()
        self.p, self.eps = p, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=self.eps).pow(self.p).mean(dim=(2, 3)).pow(1.0 / self.p)


def unit(x: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit length, in operators every ONNX runtime has (Pow, ReduceSum, Sqrt, Clip, Div)."""
    return x / x.pow(2).sum(dim=1, keepdim=True).sqrt().clamp(min=1e-12)


class StagesPool(nn.Module):
    """The final map averaged, then each earlier stage's map (read by a forward hook on its module as the
    trunk runs, before this module is called) averaged, each part unit length times its weight (the final
    part's is 1), concatenated."""

    def __init__(self, network: nn.Module, stages: tuple[Stage, ...]) -> None:
        super().__init__()
        self.average = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
        self.weights = (1.0, *(s.weight for s in stages))
        self._seen: dict[int, torch.Tensor] = {}
        for n, stage in enumerate(stages):
            network.get_submodule(stage.module).register_forward_hook(partial(self._keep, n))

    def _keep(self, n: int, module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        self._seen[n] = output

    def forward(self, final: torch.Tensor) -> torch.Tensor:
        maps = [final, *(self._seen.pop(n) for n in range(len(self.weights) - 1))]
        return torch.cat([unit(self.average(m)) * w for m, w in zip(maps, self.weights, strict=True)], dim=1)

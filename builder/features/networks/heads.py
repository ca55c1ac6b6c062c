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


def pooled(network: nn.Module, maps: FeatureMaps, pooling: str) -> nn.Module:
    """The eval-mode module: a preprocessed batch in, `network`'s features pooled by `pooling` out."""
    if pooling == "avg" and maps.head is not None:
        return maps.head(network).eval()
    trunk = maps.trunk(network)
    if pooling == "avg":
        return nn.Sequential(trunk, nn.AdaptiveAvgPool2d(1), nn.Flatten(1)).eval()
    if pooling == "gem":
        return nn.Sequential(trunk, GeM()).eval()
    if pooling == "stages":
        return StagesPool(network, trunk, maps.stages).eval()
    raise ValueError(f"unknown pooling {pooling!r}")


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
    """The trunk's final map averaged, then each earlier stage's map (read by a forward hook on its module
    as the trunk runs) averaged, each part unit length times its weight (the final part's is 1), concatenated."""

    def __init__(self, network: nn.Module, trunk: nn.Module, stages: tuple[Stage, ...]) -> None:
        super().__init__()
        self.trunk = trunk
        self.average = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
        self.weights = (1.0, *(s.weight for s in stages))
        self._seen: dict[int, torch.Tensor] = {}
        for n, stage in enumerate(stages):
            network.get_submodule(stage.module).register_forward_hook(partial(self._keep, n))

    def _keep(self, n: int, module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        self._seen[n] = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._seen = {}
        maps = [self.trunk(x), *(self._seen[n] for n in range(len(self.weights) - 1))]
        return torch.cat([unit(self.average(m)) * w for m, w in zip(maps, self.weights, strict=True)], dim=1)

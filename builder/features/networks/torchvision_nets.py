"""Torchvision's ImageNet networks, read at a feature layer.

Weights load through torchvision's weights API: downloaded once into the torch cache
($TORCH_HOME/hub/checkpoints, by default ~/.cache/torch) and read from there afterwards. Offline, a missing
file is an error that says which file is expected where, and how to provide it. With VSIS_OFFLINE=1 no
download is attempted at all.

torch and torchvision are imported only when a network is loaded: a build with nothing to extract (and
`vsis networks`) never pays for importing them.
"""

from __future__ import annotations

import os
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from builder.errors import WeightsUnavailable
from builder.features.networks.preprocess import ResizeCropNormalize
from builder.features.networks.registry import NetworkSpec, register

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class TorchvisionWeights:
    """A torchvision weights enum member, e.g. `VGG16_Weights.IMAGENET1K_V1`."""

    enum_name: str

    @property
    def weights(self) -> Any:
        import torchvision.models as tvm

        enum, member = self.enum_name.split(".")
        return getattr(getattr(tvm, enum), member)

    def expected_path(self) -> Path:
        import torch

        return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(self.weights.url).path).name

    def describe(self) -> str:
        return f"torchvision:{self.enum_name}"

    def available(self) -> tuple[bool, str]:
        path = self.expected_path()
        if path.is_file():
            return True, f"cached at {path}"
        return False, f"not cached: downloaded to {path} on first use (offline: --weights)"

    def missing_message(self, network: str, reason: str) -> str:
        return (
            f"{network}: weights not available offline ({reason}). Expected {self.expected_path()}: "
            f"connect to the internet once, or download {self.weights.url} to that path "
            f"(set TORCH_HOME to use another cache), or pass --weights {network}=FILE"
        )


def _torchvision_loader(
    name: str, source: TorchvisionWeights, head: Callable[[nn.Module], nn.Module]
) -> Callable[[Path | None], nn.Module]:
    """name: the network's, which is also its builder's in torchvision.models."""

    def load(weights_file: Path | None) -> nn.Module:
        import torchvision.models as tvm

        from builder.features.networks.checkpoints import load_state, read_checkpoint

        builder = getattr(tvm, name)
        if weights_file is not None:
            model = builder(weights=None)
            load_state(model, read_checkpoint(weights_file, name), name, weights_file)
        else:
            if os.environ.get("VSIS_OFFLINE") and not source.expected_path().is_file():
                raise WeightsUnavailable(source.missing_message(name, "VSIS_OFFLINE is set"))
            try:
                model = builder(weights=source.weights)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                raise WeightsUnavailable(source.missing_message(name, str(getattr(exc, "reason", exc)))) from None
        return head(model).eval()

    return load


def _part(m: nn.Module, name: str) -> nn.Module:
    """A named submodule (nn.Module's attribute lookup is typed as tensor-or-module)."""
    from torch import nn

    part = getattr(m, name)
    if not isinstance(part, nn.Module):
        raise TypeError(f"{type(m).__name__}.{name} is not a module")
    return part


def _vgg_fc7(m: nn.Module) -> nn.Module:
    from torch import nn

    # classifier = [Linear 25088->4096, ReLU, Dropout, Linear 4096->4096 (fc7), ReLU, Dropout, Linear -> 1000]
    return nn.Sequential(
        _part(m, "features"), _part(m, "avgpool"), nn.Flatten(1), *list(_part(m, "classifier").children())[:4]
    )


def _resnet_pool(m: nn.Module) -> nn.Module:
    from torch import nn

    return nn.Sequential(*list(m.children())[:-1], nn.Flatten(1))


def _densenet_pool(m: nn.Module) -> nn.Module:
    from torch import nn

    # torchvision's own forward: features -> ReLU -> global average pool -> classifier
    return nn.Sequential(_part(m, "features"), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(1))


def _squeezenet_pool(m: nn.Module) -> nn.Module:
    from torch import nn

    return nn.Sequential(_part(m, "features"), nn.AdaptiveAvgPool2d(1), nn.Flatten(1))


_IMAGENET = ResizeCropNormalize()

for _name, _enum, _head, _dim, _layer, _desc in [  # each name is also torchvision's builder
    (
        "vgg16",
        "VGG16_Weights.IMAGENET1K_V1",
        _vgg_fc7,
        4096,
        "fc7 (classifier up to its second Linear)",
        "VGG16, the original study's network",
    ),
    ("resnet152", "ResNet152_Weights.IMAGENET1K_V1", _resnet_pool, 2048, "global average pool", "ResNet-152"),
    (
        "densenet201",
        "DenseNet201_Weights.IMAGENET1K_V1",
        _densenet_pool,
        1920,
        "ReLU + global average pool",
        "DenseNet-201",
    ),
    (
        "densenet121",
        "DenseNet121_Weights.IMAGENET1K_V1",
        _densenet_pool,
        1024,
        "ReLU + global average pool",
        "DenseNet-121",
    ),
    (
        "squeezenet1_1",
        "SqueezeNet1_1_Weights.IMAGENET1K_V1",
        _squeezenet_pool,
        512,
        "features + global average pool",
        "SqueezeNet 1.1, small and fast",
    ),
]:
    _source = TorchvisionWeights(_enum)
    register(
        NetworkSpec(
            name=_name,
            dim=_dim,
            layer=_layer,
            description=_desc,
            preprocess=_IMAGENET,
            weights=_source,
            build_module=_torchvision_loader(_name, _source, _head),
        )
    )

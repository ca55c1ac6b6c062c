"""Torchvision's ImageNet networks, read at a feature layer (pooled as configured: registry.FeatureMaps).

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
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from builder.errors import WeightsUnavailable
from builder.features.networks.pooling import FeatureMaps, Stage
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


def _torchvision_loader(name: str, source: TorchvisionWeights) -> Callable[[Path | None], nn.Module]:
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
        return model.eval()

    return load


def _part(m: nn.Module, name: str) -> nn.Module:
    """A named submodule (nn.Module's attribute lookup is typed as tensor-or-module)."""
    from torch import nn

    part = getattr(m, name)
    if not isinstance(part, nn.Module):
        raise TypeError(f"{type(m).__name__}.{name} is not a module")
    return part


def _vgg_fc7(m: nn.Module) -> nn.Module:
    """From conv5_3's map (the trunk's) to fc7, as VGG's forward computes it."""
    from torch import nn

    # classifier = [Linear 25088->4096, ReLU, Dropout, Linear 4096->4096 (fc7), ReLU, Dropout, Linear -> 1000]
    last_pool = list(_part(m, "features").children())[-1]
    return nn.Sequential(last_pool, _part(m, "avgpool"), nn.Flatten(1), *list(_part(m, "classifier").children())[:4])


def _vgg_conv5(m: nn.Module) -> nn.Module:
    from torch import nn

    return nn.Sequential(*list(_part(m, "features").children())[:-1])  # conv5_3 and its ReLU, before the max pool


def _resnet_layer4(m: nn.Module) -> nn.Module:
    from torch import nn

    return nn.Sequential(*list(m.children())[:-2])  # up to layer4: the global average pool and fc are the head


def _densenet_features(m: nn.Module) -> nn.Module:
    from torch import nn

    return nn.Sequential(_part(m, "features"), nn.ReLU())  # torchvision's own forward applies the ReLU


def _squeezenet_features(m: nn.Module) -> nn.Module:
    return _part(m, "features")


# The heads' scores from the final maps above, as each torchvision network's forward computes them.
def _vgg_scores(m: nn.Module) -> nn.Module:
    from torch import nn

    last_pool = list(_part(m, "features").children())[-1]
    return nn.Sequential(last_pool, _part(m, "avgpool"), nn.Flatten(1), _part(m, "classifier"))


def _pooled_scores(head: str, m: nn.Module) -> nn.Module:
    """The final map averaged, then the Linear `head` (resnet's fc, densenet's classifier). Bound with
    partial, not a closure, so that a spec pickles."""
    from torch import nn

    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), _part(m, head))


def _squeezenet_scores(m: nn.Module) -> nn.Module:
    from torch import nn

    return nn.Sequential(_part(m, "classifier"), nn.Flatten(1))  # its classifier ends in a global average pool


_IMAGENET = ResizeCropNormalize()
_AVERAGE = "global average pool"

# Each name is also torchvision's builder. "avg" is the global average of the final map (`maps`), except
# vgg16's fc7, the original study's read; "stages" is offered where an earlier map is a plain module's output.
for _name, _enum, _dim, _layer, _desc, _maps in [
    (
        "vgg16",
        "VGG16_Weights.IMAGENET1K_V1",
        4096,
        "fc7 (classifier up to its second Linear)",
        "VGG16, the original study's network",
        FeatureMaps(_vgg_conv5, 512, "conv5_3 (before the last max pool)", head=_vgg_fc7, classifier=_vgg_scores),
    ),
    (
        "resnet152",
        "ResNet152_Weights.IMAGENET1K_V1",
        2048,
        _AVERAGE,
        "ResNet-152",
        FeatureMaps(_resnet_layer4, 2048, "layer4", (Stage("layer3", 1024),), classifier=partial(_pooled_scores, "fc")),
    ),
    (
        "densenet201",
        "DenseNet201_Weights.IMAGENET1K_V1",
        1920,
        "ReLU + global average pool",
        "DenseNet-201",
        FeatureMaps(_densenet_features, 1920, "the features' ReLU", classifier=partial(_pooled_scores, "classifier")),
    ),
    (
        "densenet121",
        "DenseNet121_Weights.IMAGENET1K_V1",
        1024,
        "ReLU + global average pool",
        "DenseNet-121",
        FeatureMaps(_densenet_features, 1024, "the features' ReLU", classifier=partial(_pooled_scores, "classifier")),
    ),
    (
        "squeezenet1_1",
        "SqueezeNet1_1_Weights.IMAGENET1K_V1",
        512,
        "features + global average pool",
        "SqueezeNet 1.1, small and fast",
        FeatureMaps(_squeezenet_features, 512, "the features", classifier=_squeezenet_scores),
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
            load=_torchvision_loader(_name, _source),
            maps=_maps,
        )
    )

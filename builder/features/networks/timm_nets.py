"""Networks through timm (`pip install 'vsis[modern]'`): DINOv2 ViT-S/14 and ViT-B/14, ConvNeXt-Tiny.

Each is declared once (`NETWORKS`), by timm's name of its pretrained weights; the rest is read from timm:

- preprocessing: `timm.data.resolve_data_config` of those weights' pretrained_cfg (input size, crop_pct,
  crop mode, interpolation, mean, std), mapped onto a `LibraryResizeCrop`: the transform that
  `timm.data.create_transform` makes from it (torchvision's Resize of the shorter side to
  floor(size / crop_pct) and CenterCrop, on Pillow), done with Pillow as vsis's other networks are. It is
  read when first needed (`LibraryPreprocess`), so that importing vsis (and `vsis networks`) does not import
  timm. The models' bicubic resize is not one static/query-preprocess.js reproduces: they are not offered
  to the search-by-image page (NetworkSpec.browser "").
- weights: `timm.create_model(name, pretrained=True)` downloads them from the Hugging Face Hub into the hub's
  cache (HF_HUB_CACHE, by default ~/.cache/huggingface/hub) once, and reads them from there afterwards.
  Offline, `--weights NAME=FILE` gives a local file (the hub repository's model.safetensors or
  pytorch_model.bin, or the authors' original checkpoint), which timm loads as it loads its own download
  (pretrained_cfg_overlay file: its checkpoint filter, then a strict load). With VSIS_OFFLINE=1 nothing is
  downloaded: the hub cache's file is read if it is there.
- the feature: `forward_features`, then `forward_head(pre_logits=True)`: the model's own pooled embedding
  (DINOv2: the class token after the final norm; ConvNeXt: the global average, then its head's LayerNorm).

The helpers for libraries that download from the hub (LibraryResizeCrop, LibraryPreprocess, HubWeights)
serve openclip_nets.py too.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from builder.errors import ConfigError, WeightsUnavailable
from builder.features.networks.pooling import FeatureMaps
from builder.features.networks.preprocess import RESAMPLE, ResizeCropNormalize, normalised
from builder.features.networks.registry import NetworkSpec, Preprocess, register

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

EXTRA = "pip install 'vsis[modern]'"
PACKAGES = {"timm": "timm", "open_clip": "open_clip_torch"}  # module -> the PyPI package that installs it


def require(module: str, network: str) -> Any:
    """The library `module`, imported; its absence is a WeightsUnavailable naming what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise WeightsUnavailable(f"{network}: needs {PACKAGES[module]}, not installed: {EXTRA}") from None


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception in one line: its first two (torch's load_state_dict says what is wrong on the second)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()][:2]
    text = " ".join(lines) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class LibraryResizeCrop(ResizeCropNormalize):
    """The evaluation transform of timm and open_clip: torchvision's Resize then CenterCrop, on Pillow, then
    (x/255 - mean) / std. Resize of an int resizes the shorter side to `resize` and the longer to
    int(resize * long / short), truncated (ResizeCropNormalize rounds); `squash` resizes both sides to
    `resize`, the aspect ratio not kept (open_clip's resize_mode "squash", timm's crop_mode "squash").
    CenterCrop's offsets are int(round((side - crop) / 2)), Python's round (ResizeCropNormalize floors). Equal
    to the library's transform to float rounding: tests/test_modern_networks.py."""

    squash: bool = False

    @property
    def key(self) -> str:
        mode = "squash" if self.squash else "shorter"
        return f"tv-rcn:{mode}:{self.resize}:{self.crop}:{self.mean}:{self.std}:{self.interpolation}"

    def recipe(self) -> dict[str, object]:
        raise ValueError("static/query-preprocess.js does not reproduce torchvision's resize and crop")

    def __call__(self, im: Image.Image) -> np.ndarray:
        w, h = im.size
        if self.squash:
            nw = nh = self.resize
        else:  # torchvision.transforms.functional._compute_resized_output_size
            short, long = min(w, h), max(w, h)
            new_long = int(self.resize * long / short)
            nw, nh = (self.resize, new_long) if w <= h else (new_long, self.resize)
        if (nw, nh) != (w, h):  # torchvision returns the image itself when the size is already right
            im = im.resize((nw, nh), RESAMPLE[self.interpolation])
        top, left = int(round((nh - self.crop) / 2.0)), int(round((nw - self.crop) / 2.0))
        return normalised(im.crop((left, top, left + self.crop, top + self.crop)), self.mean, self.std)


def library_resize_crop(
    network: str,
    size: Any,
    resize: int,
    interpolation: str,
    mean: Any,
    std: Any,
    squash: bool = False,
) -> LibraryResizeCrop:
    """A library's configuration as a LibraryResizeCrop; what it cannot be is a ConfigError, said, never
    approximated."""
    sides = tuple(size) if isinstance(size, (tuple, list)) else (size, size)
    if len(sides) != 2 or sides[0] != sides[1]:
        raise ConfigError(f"{network}: input size {size} is not square, which vsis's preprocessing needs")
    if interpolation not in RESAMPLE:
        raise ConfigError(f"{network}: interpolation {interpolation!r} is not one of {', '.join(RESAMPLE)}")
    if resize < sides[0]:
        raise ConfigError(f"{network}: resize {resize} below the crop {sides[0]}")
    if len(mean) != 3 or len(std) != 3:
        raise ConfigError(f"{network}: mean and std must have three channels ({mean}, {std})")
    mean3 = (float(mean[0]), float(mean[1]), float(mean[2]))
    std3 = (float(std[0]), float(std[1]), float(std[2]))
    return LibraryResizeCrop(int(resize), int(sides[0]), mean3, std3, interpolation, squash)


_READ: dict[str, Preprocess] = {}  # network -> its preprocessing as read from its library, once per process


@dataclass(frozen=True)
class LibraryPreprocess:
    """A network's preprocessing as its library's pretrained configuration prescribes, read from the
    library (`read`) when first needed, then framed as `framing` says. Reading imports the library (and so
    torch), which listing the networks and a build that does not use them never pay for; where the library
    is missing, reading is the WeightsUnavailable that says what to install."""

    network: str
    read: Callable[[], Preprocess]
    framing: str = "crop"

    def resolved(self) -> Preprocess:
        base = _READ.get(self.network)
        if base is None:
            base = _READ[self.network] = self.read()
        return base.framed(self.framing)

    @property
    def key(self) -> str:
        return self.resolved().key

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.resolved().input_shape

    def recipe(self) -> dict[str, object]:
        return self.resolved().recipe()

    def framed(self, framing: str) -> Preprocess:
        return replace(self, framing=framing)

    def __call__(self, im: Image.Image) -> np.ndarray:
        return self.resolved()(im)


def _hf_cache() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


@dataclass(frozen=True)
class HubWeights:
    """Weights that a library (`module`: timm, open_clip) downloads from the Hugging Face Hub into the hub's
    cache. `name`: the library's name of them; `locate`: () -> (hub repository, the file names the library
    looks for there, in its order), read from the library."""

    module: str
    name: str
    locate: Callable[[], tuple[str, tuple[str, ...]]]

    def describe(self) -> str:
        return f"{self.module}:{self.name}"

    def cached_file(self) -> Path | None:
        """The file the library would read from the hub's cache, if it is there (no download)."""
        import huggingface_hub

        repo, files = self.locate()
        repo, _, revision = repo.partition("@")
        for file in files:
            found = huggingface_hub.try_to_load_from_cache(repo, file, revision=revision or None)
            if isinstance(found, str):
                return Path(found)
        return None

    def available(self) -> tuple[bool, str]:
        if not installed(self.module):
            return False, f"needs {PACKAGES[self.module]}: {EXTRA}"
        path = self.cached_file()
        if path is not None:
            return True, f"cached at {path}"
        repo, _ = self.locate()
        return False, f"not cached: {self.module} downloads {repo} into {_hf_cache()} on first use (offline: --weights)"

    def missing_message(self, network: str, reason: str) -> str:
        repo, files = self.locate()
        return (
            f"{network}: weights not available offline ({reason}). {self.module} downloads them from the "
            f"Hugging Face Hub ({repo}) into {_hf_cache()} on first use: connect to the internet once (set "
            f"HF_HUB_CACHE to use another cache), or download the repository's {files[0]} and pass "
            f"--weights {network}=FILE"
        )

    def offline_file(self, network: str, weights_file: Path | None) -> Path | None:
        """The file to load instead of a download: the one given, else with VSIS_OFFLINE set the hub cache's
        (none there: WeightsUnavailable); None: let the library download (or read its cache)."""
        if weights_file is not None:
            if not weights_file.is_file():
                raise WeightsUnavailable(f"{network}: weights file {weights_file} not found")
            return weights_file
        if os.environ.get("VSIS_OFFLINE"):
            cached = self.cached_file()
            if cached is None:
                raise WeightsUnavailable(self.missing_message(network, "VSIS_OFFLINE is set"))
            return cached
        return None


# ---- timm ----


def _timm_located(network: str, name: str) -> tuple[str, tuple[str, ...]]:
    timm = require("timm", network)
    from timm.models import _hub

    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None or not cfg.hf_hub_id:
        raise ConfigError(f"timm has no hub weights named {name}")
    file = cfg.hf_hub_filename or _hub.HF_WEIGHTS_NAME
    safe = tuple(getattr(_hub, "_get_safe_alternatives", lambda f: ())(file))  # timm looks for these first
    return cfg.hf_hub_id, (*safe, file)


def _timm_preprocess(network: str, name: str) -> LibraryResizeCrop:
    """timm.data.resolve_data_config of the weights' pretrained_cfg, as timm.data.create_transform reads it
    for evaluation (transforms_imagenet_eval)."""
    import math

    timm = require("timm", network)
    cfg = timm.data.resolve_data_config(pretrained_cfg=timm.models.get_pretrained_cfg(name).to_dict())
    size = cfg["input_size"][1:]
    mode = cfg.get("crop_mode") or "center"
    if mode not in ("center", "squash"):
        raise ConfigError(f"{network}: timm's crop_mode {mode!r} is not one vsis reproduces")
    crop_pct = cfg.get("crop_pct") or timm.data.DEFAULT_CROP_PCT
    resize = math.floor(size[0] / crop_pct)
    return library_resize_crop(network, size, resize, cfg["interpolation"], cfg["mean"], cfg["std"], mode == "squash")


def _load_timm(network: str, name: str, source: HubWeights, weights_file: Path | None) -> nn.Module:
    """timm's model with its pretrained weights, downloaded by timm or from `weights_file`, in eval mode."""
    timm = require("timm", network)
    local = source.offline_file(network, weights_file)
    if local is None:
        try:
            model = timm.create_model(name, pretrained=True)
        except OSError as exc:  # huggingface_hub's errors: not reachable, not cached (HF_HUB_OFFLINE), HTTP
            raise WeightsUnavailable(source.missing_message(network, one_line(exc))) from None
    else:
        try:
            model = timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": str(local)})
        except Exception as exc:  # torch, safetensors and the checkpoint filter raise many types for a bad file
            raise WeightsUnavailable(f"{network}: timm cannot load {local} into {name}: {one_line(exc)}") from None
    return model.eval()


def untrained(network: str) -> nn.Module:
    """The network's architecture as timm builds it, randomly initialised, no weights read: the module `load`
    returns, for checking shapes and declarations (tests/test_pooling.py)."""
    timm = require("timm", network)
    return timm.create_model(_BY_NETWORK[network].timm_name, pretrained=False).eval()


def _feature_map(model: nn.Module) -> nn.Module:
    """forward_features: the final map (batch, channels, h, w) of a convolutional network, a transformer's
    tokens (batch, tokens, channels)."""
    from torch import nn

    class TimmFeatures(nn.Module):
        def __init__(self, model: nn.Module) -> None:
            super().__init__()
            self.model: Any = model  # timm's model: its methods are not typed

        def forward(self, x):
            return self.model.forward_features(x)

    return TimmFeatures(model).eval()


def _head(model: nn.Module, pre_logits: bool = True) -> nn.Module:
    """forward_head of forward_features' output: the model's own pooled embedding (pre_logits), or its class
    scores. Bound with partial for the scores, so that a spec pickles."""
    from torch import nn

    class TimmHead(nn.Module):
        def __init__(self, model: nn.Module) -> None:
            super().__init__()
            self.model: Any = model

        def forward(self, x):
            return self.model.forward_head(x, pre_logits=pre_logits)

    return TimmHead(model).eval()


@dataclass(frozen=True)
class EmbeddingOnly(FeatureMaps):
    """A network read only as its library pools it (`head`): a transformer's tokens are no feature map
    that GeM or "stages" pooling would mean anything on, so it offers "avg" alone, the library's embedding."""

    @property
    def poolings(self) -> tuple[str, ...]:
        return ("avg",)


def embedding_only(trunk: Callable[[Any], Any], head: Callable[[Any], Any] | None, dim: int,
                   what: str) -> EmbeddingOnly:  # fmt: skip
    """trunk: the network to its last output before the embedding (a transformer's tokens), or to the
    embedding itself (head None)."""
    return EmbeddingOnly(trunk=trunk, channels=dim, final=what, head=head or _identity)


def _identity(model: nn.Module) -> nn.Module:
    from torch import nn

    return nn.Identity()


@dataclass(frozen=True)
class TimmNet:
    """One network: vsis's name, timm's name of the pretrained weights (architecture.tag), its feature
    dimension, the layer read in words, a description, and its feature maps (None: the embedding alone)."""

    network: str
    timm_name: str
    dim: int
    layer: str
    description: str
    maps: FeatureMaps | None = None


NETWORKS = (
    TimmNet(
        "dinov2_vits14",
        "vit_small_patch14_dinov2.lvd142m",
        384,
        "class token after the final norm (timm forward_head, pre_logits)",
        "DINOv2 ViT-S/14, self-supervised on LVD-142M (timm)",
    ),
    TimmNet(
        "dinov2_vitb14",
        "vit_base_patch14_dinov2.lvd142m",
        768,
        "class token after the final norm (timm forward_head, pre_logits)",
        "DINOv2 ViT-B/14, self-supervised on LVD-142M (timm)",
    ),
    TimmNet(
        "convnext_tiny",
        "convnext_tiny.in12k_ft_in1k",
        768,
        "global average pool + LayerNorm (timm forward_head, pre_logits)",
        "ConvNeXt-Tiny, ImageNet-12k then ImageNet-1k (timm)",
        # "gem": of forward_features' map (before the head's LayerNorm). No "stages": a pooling that takes
        # them where declared would replace the library's embedding with a read nobody measured on it.
        FeatureMaps(
            _feature_map,
            768,
            "the final stage (forward_features)",
            head=_head,
            classifier=partial(_head, pre_logits=False),
        ),  # fmt: skip
    ),
)

_BY_NETWORK = {net.network: net for net in NETWORKS}


def _spec(net: TimmNet) -> NetworkSpec:
    source = HubWeights("timm", net.timm_name, partial(_timm_located, net.network, net.timm_name))
    return NetworkSpec(
        name=net.network,
        dim=net.dim,
        layer=net.layer,
        description=net.description,
        preprocess=LibraryPreprocess(net.network, partial(_timm_preprocess, net.network, net.timm_name)),
        weights=source,
        load=partial(_load_timm, net.network, net.timm_name, source),
        maps=net.maps or embedding_only(_feature_map, _head, net.dim, net.layer),
        browser="",  # bicubic, torchvision's rounding: see the module's docstring
    )


for _net in NETWORKS:
    register(_spec(_net))

"""Image towers of image-text models through open_clip (`pip install 'vsis[modern]'`): CLIP ViT-B/32 and
SigLIP ViT-B/16.

Each is declared once (`NETWORKS`), by open_clip's model name and pretrained tag; the rest is read from
open_clip:

- preprocessing: the tag's pretrained configuration (`open_clip.get_pretrained_cfg`: mean, std,
  interpolation, resize_mode) over open_clip's PreprocessCfg defaults, at the model's image size
  (`open_clip.get_model_config`), merged as `open_clip.create_model_and_transforms` merges them for its
  preprocess transform, mapped onto a LibraryResizeCrop (timm_nets.py): "shortest" is Resize of the
  shorter side and CenterCrop, "squash" (SigLIP) resizes the whole image to the square, the aspect ratio
  not kept. Read when first needed. Bicubic: not offered to the search-by-image page (NetworkSpec.browser "").
- weights: `open_clip.create_model(name, pretrained=tag)` downloads them from the Hugging Face Hub into the
  hub's cache (HF_HUB_CACHE, by default ~/.cache/huggingface/hub) once, and reads them from there
  afterwards. Offline, `--weights NAME=FILE` gives a local file (the repository's
  open_clip_model.safetensors or open_clip_pytorch_model.bin: the whole image-text model's state dict),
  which open_clip loads as it loads its download (create_model with the file as `pretrained`: its
  conversions, then a strict load). With VSIS_OFFLINE=1 nothing is downloaded: the cache's file is read.
- the feature: `encode_image` (normalize=False), the image tower's projected embedding, which is
  `model.visual` alone: the text tower is dropped once the weights are loaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from builder.errors import ConfigError, WeightsUnavailable
from builder.features.networks.registry import NetworkSpec, register
from builder.features.networks.timm_nets import (
    HubWeights,
    LibraryPreprocess,
    LibraryResizeCrop,
    embedding_only,
    library_resize_crop,
    one_line,
    require,
)

if TYPE_CHECKING:
    from torch import nn


def _located(network: str, model: str, tag: str) -> tuple[str, tuple[str, ...]]:
    """The hub repository and file names open_clip's download_pretrained reads for the tag."""
    open_clip = require("open_clip", network)
    from open_clip import pretrained

    hub = open_clip.get_pretrained_cfg(model, tag).get("hf_hub", "")
    if not hub:
        raise ConfigError(f"open_clip has no hub weights for {model} {tag}")
    repo, file = os.path.split(hub)  # "org/name/" or "org/name/file"
    file = file or pretrained.HF_WEIGHTS_NAME
    safe = tuple(getattr(pretrained, "_get_safe_alternatives", lambda f: ())(file))  # looked for first
    return repo, (*safe, file)


def _preprocess(network: str, model: str, tag: str) -> LibraryResizeCrop:
    """The tag's preprocessing as create_model merges it: PreprocessCfg's defaults, the tag's pretrained
    configuration over them, the visual tower's image size."""
    open_clip = require("open_clip", network)
    from open_clip.transform import PreprocessCfg, merge_preprocess_dict

    cfg = merge_preprocess_dict(PreprocessCfg(), open_clip.get_pretrained_cfg(model, tag))
    size = open_clip.get_model_config(model)["vision_cfg"].get("image_size", cfg["size"])
    mode = cfg["resize_mode"]
    if mode not in ("shortest", "squash"):
        raise ConfigError(f"{network}: open_clip's resize_mode {mode!r} is not one vsis reproduces")
    side = size[0] if isinstance(size, (tuple, list)) else size
    return library_resize_crop(network, size, side, cfg["interpolation"], cfg["mean"], cfg["std"], mode == "squash")


def _clip(network: str, model: str, tag: str, source: HubWeights, weights_file: Path | None) -> Any:
    """open_clip's whole image-text model (untyped: its towers are read by name) with the tag's weights,
    downloaded by open_clip or from `weights_file` (a whole image-text model's state dict)."""
    open_clip = require("open_clip", network)
    local = source.offline_file(network, weights_file)
    if local is None:
        try:
            clip = open_clip.create_model(model, pretrained=tag)
        except (OSError, RuntimeError) as exc:  # open_clip says a failed download with a RuntimeError
            raise WeightsUnavailable(source.missing_message(network, one_line(exc))) from None
    else:
        try:
            clip = open_clip.create_model(model, pretrained=str(local))
        except Exception as exc:  # torch, safetensors and open_clip's conversions raise many types
            why = one_line(exc)
            raise WeightsUnavailable(f"{network}: open_clip cannot load {local} into {model}: {why}") from None
    return clip


def _load(network: str, model: str, tag: str, source: HubWeights, weights_file: Path | None) -> nn.Module:
    """The image tower, in eval mode: encode_image(x) (normalize=False) is visual(x), so the tower alone is
    kept, and the text tower freed."""
    tower: nn.Module = _clip(network, model, tag, source, weights_file).visual
    return tower.eval()


def _text(network: str, model: str, tag: str, source: HubWeights, weights_file: Path | None) -> nn.Module:
    """The text tower, in eval mode: token ids (batch, 77, int64, as open_clip's SimpleTokenizer makes them)
    in, encode_text(normalize=True) out: unit-length embeddings in the image embeddings' space. (A class made
    on demand, so that importing this module does not import torch.)"""
    from torch import nn

    class TextTower(nn.Module):
        def __init__(self, clip: nn.Module) -> None:
            super().__init__()
            self.clip: Any = clip  # open_clip's model: encode_text is not typed

        def forward(self, tokens):
            return self.clip.encode_text(tokens, normalize=True)

    clip = _clip(network, model, tag, source, weights_file)
    clip.visual = nn.Identity()  # the image tower freed: the text tower reads none of it
    return TextTower(clip).eval()


def untrained(network: str) -> nn.Module:
    """The image tower as open_clip builds it, randomly initialised, no weights read: the module `load`
    returns, for checking shapes and declarations (tests/test_pooling.py)."""
    open_clip = require("open_clip", network)
    tower: nn.Module = open_clip.create_model(_BY_NETWORK[network].model, pretrained=None).visual
    return tower.eval()


def _tower(tower: nn.Module) -> nn.Module:
    return tower  # the image tower, whose output is the embedding


@dataclass(frozen=True)
class OpenClipNet:
    """One network: vsis's name, open_clip's model name and pretrained tag, the embedding's dimension, the
    layer read in words, a description; words: whether its text tower reads open_clip's SimpleTokenizer's ids,
    which the query page reproduces (static/clip-tokenizer.js; SigLIP's tokenizer is another)."""

    network: str
    model: str
    tag: str
    dim: int
    layer: str
    description: str
    words: bool = False


NETWORKS = (
    OpenClipNet(
        "clip_vit_b32",
        "ViT-B-32",
        "laion2b_s34b_b79k",
        512,
        "image embedding (open_clip encode_image: class token, LayerNorm, projection)",
        "CLIP ViT-B/32 image tower, OpenCLIP trained on LAION-2B (open_clip)",
        words=True,
    ),
    OpenClipNet(
        "siglip_vit_b16",
        "ViT-B-16-SigLIP",
        "webli",
        768,
        "image embedding (open_clip encode_image: attention-pool head)",
        "SigLIP ViT-B/16 image tower, trained on WebLI (open_clip)",
    ),
)

_BY_NETWORK = {net.network: net for net in NETWORKS}


def _spec(net: OpenClipNet) -> NetworkSpec:
    source = HubWeights("open_clip", f"{net.model}/{net.tag}", partial(_located, net.network, net.model, net.tag))
    return NetworkSpec(
        name=net.network,
        dim=net.dim,
        layer=net.layer,
        description=net.description,
        preprocess=LibraryPreprocess(net.network, partial(_preprocess, net.network, net.model, net.tag)),
        weights=source,
        load=partial(_load, net.network, net.model, net.tag, source),
        text=partial(_text, net.network, net.model, net.tag, source) if net.words else None,
        maps=embedding_only(_tower, None, net.dim, net.layer),
        browser="",  # bicubic, torchvision's rounding: see timm_nets.py
    )


for _net in NETWORKS:
    register(_spec(_net))

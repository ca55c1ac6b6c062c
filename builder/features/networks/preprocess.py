"""Deterministic preprocessing: resize, frame (centre crop, or pad to a square), normalise. No randomness, ever.

Resizing is done by Pillow (antialiased bilinear) so the result does not depend on the torch version.
static/query-preprocess.js reproduces each class here bit for bit, from its `recipe()`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from builder.features.networks.registry import Preprocess

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
WHITE = (255, 255, 255)
# The resampling filters a preprocessing may name (Pillow's, antialiased); static/query-preprocess.js
# reproduces bilinear only, so a network resized otherwise is not offered to the browser (NetworkSpec.browser "").
RESAMPLE = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}
_STRIP_PIXELS = 1 << 22  # the most pixels of the padded square pad_resize holds at once


def pad_resize(im: Image.Image, side: int, fill: tuple[int, int, int], resample: Image.Resampling) -> Image.Image:
    """`im` centred on a square of `fill` (the shorter side padded, the odd pixel after), resized to side x
    side: equal, to the bit, to `Image.resize` of that square, without ever holding it (a 50:1 panorama of 64
    megapixels would make a 9.6 GB square). Pillow resizes a square horizontally, then vertically, each pass
    rounded to 8 bits; the horizontal pass is done here strip by strip of the square's rows (a resize that
    keeps the height makes that pass alone), the vertical one on the narrow result (one that keeps the width)."""
    w, h = im.size
    size = max(w, h)
    left, top = (size - w) // 2, (size - h) // 2
    rows = max(1, _STRIP_PIXELS // size)
    narrow = Image.new("RGB", (side, size))
    for y in range(0, size, rows):
        strip = Image.new("RGB", (size, min(rows, size - y)), fill)
        strip.paste(im, (left, top - y))  # clipped to the strip
        narrow.paste(strip.resize((side, strip.height), resample), (0, y))
    return narrow.resize((side, side), resample)


def normalised(im: Image.Image, mean: tuple[float, float, float], std: tuple[float, float, float]) -> np.ndarray:
    """(x/255 - mean) / std in float32, channels first."""
    arr: np.ndarray = np.asarray(im, dtype=np.float32) / 255.0
    arr = (arr - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


@dataclass(frozen=True)
class ResizeCropNormalize:
    """Shorter side to `resize`, centre crop `crop` x `crop`, (x/255 - mean) / std, channels first.
    `interpolation`: a RESAMPLE filter; bilinear adds nothing to the key, so keys made before it stay valid."""

    resize: int = 256
    crop: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    interpolation: str = "bilinear"

    @property
    def key(self) -> str:
        return f"rcn:{self.resize}:{self.crop}:{self.mean}:{self.std}{_filter_key(self.interpolation)}"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (3, self.crop, self.crop)

    def recipe(self) -> dict[str, object]:
        _browser_filter(self.interpolation)
        return {"kind": "resize_crop_normalize", "resize": self.resize, "crop": self.crop,
                "mean": list(self.mean), "std": list(self.std)}  # fmt: skip

    def framed(self, framing: str) -> Preprocess:
        return PadResizeNormalize(self) if framing == "pad" else self

    def __call__(self, im: Image.Image) -> np.ndarray:
        w, h = im.size
        scale = self.resize / min(w, h)
        nw, nh = max(self.crop, round(w * scale)), max(self.crop, round(h * scale))
        im = im.resize((nw, nh), RESAMPLE[self.interpolation])
        left, top = (nw - self.crop) // 2, (nh - self.crop) // 2
        return normalised(im.crop((left, top, left + self.crop, top + self.crop)), self.mean, self.std)


@dataclass(frozen=True)
class PadResizeNormalize:
    """The "pad" framing of a ResizeCropNormalize (`cropped`): the whole image, centred on a white square,
    resized to its crop size (Pillow BILINEAR, as it), normalised as it. Nothing of the image is cut off,
    as a centre crop cuts the ends of a long drawing.

    White, not the mean colour: the builder composites transparency on white (inputs/images.py), so a
    drawing's background is white and the padding extends it without an edge, as the pixel baseline's
    SmallPixels does; a grey band would draw a frame around every drawing that the network would respond to,
    and its width, which varies with the aspect ratio, would tell images apart by shape alone."""

    cropped: ResizeCropNormalize

    @property
    def key(self) -> str:
        c = self.cropped
        return f"prn:{c.crop}:{c.mean}:{c.std}:fill{WHITE}{_filter_key(c.interpolation)}"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.cropped.input_shape

    def recipe(self) -> dict[str, object]:
        c = self.cropped
        _browser_filter(c.interpolation)
        return {"kind": "pad_resize_normalize", "side": c.crop, "fill": list(WHITE),
                "mean": list(c.mean), "std": list(c.std)}  # fmt: skip

    def framed(self, framing: str) -> Preprocess:
        return self if framing == "pad" else self.cropped

    def __call__(self, im: Image.Image) -> np.ndarray:
        c = self.cropped
        return normalised(pad_resize(im, c.crop, WHITE, RESAMPLE[c.interpolation]), c.mean, c.std)


def _filter_key(interpolation: str) -> str:
    if interpolation not in RESAMPLE:
        raise ValueError(f"unknown interpolation {interpolation!r} (known: {', '.join(RESAMPLE)})")
    return "" if interpolation == "bilinear" else f":{interpolation}"


def _browser_filter(interpolation: str) -> None:
    """The recipe of a preprocessing that static/query-preprocess.js cannot reproduce is an error, not a
    recipe that the page would silently follow with its bilinear resize."""
    if interpolation != "bilinear":
        raise ValueError(f"static/query-preprocess.js resizes bilinear only, not {interpolation}")


@dataclass(frozen=True)
class SmallPixels:
    """The whole image, padded to a square on white, shrunk to side x side, centred on 0 and flattened.

    Centring (x - 0.5) matters for the angular metric: all-positive vectors would make every pair look
    similar and rank mostly by brightness.
    """

    side: int = 16

    @property
    def key(self) -> str:
        return f"pixels:{self.side}:pad-white"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.side * self.side * 3,)

    def recipe(self) -> dict[str, object]:
        return {"kind": "small_pixels", "side": self.side}

    def framed(self, framing: str) -> Preprocess:
        """Itself, whatever the framing: it pads the whole image already."""
        return self

    def __call__(self, im: Image.Image) -> np.ndarray:
        small = pad_resize(im, self.side, WHITE, Image.Resampling.BOX)
        return (np.asarray(small, dtype=np.float32) / 255.0 - 0.5).reshape(-1)

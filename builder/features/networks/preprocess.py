"""Deterministic preprocessing: resize, centre-crop, normalise. No randomness, ever.

Resizing is done by Pillow (antialiased bilinear) so the result does not depend on the torch version.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ResizeCropNormalize:
    """Shorter side to `resize`, centre crop `crop` x `crop`, (x/255 - mean) / std, channels first."""

    resize: int = 256
    crop: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    @property
    def key(self) -> str:
        return f"rcn:{self.resize}:{self.crop}:{self.mean}:{self.std}"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (3, self.crop, self.crop)

    def recipe(self) -> dict[str, object]:
        return {"kind": "resize_crop_normalize", "resize": self.resize, "crop": self.crop,
                "mean": list(self.mean), "std": list(self.std)}  # fmt: skip

    def __call__(self, im: Image.Image) -> np.ndarray:
        w, h = im.size
        scale = self.resize / min(w, h)
        nw, nh = max(self.crop, round(w * scale)), max(self.crop, round(h * scale))
        im = im.resize((nw, nh), Image.Resampling.BILINEAR)
        left, top = (nw - self.crop) // 2, (nh - self.crop) // 2
        im = im.crop((left, top, left + self.crop, top + self.crop))
        arr: np.ndarray = np.asarray(im, dtype=np.float32) / 255.0
        arr = (arr - np.asarray(self.mean, dtype=np.float32)) / np.asarray(self.std, dtype=np.float32)
        return np.ascontiguousarray(arr.transpose(2, 0, 1))


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

    def __call__(self, im: Image.Image) -> np.ndarray:
        w, h = im.size
        size = max(w, h)
        square = Image.new("RGB", (size, size), (255, 255, 255))
        square.paste(im, ((size - w) // 2, (size - h) // 2))
        small = square.resize((self.side, self.side), Image.Resampling.BOX)
        return (np.asarray(small, dtype=np.float32) / 255.0 - 0.5).reshape(-1)

"""Perturbation profiles: lightly altered copies of an image, for the recovery experiment.

Each profile is declared once with its parameter and a one-line description. The default set is the
original study's five (m1..m5); the others can be chosen in the config. Every profile is deterministic:
the same image in gives the same pixels out, so cached features of a copy stay valid.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from builder.errors import ConfigError

DEFAULT_PROFILES = ("m1", "m2", "m3", "m4", "m5")


@dataclass(frozen=True)
class Profile:
    name: str  # short, used in ids: <id>--<name>
    label: str  # what the site shows
    description: str  # what it does, with its parameter
    apply: Callable[[Image.Image], Image.Image]
    version: str = "1"  # bump when the output changes: part of the cache key of its copies

    @property
    def key(self) -> str:
        return f"{self.name}:{self.version}:{self.description}"


def _grayscale(im: Image.Image) -> Image.Image:
    return im.convert("L").convert("RGB")


def _scale(factor: float) -> Callable[[Image.Image], Image.Image]:
    def apply(im: Image.Image) -> Image.Image:
        size = (max(1, round(im.width * factor)), max(1, round(im.height * factor)))
        return im.resize(size, Image.Resampling.LANCZOS)

    return apply


def _filter(kind: ImageFilter.Filter | type[ImageFilter.Filter]) -> Callable[[Image.Image], Image.Image]:
    return lambda im: im.filter(kind)


def _saturation(factor: float) -> Callable[[Image.Image], Image.Image]:
    return lambda im: ImageEnhance.Color(im).enhance(factor)


def _jpeg(quality: int) -> Callable[[Image.Image], Image.Image]:
    def apply(im: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=quality)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")

    return apply


def _centre_crop(share: float) -> Callable[[Image.Image], Image.Image]:
    def apply(im: Image.Image) -> Image.Image:
        w, h = max(1, round(im.width * share)), max(1, round(im.height * share))
        left, top = (im.width - w) // 2, (im.height - h) // 2
        return im.crop((left, top, left + w, top + h))

    return apply


def _rotate(degrees: float) -> Callable[[Image.Image], Image.Image]:
    return lambda im: im.rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255))


def _noise(sigma: float) -> Callable[[Image.Image], Image.Image]:
    def apply(im: Image.Image) -> Image.Image:
        arr = np.asarray(im, dtype=np.float32)
        # seeded by the pixels themselves: the same image always gets the same noise
        seed = int.from_bytes(hashlib.sha256(arr.tobytes()).digest()[:8], "little")
        noisy = arr + np.random.default_rng(seed).normal(0.0, sigma, arr.shape)
        return Image.fromarray(np.clip(np.rint(noisy), 0, 255).astype(np.uint8), mode="RGB")

    return apply


_PROFILES: dict[str, Profile] = {}


def register_profile(profile: Profile) -> Profile:
    if profile.name in _PROFILES:
        raise ValueError(f"profile {profile.name!r} registered twice")
    if not profile.name.replace("_", "").isalnum() or profile.name != profile.name.lower():
        raise ValueError(f"profile name {profile.name!r} must be lower-case letters, digits and _")
    _PROFILES[profile.name] = profile
    return profile


def get_profile(name: str) -> Profile:
    try:
        return _PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown perturbation profile '{name}' (known: {', '.join(_PROFILES)})") from None


def all_profiles() -> list[Profile]:
    return list(_PROFILES.values())


for _profile in [
    Profile("m1", "b/w", "grayscale (Pillow convert to L, back to RGB)", _grayscale),
    Profile("m2", "scaling-down", "each side x 0.8 (Lanczos)", _scale(0.8)),
    Profile("m3", "sharpen", "Pillow ImageFilter.SHARPEN", _filter(ImageFilter.SHARPEN)),
    Profile("m4", "edge-enhance", "Pillow ImageFilter.EDGE_ENHANCE_MORE", _filter(ImageFilter.EDGE_ENHANCE_MORE)),
    Profile("m5", "reducing-color", "colour saturation x 0.5 (Pillow ImageEnhance.Color)", _saturation(0.5)),
    Profile("jpeg", "JPEG q10", "re-encoded as JPEG at quality 10", _jpeg(10)),
    Profile("crop", "centre crop", "centre crop keeping 80% of each side", _centre_crop(0.8)),
    Profile("rotate", "rotation", "rotated 10 degrees anticlockwise, corners filled white", _rotate(10.0)),
    Profile("blur", "blur", "Gaussian blur, radius 2 px", _filter(ImageFilter.GaussianBlur(2))),
    Profile("noise", "noise", "Gaussian noise, sigma 12 (of 255), seeded by the image", _noise(12.0)),
    Profile("flip", "mirror", "horizontal flip", ImageOps.mirror),
]:
    register_profile(_profile)


def copy_key(content_hash: str, profile: Profile) -> str:
    """The cache key of a perturbed copy: derived from its original's bytes and the profile, so it is
    known before the copy is made."""
    return hashlib.sha256(f"{content_hash}|{profile.key}".encode()).hexdigest()


def copy_id(item_id: str, profile: Profile) -> str:
    return f"{item_id}--{profile.name}"

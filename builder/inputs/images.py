"""Decoding: any supported file becomes one upright 8-bit RGB image, the same way every time.

Every network and the thumbnail see the image as decoded here, so the rules live in one place:
EXIF orientation applied, transparency composited on white, CMYK / palette / 16-bit / grayscale
converted to RGB, animations reduced to their first frame, oversized images refused.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from builder.collect.collection import open_regular
from builder.collect.header import open_unchecked

# Bumped whenever decoding changes in a way that changes pixels: part of every feature-cache key.
DECODE_VERSION = "1"


class ImageError(Exception):
    """This file cannot be used as an image; the message says why."""


@dataclass(frozen=True)
class DecodeLimits:
    """max_pixels: larger images are refused. draft_side: a JPEG may be decoded at 1/2, 1/4 or 1/8 scale
    (Pillow's draft mode: the DCT scaled in the decoder, several times faster) as long as both sides stay
    at least this long; None decodes every pixel. max_aspect: more elongated images are refused, because
    preprocessing scales the shorter side to 256 pixels: a 1x100,000 image (475 bytes as a PNG) would
    become 256x25,600,000. With the bound, no derived image exceeds 256 x 256 x max_aspect pixels."""

    max_pixels: int = 64_000_000
    draft_side: int | None = None
    max_aspect: float = 50.0  # longer side / shorter side: every size derived from an image stays bounded

    def problem(self, width: int, height: int) -> str:
        """Why an image of this size is refused ('' when it is not). Asked of every image at every build,
        from the size the scan read in its header, so that a cached image is held to today's limits too
        (they are not in `key`: raising a limit recomputes nothing that passed the old one)."""
        if width * height > self.max_pixels:
            return (
                f"too large: {width}x{height} = {width * height:,} pixels (limit {self.max_pixels:,}; "
                "raise max_pixels to accept it)"
            )
        if min(width, height) < 1 or max(width, height) > self.max_aspect * min(width, height):
            return (
                f"too elongated: {width}x{height} (longer side over {self.max_aspect:g} times the shorter; "
                "raise max_aspect to accept it)"
            )
        return ""

    @property
    def key(self) -> str:
        """Part of every cache key of what is computed from decoded pixels."""
        return f"d{DECODE_VERSION}" + (f"-draft{self.draft_side}" if self.draft_side else "")


def _to_rgb(im: Image.Image) -> Image.Image:
    """Flatten any mode to RGB, compositing transparency on white."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grayscale: scale to 8 bits by the type's range rather than clipping.
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        im = Image.fromarray(np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8), mode="L")
    elif im.mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min(initial=0)), float(arr.max(initial=1))
        im = Image.fromarray(((arr - lo) / ((hi - lo) or 1.0) * 255).astype(np.uint8), mode="L")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("LA", "La", "PA"):
        im = im.convert("RGBA")
    if im.mode == "RGBa":
        im = im.convert("RGBA")
    if im.mode == "RGBA":
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(im, mask=im.getchannel("A"))
        return background
    if im.mode == "CMYK":
        return im.convert("RGB")
    return im.convert("RGB") if im.mode != "RGB" else im


def decode(path: Path, limits: DecodeLimits = DecodeLimits()) -> Image.Image:
    """Open `path` and return an upright RGB image, or raise ImageError naming what is wrong."""
    try:
        with open_regular(path) as fh:
            data = fh.read()
    except OSError as exc:
        raise ImageError(f"cannot read: {exc.strerror or exc}") from None
    if not data:
        raise ImageError("empty file (0 bytes)")
    try:
        im = open_unchecked(io.BytesIO(data))
        width, height = im.size
        problem = limits.problem(width, height)
        if problem:
            raise ImageError(problem)
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)
        if limits.draft_side and im.format == "JPEG":
            im.draft(None, (limits.draft_side, limits.draft_side))
        im.load()
        im = ImageOps.exif_transpose(im) or im
        return _to_rgb(im)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError("not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"damaged or truncated image: {exc}") from None


def thumbnail(im: Image.Image, size: int) -> Image.Image:
    """A copy that fits in size x size, aspect kept, never upscaled."""
    thumb = im.copy()
    thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
    return thumb


JPEG_QUALITY = 85


def save_jpeg(im: Image.Image, quality: int = JPEG_QUALITY) -> bytes:
    """Deterministic JPEG bytes (no timestamps, no EXIF), so identical inputs give identical files."""
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality, optimize=True, progressive=False)
    return buf.getvalue()


WEBP_QUALITY = 75  # cwebp's own default: 14% fewer bytes than 80 at no cost in time (400 generated drawings)


def save_webp(im: Image.Image, quality: int = WEBP_QUALITY) -> bytes:
    """Deterministic lossy WebP bytes (no metadata). At the same size and a like look, about half of a
    JPEG's bytes: 2.7 KB against 5.8 KB for 256-pixel thumbnails of 200 OpenClipart drawings (at quality
    80; 75 makes 256-pixel thumbnails of the scale benchmark's drawings 1,967 B against 2,280 B, method 6 a
    further 5% at 60% more encoding time, which a museum's build pays on every image)."""
    buf = io.BytesIO()
    im.save(buf, format="WEBP", quality=quality, method=4)
    return buf.getvalue()


def jpeg_problem(data: bytes) -> str:
    """What is wrong with bytes that should be a whole JPEG file ('' when nothing is): a cached thumbnail
    is vetted by its start and end markers, which any truncation or garbling of the file breaks."""
    if not data.startswith(b"\xff\xd8\xff"):
        return "not a JPEG file"
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return "truncated JPEG"
    return ""


def webp_problem(data: bytes) -> str:
    """What is wrong with bytes that should be a whole WebP file ('' when nothing is): its RIFF header
    states the file's length, which a truncated or padded file no longer has."""
    if len(data) < 12 or not data.startswith(b"RIFF") or data[8:12] != b"WEBP":
        return "not a WebP file"
    if int.from_bytes(data[4:8], "little") + 8 != len(data):
        return "truncated WebP"
    return ""


@dataclass(frozen=True)
class ThumbFormat:
    """How thumbnails are written: the file suffix, the encoder, and the check that vets a cached one."""

    name: str
    suffix: str
    encode: Callable[[Image.Image], bytes]
    problem: Callable[[bytes], str]
    settings: str  # the encoder's settings, in the cache's key: thumbnails of other settings are not reused


THUMB_FORMATS = {
    "webp": ThumbFormat("webp", ".webp", save_webp, webp_problem, f"q{WEBP_QUALITY}"),
    "jpeg": ThumbFormat("jpeg", ".jpg", save_jpeg, jpeg_problem, f"q{JPEG_QUALITY}"),
}

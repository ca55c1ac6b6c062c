"""An image file's header: its format and pixel size, read without decoding a pixel.

The scan reads it beside the content hash (from the same open file), so that the decoding limits are
applied to every image at every build, cached or not: lowering `max_pixels` refuses the images a clean
build would refuse, though their features were remembered under the old limit. Decoding (inputs/images.py)
opens files through the same function, so both see an image alike.
"""

from __future__ import annotations

import threading
from typing import BinaryIO

from PIL import Image

_PILLOW_LIMIT = threading.Lock()


def open_unchecked(source: BinaryIO) -> Image.Image:
    """Image.open without Pillow's own decompression-bomb check: the configured limits are applied by
    the caller, from the size in the header, before any pixel is decoded, with the size in the message."""
    with _PILLOW_LIMIT:  # decoding runs in worker threads; the setting is global
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(source)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def pixel_size(source: BinaryIO) -> tuple[int, int]:
    """(width, height) from the header, or (0, 0) where Pillow cannot read one (decoding says why)."""
    try:
        with open_unchecked(source) as im:
            return im.size
    except Exception:  # noqa: BLE001 - any unreadable header is for decoding to report, with its reason
        return (0, 0)

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from builder.inputs.images import THUMB_FORMATS, DecodeLimits, ImageError, decode, save_jpeg, thumbnail

from .conftest import drawing


def _save(im: Image.Image, path: Path, **kwargs) -> Path:
    im.save(path, **kwargs)
    return path


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    im = Image.new("RGB", (60, 30), (255, 0, 0))
    im.paste((0, 0, 255), (0, 0, 10, 30))  # blue stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    path = _save(im, tmp_path / "rot.jpg", exif=exif, quality=95)
    out = decode(path)
    assert out.size == (30, 60)
    r, g, b = out.getpixel((15, 5))  # after a clockwise turn the left stripe is at the top
    assert b > 200 and r < 60


def test_transparency_is_composited_on_white(tmp_path: Path) -> None:
    im = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (0, 0, 10, 20))
    out = decode(_save(im, tmp_path / "a.png"))
    assert out.mode == "RGB"
    assert out.getpixel((15, 10)) == (255, 255, 255)
    assert out.getpixel((5, 10)) == (255, 0, 0)


def test_palette_with_transparency(tmp_path: Path) -> None:
    im = Image.new("P", (10, 10), 0)
    im.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    im.paste(1, (0, 0, 5, 10))
    path = _save(im, tmp_path / "p.png", transparency=0)
    out = decode(path)
    assert out.mode == "RGB"
    assert out.getpixel((8, 5)) == (255, 255, 255)
    assert out.getpixel((2, 5)) == (0, 255, 0)


def test_cmyk_grayscale_and_16_bit_become_rgb(tmp_path: Path) -> None:
    cmyk = _save(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), tmp_path / "c.jpg")
    assert decode(cmyk).mode == "RGB"
    r, g, b = decode(cmyk).getpixel((4, 4))
    assert r > 200 and g < 60 and b < 60
    gray = _save(Image.new("L", (8, 8), 128), tmp_path / "g.png")
    assert decode(gray).getpixel((1, 1)) == (128, 128, 128)
    arr = np.full((8, 8), 65535 // 2, dtype=np.uint16)
    sixteen = _save(Image.fromarray(arr), tmp_path / "s.png")
    assert Image.open(sixteen).mode.startswith("I")
    value = decode(sixteen).getpixel((1, 1))
    assert value[0] == value[1] == value[2] and abs(value[0] - 127) <= 1


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (10, 10), c) for c in [(255, 0, 0), (0, 0, 255)]]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    r, g, b = decode(path).getpixel((5, 5))
    assert r > 200 and b < 60


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty file"),
        (b"this is text, not a picture", "not an image"),
    ],
)
def test_unusable_files_raise_with_a_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=reason):
        decode(path)


def test_truncated_files_raise(tmp_path: Path) -> None:
    buf = io.BytesIO()
    drawing(1, size=200).save(buf, format="JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 3])
    with pytest.raises(ImageError, match="damaged or truncated"):
        decode(path)


def test_images_over_the_pixel_limit_are_refused_before_decoding(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (300, 300)), tmp_path / "big.png")
    with pytest.raises(ImageError, match="too large: 300x300"):
        decode(path, DecodeLimits(max_pixels=50_000))
    assert decode(path, DecodeLimits(max_pixels=90_000)).size == (300, 300)


def test_thumbnail_fits_without_upscaling_and_jpeg_is_deterministic() -> None:
    big = drawing(3, size=400).resize((400, 200))
    assert thumbnail(big, 100).size == (100, 50)
    assert thumbnail(drawing(3, size=50), 100).size == (50, 50)
    assert save_jpeg(big) == save_jpeg(big.copy())


def test_webp_thumbnails_are_deterministic_smaller_and_vetted() -> None:
    im = thumbnail(drawing(4, size=400), 256)
    webp, jpeg = THUMB_FORMATS["webp"], THUMB_FORMATS["jpeg"]
    data = webp.encode(im)
    assert data == webp.encode(im.copy()) and webp.problem(data) == ""
    assert Image.open(io.BytesIO(data)).format == "WEBP" and Image.open(io.BytesIO(data)).size == im.size
    assert len(data) < len(jpeg.encode(im))  # the reason it is the default
    assert webp.problem(data[:-10]) == "truncated WebP" and webp.problem(data + b"\0") == "truncated WebP"
    assert webp.problem(jpeg.encode(im)) == "not a WebP file" and jpeg.problem(data) == "not a JPEG file"


def test_the_configured_limit_applies_above_pillows_own(tmp_path: Path) -> None:
    """Pillow refuses images over ~179 megapixels on its own; vsis names the size and its own limit."""
    from PIL import Image as PILImage

    path = _save(Image.new("1", (15000, 12000)), tmp_path / "huge.png")  # 180 megapixels, tiny file
    assert path.stat().st_size < 1_000_000
    with pytest.raises(ImageError, match=r"too large: 15000x12000 = 180,000,000 pixels \(limit 64,000,000"):
        decode(path)
    assert PILImage.MAX_IMAGE_PIXELS is not None  # Pillow's global check is left as it was


def test_draft_mode_decodes_a_large_jpeg_smaller_but_never_below_the_side_asked(tmp_path: Path) -> None:
    big = drawing(5, size=96).resize((2400, 1800), Image.Resampling.BICUBIC)
    big.save(tmp_path / "big.jpg", quality=92)
    big.save(tmp_path / "big.png")
    full = decode(tmp_path / "big.jpg")
    draft = decode(tmp_path / "big.jpg", DecodeLimits(draft_side=512))
    assert full.size == (2400, 1800)
    assert draft.size == (1200, 900)  # 1/2 scale: 1/4 would leave the short side under 512
    # the same picture: compare both at the draft's size
    a = np.asarray(full.resize(draft.size, Image.Resampling.BOX), dtype=np.float32)
    b = np.asarray(draft, dtype=np.float32)
    assert np.abs(a - b).mean() < 3.0
    assert decode(tmp_path / "big.png", DecodeLimits(draft_side=512)).size == (2400, 1800)  # PNG: no draft
    assert DecodeLimits(draft_side=512).key != DecodeLimits().key

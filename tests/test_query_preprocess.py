"""static/query-preprocess.js in headless Chromium against the builder's own decoding and preprocessing:
the visitor's image must reach the network as the builder's would.

Pillow's resize is reproduced in integer arithmetic, so resampling is held to bit-exactness; the
normalised tensors to 1e-6 (float32 arithmetic reproduced, measured 0). Decoding is the browser's: exact
where the format is lossless and opaque; within a stated tolerance where another decoder or another
blending routine may round differently (libjpeg-turbo builds: 2 levels; alpha blending: 1 level), though
on this machine every format measured so far decodes identically (16-bit grayscale excepted, see below).
"""

from __future__ import annotations

import base64
import itertools
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import PIL
import pytest
from PIL import Image, PngImagePlugin

from builder.features.networks.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    PadResizeNormalize,
    ResizeCropNormalize,
    SmallPixels,
)
from builder.features.networks.registry import FRAMINGS
from builder.inputs.images import decode

from .conftest import REPO, SAMPLE

SCRIPT = REPO / "static" / "query-preprocess.js"

# A page as a query page would be: the script loaded as a classic <script> from file://, and a file input
# through which the tests hand files over exactly as a visitor's choice would.
PAGE = """<!doctype html><meta charset="utf-8"><title>preprocess</title>
<input type="file" id="file">
<script src="query-preprocess.js"></script>
<script>
function fromB64(s) {
  const b = atob(s), a = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) a[i] = b.charCodeAt(i);
  return a;
}
function toB64(typed) {
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
function chosen() { return document.getElementById("file").files[0]; }
</script>
"""

# Largest difference, in 8-bit levels, allowed between the browser's decoding and Pillow's.
JPEG_LEVELS = 2  # libjpeg-turbo's integer IDCT and upsampling are exact, but a browser may ship another build
ALPHA_LEVELS = 1  # c * a / 255 rounded by the browser's blending routine rather than Pillow's MULDIV255


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory) -> Iterator[object]:
    folder = tmp_path_factory.mktemp("query-preprocess")
    shutil.copy(SCRIPT, folder / "query-preprocess.js")
    (folder / "blank.html").write_text(PAGE)
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((folder / "blank.html").as_uri())
    assert page.evaluate("Object.keys(window.vsisPreprocess).sort()") == [
        "decode",
        "padResizeNormalize",
        "prepare",
        "resample",
        "resizeCropNormalize",
        "smallPixels",
    ]
    yield page
    page.close()
    assert errors == []


def b64(arr: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(arr).tobytes()).decode()


def browser_resample(page, rgb: np.ndarray, size: tuple[int, int], method: str) -> np.ndarray:
    h, w, _ = rgb.shape
    out = page.evaluate(
        "([s, w, h, ow, oh, f]) => toB64(vsisPreprocess.resample(fromB64(s), w, h, ow, oh, f))",
        [b64(rgb), w, h, size[0], size[1], method],
    )
    return np.frombuffer(base64.b64decode(out), np.uint8).reshape(size[1], size[0], 3)


def browser_tensor(page, rgb: np.ndarray, call: str, options: dict) -> np.ndarray:
    h, w, _ = rgb.shape
    out = page.evaluate(
        f"([s, w, h, o]) => toB64(vsisPreprocess.{call}(fromB64(s), w, h, o))", [b64(rgb), w, h, options]
    )
    return np.frombuffer(base64.b64decode(out), np.float32)


def browser_decode(page, path: Path) -> np.ndarray:
    """The file chosen in the page's file input and decoded there: H x W x 3 bytes."""
    page.set_input_files("#file", str(path))
    out = page.evaluate("() => vsisPreprocess.decode(chosen()).then(r => [toB64(r.rgb), r.width, r.height])")
    return np.frombuffer(base64.b64decode(out[0]), np.uint8).reshape(out[2], out[1], 3)


def decode_error(page, path: Path) -> str:
    page.set_input_files("#file", str(path))
    return page.evaluate("() => vsisPreprocess.decode(chosen()).then(() => '', e => e.message)")


def noise(seed: int, w: int, h: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def levels(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


# ---- resampling: bit-exact with Image.resize ----

# The script follows Pillow 13's order of the two passes; Pillow 10-12 (pyproject allows them) always
# resize horizontally first, which moves a pixel here and there by one level where Pillow 13 would not.
PILLOW_13 = int(PIL.__version__.split(".")[0]) >= 13


def vertical_first(size: tuple[int, int], out: tuple[int, int]) -> bool:
    """Pillow 13's rule, as the script applies it: the height shrinks by more than twice the width's loss."""
    return out[1] < size[1] and size[1] - out[1] > 2 * (size[0] - out[0]) and out[0] != size[0]


def allowed(size: tuple[int, int], out: tuple[int, int]) -> int:
    return 0 if PILLOW_13 or not vertical_first(size, out) else 1


RESAMPLE_CASES = [
    ((500, 333), (256, 171)),  # non-integer downscale both ways
    ((333, 500), (171, 256)),
    ((1000, 37), (256, 9)),  # long and thin
    ((37, 1000), (9, 256)),
    ((7, 5), (256, 183)),  # upscales
    ((7, 5), (256, 256)),
    ((1, 1), (5, 3)),
    ((640, 480), (16, 16)),  # large reductions: wide filter support
    ((4000, 30), (100, 3)),
    ((300, 200), (300, 200)),  # identity: a copy
    ((300, 200), (300, 77)),  # one direction only: Pillow skips the other pass
    ((300, 200), (123, 200)),
    ((257, 256), (256, 255)),  # scale just below 1
    ((255, 256), (256, 257)),  # just above
    ((97, 89), (61, 143)),  # down one way, up the other
]


@pytest.mark.parametrize("method", ["bilinear", "box"])
@pytest.mark.parametrize(
    ("size", "out"), RESAMPLE_CASES, ids=[f"{a[0]}x{a[1]}-{b[0]}x{b[1]}" for a, b in RESAMPLE_CASES]
)
def test_resample_is_bit_exact_with_pillow(page, size: tuple[int, int], out: tuple[int, int], method: str) -> None:
    rgb = noise(size[0] * 7 + size[1], *size)
    expected = np.asarray(Image.fromarray(rgb).resize(out, Image.Resampling[method.upper()]))
    assert levels(browser_resample(page, rgb, out, method), expected) <= allowed(size, out)


def test_resample_is_bit_exact_on_random_sizes(page) -> None:
    """Seeded random sizes, down and up, both filters: about half of them on each side of Pillow's rule
    for the order of the passes, the one thing the fixed cases above could miss."""
    rng = np.random.default_rng(18)
    orders = {True: 0, False: 0}
    for case in range(120):
        size = (int(rng.integers(1, 160)), int(rng.integers(1, 160)))
        out = (int(rng.integers(1, 260)), int(rng.integers(1, 260)))
        method = ("bilinear", "box")[case % 2]
        rgb = noise(case, *size)
        expected = np.asarray(Image.fromarray(rgb).resize(out, Image.Resampling[method.upper()]))
        assert levels(browser_resample(page, rgb, out, method), expected) <= allowed(size, out), (size, out, method)
        orders[vertical_first(size, out)] += 1
    assert min(orders.values()) >= 20


def test_resample_is_bit_exact_on_pictures_and_flat_colours(page) -> None:
    """Noise hides nothing of the arithmetic, but edges and flat white (where a coefficient sum that
    rounds above 1.0 would show as an overflow) are what collections are made of."""
    from .conftest import drawing

    for seed, (w, h), out in [(1, (96, 96), (33, 33)), (2, (96, 96), (250, 250)), (3, (96, 96), (95, 11))]:
        rgb = np.asarray(drawing(seed).resize((w, h)))
        for method in ("bilinear", "box"):
            expected = np.asarray(Image.fromarray(rgb).resize(out, Image.Resampling[method.upper()]))
            assert levels(browser_resample(page, rgb, out, method), expected) == 0
    white = np.full((37, 411, 3), 255, np.uint8)
    assert browser_resample(page, white, (224, 21), "bilinear").min() == 255


# ---- the networks' preprocessing: within 1e-6 of the builder's ----

SHAPES = {
    "portrait": (333, 500),
    "landscape": (500, 333),
    "square": (300, 300),
    "exact": (256, 256),
    "tiny": (7, 5),
    "one-pixel": (1, 1),
    "half-down": (513, 512),  # 256.5 columns: Python's round() gives 256, not 257
    "half-up": (515, 512),  # 257.5: 258
}

RCN = [
    ResizeCropNormalize(),
    ResizeCropNormalize(resize=256, crop=224, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),  # efficientnet_lite0
    ResizeCropNormalize(resize=160, crop=128, mean=(0.1, 0.9, 0.3), std=(0.7, 0.2, 1.3)),
]


def rcn_options(p: ResizeCropNormalize) -> dict:
    return {"resize": p.resize, "crop": p.crop, "mean": list(p.mean), "std": list(p.std)}


@pytest.mark.parametrize("shape", SHAPES)
def test_resize_crop_normalize_matches_the_builder(page, shape: str) -> None:
    w, h = SHAPES[shape]
    rgb = noise(w + 31 * h, w, h)
    for pre in RCN:
        expected = pre(Image.fromarray(rgb))
        got = browser_tensor(page, rgb, "resizeCropNormalize", rcn_options(pre))
        assert got.shape == (expected.size,)
        assert float(np.abs(got - expected.reshape(-1)).max()) <= 1e-6


def browser_prepare(page, rgb: np.ndarray, recipe: dict) -> np.ndarray:
    """vsisPreprocess.prepare: the input a builder's recipe makes, as query.js asks for it."""
    return browser_tensor(page, rgb, "prepare", recipe)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("framing", FRAMINGS)
def test_every_framing_matches_the_builder(page, shape: str, framing: str) -> None:
    """Each network input, framed either way, made in the page from the builder's own recipe."""
    w, h = SHAPES[shape]
    rgb = noise(w + 17 * h, w, h)
    for pre in RCN:
        framed = pre.framed(framing)
        expected = framed(Image.fromarray(rgb))
        got = browser_prepare(page, rgb, framed.recipe())
        assert got.shape == (expected.size,)
        assert float(np.abs(got - expected.reshape(-1)).max()) <= 1e-6, framed


def test_a_padded_panorama_matches_the_builder(page) -> None:
    """A long image: one row of the square in 40 is the picture, the rest the white fill."""
    rgb = noise(9, 2400, 60)
    pre = PadResizeNormalize(RCN[0])
    got = browser_prepare(page, rgb, pre.recipe())
    expected = pre(Image.fromarray(rgb))
    assert float(np.abs(got - expected.reshape(-1)).max()) <= 1e-6
    white = (1 - np.float32(IMAGENET_MEAN)) / np.float32(IMAGENET_STD)
    np.testing.assert_allclose(expected[:, :100, :].max(axis=(1, 2)), white, rtol=1e-6)


def test_an_unknown_recipe_is_refused(page) -> None:
    error = page.evaluate("() => { try { vsisPreprocess.prepare(new Uint8Array(3), 1, 1, {kind: 'x'}); return ''; }"
                          " catch (e) { return e.message; } }")  # fmt: skip
    assert error == "vsisPreprocess: unknown preprocessing x"


def test_python_rounding_of_the_new_size_is_followed(page) -> None:
    """513x512 scales to 256.5 columns: round() gives 256, JavaScript's Math.round 257; the crop of a
    257-column resize differs from the builder's, so the half-down case would fail with Math.round."""
    rgb = noise(5, 513, 512)
    pre = ResizeCropNormalize()
    wrong = np.asarray(Image.fromarray(rgb).resize((257, 256), Image.Resampling.BILINEAR))[16:240, 16:240]
    right = browser_tensor(page, rgb, "resizeCropNormalize", rcn_options(pre)).reshape(3, 224, 224)
    assert float(np.abs(right - pre(Image.fromarray(rgb))).max()) <= 1e-6
    wrong_t = (wrong.astype(np.float32) / 255 - np.float32(IMAGENET_MEAN)) / np.float32(IMAGENET_STD)
    assert float(np.abs(right - wrong_t.transpose(2, 0, 1)).max()) > 0.1


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("side", [16, 5])
def test_small_pixels_matches_the_builder(page, shape: str, side: int) -> None:
    w, h = SHAPES[shape]
    rgb = noise(3 * w + h, w, h)
    pre = SmallPixels(side=side)
    expected = pre(Image.fromarray(rgb))
    got = browser_tensor(page, rgb, "smallPixels", {"side": side})
    assert got.shape == expected.shape
    assert float(np.abs(got - expected).max()) <= 1e-6
    assert np.array_equal(browser_prepare(page, rgb, pre.recipe()), got)


# ---- decoding: the browser's pixels against builder.inputs.images.decode ----


# The tolerance of each kind, in 8-bit levels: 0 where no rounding happens anywhere.
DECODE_TOLERANCE = {
    "rgb.png": 0,
    "palette.png": 0,
    "gray.png": 0,
    "gamma.png": 0,  # gAMA ignored, as Pillow does (colorSpaceConversion 'none')
    "palette.gif": 0,
    "palette-trns.png": ALPHA_LEVELS,
    "rgba.png": ALPHA_LEVELS,
    "gray-alpha.png": ALPHA_LEVELS,
    "rgba.webp": ALPHA_LEVELS,
    # 16 bits to 8: the builder truncates (x * 255 / 65535), Chromium rounds; measured 1.
    "gray16.png": 1,
    "photo.jpg": JPEG_LEVELS,
    "photo444.jpg": JPEG_LEVELS,
    "gray.jpg": JPEG_LEVELS,
    "cmyk.jpg": JPEG_LEVELS,
}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """One small file of each kind, written by Pillow from the same seeded pixels."""
    d = tmp_path_factory.mktemp("decode")
    rng = np.random.default_rng(11)
    rgb = rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (48, 80, 1), dtype=np.uint8)  # every level of partial transparency
    alpha[:4] = 0
    alpha[4:8] = 255
    im = Image.fromarray(rgb)
    paths = {name: d / name for name in DECODE_TOLERANCE}
    im.save(paths["rgb.png"])
    im.quantize(200).save(paths["palette.png"])
    im.quantize(200).save(paths["palette-trns.png"], transparency=5)
    Image.fromarray(np.concatenate([rgb, alpha], 2), "RGBA").save(paths["rgba.png"])
    Image.fromarray(rgb[..., 0]).save(paths["gray.png"])
    Image.fromarray(np.concatenate([rgb[..., :1], alpha], 2), "LA").save(paths["gray-alpha.png"])
    wide = rgb[..., 0].astype(np.uint16) * 257 + rng.integers(0, 257, (48, 80)).astype(np.uint16)
    Image.fromarray(wide).save(paths["gray16.png"])
    info = PngImagePlugin.PngInfo()
    info.add(b"gAMA", struct.pack(">I", 100000))  # gamma 1.0: a browser that applied it would brighten
    im.save(paths["gamma.png"], pnginfo=info)
    im.save(paths["photo.jpg"], quality=90)
    im.save(paths["photo444.jpg"], quality=95, subsampling=0)
    Image.fromarray(rgb[..., 0]).save(paths["gray.jpg"], quality=90)
    im.convert("CMYK").save(paths["cmyk.jpg"], quality=90)
    Image.fromarray(np.concatenate([rgb, alpha], 2), "RGBA").save(paths["rgba.webp"], lossless=True)
    im.quantize(64).save(paths["palette.gif"])
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        path = d / f"oriented-{orientation}.jpg"
        im.save(path, quality=90, exif=exif.tobytes())
        paths[path.name] = path
    return paths


@pytest.mark.parametrize("name", DECODE_TOLERANCE)
def test_decode_matches_the_builder(page, files: dict[str, Path], name: str) -> None:
    expected = np.asarray(decode(files[name]))
    got = browser_decode(page, files[name])
    diff = levels(got, expected)
    print(f"decode {name}: max difference {diff} levels")
    assert diff <= DECODE_TOLERANCE[name]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_decode_applies_the_exif_orientation_as_the_builder_does(page, files, orientation: int) -> None:
    path = files[f"oriented-{orientation}.jpg"]
    expected = np.asarray(decode(path))
    got = browser_decode(page, path)
    assert got.shape == expected.shape == ((80, 48, 3) if orientation >= 5 else (48, 80, 3))
    assert levels(got, expected) <= JPEG_LEVELS


def test_decode_refuses_what_it_cannot_or_should_not_read(page, tmp_path: Path) -> None:
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    assert "cannot read this file as an image" in decode_error(page, junk)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert decode_error(page, empty) == "empty file (0 bytes)"
    huge = tmp_path / "huge.png"
    Image.new("1", (8001, 8000)).save(huge)  # 64,008,000 pixels in 10 kB: over the builder's 64,000,000
    assert decode_error(page, huge).startswith("too large: 8001x8000 = 64,008,000 pixels")
    thin = tmp_path / "thin.png"
    Image.new("RGB", (51, 1)).save(thin)
    assert decode_error(page, thin).startswith("too elongated: 51x1")
    bad = page.evaluate("() => vsisPreprocess.decode('a string').then(() => '', e => e.message)")
    assert "expected a File or Blob" in bad


# ---- end to end: a file of the bundled sample, through the browser's path and the builder's ----

E2E = [sorted((SAMPLE / folder.name).glob("*.png"))[0] for folder in sorted(SAMPLE.iterdir()) if folder.is_dir()]


def test_the_browser_tensor_of_sample_images_matches_the_builders(page) -> None:
    """decode -> prepare in the browser against decode -> the network's preprocessing in the builder, for
    ten drawings of the sample (one per folder; all RGBA, so the transparency's compositing counts), with
    both networks' normalisations in either framing and the pixels network's SmallPixels."""
    assert len(E2E) == 10
    worst = {"imagenet": 0.0, "efficientnet_lite0": 0.0, "pixels": 0.0}
    for path in E2E:
        expected_rgb = decode(path)
        page.set_input_files("#file", str(path))
        for (name, pre), framing in itertools.product((("imagenet", RCN[0]), ("efficientnet_lite0", RCN[1])), FRAMINGS):
            out = page.evaluate(
                "(o) => vsisPreprocess.decode(chosen()).then(r => "
                "toB64(vsisPreprocess.prepare(r.rgb, r.width, r.height, o)))",
                pre.framed(framing).recipe(),
            )
            got = np.frombuffer(base64.b64decode(out), np.float32)
            expected = pre.framed(framing)(expected_rgb).reshape(-1)
            worst[name] = max(worst[name], float(np.abs(got - expected).max()))
        out = page.evaluate(
            "() => vsisPreprocess.decode(chosen()).then(r => "
            "toB64(vsisPreprocess.smallPixels(r.rgb, r.width, r.height, {side: 16})))"
        )
        got = np.frombuffer(base64.b64decode(out), np.float32)
        worst["pixels"] = max(worst["pixels"], float(np.abs(got - SmallPixels(16)(expected_rgb)).max()))
    print(f"end to end on {len(E2E)} sample images, max |browser - builder|: {worst}")
    # Resampling is exact, so a decoded level of difference stays one level after both passes: the
    # bound is one 8-bit level through the normalisation (measured on this machine: 0).
    assert worst["imagenet"] <= ALPHA_LEVELS / 255 / min(IMAGENET_STD) + 1e-6
    assert worst["efficientnet_lite0"] <= ALPHA_LEVELS / 255 / 0.5 + 1e-6
    assert worst["pixels"] <= ALPHA_LEVELS / 255 + 1e-6


def test_a_twelve_megapixel_photo_is_prepared_in_seconds(page, tmp_path: Path) -> None:
    """decode + resizeCropNormalize of a 4000x3000 JPEG, timed in the page; the tensor checked too."""
    y, x = np.mgrid[0:3000, 0:4000]
    rng = np.random.default_rng(4)
    rgb = np.stack([x * 255 // 3999, y * 255 // 2999, (x + y) % 256], 2) + rng.integers(-20, 21, (3000, 4000, 3))
    path = tmp_path / "large.jpg"
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path, quality=90)
    page.set_input_files("#file", str(path))
    out = page.evaluate(
        """async () => {
          const t0 = performance.now();
          const r = await vsisPreprocess.decode(chosen());
          const t1 = performance.now();
          const x = vsisPreprocess.resizeCropNormalize(r.rgb, r.width, r.height, {resize: 256, crop: 224,
            mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]});
          const t2 = performance.now();
          return [toB64(x), t1 - t0, t2 - t1];
        }"""
    )
    got = np.frombuffer(base64.b64decode(out[0]), np.float32)
    expected = ResizeCropNormalize()(decode(path)).reshape(-1)
    print(f"4000x3000 JPEG ({path.stat().st_size:,} bytes): decode {out[1]:.0f} ms, preprocess {out[2]:.0f} ms")
    assert float(np.abs(got - expected).max()) <= JPEG_LEVELS / 255 / min(IMAGENET_STD) + 1e-6
    assert out[1] + out[2] < 30_000  # generous: two shared cores; measured about a second

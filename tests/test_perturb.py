from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageChops

from builder.errors import ConfigError
from builder.inputs.perturb import DEFAULT_PROFILES, all_profiles, copy_id, copy_key, get_profile

from .conftest import drawing

IMAGE = drawing(5, size=100).resize((100, 60))


@pytest.mark.parametrize("profile", all_profiles(), ids=lambda p: p.name)
def test_every_profile_is_deterministic_rgb_and_changes_the_image(profile) -> None:
    a, b = profile.apply(IMAGE.copy()), profile.apply(IMAGE.copy())
    assert a.mode == "RGB"
    assert a.tobytes() == b.tobytes()
    assert a.size != IMAGE.size or ImageChops.difference(a, IMAGE).getbbox() is not None


def test_default_profiles_are_the_seeds_five() -> None:
    assert DEFAULT_PROFILES == ("m1", "m2", "m3", "m4", "m5")
    labels = [get_profile(n).label for n in DEFAULT_PROFILES]
    assert labels == ["b/w", "scaling-down", "sharpen", "edge-enhance", "reducing-color"]


def test_sizes() -> None:
    assert get_profile("m2").apply(IMAGE).size == (80, 48)
    assert get_profile("crop").apply(IMAGE).size == (80, 48)
    for name in ("m1", "m3", "m4", "m5", "jpeg", "rotate", "blur", "noise", "flip"):
        assert get_profile(name).apply(IMAGE).size == IMAGE.size, name


def test_grayscale_and_saturation() -> None:
    gray = np.asarray(get_profile("m1").apply(IMAGE)).astype(int)
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    half = get_profile("m5").apply(Image.new("RGB", (4, 4), (255, 0, 0)))
    r, g, b = half.getpixel((0, 0))
    # ImageEnhance.Color blends with the grayscale image (L of pure red is 76): (255 + 76) / 2 = 165.5, 76 / 2 = 38
    assert (r, g, b) == (165, 38, 38)


def test_flip_mirrors() -> None:
    flipped = get_profile("flip").apply(IMAGE)
    assert flipped.getpixel((0, 10)) == IMAGE.getpixel((99, 10))


def test_copy_keys_and_ids() -> None:
    m1, m2 = get_profile("m1"), get_profile("m2")
    assert copy_key("abc", m1) != copy_key("abc", m2) != copy_key("abd", m2)
    assert copy_key("abc", m1) == copy_key("abc", m1)
    assert copy_id("cats-tom", m1) == "cats-tom--m1"


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown perturbation profile 'm9' \(known: m1, m2"):
        get_profile("m9")

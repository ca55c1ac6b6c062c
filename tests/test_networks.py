"""Every registered network builds and yields vectors of its declared dimension.

Torchvision networks load through the real weights path: a checkpoint saved here (random weights, fixed
seed) is placed where torchvision's cache keeps it ($TORCH_HOME/hub/checkpoints/<file of the weights URL>),
and torchvision's own builder reads it from there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from builder.errors import WeightsUnavailable
from builder.features.networks import all_specs, get
from builder.features.networks.torchvision_nets import TorchvisionWeights
from builder.features.runtime.backends import load_extractor

from .conftest import SAMPLE, drawing

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
    features = load_extractor(spec, None, "cpu")(batch_for(name))
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
    got = load_extractor(get("squeezenet1_1"), None, "cpu")(batch)
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
    np.testing.assert_allclose(load_extractor(get("vgg16"), None, "cpu")(batch), fc7.numpy(), rtol=1e-4, atol=1e-4)


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
    assert load_extractor(spec, local, "cpu")(batch_for("squeezenet1_1")).shape == (2, 512)
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
    feats = load_extractor(spec, None, "cpu")(np.stack([spec.preprocess(im) for im in images]))
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

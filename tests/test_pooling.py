"""Poolings (issue 26): GeM and stages by hand, each network's declared feature maps against the network
itself, the keys that keep each setting's features and models apart, and the exported ONNX model, made in
the model child as a build makes it, against the torch module for each pooling."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from builder.config import make_config
from builder.errors import ConfigError
from builder.features.networks import all_specs, configured, get
from builder.features.networks.heads import GeM, pooled
from builder.features.networks.pooling import GEM_EPS, GEM_P, POOLINGS, FeatureMaps, Stage
from builder.features.networks.registry import FRAMINGS
from builder.features.runtime.model_files import feature_key, features_model, onnx_path

from .conftest import SAMPLE


def test_gem_is_the_generalised_mean_of_each_channel() -> None:
    x = torch.tensor(np.random.default_rng(3).normal(size=(2, 3, 4, 5)), dtype=torch.float32)
    x[0, 0] = -1.0  # a channel with no positive response: every position clamped to eps
    got = GeM()(x)
    for b, c in itertools.product(range(2), range(3)):
        values = [max(float(v), GEM_EPS) ** GEM_P for v in x[b, c].flatten()]
        expected = (sum(values) / len(values)) ** (1 / GEM_P)
        assert float(got[b, c]) == pytest.approx(expected, rel=1e-5)
    assert float(got[0, 0]) == pytest.approx(GEM_EPS, rel=1e-5)


class Toy(nn.Module):
    """Three convolutions, each a stage: 4, 6 and 8 channels."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b, self.c = nn.Conv2d(3, 4, 3, 2), nn.Conv2d(4, 6, 3), nn.Conv2d(6, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c(self.b(self.a(x)))


TOY = FeatureMaps(lambda m: m, 8, "c", (Stage("a", 4, 0.5), Stage("b", 6, 2.0)))


def test_stages_are_unit_length_parts_times_their_weights() -> None:
    toy = Toy().eval()
    x = torch.rand(3, 3, 19, 19)
    with torch.inference_mode():
        got = pooled(toy, TOY, "stages")(x)
        a = toy.a(x)
        b = toy.b(a)
        c = toy.c(b)
    assert got.shape == (3, TOY.dim("stages")) == (3, 8 + 4 + 6)
    for part, (m, weight) in zip(torch.split(got, [8, 4, 6], dim=1), [(c, 1.0), (a, 0.5), (b, 2.0)], strict=True):
        mean = m.mean(dim=(2, 3))
        np.testing.assert_allclose(part, weight * mean / mean.norm(dim=1, keepdim=True), rtol=1e-5, atol=1e-6)
    with torch.inference_mode():  # the module runs again with the same result: nothing left from the last run
        np.testing.assert_allclose(pooled(toy, TOY, "stages")(x), got, rtol=1e-6)


def untrained(name: str) -> nn.Module:
    """The network with random weights: its shapes are what the declarations are checked against."""
    from builder.features.networks import openclip_nets, timm_nets

    for library in (timm_nets, openclip_nets):  # the library's architecture, randomly initialised
        if name in {n.network for n in library.NETWORKS}:
            return library.untrained(name)
    if name.startswith("efficientnet_lite"):
        from efficientnet_lite_pytorch import EfficientNet

        return EfficientNet.from_name(name.replace("_", "-")).eval()
    import torchvision.models as tvm

    return getattr(tvm, name)(weights=None).eval()


SPECS = [(s.name, pooling) for s in all_specs() if s.maps is not None for pooling in s.maps.poolings]


@pytest.mark.parametrize(("name", "pooling"), SPECS, ids=[f"{n}-{p}" for n, p in SPECS])
def test_each_pooling_gives_the_declared_dimension(name: str, pooling: str) -> None:
    """Every pooling of every network, on the network itself: the configured dim comes out; for "stages"
    each declared part (split by its declared channels) is unit length times its weight."""
    spec = configured(name, "crop", pooling)
    assert spec.maps is not None
    torch.manual_seed(0)
    with torch.inference_mode():
        out = pooled(untrained(name), spec.maps, pooling)(torch.rand(1, *spec.preprocess.input_shape))
    assert out.shape == (1, spec.dim)
    if pooling == "stages":
        parts = torch.split(out, [spec.maps.channels, *(s.channels for s in spec.maps.stages)], dim=1)
        norms = [float(p.norm()) for p in parts]
        assert norms == pytest.approx([1.0, *(s.weight for s in spec.maps.stages)], rel=1e-5)


def test_configured_dimensions() -> None:
    dims = {(n, p): configured(n, "crop", p).dim for n, p in SPECS}
    assert [dims["efficientnet_lite0", p] for p in POOLINGS] == [1280, 1280, 1280 + 112 + 192]
    assert dims["efficientnet_lite1", "stages"] == 1280 + 112 + 192
    assert dims["efficientnet_lite2", "stages"] == 1280 + 120 + 208
    assert [dims["resnet152", p] for p in POOLINGS] == [2048, 2048, 2048 + 1024]
    assert (dims["vgg16", "avg"], dims["vgg16", "gem"]) == (4096, 512)  # its own fc7; GeM of conv5_3
    assert configured("efficientnet_lite0", "pad", "gem").layer == "GeM (p = 3) of the head convolution"


def test_a_pooling_a_network_does_not_declare_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"densenet121 offers no pooling 'stages' \(.*it offers avg, gem\)"):
        configured("densenet121", "crop", "stages")
    with pytest.raises(ConfigError, match="offers no pooling 'stages'"):  # at validation, before any work
        make_config(collection=tmp_path, networks=("densenet121",), features_pooling="stages").validate()
    with pytest.raises(ConfigError, match="unknown framing 'letterbox'"):
        configured("efficientnet_lite0", "letterbox", "avg")


def test_the_pixel_baseline_takes_neither_setting() -> None:
    """Its SmallPixels pads the whole image already, and it has no feature maps to pool."""
    for framing, pooling in itertools.product(FRAMINGS, POOLINGS):
        assert configured("pixels", framing, pooling) == get("pixels")


def test_every_setting_has_its_own_features_and_model(tmp_path: Path) -> None:
    """The feature cache key and the ONNX model's file differ for each framing and pooling; the defaults'
    are the network's as declared, so that features cached before these settings stay valid."""
    specs = [configured("efficientnet_lite0", f, p) for f, p in itertools.product(FRAMINGS, POOLINGS)]
    keys = {s.cache_key() for s in specs}
    assert len(keys) == len({feature_key(s, None, "int8") for s in specs}) == len(specs)
    assert len({onnx_path(s, None, tmp_path) for s in specs}) == len(specs)
    assert configured("efficientnet_lite0", "crop", "avg").cache_key() == get("efficientnet_lite0").cache_key()
    weighted = FeatureMaps(TOY.trunk, 8, "c", (Stage("a", 4, 0.5), Stage("b", 6, 1.0)))
    assert TOY.key("stages") != weighted.key("stages")  # another weight, other features


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 1 - (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.mark.parametrize(("framing", "pooling"), [("crop", "avg"), ("pad", "gem"), ("crop", "stages")])
def test_the_query_pages_model_pools_as_the_build_does(models: Path, framing: str, pooling: str) -> None:
    """browser_networks has the model made in the model child (as a build does), from the configured spec:
    the page gets that spec's recipe and dimension, and the model's output equals the torch module's
    within 1e-4 cosine distance."""
    from builder.features.runtime.backends import OnnxExtractor
    from builder.inputs.images import decode
    from builder.query.browser import browser_networks

    spec = configured("efficientnet_lite0", framing, pooling)
    (net,), refused = browser_networks(("efficientnet_lite0",), {}, models, 10**9, framing, pooling)
    assert refused == []
    assert (net.dim, net.recipe) == (spec.dim, spec.preprocess.recipe())
    assert net.model == features_model(spec, onnx_path(spec, None, models))
    assert [o.name for o in onnx.load(str(net.model)).graph.output] == ["features"]  # the head left behind
    files = sorted(SAMPLE.glob("*/*.png"))[:3]
    batch = np.stack([spec.preprocess(decode(f)) for f in files])
    assert spec.build_module is not None
    with torch.inference_mode():
        expected = spec.build_module(None)(torch.from_numpy(batch))[0].numpy()  # features, then the top classes
    got = OnnxExtractor(net.model, "cpu")(batch)
    assert got.shape == expected.shape == (len(files), spec.dim)
    assert cosine_distance(got, expected).max() < 1e-4
    if pooling != "avg":  # and it is not the average the network is declared with
        average = configured("efficientnet_lite0", framing, "avg").build_module
        assert average is not None
        with torch.inference_mode():
            plain = average(None)(torch.from_numpy(batch))[0].numpy()
        assert plain.shape != got.shape or cosine_distance(got, plain).min() > 1e-3


def test_auto_pooling_is_the_stages_where_a_network_declares_them_else_the_average() -> None:
    assert configured("efficientnet_lite0", "pad", "auto") == configured("efficientnet_lite0", "pad", "stages")
    assert configured("resnet152", "crop", "auto").pooling == "stages"
    assert configured("vgg16", "crop", "auto") == configured("vgg16", "crop", "avg")  # no stages declared
    assert configured("pixels", "pad", "auto").dim == 768
    from builder.config import make_config

    assert make_config(networks=("vgg16", "densenet201")).features.pooling == "auto"  # the default builds every network

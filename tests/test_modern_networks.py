"""The networks through timm and open_clip (timm_nets.py, openclip_nets.py), with checkpoints made here.

No hub weights can be downloaded here, so each network is tested with a checkpoint of its own architecture,
randomly initialised by the library (fixed seed; LayerScale factors, which DINOv2 and ConvNeXt initialise at
1e-5 and 1e-6, are drawn from [0.5, 1] so that images give different features), saved with torch.save. It
is placed where the library reads its download (the Hugging Face Hub cache, in offline mode), so that the
library's own loading code reads it: the reference model is the library's (timm.create_model(pretrained=True),
open_clip.create_model_and_transforms(pretrained=tag)), and so is the reference transform. vsis loads the
same file as a user's --weights file, and from the cache. What these tests cannot show is the quality of
the real weights' features.

ONNX export is tested on the smaller models (ViT-S/14, ConvNeXt-Tiny, ViT-B/32); the ViT-B/14 and SigLIP
B/16 exports, about 30 s each here, are left out of the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from builder.errors import ConfigError, WeightsUnavailable
from builder.features.networks import configured, get, openclip_nets, timm_nets
from builder.features.networks.preprocess import RESAMPLE, WHITE, normalised, pad_resize
from builder.features.networks.timm_nets import LibraryResizeCrop
from builder.features.runtime.backends import load_extractor
from builder.inputs.images import decode

from .conftest import SAMPLE, drawing, features_only

pytest.importorskip("timm", reason="the modern networks need timm: pip install 'vsis[modern]'")
pytest.importorskip("open_clip", reason="the modern networks need open_clip_torch: pip install 'vsis[modern]'")


TIMM = {n.network: n for n in timm_nets.NETWORKS}
OPENCLIP = {n.network: n for n in openclip_nets.NETWORKS}
MODERN = [*TIMM, *OPENCLIP]
EXPORTED = ("dinov2_vits14", "convnext_tiny", "clip_vit_b32")  # the ViT-B/14 and SigLIP exports: see above
REVISION = "0" * 40


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 1 - (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def images() -> list[Image.Image]:
    """Drawings of the sample at their own sizes (portrait, landscape, long), and squares and odd sizes."""
    files = sorted(SAMPLE.glob("*/*.png"))
    sample = [decode(files[i]) for i in (0, 1, 2, 8, 10)]
    made = [drawing(1, 120), drawing(2, 600), drawing(3, 235).resize((301, 517)), drawing(4, 300).resize((640, 479))]
    return sample + made


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An empty Hugging Face Hub cache in offline mode, for this process (huggingface_hub's constants) and
    for the model child that exports ONNX (the environment)."""
    from huggingface_hub import constants

    cache = tmp_path_factory.mktemp("hf_hub")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_CACHE", str(cache))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(constants, "HF_HUB_CACHE", str(cache))
        mp.setattr(constants, "HF_HUB_OFFLINE", True)
        mp.delenv("VSIS_OFFLINE", raising=False)
        yield cache


def random_network(name: str) -> Any:
    """The network's architecture as its library builds it, randomly initialised (seed 0)."""
    import open_clip
    import timm

    torch.manual_seed(0)
    if name in TIMM:
        model = timm.create_model(TIMM[name].timm_name, pretrained=False)
    else:
        model = open_clip.create_model(OPENCLIP[name].model, pretrained=None)
    with torch.no_grad():
        for key, param in model.named_parameters():
            if key.endswith("gamma"):  # LayerScale
                param.uniform_(0.5, 1.0)
    return model.eval()


def checkpoint(name: str, hub: Path) -> Path:
    """A random checkpoint of `name`, saved once where the library reads its download from the hub cache."""
    repo, files = get(name).weights.locate()
    folder = hub / ("models--" + repo.replace("/", "--"))
    path = folder / "snapshots" / REVISION / files[-1]
    if not path.is_file():
        path.parent.mkdir(parents=True)
        (folder / "refs").mkdir()
        (folder / "refs" / "main").write_text(REVISION)
        torch.save(random_network(name).state_dict(), path)
    return path


@dataclass
class Library:
    """A network as its library makes it from the checkpoint in the hub cache: the model, its transform,
    and its own features of `batch` (vsis's preprocessing of the test images)."""

    name: str
    checkpoint: Path
    model: Any
    transform: Any
    batch: np.ndarray
    features: np.ndarray


def library_features(name: str, model: Any, batch: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        x = torch.from_numpy(batch)
        if name in TIMM:
            return model.forward_head(model.forward_features(x), pre_logits=True).numpy()
        return model.encode_image(x).numpy()


@pytest.fixture(scope="module", params=MODERN)
def net(request: pytest.FixtureRequest, hub: Path) -> Library:
    import open_clip
    import timm

    name = request.param
    path = checkpoint(name, hub)
    if name in TIMM:
        model = timm.create_model(TIMM[name].timm_name, pretrained=True).eval()
        transform = timm.data.create_transform(**timm.data.resolve_data_config(model=model))
    else:
        oc = OPENCLIP[name]
        model, _, transform = open_clip.create_model_and_transforms(oc.model, pretrained=oc.tag)
        model.eval()
    spec = get(name)
    batch = np.stack([spec.preprocess(im) for im in images()[:2]])
    return Library(name, path, model, transform, batch, library_features(name, model, batch))


def test_the_networks_are_declared_with_what_their_libraries_make() -> None:
    assert {n: get(n).dim for n in MODERN} == {
        "dinov2_vits14": 384,
        "dinov2_vitb14": 768,
        "convnext_tiny": 768,
        "clip_vit_b32": 512,
        "siglip_vit_b16": 768,
    }
    for name in MODERN:
        spec = get(name)
        assert spec.browser == ""  # bicubic: static/query-preprocess.js reproduces bilinear only
        library = (
            f"timm:{TIMM[name].timm_name}" if name in TIMM else f"open_clip:{OPENCLIP[name].model}/{OPENCLIP[name].tag}"
        )
        assert spec.weights.describe() == library


def test_the_preprocessing_is_read_from_the_librarys_pretrained_configuration() -> None:
    """timm: resolve_data_config of the weights' pretrained_cfg (resize = floor(size / crop_pct));
    open_clip: the tag's pretrained configuration at the model's image size."""
    imagenet = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    openai = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))
    expected = {
        "dinov2_vits14": LibraryResizeCrop(518, 518, *imagenet, "bicubic"),  # crop_pct 1.0
        "dinov2_vitb14": LibraryResizeCrop(518, 518, *imagenet, "bicubic"),
        "convnext_tiny": LibraryResizeCrop(235, 224, *imagenet, "bicubic"),  # crop_pct 0.95
        "clip_vit_b32": LibraryResizeCrop(224, 224, *openai, "bicubic"),  # resize_mode shortest
        "siglip_vit_b16": LibraryResizeCrop(224, 224, (0.5,) * 3, (0.5,) * 3, "bicubic", squash=True),
    }
    for name, preprocessing in expected.items():
        assert get(name).preprocess.resolved() == preprocessing
        assert get(name).preprocess.input_shape == (3, preprocessing.crop, preprocessing.crop)


def test_the_preprocessing_equals_the_librarys_transform(net: Library) -> None:
    """timm.data.create_transform(**resolve_data_config(model)) and open_clip's preprocess, on images of
    many shapes: equal to the last bit (both resize with Pillow; measured max difference 0.0). The plain
    ResizeCropNormalize, which rounds the resized side and floors the crop's offset, is not: for contrast."""
    from builder.features.networks.preprocess import ResizeCropNormalize

    spec = get(net.name)
    tested = images()
    differences = [float(np.abs(spec.preprocess(im) - net.transform(im).numpy()).max()) for im in tested]
    assert max(differences) <= 1e-6, differences
    ours = spec.preprocess.resolved()
    plain = ResizeCropNormalize(ours.resize, ours.crop, ours.mean, ours.std, ours.interpolation)
    if not ours.squash:
        assert any(not np.array_equal(plain(im), net.transform(im).numpy()) for im in tested)


def test_the_features_equal_the_librarys_own_forward(net: Library) -> None:
    """vsis's module (torch backend), loaded from the checkpoint as a --weights file, against the library's
    model read from the hub cache: forward_features + forward_head(pre_logits=True), or encode_image."""
    spec = get(net.name)
    got = features_only(load_extractor(spec, net.checkpoint, "cpu", "torch")(net.batch))
    assert got.shape == net.features.shape == (2, spec.dim)
    assert cosine_distance(got, net.features).max() < 1e-4
    assert cosine_distance(net.features[:1], net.features[1:])[0] > 0.05  # two images, two features


def test_weights_from_the_hub_cache_are_the_librarys(net: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --weights, vsis has the library read its hub cache (as after a download); with VSIS_OFFLINE
    it reads the cache's file itself. Both are the weights the library's model has. (Loaded for one network
    of each library: the others' loading is the same code.)"""
    spec = get(net.name)
    assert spec.weights.available() == (True, f"cached at {net.checkpoint}")
    if net.name not in ("convnext_tiny", "clip_vit_b32"):
        return
    expected = net.model.state_dict() if net.name in TIMM else net.model.visual.state_dict()
    for route in (None, "VSIS_OFFLINE"):
        if route:
            monkeypatch.setenv(route, "1")
        assert spec.load is not None
        state = spec.load(None).state_dict()
        assert state.keys() == expected.keys()
        assert all(torch.equal(state[k], expected[k]) for k in state)


def test_the_exported_model_equals_the_librarys_forward(net: Library, tmp_path: Path) -> None:
    if net.name not in EXPORTED:
        pytest.skip(f"{net.name}: its ONNX export (about 30 s) is left out of the suite")
    spec = get(net.name)
    got = features_only(load_extractor(spec, net.checkpoint, "cpu", "onnx", tmp_path / "cache")(net.batch))
    assert got.shape == net.features.shape
    assert cosine_distance(got, net.features).max() < 1e-4


@pytest.mark.parametrize("name", MODERN)
def test_missing_weights_offline_say_what_to_download_and_what_to_pass(
    name: str, hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    empty = tmp_path / "empty_hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(empty))
    monkeypatch.setenv("HF_HUB_CACHE", str(empty))
    spec = get(name)
    repo, files = spec.weights.locate()
    ok, how = spec.weights.available()
    assert not ok and how.startswith(f"not cached: {spec.weights.module} downloads {repo} into {empty}")
    assert spec.load is not None
    with pytest.raises(WeightsUnavailable) as err:  # the library tried its hub cache (HF_HUB_OFFLINE) and failed
        spec.load(None)
    message = str(err.value)
    assert message.startswith(f"{name}: weights not available offline (")
    assert f"({repo}) into {empty}" in message and f"download the repository's {files[0]}" in message
    assert message.endswith(f"--weights {name}=FILE") and "\n" not in message
    monkeypatch.setenv("VSIS_OFFLINE", "1")  # nothing is attempted; the error passes through the model child too
    for backend in ("torch", "onnx") if name == "convnext_tiny" else ("torch",):
        with pytest.raises(
            WeightsUnavailable, match=rf"^{name}: weights not available offline \(VSIS_OFFLINE is set\)"
        ):
            load_extractor(spec, None, "cpu", backend, tmp_path / "cache")
    with pytest.raises(WeightsUnavailable, match=rf"^{name}: weights file .*nowhere.pth not found$"):
        spec.load(tmp_path / "nowhere.pth")


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("dinov2_vits14", "convnext_tiny"),
        ("dinov2_vitb14", "dinov2_vits14"),  # the same family, another width
        ("clip_vit_b32", "convnext_tiny"),
        ("siglip_vit_b16", "clip_vit_b32"),
    ],
)
def test_a_checkpoint_of_another_architecture_is_a_clear_error(name: str, wrong: str, hub: Path) -> None:
    spec = get(name)
    assert spec.load is not None
    path = checkpoint(wrong, hub)
    library = "timm" if name in TIMM else "open_clip"
    with pytest.raises(WeightsUnavailable) as err:
        spec.load(path)
    message = str(err.value)
    assert message.startswith(f"{name}: {library} cannot load {path} into ") and "\n" not in message


def test_a_missing_library_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "timm", None)  # import timm raises ImportError
    monkeypatch.setitem(sys.modules, "open_clip", None)
    monkeypatch.setattr(timm_nets, "_READ", {})  # the preprocessing is read again, and cannot be
    for name, package in [("convnext_tiny", "timm"), ("clip_vit_b32", "open_clip_torch")]:
        spec = get(name)
        assert spec.weights.available() == (False, f"needs {package}: pip install 'vsis[modern]'")
        assert spec.load is not None
        with pytest.raises(
            WeightsUnavailable, match=rf"^{name}: needs {package}, not installed: pip install 'vsis\[modern\]'$"
        ):
            spec.load(None)
        with pytest.raises(WeightsUnavailable, match=f"needs {package}"):
            spec.cache_key()


def test_the_default_settings_keep_the_librarys_embedding() -> None:
    """A build's defaults (framing "pad", pooling "auto"): "auto" is their own embedding ("avg": none declares
    earlier stages); "pad" frames the whole image on white at the model's input size, bicubic."""
    for name in MODERN:
        declared, spec = get(name), configured(name, "pad", "auto")
        assert (spec.pooling, spec.dim, spec.layer) == ("avg", declared.dim, declared.layer)
        assert spec.preprocess.input_shape == declared.preprocess.input_shape
        assert spec.preprocess.key.startswith("prn:") and spec.preprocess.key.endswith(":bicubic")


def test_the_pad_framing_resizes_bicubic_and_keys_it() -> None:
    spec = configured("convnext_tiny", "pad", "avg")
    im = images()[0]
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    expected = normalised(pad_resize(im, 224, WHITE, RESAMPLE["bicubic"]), mean, std)
    np.testing.assert_array_equal(spec.preprocess(im), expected)
    assert spec.preprocess.key.endswith(":bicubic") and spec.cache_key() != get("convnext_tiny").cache_key()
    with pytest.raises(ValueError, match="bilinear only"):
        spec.preprocess.recipe()


def test_poolings_convnext_offers_gem_the_transformers_their_embedding_alone() -> None:
    """ConvNeXt's "gem" is of forward_features' map, its "avg" the library's embedding (pooled, then the
    head's LayerNorm), not the plain average of that map."""
    from builder.features.networks.heads import pooled

    model = random_network("convnext_tiny")
    x = torch.rand(2, 3, 224, 224)
    with torch.inference_mode():
        features = model.forward_features(x)
        avg = pooled(model, configured("convnext_tiny", "crop", "avg").maps, "avg")(x)
        gem = pooled(model, configured("convnext_tiny", "crop", "gem").maps, "gem")(x)
        np.testing.assert_allclose(avg, model.forward_head(features, pre_logits=True), rtol=1e-5, atol=1e-6)
        expected = features.clamp(min=1e-6).pow(3).mean(dim=(2, 3)).pow(1 / 3)
        np.testing.assert_allclose(gem, expected, rtol=1e-5, atol=1e-6)
    assert avg.shape == gem.shape == (2, 768) and configured("convnext_tiny", "crop", "gem").dim == 768
    with pytest.raises(ConfigError, match=r"convnext_tiny offers no pooling 'stages' \(.*it offers avg, gem\)"):
        configured("convnext_tiny", "crop", "stages")
    for name in ("dinov2_vits14", "clip_vit_b32"):
        with pytest.raises(ConfigError, match=rf"{name} offers no pooling 'gem' \(.*it offers avg\)"):
            configured(name, "crop", "gem")


def test_the_search_by_image_page_is_not_offered_them(tmp_path: Path) -> None:
    from builder.query.browser import browser_networks

    offered, refused = browser_networks(("convnext_tiny", "clip_vit_b32"), {}, tmp_path, 10**9)
    assert offered == []
    assert refused == [
        f"{n}: its preprocessing cannot be reproduced in a browser" for n in ("convnext_tiny", "clip_vit_b32")
    ]


def test_vsis_networks_says_which_are_cached(hub: Path, tmp_path: Path) -> None:
    """Each modern network's line: available where its file is in the hub cache, else what will download."""
    checkpoint("convnext_tiny", hub)
    vsis = Path(sys.executable).parent / "vsis"
    done = subprocess.run(
        [str(vsis), "networks"], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    for name in MODERN:
        spec = get(name)
        repo, files = spec.weights.locate()
        cached = hub / ("models--" + repo.replace("/", "--")) / "snapshots" / REVISION / files[-1]
        if cached.is_file():
            assert f"{spec.dim}-d  available  cached at {cached}" in lines[name]
        else:
            library = "timm" if name in TIMM else "open_clip"
            assert f"{spec.dim}-d  missing    not cached: {library} downloads {repo} into {hub}" in lines[name]
    assert "available" in lines["convnext_tiny"]

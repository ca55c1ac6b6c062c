"""Which networks a visitor's browser can run for the query page (query.html), and their model files.

Search by image: a network qualifies when the page can reproduce its preprocessing (its `recipe`, which
static/query-preprocess.js follows) and either needs no model (the pixel baseline: the preprocessed image is
the feature) or has an exported fp32 ONNX model no larger than the limit. The model is the one the ONNX
Runtime backend already uses (model_files.onnx_path), made in a child process when this build did not need
it (a torch build), cut to its features (a tagging network's head stays behind:
model_files.features_model); a model over the limit is not offered, and the reason is said, because every
visitor would download it before their first search.

Search by words: a network that declares a text tower (NetworkSpec.text: CLIP's) qualifies with that tower's
int8 model (weights in 8 bits, products in fp32: features/runtime/weight_only.py) no larger than its own limit,
whether or not its images can be searched in the page (CLIP's preprocessing cannot: bicubic).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, replace
from pathlib import Path

from builder.errors import VsisError
from builder.features.networks import NetworkSpec, configured
from builder.features.runtime.model_files import features_model, onnx_path, text_onnx_path
from builder.features.runtime.model_worker import make_models  # a child process: see model_worker.py


@dataclass(frozen=True)
class BrowserNetwork:
    """What query.js needs of one network: how to preprocess, whether a model runs, and which."""

    name: str
    # "model": run `model` on the preprocessed input; "input": the preprocessed input is the feature;
    # "": no search by image (a network offered for words only)
    kind: str
    dim: int
    recipe: dict[str, object]  # the preprocessing, as static/query-preprocess.js reads it ({}: kind "")
    input_shape: tuple[int, ...]
    model: Path | None = None  # the fp32 ONNX model file (kind "model")
    text_model: Path | None = None  # the int8 ONNX text tower (search by words), where it is offered

    @property
    def model_bytes(self) -> int:
        return self.model.stat().st_size if self.model is not None else 0

    @property
    def images(self) -> bool:
        """Whether the page searches by an image with this network."""
        return self.kind != ""

    @property
    def words(self) -> bool:
        """Whether the page searches by words with this network."""
        return self.text_model is not None

    @property
    def takes(self) -> str:
        """What the visitor can search with, in words: "images", "words" or "images and words"."""
        return " and ".join(kind for kind, yes in (("images", self.images), ("words", self.words)) if yes)


def browser_networks(
    names: tuple[str, ...],
    weights: dict[str, Path],
    cache_dir: Path,
    max_model_bytes: int,
    framing: str = "crop",
    pooling: str = "avg",
    max_text_model_bytes: int = 0,
) -> tuple[list[BrowserNetwork], list[str]]:
    """The networks of `names` that a browser can run, for images or words or both, in that order, and a
    sentence for each search a network cannot offer; each as the build's framing and pooling make it
    (registry.configured), as its features were made. max_text_model_bytes 0: no search by words."""
    offered: list[BrowserNetwork] = []
    refused: list[str] = []
    for name in names:
        spec = configured(name, framing, pooling)
        text: Path | str | None = None
        if spec.text is not None and max_text_model_bytes > 0:
            text = _text_model(spec, weights.get(name), cache_dir, max_text_model_bytes)
        image = _image(spec, weights.get(name), cache_dir, max_model_bytes)
        words = " (offered for words only)" if isinstance(text, Path) else ""
        if isinstance(image, str):
            refused.append(f"{name}: {image}{words}")
            image = BrowserNetwork(name, "", spec.dim, {}, ())
        if isinstance(text, str):
            refused.append(f"{name}: {text} (offered for images only)" if image.images else f"{name}: {text}")
        if image.images or isinstance(text, Path):
            offered.append(replace(image, text_model=text if isinstance(text, Path) else None))
    return offered, refused


def _image(spec: NetworkSpec, weights: Path | None, cache_dir: Path, max_model_bytes: int) -> BrowserNetwork | str:
    """The network as search by image runs it, or why it cannot be offered."""
    recipe = getattr(spec.preprocess, "recipe", None)
    if not spec.browser or recipe is None:
        return "its preprocessing cannot be reproduced in a browser"
    base = BrowserNetwork(spec.name, spec.browser, spec.dim, recipe(), spec.preprocess.input_shape)
    if spec.browser == "input":
        return base
    path = onnx_path(spec, weights, cache_dir)
    if not path.is_file():
        try:
            make_models(spec, weights, path)
        except (VsisError, RuntimeError) as exc:  # the site is built without it: the page says why
            return f"its model could not be exported ({str(exc).splitlines()[0]})"
    # a head is at most half of a declared network's model (squeezenet1_1's: 2.0 of 4.9 MB): a model twice
    # the limit cannot fit without it, and is not cut (vgg16's is 553 MB)
    if path.stat().st_size <= 2 * max_model_bytes:
        path = features_model(spec, path)
    size = path.stat().st_size
    if size > max_model_bytes:
        limit = f"{max_model_bytes / 1e6:.0f} MB ([query] max_model_mb)"
        return f"its model is {size / 1e6:.0f} MB, over the limit of {limit}"
    return replace(base, model=path)


def _text_model(spec: NetworkSpec, weights: Path | None, cache_dir: Path, max_bytes: int) -> Path | str:
    """The network's int8 text tower, made in the model child where this cache has none, or why it cannot be
    offered (its fp32 export stays in the cache beside it, as an image model's does)."""
    if not all(importlib.util.find_spec(m) for m in ("open_clip", "ftfy")):
        return "its tokenizer's tables come from open_clip and ftfy, not installed here (pip install 'vsis[modern]')"
    path = text_onnx_path(spec, weights, cache_dir, "int8")
    if not path.is_file():
        try:
            make_models(spec, weights, text_onnx_path(spec, weights, cache_dir), path, text=True)
        except (VsisError, RuntimeError) as exc:
            return f"its text tower could not be exported ({str(exc).splitlines()[0]})"
    size = path.stat().st_size
    if size > max_bytes:
        return (f"its text tower is {size / 1e6:.0f} MB, over the limit of {max_bytes / 1e6:.0f} MB "
                "([query] max_text_model_mb)")  # fmt: skip
    return path

"""Which networks a visitor's browser can run for search by image (query.html), and their model files.

A network qualifies when the page can reproduce its preprocessing (its `recipe`, which
static/query-preprocess.js follows) and either needs no model (the pixel baseline: the preprocessed image is
the feature) or has an exported fp32 ONNX model no larger than the limit. The model is the one the ONNX
Runtime backend already uses (model_files.onnx_path), made in a child process when this build did not need
it (a torch build), cut to its features (a tagging network's head stays behind:
model_files.features_model); a model over the limit is not offered, and the reason is said, because every
visitor would download it before their first search.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from builder.errors import VsisError
from builder.features.networks import configured
from builder.features.runtime.model_files import features_model, onnx_path


@dataclass(frozen=True)
class BrowserNetwork:
    """What query.js needs of one network: how to preprocess, whether a model runs, and which."""

    name: str
    kind: str  # "model": run `model` on the preprocessed input; "input": the preprocessed input is the feature
    dim: int
    recipe: dict[str, object]  # the preprocessing, as static/query-preprocess.js reads it
    input_shape: tuple[int, ...]
    model: Path | None = None  # the fp32 ONNX model file (kind "model")

    @property
    def model_bytes(self) -> int:
        return self.model.stat().st_size if self.model is not None else 0


def browser_networks(
    names: tuple[str, ...],
    weights: dict[str, Path],
    cache_dir: Path,
    max_model_bytes: int,
    framing: str = "crop",
    pooling: str = "avg",
) -> tuple[list[BrowserNetwork], list[str]]:
    """The networks of `names` that a browser can run, in that order, and a sentence for each that cannot;
    each as the build's framing and pooling make it (registry.configured), as its features were made."""
    offered: list[BrowserNetwork] = []
    refused: list[str] = []
    for name in names:
        spec = configured(name, framing, pooling)
        recipe = getattr(spec.preprocess, "recipe", None)
        if not spec.browser or recipe is None:
            refused.append(f"{name}: its preprocessing cannot be reproduced in a browser")
            continue
        base = BrowserNetwork(name, spec.browser, spec.dim, recipe(), spec.preprocess.input_shape)
        if spec.browser == "input":
            offered.append(base)
            continue
        path = onnx_path(spec, weights.get(name), cache_dir)
        if not path.is_file():
            from builder.features.runtime.model_worker import make_models  # a child process: see model_worker.py

            try:
                make_models(spec, weights.get(name), path)
            except (VsisError, RuntimeError) as exc:  # the site is built without it: the page says why
                refused.append(f"{name}: its model could not be exported ({str(exc).splitlines()[0]})")
                continue
        # a head is at most half of a declared network's model (squeezenet1_1's: 2.0 of 4.9 MB): a model twice
        # the limit cannot fit without it, and is not cut (vgg16's is 553 MB)
        if path.stat().st_size <= 2 * max_model_bytes:
            path = features_model(spec, path)
        size = path.stat().st_size
        if size > max_model_bytes:
            refused.append(
                f"{name}: its model is {size / 1e6:.0f} MB, over the limit of {max_model_bytes / 1e6:.0f} MB "
                "([query] max_model_mb)"
            )
            continue
        offered.append(BrowserNetwork(name, spec.browser, spec.dim, recipe(), spec.preprocess.input_shape, path))
    return offered, refused

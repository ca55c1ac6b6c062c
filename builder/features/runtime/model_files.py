"""The model files of a network and the keys of its features: where an exported ONNX model lies, and the
export itself (which needs PyTorch and the weights, and so runs in the model child: model_worker.py).

Exported models are cached under <cache_dir>/models/, keyed like the features (network, weights,
preprocessing, layer, precision; int8 also by the CPU's class of integer kernels), so a network is exported
once per configuration.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from builder.cache import CacheLayout, atomic_path
from builder.errors import ConfigError
from builder.features.networks.registry import NetworkSpec
from builder.features.runtime.cpu import CpuFeatures, cpu_features

OPSET = 18  # the least the dynamo exporter writes
# How a model is exported, in its file's name: raised whenever the export writes other bytes (another exporter,
# other settings, other clean-up), so that a cached model made the old way is never taken for the new one
EXPORT = "dynamo2"  # 2: a tagging network's model also hands out its top classes
OUTPUTS = ("features", "tag_probabilities", "tag_classes")  # the model's outputs; the last two where it tags


def feature_key(spec: NetworkSpec, weights_file: Path | None, precision: str, cpu: CpuFeatures | None = None,
                backend: str = "") -> str:  # fmt: skip
    """The feature cache key: fp32 features are shared by every backend; a reduced precision has its own,
    int8 one per class of integer kernels (`cpu`, default this machine's; ONNX Runtime's is the key its model
    file is named by, OpenVINO's adds its bf16 kernels too: AMX's tiles run int8 as well), bf16 one per
    backend (PyTorch's keeps the plain key it always had). A network without a model (the pixel baseline) has
    no precision."""
    key = spec.cache_key(weights_file)
    if precision == "fp32" or spec.direct is not None:
        return key
    if precision == "int8":
        cpu = cpu or cpu_features()
        return f"{key}-int8-{cpu.int8_kernel}" + (f"-openvino-{cpu.bf16_kernel}" if backend == "openvino" else "")
    return f"{key}-{precision}" + (f"-{backend}" if backend not in ("", "auto", "torch") else "")


def onnx_path(
    spec: NetworkSpec,
    weights_file: Path | None,
    cache_dir: Path,
    precision: str = "fp32",
    cpu: CpuFeatures | None = None,
) -> Path:
    return CacheLayout(cache_dir).model(f"{feature_key(spec, weights_file, precision, cpu)}-opset{OPSET}-{EXPORT}.onnx")


def export_onnx(spec: NetworkSpec, weights_file: Path | None, path: Path) -> Path:
    """Export the network's module with a dynamic batch axis: its features, and where it tags its top
    classes (`OUTPUTS`); written atomically."""
    import torch

    if spec.build_module is None:
        raise ConfigError(f"{spec.name}: not a torch network, nothing to export")
    module = spec.build_module(weights_file).eval()
    # two images: torch.export takes a dimension of size 1 for a constant, and the batch must stay free
    dummy = torch.zeros((2, *spec.preprocess.input_shape), dtype=torch.float32)
    outputs = OUTPUTS if spec.tags else OUTPUTS[:1]
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on its passes
        torch.onnx.export(
            module,
            (dummy,),
            str(tmp),
            dynamo=True,  # torch.export's exporter, the one PyTorch keeps (the TorchScript one is deprecated)
            external_data=False,  # one file: the page loads the model as one script
            verbose=False,  # its progress lines would go to the model child's stdout
            opset_version=OPSET,
            input_names=["input"],
            output_names=list(outputs),
            dynamic_axes={"input": {0: "batch"}, **{name: {0: "batch"} for name in outputs}},
        )
        _strip_provenance(tmp)
    return path


TEXT_EXPORT = "text2"  # how a text tower is exported and made int8 (weight_only.py), in its files' names


def text_onnx_path(spec: NetworkSpec, weights_file: Path | None, cache_dir: Path, precision: str = "fp32") -> Path:
    """Where `spec`'s exported text tower lies: fp32, or "int8" (weights in 8 bits: weight_only.py)."""
    return CacheLayout(cache_dir).model(
        f"{spec.text_key(weights_file)}-text-{precision}-opset{OPSET}-{TEXT_EXPORT}.onnx"
    )


def export_text_onnx(spec: NetworkSpec, weights_file: Path | None, path: Path) -> Path:
    """Export the network's text tower (token ids in, unit-length embeddings out) with a dynamic batch axis;
    written atomically, as export_onnx writes an image model."""
    import torch

    if spec.text is None:
        raise ConfigError(f"{spec.name}: has no text tower")
    module = spec.text(weights_file).eval()
    dummy = torch.zeros((2, 77), dtype=torch.int64)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (dummy,),
            str(tmp),
            dynamo=True,
            external_data=False,
            verbose=False,
            opset_version=OPSET,
            input_names=["tokens"],
            output_names=["text_features"],  # not "embedding": a node of the tower's graph is named so
            dynamic_axes={"tokens": {0: "batch"}, "text_features": {0: "batch"}},
        )
        _strip_provenance(tmp)
    return path


def features_model(spec: NetworkSpec, path: Path) -> Path:
    """`spec`'s exported model at `path` cut to its features output, for the query page: a visitor's browser
    computes the features of their image, never its tags, and a tagging network's head (efficientnet_lite0's:
    5.1 of its 18.6 MB) would only add to what every visitor downloads. Made once beside the model
    (atomically); a model without tags is itself."""
    import onnx.utils

    if not spec.tags:
        return path
    cut = path.with_name(f"{path.stem}-features{path.suffix}")
    if not cut.is_file():
        with atomic_path(cut) as tmp:
            onnx.utils.extract_model(str(path), str(tmp), ["input"], [OUTPUTS[0]])
            _strip_provenance(tmp)
    return cut


def _strip_provenance(path: Path) -> None:
    """Drop what the dynamo exporter records of where each operation came from (stack traces with this
    machine's source paths, module names, rewrite rules: 0.15 MB for efficientnet_lite0, shipped to every
    visitor of the query page): the model is then the same bytes on every machine, and smaller."""
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    del model.metadata_props[:], graph.metadata_props[:]
    for part in (*graph.node, *graph.value_info, *graph.input, *graph.output, *graph.initializer):
        del part.metadata_props[:]
    onnx.save(model, str(path))

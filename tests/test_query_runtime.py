"""onnxruntime-web for the query page: the vendored files are the pinned ones (scripts/vendor_onnxruntime.py),
a site gets them in the form a page loads from file:// (builder/query/runtime.py), and static/ort-loader.js
runs a model in headless Chromium over http (under a sub-path) and from file://, as Python's onnxruntime does,
with no request leaving the site."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pytest

from builder.errors import VsisError
from builder.features.runtime.model_files import OPSET
from builder.query.runtime import (
    CHECKSUMS,
    MODULE,
    RUNTIME,
    SITE_DIR,
    WASM,
    check_vendored,
    runtime_files,
    vendor_dir,
    write_runtime,
)
from builder.site import scripts

from .browser import Watched, served

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "vendor_onnxruntime.py"
TOLERANCE = 1e-4  # max abs difference between the page's output and Python onnxruntime's


# ---- the vendored files ----


def test_the_committed_runtime_passes_the_vendoring_scripts_check() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "onnxruntime-web 1.30.0" in done.stdout
    assert check_vendored(vendor_dir()) == []
    # the wasm CPU build only: no WebGPU, WebGL, JSEP, JSPI or asyncify variant
    assert sorted(p.name for p in vendor_dir().iterdir()) == sorted(
        [CHECKSUMS, "LICENSE", "README.md", RUNTIME, MODULE, WASM]
    )


def test_the_check_fails_on_a_modified_copy(tmp_path: Path) -> None:
    copy = tmp_path / "onnxruntime-web"
    shutil.copytree(vendor_dir(), copy)
    wasm = bytearray((copy / WASM).read_bytes())
    wasm[len(wasm) // 2] ^= 1
    (copy / WASM).write_bytes(bytes(wasm))
    done = subprocess.run([sys.executable, str(SCRIPT), "--check", "--dir", str(copy)], capture_output=True, text=True)
    assert done.returncode == 1
    assert f"{WASM}: sha256 differs" in done.stderr

    (copy / WASM).write_bytes((vendor_dir() / WASM).read_bytes())
    assert check_vendored(copy) == []
    (copy / "ort-wasm-simd-threaded.jsep.wasm").write_bytes(b"\0asm")  # a variant nobody checked
    (copy / MODULE).unlink()
    assert check_vendored(copy) == [f"{MODULE}: missing", f"ort-wasm-simd-threaded.jsep.wasm: not in {CHECKSUMS}"]


# ---- what a site gets ----


def test_a_site_gets_the_runtime_as_classic_scripts_holding_the_vendored_bytes(tmp_path: Path) -> None:
    files = runtime_files()
    folder = vendor_dir()
    assert sorted(files) == sorted(f"{SITE_DIR}/{name}" for name in (RUNTIME, f"{MODULE}.js", f"{WASM}.js", "LICENSE"))
    assert files[f"{SITE_DIR}/{RUNTIME}"] == (folder / RUNTIME).read_bytes()

    def value(rel: str, name: str) -> str:
        text = files[rel].decode("ascii")
        prefix = f"window.{name} = "
        assert text.startswith(prefix) and text.endswith(";\n")
        return json.loads(text[len(prefix) : -2])

    assert value(f"{SITE_DIR}/{MODULE}.js", "VSIS_ORT_MJS") == (folder / MODULE).read_text(encoding="utf-8")
    packed = base64.b64decode(value(f"{SITE_DIR}/{WASM}.js", "VSIS_ORT_WASM_GZ"))
    assert gzip.decompress(packed) == (folder / WASM).read_bytes()
    assert runtime_files() == files  # the same bytes every build

    sizes = write_runtime(tmp_path / "site")
    assert sizes == {rel: len(data) for rel, data in files.items()}
    assert all((tmp_path / "site" / rel).read_bytes() == data for rel, data in files.items())
    # the .wasm travels gzipped: 4.9 MB of script where plain base64 would be 19 MB
    assert sizes[f"{SITE_DIR}/{WASM}.js"] < 0.4 * (folder / WASM).stat().st_size


def test_a_site_never_gets_a_runtime_that_fails_its_checksums(tmp_path: Path) -> None:
    copy = tmp_path / "onnxruntime-web"
    shutil.copytree(vendor_dir(), copy)
    (copy / RUNTIME).write_text("var ort = {};\n")
    with pytest.raises(VsisError, match=f"{RUNTIME}: sha256 differs"):
        runtime_files(copy)


# ---- in headless Chromium ----


def tiny_model() -> bytes:
    """A small convolutional network with random weights: conv 3x3, relu, global pooling, a linear layer
    (the operators of an image network's features), with a dynamic batch axis like the builder's exports."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = {
        "conv_w": rng.standard_normal((8, 3, 3, 3)).astype(np.float32),
        "conv_b": rng.standard_normal(8).astype(np.float32),
        "fc_w": rng.standard_normal((5, 8)).astype(np.float32),
        "fc_b": rng.standard_normal(5).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["input", "conv_w", "conv_b"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["features"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 16, 16])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 5])],
        [numpy_helper.from_array(w, name) for name, w in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 10  # what the builder's exports carry (torch.onnx's dynamo exporter, opset 18)
    onnx.checker.check_model(model)
    return model.SerializeToString()


TEST_PAGE = """<!doctype html>
<meta charset="utf-8">
<title>onnxruntime-web test</title>
<link rel="icon" href="data:,">
<script src="static/ort-loader.js"></script>
<script src="model.js"></script>
<script>
// infer(input, dims, times): the model's output for `input`, and the milliseconds of each of `times` runs
window.infer = async function (input, dims, times) {
  const t0 = performance.now();
  await vsisOrt.load();
  const t1 = performance.now();
  const session = await vsisOrt.createSession(Uint8Array.fromBase64(window.TEST_MODEL));
  const t2 = performance.now();
  const x = new Float32Array(input);
  let output = await vsisOrt.run(session, x, dims);
  const ms = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    output = await vsisOrt.run(session, x, dims);
    ms.push(performance.now() - t0);
  }
  await vsisOrt.load();  // idempotent: nothing loaded twice (the test counts the requests)
  return {
    output: Array.from(output), ms: ms, loadMs: t1 - t0, sessionMs: t2 - t1,
    threads: ort.env.wasm.numThreads, wasm: ort.env.versions.web,
  };
};
</script>
"""


def write_test_site(site: Path, model: bytes) -> Path:
    """A site folder as the builder lays it out: the runtime (query/runtime.py), static/ort-loader.js with the
    shared decoder it uses (shards.js), a page, and the model in a classic script (file:// refuses fetch())."""
    write_runtime(site)
    (site / "static").mkdir(parents=True, exist_ok=True)
    (site / "static" / "ort-loader.js").write_text(scripts.join(("shards.js", "ort-loader.js")), encoding="utf-8")
    encoded = base64.b64encode(model).decode("ascii")
    (site / "model.js").write_text(f"window.TEST_MODEL = {json.dumps(encoded)};\n", encoding="ascii")
    (site / "index.html").write_text(TEST_PAGE, encoding="utf-8")
    return site


def python_output(model: bytes, x: np.ndarray) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def infer_in_page(browser, site: Path, protocol: str, x: np.ndarray, times: int = 0) -> dict:
    """Open the site's page over `protocol` (http: its parent served, the site a sub-path), run the model on
    x; check no console error, no request outside the site, and only the site's scripts requested."""
    with served(site.parent) if protocol == "http" else nullcontext("") as root:
        base = root + site.name + "/" if protocol == "http" else site.as_uri() + "/"
        page = browser.new_page()
        watched = Watched(page, base)
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        try:
            page.goto(base + "index.html")
            args = [x.ravel().tolist(), list(x.shape), times]
            result = page.evaluate("([x, dims, times]) => infer(x, dims, times)", args)
        finally:
            page.close()
    assert watched.errors == []
    assert watched.outside == []
    runtime = [f"{SITE_DIR}/{RUNTIME}", f"{SITE_DIR}/{MODULE}.js", f"{SITE_DIR}/{WASM}.js"]
    expected = ["index.html", "static/ort-loader.js", "model.js", *runtime]  # no .wasm, no .mjs: no fetch, no import
    assert sorted(u[len(base) :] for u in requested) == sorted(expected)
    assert result["threads"] == 1 and result["wasm"] == "1.30.0"
    return result


@pytest.fixture(scope="module")
def tiny_site(tmp_path_factory) -> tuple[Path, bytes]:
    model = tiny_model()
    return write_test_site(tmp_path_factory.mktemp("tiny") / "www" / "vsis", model), model


@pytest.mark.parametrize("protocol", ["http", "file"])
def test_a_model_runs_in_the_page_as_in_python(browser, tiny_site, protocol: str) -> None:
    site, model = tiny_site
    x = np.random.default_rng(1).standard_normal((2, 3, 16, 16)).astype(np.float32)
    expected = python_output(model, x)
    result = infer_in_page(browser, site, protocol, x)
    got = np.asarray(result["output"], dtype=np.float32).reshape(expected.shape)
    assert np.abs(got - expected).max() <= TOLERANCE
    assert np.abs(expected).max() > 0.1  # a real output, not zeros on both sides


@pytest.fixture(scope="module")
def efficientnet_model(tmp_path_factory) -> bytes:
    pytest.importorskip("torch")
    from builder.features.networks import get
    from builder.features.runtime.model_files import export_onnx

    spec = get("efficientnet_lite0")
    available, why = spec.weights.available()
    if not available:
        pytest.skip(f"efficientnet_lite0's weights: {why}")
    return export_onnx(spec, None, tmp_path_factory.mktemp("model") / "efficientnet_lite0.onnx").read_bytes()


@pytest.mark.parametrize("protocol", ["http", "file"])
def test_efficientnet_lite0_runs_in_the_page_as_in_python(browser, efficientnet_model, tmp_path, protocol) -> None:
    site = write_test_site(tmp_path / "www" / "vsis", efficientnet_model)
    x = np.random.default_rng(2).standard_normal((1, 3, 224, 224)).astype(np.float32)
    expected = python_output(efficientnet_model, x)
    start = time.perf_counter()
    result = infer_in_page(browser, site, protocol, x, times=5)
    got = np.asarray(result["output"], dtype=np.float32).reshape(expected.shape)
    diff = float(np.abs(got - expected).max())
    print(
        f"efficientnet_lite0 over {protocol}: max abs diff {diff:.2e} (features up to {np.abs(expected).max():.2f}),"
        f" {np.median(result['ms']):.0f} ms an inference (median of {len(result['ms'])}, single thread);"
        f" runtime loaded in {result['loadMs']:.0f} ms, session in {result['sessionMs']:.0f} ms;"
        f" {time.perf_counter() - start:.1f} s in all"
    )
    assert expected.shape == (1, 1280)
    assert diff <= TOLERANCE

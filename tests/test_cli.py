"""The command line as a user runs it: real subprocesses of the installed `vsis` script."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO, write_collection

VSIS = shutil.which("vsis", path=str(Path(sys.executable).parent))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([VSIS, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_build_from_a_config_file_with_flag_overrides(tmp_path: Path) -> None:
    write_collection(tmp_path / "pics", {"a": 3, "b": 3})
    (tmp_path / "vsis.toml").write_text('collection = "pics"\nnetworks = ["pixels"]\nk = 4\nout = "www"\n')
    done = run("build", "--config", "vsis.toml", "--k", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Built 6 items x 1 networks" in done.stdout
    assert (tmp_path / "www" / "index.html").is_file()
    assert len(list((tmp_path / "www" / "compare").glob("*.html"))) == 6
    assert "their 2 most similar images" in (tmp_path / "www" / "index.html").read_text()


def test_failure_is_one_line_and_non_zero(tmp_path: Path) -> None:
    done = run("build", str(tmp_path / "nowhere"), "--networks", "pixels", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"error: {tmp_path / 'nowhere'}: collection folder not found"
    assert "Traceback" not in done.stderr
    (tmp_path / "vsis.toml").write_text("bogus = 1\n")
    done = run("build", "--config", "vsis.toml", cwd=tmp_path)
    assert done.returncode == 1 and "unknown key 'bogus'" in done.stderr


def test_the_ray_engine_without_ray_installed_is_one_line_naming_the_extra(tmp_path: Path) -> None:
    """Run where `import ray` fails (a None in sys.modules, as Python treats a module it must not import)."""
    write_collection(tmp_path / "images", {"": 3})
    script = (
        "import sys\nsys.modules['ray'] = None\nfrom builder.cli import app\n"
        f"sys.argv = ['vsis', 'build', {str(tmp_path / 'images')!r}, '--networks', 'pixels', '--no-experiment', "
        "'--engine', 'ray']\napp()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "error: --engine ray needs Ray, which is not installed: pip install 'vsis[ray]'"
    )


def test_networks_lists_every_network_with_its_dimension(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    done = run("networks", cwd=tmp_path)
    assert done.returncode == 0
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert "1280-d  available" in lines["efficientnet_lite0"]
    assert "4096-d  missing" in lines["vgg16"]
    assert str(tmp_path / "empty" / "hub" / "checkpoints" / "vgg16-397923af.pth") in lines["vgg16"]
    assert {"resnet152", "densenet201", "densenet121", "squeezenet1_1", "pixels"} <= set(lines)


def test_networks_says_what_each_precision_will_be_on_this_cpu(tmp_path: Path) -> None:
    from builder.features.runtime.auto_precision import auto_outlook
    from builder.features.runtime.backends import precision_outlook
    from builder.features.runtime.cpu import cpu_features

    done = run("networks", cwd=tmp_path)
    assert done.returncode == 0
    tail = done.stdout.split("\n\n", 1)[1].splitlines()
    assert tail[0] == f"CPU {cpu_features().summary()}"
    assert tail[1:4] == [f"  {precision}: {outlook}" for precision, outlook in precision_outlook()]
    heads = [line.split(":")[0].split(" (")[0].strip() for line in tail[1:]]
    assert heads == ["fp32", "bf16", "int8", "auto", "not measured yet here"]
    assert tail[4] == f"  auto: {auto_outlook('auto')}"
    waiting = tail[5].split(": ", 1)[1].split(", ")  # nothing was chosen in an empty folder's cache
    assert "efficientnet_lite0" in waiting and "vgg16" in waiting and "pixels" not in waiting


def test_the_wheel_carries_templates_and_static_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("vsis-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for template in (REPO / "templates").iterdir():
        assert f"builder/templates/{template.name}" in names
    for asset in (p for p in (REPO / "static").rglob("*") if p.is_file()):  # the vendored runtime too
        assert f"builder/static/{asset.relative_to(REPO / 'static').as_posix()}" in names
    assert "builder/static/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm" in names
    assert "builder/features/networks/registry.py" in names


def test_serve_previews_a_built_site_on_localhost(tmp_path: Path) -> None:
    import socket
    import time
    import urllib.request

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>hello</h1>")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [VSIS, "serve", str(site), "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
                body = opener.open(f"http://127.0.0.1:{port}/index.html", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert body == b"<h1>hello</h1>"
    finally:
        server.terminate()
        server.wait(timeout=10)
    done = run("serve", str(tmp_path / "nothing"), cwd=tmp_path)
    assert done.returncode == 1 and "run `vsis build` first" in done.stderr

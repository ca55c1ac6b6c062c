"""Shared fixtures: small generated collections of real image files."""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "samples" / "openclipart"


def features_only(out: np.ndarray | tuple[np.ndarray, ...]) -> np.ndarray:
    """An extractor's features, without a tagging network's top classes (registry.Extractor)."""
    return out[0] if isinstance(out, tuple) else out


def drawing(seed: int, size: int = 96) -> Image.Image:
    """A deterministic picture: a coloured background with a few shapes, different for every seed."""
    rng = np.random.default_rng(seed)
    r, g, b = (int(255 * c) for c in colorsys.hsv_to_rgb(rng.random(), 0.6, 0.9))
    im = Image.new("RGB", (size, size), (r, g, b))
    draw = ImageDraw.Draw(im)
    for _ in range(4):
        x0, y0 = rng.integers(0, size - 20, 2)
        x1, y1 = x0 + rng.integers(10, 40), y0 + rng.integers(10, 40)
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([int(x0), int(y0), int(x1), int(y1)], fill=colour)
    return im


def write_collection(root: Path, layout: dict[str, int], start_seed: int = 0) -> list[Path]:
    """Write `count` PNG drawings into each folder of `layout` ('' is the root); return the paths."""
    paths = []
    seed = start_seed
    for folder, count in layout.items():
        for _ in range(count):
            path = root / folder / f"img_{seed:03d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            drawing(seed).save(path)
            paths.append(path)
            seed += 1
    return paths


@pytest.fixture
def small_collection(tmp_path: Path) -> Path:
    root = tmp_path / "collection"
    write_collection(root, {"red": 4, "blue": 4, "green": 4})
    return root


@pytest.fixture
def unfaithful_bf16(monkeypatch) -> None:
    """PyTorch bf16 made unfaithful on purpose: each batch's features handed out in reverse order (another
    image's), which its check against fp32 must refuse. fp32 is left as it is."""
    from builder.features.runtime import torch_runtime

    real = torch_runtime.TorchExtractor.__call__

    def sabotaged(self, batch: np.ndarray):  # type: ignore[no-untyped-def]
        out = real(self, batch)
        return (out[0][::-1].copy(), *out[1:]) if self.bf16 else out

    monkeypatch.setattr(torch_runtime.TorchExtractor, "__call__", sabotaged)


def build_in_fresh_process(**config: object) -> tuple[int, bool]:
    """Run a build with these make_config arguments in a new Python process; return how many images it
    extracted (all networks) and whether that process imported torch."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from pathlib import PosixPath\n"
        "from builder.build import build\n"
        "from builder.config import make_config\n"
        f"result = build(make_config(**{config!r}))\n"
        "print(sum(n.extracted for n in result.networks), 'torch' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    extracted, imported = done.stdout.split()
    return int(extracted), imported == "True"


# ---- the bundled sample in headless Chromium (test_browser.py, test_map.py) ----


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory) -> Path:
    """The bundled sample, built once for the session as `make site` builds it, under www/vsis/ (a project
    sub-path); the browser tests only read it."""

    from builder.build import build
    from builder.config import make_config

    tmp = tmp_path_factory.mktemp("sample")
    config = make_config(REPO / "vsis.toml")
    config = config.updated(out=tmp / "www" / "vsis", cache_dir=tmp / "cache").validate()
    build(config)
    return config.out


@pytest.fixture(scope="session")
def browser():
    from .browser import launched

    with launched() as b:
        yield b


@pytest.fixture(scope="session")
def http_base(sample_site: Path):
    from .browser import served

    with served(sample_site.parent) as root:
        yield root + "vsis/"


@pytest.fixture(params=["http", "file"])
def site(request, sample_site: Path, browser):
    """(watched page, base URL of the site); after the test: no errors and nothing fetched from elsewhere."""
    from .browser import Watched

    base = request.getfixturevalue("http_base") if request.param == "http" else sample_site.as_uri() + "/"
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watched = Watched(page, base)
    yield watched, base
    page.close()
    assert watched.errors == []
    assert watched.outside == []


# Markers (pyproject.toml registers them), set here from what a test uses, so that none is forgotten:
# `pytest -m "not browser and not ray and not slow"` is the quick loop; `make test` runs everything.
_BROWSER_FIXTURES = {"browser", "site", "http_base"}
_RAY_FIXTURES = {"local_ray"}
_SLOW_FIXTURES = {"sample_site"}  # builds the sample collection with its network (about 40 s)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & _BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
        if used & _RAY_FIXTURES:
            item.add_marker(pytest.mark.ray)
        if used & (_SLOW_FIXTURES | _BROWSER_FIXTURES | _RAY_FIXTURES):
            item.add_marker(pytest.mark.slow)

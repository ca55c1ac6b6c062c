"""The site: page models (defined here, filled in by pages.py) -> Jinja2 templates -> a folder of files.

Every number is computed in Python before rendering; templates only lay it out and the explorer's
script only shows the data the builder wrote. `render` writes into an empty folder; publish.py swaps that
folder in as the site.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .cache import with_filename
from .charts import LineChart
from .evaluate import MeanStd
from .explorer_data import explorer_files
from .perturb import Profile
from .resources import static_dir, templates_dir

@dataclass
class PageItem:
    """One image as the pages show it."""

    id: str
    title: str
    artist: str
    date: str
    medium: str
    dimensions: str
    url: str  # empty unless http(s): nothing else is ever made a link
    category: str
    relpath: str
    extra: list[tuple[str, str]]
    thumb: str  # path relative to the site root
    page_id: str = ""  # whose compare page this item links to: itself, or a copy's original

    @property
    def page(self) -> str:
        return f"compare/{self.page_id or self.id}.html"


@dataclass
class PageNeighbour:
    item: PageItem
    index: int  # position of `item` in its dataset's items
    score: float


@dataclass
class PageNetwork:
    name: str
    dim: int
    layer: str
    description: str
    weights: str
    annoy_recall: float
    neighbours: list[list[PageNeighbour]]  # row per item, in the order of SiteModel.items
    precision: str = "fp32"  # what it ran in
    precision_note: str = ""  # why that is not the precision asked for


@dataclass
class Dataset:
    """A set of images the explorer can show: every item may appear as a neighbour; the items listed in
    `queries` (all, when None) have neighbour rows, aligned with `queries`."""

    name: str
    label: str
    items: list[PageItem]
    networks: list[tuple[str, list[list[PageNeighbour]]]]
    queries: list[int] | None = None
    profile_of: dict[int, str] = field(default_factory=dict)  # item index -> profile label (copies)
    owner_of: dict[int, int] = field(default_factory=dict)  # item index -> its original's index


@dataclass
class RecoveryRow:
    network: str
    k: int
    precision: MeanStd
    recall: MeanStd
    f1: MeanStd
    versus_baseline: str  # "better", "worse", "equal", or "" for the baseline itself / no baseline


@dataclass
class ExperimentPage:
    originals: int
    indexed: int
    profiles: list[Profile]
    ks: list[int]
    examples: list[tuple[PageItem, list[tuple[str, str]]]]  # original, [(profile label, thumb path)]
    recovery: list[RecoveryRow]
    ideal: list[tuple[int, float, float, float]]  # (k, best possible precision, recall, f1)
    per_profile: list[tuple[str, list[float]]]  # (network, share per (profile, k) in profile_columns order)
    profile_columns: list[tuple[str, int]]
    category: list[tuple[str, list[float | None]]]  # (network, category precision per k)
    agreement: list[tuple[str, str, float]]
    agreement_k: int
    charts: list[LineChart]
    baseline: str
    metrics: dict[str, object]  # what experiments/metrics.json holds


@dataclass
class SiteModel:
    title: str
    items: list[PageItem]
    networks: list[PageNetwork]
    k: int
    categories: list[str]
    skipped: list[tuple[str, str]]
    manifest: dict[str, object]
    extra_files: dict[str, Path] = field(default_factory=dict)  # site path -> source file (thumbnails)
    datasets: list[Dataset] = field(default_factory=list)
    experiment: ExperimentPage | None = None


def safe_url(url: str) -> str:
    """The URL if it is http(s) with a host; otherwise empty, so `javascript:` and friends never become links."""
    parsed = urlparse(url.strip())
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else ""


def metrics_csv(ex: ExperimentPage) -> str:
    """One row per network and k: the recovery metrics, mean and standard deviation."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["network", "k", "precision_mean", "precision_std", "recall_mean", "recall_std", "f1_mean",
                     "f1_std", "originals", "profiles"])
    for r in ex.recovery:
        writer.writerow([r.network, r.k, *(f"{v:.6f}" for m in (r.precision, r.recall, r.f1) for v in (m.mean, m.std)),
                         ex.originals, len(ex.profiles)])
    return buf.getvalue()


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pct"] = lambda v: f"{v * 100:.1f}%"
    env.filters["score"] = lambda v: f"{v:.3f}"
    env.filters["pm"] = lambda m: f"{m.mean:.3f} ± {m.std:.3f}"
    return env


def compare_rows(networks: list[PageNetwork], n: int) -> list[tuple[PageNetwork, list[tuple[PageNeighbour, int]]]]:
    """Item n's neighbours by each network, each with how many of the networks found it."""
    found = Counter(nb.item.id for net in networks for nb in net.neighbours[n])
    return [(net, [(nb, found[nb.item.id]) for nb in net.neighbours[n]]) for net in networks]


def render(model: SiteModel, root: Path, on_page: Callable[[], None] | None = None) -> int:
    """Write every page and asset of the site under `root` (an empty folder); return the page count."""
    env = _environment()
    pages = 0

    def write(rel: str, text: str) -> None:
        nonlocal pages
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise with_filename(exc, path) from None
        if rel.endswith(".html"):
            pages += 1
            if on_page:
                on_page()

    common = {"site": model, "root": ""}
    write("index.html", env.get_template("index.html").render(**common, page="index"))
    write("explore.html", env.get_template("explore.html").render(**common, page="explore"))
    write("images.html", env.get_template("images.html").render(**common, page="images"))
    compare = env.get_template("compare.html")
    for n, item in enumerate(model.items):
        write(item.page, compare.render(site=model, root="../", page="compare", item=item,
                                        rows=compare_rows(model.networks, n)))

    if model.experiment is not None:
        write("experiments/index.html", env.get_template("experiment.html").render(
            site=model, root="../", page="experiment", ex=model.experiment))
        write("experiments/metrics.json", json.dumps(model.experiment.metrics, indent=2, sort_keys=True) + "\n")
        write("experiments/metrics.csv", metrics_csv(model.experiment))
    for rel, text in sorted(explorer_files(model).items()):
        write(rel, text)
    write("data/manifest.json", json.dumps(model.manifest, indent=2, sort_keys=True) + "\n")
    shutil.copytree(static_dir(), root / "static")
    for rel, source in sorted(model.extra_files.items()):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / rel)
    (root / ".nojekyll").write_text("")
    return pages

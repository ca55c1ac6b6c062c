"""The site: page models (defined here, filled in by pages.py) -> Jinja2 templates -> a folder of files.

Every number is computed in Python before rendering; templates only lay it out and the explorer's
script only shows the data the builder wrote. The site is written to a temporary folder beside the target and swapped in
when complete, so an interrupted build leaves the previous site as it was. A folder is only ever replaced
if it is empty or carries the marker file of a site vsis built.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .charts import LineChart
from .errors import VsisError
from .evaluate import MeanStd
from .explorer_data import explorer_files
from .perturb import Profile
from .resources import static_dir, templates_dir

MARKER = ".vsis-site"


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
        path.write_text(text, encoding="utf-8")
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


def _replaceable(out: Path) -> bool:
    return not out.exists() or (out.is_dir() and (not any(out.iterdir()) or (out / MARKER).is_file()))


def fingerprint(model: SiteModel) -> str:
    """A digest of everything the site's bytes depend on: the page model (less the build time, which alone
    makes no new site), the templates and static files, and vsis' version."""
    from . import __version__

    h = hashlib.sha256(__version__.encode())
    timeless = {k: v for k, v in model.manifest.items() if k != "built_at"}
    # a thumbnail's cache path ends in its size and decoding, then its content key: those parts, not where
    # the cache lies, decide its bytes
    sources = {rel: Path(*src.parts[-3:]) for rel, src in model.extra_files.items()}
    h.update(json.dumps(_canonical(replace(model, manifest=timeless, extra_files=sources)), allow_nan=True).encode())
    for folder in (templates_dir(), static_dir()):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _canonical(value: object) -> object:
    """`value` as plain JSON data, the same for the same content in every process. Callables are left
    out: a perturbation profile's function is named by its name, version and description."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _canonical(getattr(value, f.name)) for f in fields(value) if not callable(getattr(value, f.name))}
    if isinstance(value, dict):
        return [[_canonical(k), _canonical(v)] for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"no canonical form for {type(value).__name__}")


def _published(out: Path) -> dict[str, str]:
    """The marker's fields of the site at `out` ({} when there is none)."""
    try:
        lines = (out / MARKER).read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def publish(model: SiteModel, out: Path, on_page: Callable[[], None] | None = None) -> int:
    """Render into a temporary folder beside `out`, then swap it in; when the site there was built from
    the same model, templates and version, leave it as it is. Returns the page count."""
    out = out.resolve()
    if not _replaceable(out):
        raise VsisError(
            f"{out}: exists and is not a site vsis built (no {MARKER} file); "
            "refusing to replace it: choose another --out or empty it"
        )
    digest = fingerprint(model)
    previous = _published(out)
    if previous.get("fingerprint") == digest and previous.get("pages", "").isdigit():
        return int(previous["pages"])
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in [*out.parent.glob(f".{out.name}.building-*"), *out.parent.glob(f".{out.name}.old-*")]:
        shutil.rmtree(stale, ignore_errors=True)  # left by a build that was killed; never the user's
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    try:
        pages = render(model, staging, on_page)
        (staging / MARKER).write_text(
            f"This folder was built by vsis and is replaced by the next build.\nfingerprint: {digest}\npages: {pages}\n"
        )
        os.chmod(staging, 0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "site")
            os.replace(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return pages

"""The map by facets over a large collection: how long recolouring, filtering and the time layout take.

    python bench/facets_map.py [--items 100000] [--runs 3] [--site /tmp/map-facets]  # --site: kept, reused

Generates N items with the five facets of bench/facets.py (its `records`: department, classification as the
category, nationality list-valued, medium, and dates as museums write them), a similarity layout of N points
around 60 seeded centres (no network: the layout's shape does not change what a colouring costs), and writes
the site's map with the real writers: the explorer's data files with the facet files (site/explorer_data.py,
site/facet_data.py), the map's (map/data.py, with the colourings and the time layout of map/model.py and
map/timeline.py), map.html and the joined page scripts. Served on 127.0.0.1 and opened in headless Chromium
(the system binary; the renderer map-points.js chooses, the canvas where WebGL is drawn in software).

Reported, as medians of --runs fresh pages, milliseconds from the action until the view is drawn with it
(map.js sets data-shown to the view's address in the frame after it is drawn): the map coloured by a facet for
the first time (its membership file loaded and decoded), by another, and by the first again (its codes
kept); a legend entry clicked (the filter's first use: the facets' files loaded), a second entry; the time
layout chosen (its files loaded, then the points moved over 600 ms) and the frames drawn while they move.
Also the first draw and the time layout's bytes. Writes bench/results/facets_map.json with the CPU's flags.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

NETWORK = "network"


def points(n: int, seed: int = 3) -> np.ndarray:
    """n grid points around 60 centres, as a similarity layout's clusters lie."""
    from builder.map.embed import to_grid

    rng = np.random.default_rng(seed)
    centres = rng.uniform(-20, 20, (60, 2))
    return to_grid(centres[rng.integers(0, 60, n)] + rng.standard_normal((n, 2)))


def write_site(site: Path, n: int) -> dict[str, int]:
    """map.html with its data and the explorer's of n generated items; returns the map's data bytes by kind."""
    from facets import records
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from PIL import Image

    from builder.collect.collection import Item
    from builder.collect.facets import facets_of
    from builder.map.data import map_files
    from builder.map.model import map_page
    from builder.map.stage import NetworkLayout
    from builder.pagekit.item import PageItem
    from builder.resources import templates_dir
    from builder.site.explorer_data import explorer_files
    from builder.site.model import Dataset, PageNeighbour, PageNetwork, SiteModel
    from builder.site.scripts import write_static

    recs = records(n)
    items = [PageItem(id=f"{i:06d}", title=f"Work {i}", artist=f"Artist {i % 5000}", date=r["date"],
                      medium=r["medium"], dimensions="", url="", category=r["classification"], relpath=f"{i}.jpg",
                      extra=[], thumb=f"compare/{i:06d}.jpg")
             for i, r in enumerate(recs)]  # fmt: skip
    collected = [Item(id=p.id, path=Path(p.relpath), relpath=p.relpath, category=p.category, content_hash=p.id,
                      title=p.title, date=p.date, medium=p.medium,
                      extra={"department": r["department"], "nationality": r["nationality"]})
                 for p, r in zip(items, recs, strict=True)]  # fmt: skip
    facets = facets_of(collected, ("department", "category", "nationality", "medium", "date"))
    rows = [[PageNeighbour(items[(i + d) % n], (i + d) % n, 0.9 - 0.01 * d) for d in range(1, 4)] for i in range(n)]
    network = PageNetwork(NETWORK, 512, "pool", "generated", "random", 1.0, rows)
    dataset = Dataset("collection", "The collection", items, [(NETWORK, rows)])
    dataset.facets = facets
    model = SiteModel(title=f"{n} generated items", items=items, networks=[network], k=3, categories=[], skipped=[],
                      manifest={"vsis": "bench"}, datasets=[dataset])  # fmt: skip
    model.map = map_page(items, [NetworkLayout(NETWORK, points(n))], facets=facets)
    env = Environment(loader=FileSystemLoader(str(templates_dir())), autoescape=select_autoescape(["html"]))
    page = env.get_template("map.html").render(site=model, root="", page="map", map=model.map)
    site.mkdir(parents=True, exist_ok=True)
    (site / "map.html").write_text(page, encoding="utf-8")
    sizes: dict[str, int] = {}
    assert model.map is not None
    for rel, text in {**explorer_files(model), **map_files(model.map, items)}.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text, encoding="utf-8")
        if rel.startswith("data/map/"):
            kind = rel.split("/")[2]
            sizes[kind] = sizes.get(kind, 0) + len(text.encode("utf-8"))
    write_static(site / "static")
    (site / "compare").mkdir(exist_ok=True)
    Image.new("RGB", (224, 168), (200, 180, 150)).save(site / "compare" / "thumb.jpg")
    return sizes


# Milliseconds from an action to the view drawn with it: data-shown set to the view's address (map.js, in the
# frame after the one that draws it); and the frames drawn meanwhile
TIMED = """async ([kind, arg]) => {
  const root = document.documentElement, frames = window.VSIS_MAP_FRAMES || 0;
  const done = new Promise(resolve => {
    const seen = new MutationObserver(() => {
      if (root.dataset.shown !== location.hash || root.dataset.moving) return;
      seen.disconnect();
      resolve(performance.now());
    });
    seen.observe(root, {attributes: true, attributeFilter: ["data-shown", "data-moving"]});
  });
  const t0 = performance.now();
  if (kind === "select") {
    const s = document.getElementById(arg[0]);
    s.value = arg[1];
    s.dispatchEvent(new Event("change"));
  } else {
    document.querySelector(arg).click();
  }
  const t1 = await done;
  return {ms: t1 - t0, frames: (window.VSIS_MAP_FRAMES || 0) - frames};
}"""

ACTIONS = (
    ("colour_first_ms", "select", ("colour", "department")),  # its file loaded and decoded
    ("colour_second_facet_ms", "select", ("colour", "nationality")),
    ("colour_again_ms", "select", ("colour", "department")),  # its codes kept
    ("colour_category_ms", "select", ("colour", "category")),  # the first view's colours
    ("colour_repeat_ms", "select", ("colour", "department")),
    ("filter_first_ms", "click", "#legend li:nth-child(1) button"),  # every facet's file for the counts
    ("filter_second_ms", "click", "#legend li:nth-child(2) button"),
    ("time_layout_ms", "select", ("layout", "time")),  # its files, then 600 ms of motion
    ("similarity_layout_ms", "select", ("layout", "similarity")),
)


def measure(base: str, runs: int) -> dict[str, object]:
    from tests.browser import launched

    rows = []
    with launched() as browser:
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(base + "map.html")
            page.wait_for_selector("html[data-ready]", timeout=120_000)
            row: dict[str, object] = {"first_draw_ms": round(page.evaluate("window.VSIS_MAP_FIRST_DRAW_MS"), 1),
                                      "renderer": page.evaluate("VSIS_MAP_STATE.renderer().name")}  # fmt: skip
            for name, kind, arg in ACTIONS:
                got = page.evaluate(TIMED, [kind, arg])
                row[name] = round(got["ms"], 1)
                if name == "time_layout_ms":
                    row["time_layout_frames"] = got["frames"]
            row["unfaded"] = len(page.evaluate("VSIS_MAP_STATE.unfaded()"))
            rows.append(row)
            context.close()
    numeric = [k for k, v in rows[0].items() if isinstance(v, (int, float))]
    out: dict[str, object] = {k: round(statistics.median(float(r[k]) for r in rows), 1) for k in numeric}  # type: ignore[arg-type]
    out["renderer"] = rows[0]["renderer"]
    out["all"] = rows
    return out


def main() -> None:
    from common import machine
    from facets import cpu_flags

    from tests.browser import served

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--site", type=Path, help="write the site here (kept), or reuse the one there")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "facets_map.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vsis-facets-map-") as tmp:
        site = args.site or Path(tmp) / "site"
        sizes = json.loads((site / "sizes.json").read_text()) if (site / "sizes.json").is_file() else None
        if sizes is None:
            sizes = write_site(site, args.items)
            (site / "sizes.json").write_text(json.dumps(sizes))
        with served(site) as base:
            timings = measure(base, args.runs)
    result = {"items": args.items, "runs": args.runs, "machine": machine(), "cpu_flags": cpu_flags(),
              "map_data_bytes": sizes, "timings": timings}  # fmt: skip
    print(", ".join(f"{k} {v}" for k, v in timings.items() if k != "all"))
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

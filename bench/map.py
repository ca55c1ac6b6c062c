"""The map over a large collection: the layout's time per network, and map.html's first draw and frame rate.

    python bench/map.py [--items 5000] [--networks 2] [--runs 3]

Generates N items' features per network (unit vectors around 60 seeded centres, as wide as efficientnet_lite0's
1280 and pixels' 768), finds their neighbours with the build's own search (cells, recall target 0.98), and
times builder/layout on each network (the same call the build makes, nothing remembered). Then writes a site
of those N items with the real templates and data writers: map.html, its data files and the explorer's (the
panel's source; random neighbour lists, as bench/explorer.py makes them), but no compare pages and no
thumbnails (the scripted pan and zoom stay far enough out that none is drawn). Serves it on 127.0.0.1 and
opens map.html in headless Chromium (the system binary), --runs fresh loads: milliseconds from navigation
until every point is drawn (map.js records it), the bytes loaded before that, then frames drawn per second
while a script drags and zooms the map for two seconds. Writes bench/results/map.json.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import REPO, save_results

sys.path.insert(0, str(REPO))

NETWORKS = (("efficientnet_lite0", 1280), ("pixels", 768))


def features(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((60, dim)).astype(np.float32) * 2
    x = centres[rng.integers(0, 60, n)] + rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


MEASURE = """() => {
  const t = window.VSIS_MAP_FIRST_DRAW_MS;
  const entries = performance.getEntriesByType("resource").filter(e => e.startTime <= t);
  const nav = performance.getEntriesByType("navigation")[0];
  const bytes = e => e.encodedBodySize || e.transferSize || 0;
  return {first_draw_ms: t, drawn: window.VSIS_MAP_DRAWN,
          bytes: bytes(nav) + entries.reduce((a, e) => a + bytes(e), 0), requests: entries.length + 1};
}"""

# two seconds of dragging and wheel zooming, one event per animation frame; the map draws on the next frame
PAN_ZOOM = """() => new Promise(done => {
  const c = document.getElementById("map"), r = c.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2, start = performance.now(), frames = window.VSIS_MAP_FRAMES;
  c.dispatchEvent(new PointerEvent("pointerdown", {pointerId: 3, clientX: x, clientY: y, bubbles: true}));
  let step = 0;
  (function tick(now) {
    step++;
    if (now - start > 2000) {
      c.dispatchEvent(new PointerEvent("pointerup", {pointerId: 3, clientX: x, clientY: y, bubbles: true}));
      return done({fps: (window.VSIS_MAP_FRAMES - frames) / ((now - start) / 1000), zoom: VSIS_MAP_STATE.view().zoom});
    }
    c.dispatchEvent(new PointerEvent("pointermove", {pointerId: 3, bubbles: true,
      clientX: x + 80 * Math.sin(step / 10), clientY: y + 60 * Math.cos(step / 13)}));
    c.dispatchEvent(new WheelEvent("wheel", {deltaY: step % 60 < 30 ? -8 : 8, clientX: x, clientY: y,
      bubbles: true, cancelable: true}));
    requestAnimationFrame(tick);
  })(start);
})"""


def write_site(site: Path, categories: list[str], n_networks: int, layouts: list, thumb: Path) -> None:
    """map.html with the explorer's and the map's data files (no compare pages: a museum's 100,000 would take
    minutes and the map does not open them)."""
    from dataclasses import replace

    from explorer import model
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from builder.resources import static_dir, templates_dir
    from builder.site.explorer_data import explorer_files
    from builder.site.map_data import map_files
    from builder.site.map_model import map_page

    site_model = model(len(categories), n_networks, 10, thumb)
    names = [name for name, _ in NETWORKS[:n_networks]]
    site_model.networks = [replace(net, name=name) for net, name in zip(site_model.networks, names, strict=True)]
    site_model.datasets[0].networks = [(net.name, net.neighbours) for net in site_model.networks]
    for it, category in zip(site_model.items, categories, strict=True):
        it.category = category
    site_model.map = map_page(site_model.items, layouts)
    env = Environment(loader=FileSystemLoader(str(templates_dir())), autoescape=select_autoescape(["html"]))
    page = env.get_template("map.html").render(site=site_model, root="", page="map", map=site_model.map)
    (site / "map.html").write_text(page, encoding="utf-8")
    for rel, text in {**explorer_files(site_model), **map_files(site_model.map, site_model.items)}.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text, encoding="utf-8")
    shutil.copytree(static_dir(), site / "static")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--networks", type=int, default=2, choices=(1, 2))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "map.json")
    args = parser.parse_args()

    from PIL import Image

    from builder.layout.embed import LayoutSettings, layout
    from builder.layout.stage import NetworkLayout
    from builder.search.neighbours import NeighbourSearch
    from tests.browser import launched, served

    n = args.items
    layouts, layout_seconds, search_seconds = [], {}, {}
    for seed, (name, dim) in enumerate(NETWORKS[: args.networks]):
        x = features(n, dim, seed)
        started = time.perf_counter()
        found, _recall = NeighbourSearch().tuned(x, 10, 0.98, 1000)
        search_seconds[name] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        points = layout(x, found.indices, LayoutSettings())
        layout_seconds[name] = round(time.perf_counter() - started, 2)
        print(f"{name}: {n} x {dim}: neighbours {search_seconds[name]} s, layout {layout_seconds[name]} s", flush=True)
        layouts.append(NetworkLayout(name, points))
        del x
    categories = [("Painting", "Print", "Photograph", "Drawing")[i % 4] for i in range(n)]

    with tempfile.TemporaryDirectory(prefix="vsis-bench-") as tmp:
        tmp_path = Path(tmp)
        thumb = tmp_path / "thumb.jpg"
        Image.new("RGB", (224, 168), (200, 180, 150)).save(thumb, quality=85)
        site = tmp_path / "site"
        site.mkdir()
        write_site(site, categories, args.networks, layouts, thumb)
        files = sorted((site / "data" / "map").rglob("*.js"))
        sizes = {p.relative_to(site).as_posix(): p.stat().st_size for p in files}
        runs = []
        with served(site) as base, launched() as browser:
            for _ in range(args.runs):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(base + "map.html")
                page.wait_for_function("() => window.VSIS_MAP_FIRST_DRAW_MS !== undefined", timeout=120_000)
                row = page.evaluate(MEASURE)
                row.update(page.evaluate(PAN_ZOOM))
                runs.append(row)
                page.close()
    med = {key: statistics.median(r[key] for r in runs) for key in ("first_draw_ms", "bytes", "fps")}
    row = {
        "items": n,
        "networks": args.networks,
        "layout_seconds": layout_seconds,
        "search_seconds": search_seconds,
        "runs": args.runs,
        "first_draw_ms_median": round(med["first_draw_ms"], 1),
        "first_draw_ms_all": [round(r["first_draw_ms"], 1) for r in runs],
        "bytes_before_first_draw": int(med["bytes"]),
        "requests_before_first_draw": runs[0]["requests"],
        "points_drawn": runs[0]["drawn"],
        "pan_zoom_fps_median": round(med["fps"], 1),
        "pan_zoom_fps_all": [round(r["fps"], 1) for r in runs],
        "map_data_bytes": sum(sizes.values()),
    }
    print(
        f"{n} items: every point drawn after {row['first_draw_ms_median']:.0f} ms (median of {args.runs}), "
        f"{row['bytes_before_first_draw'] / 1e6:.2f} MB loaded before, {row['requests_before_first_draw']} "
        f"requests; {row['pan_zoom_fps_median']} frames/s while dragging and zooming; layout "
        + ", ".join(f"{k} {v} s" for k, v in layout_seconds.items())
    )
    save_results(args.out, f"generated-{n}", [row])


if __name__ == "__main__":
    main()

"""The map over a large collection: the layout's time per network, and map.html's first draw and frame rate.

    python bench/map.py [--items 5000] [--networks 2] [--runs 3]
    python bench/map.py --items 1000000 --networks 1 --runs 2 --site /tmp/map-1m  # kept: measure again

Generates N items' features per network (unit vectors around 60 seeded centres, as wide as efficientnet_lite0's
1280 and pixels' 768), finds their neighbours with the build's own search (cells, recall target 0.98), and
times builder/layout on each network (the same call the build makes, nothing remembered). Above 200,000 items
(or with --neighbours generated) the features are 8-wide instead and their exact 10 nearest come from
scipy's k-d tree: a million items' 1,280-wide features would be 5 GB and their search hours; the layout is
the build's, fed those lists. Atlases are made up to 200,000 items (--atlases / --no-atlases): a million
generated thumbnails would take an hour. Then writes a site
of those N items with the real templates and data writers: map.html, its data files and the explorer's (the
panel's source; random neighbour lists, as bench/explorer.py makes them), but no compare pages and no
thumbnails (the scripted pan and zoom stay far enough out that none is drawn). Serves it on 127.0.0.1 and
opens map.html in headless Chromium (the system binary), --runs fresh loads: milliseconds from navigation
until every point is drawn (map.js records it), the bytes loaded before that, frames drawn per second
while a script drags and zooms the map for two seconds, then, on a fresh load, while it only drags the whole
map (every point in view), and the tab's memory (the renderer process's resident set, and the JavaScript
heap). The renderer map.js chose is named (static/map-points.js); the same is measured once with WebGL
forced (map.html?renderer=webgl), for the record of what WebGL costs where it is drawn in software.

The atlases: N distinct generated thumbnails (224 x 168 WebP as the build writes them, each a seeded
background colour with three shapes; not photographs, so fewer bytes a cell than a museum's) are made into
atlases by builder/map/atlas.py from an empty cache, per network in its map's order (time, bytes), then
published with the site; the page is
zoomed onto the largest cluster until at most 4,000 points are in view, timed until every one is drawn as
its cell (atlas bytes loaded), then dragged for two seconds (frames per second, cells drawn a frame). The
clusters: k-means (12) on each layout (map/clusters.py, as the build) against the same k-means on the
features, timed, with how compact each cluster is on the map (the median over clusters of the distance on
the map, 1 = the map's side, within which 90% of the members lie around its middle) and how many of the
items' nearest neighbours share their cluster. Writes bench/results/map.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
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


GENERATED_ABOVE = 200_000  # items: beyond, neighbours are generated and no atlases are made (the docstring)
GENERATED_WIDTH = 8


def generated_neighbours(x: np.ndarray, k: int) -> np.ndarray:
    """Each row's k nearest other rows (exact, Euclidean: the same order as cosine on unit vectors)."""
    from scipy.spatial import cKDTree

    _, found = cKDTree(x).query(x, k=k + 1, workers=2)
    return np.ascontiguousarray(found[:, 1:])


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


# two seconds of dragging alone, at the zoom set: the cells drawn each frame recorded
PAN = """() => new Promise(done => {
  const c = document.getElementById("map"), r = c.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2, start = performance.now(), frames = window.VSIS_MAP_FRAMES;
  const cells = [];
  c.dispatchEvent(new PointerEvent("pointerdown", {pointerId: 4, clientX: x, clientY: y, bubbles: true}));
  let step = 0;
  (function tick(now) {
    step++;
    cells.push(VSIS_MAP_STATE.cells());
    if (now - start > 2000) {
      c.dispatchEvent(new PointerEvent("pointerup", {pointerId: 4, clientX: x, clientY: y, bubbles: true}));
      cells.sort((a, b) => a - b);
      return done({fps: (window.VSIS_MAP_FRAMES - frames) / ((now - start) / 1000), cells: cells[cells.length >> 1]});
    }
    c.dispatchEvent(new PointerEvent("pointermove", {pointerId: 4, bubbles: true,
      clientX: x + 80 * Math.sin(step / 10), clientY: y + 60 * Math.cos(step / 13)}));
    requestAnimationFrame(tick);
  })(start);
})"""

MEMORY = """() => ({heap: performance.memory ? performance.memory.usedJSHeapSize : null,
  renderer: VSIS_MAP_STATE.renderer()})"""


def renderer_memory() -> int:
    """The largest resident set of Chromium's renderer processes, in bytes (one page is open: the map's)."""
    largest = 0
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or b"--type=renderer" not in (proc / "cmdline").read_bytes():
                continue
            status = (proc / "status").read_text()
        except OSError:
            continue
        rss = next((line for line in status.splitlines() if line.startswith("VmRSS:")), "VmRSS: 0 kB")
        largest = max(largest, int(rss.split()[1]) * 1024)
    return largest


def whole_map(browser, url: str, runs: int) -> dict:
    """runs fresh loads of url: the first draw, its bytes, dragging and zooming; then dragging the whole map
    and the tab's memory on one more."""
    rows = []
    for _ in range(runs):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.wait_for_function("() => window.VSIS_MAP_FIRST_DRAW_MS !== undefined", timeout=300_000)
        row = page.evaluate(MEASURE)
        row.update(page.evaluate(PAN_ZOOM))
        rows.append(row)
        page.close()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url)
    page.wait_for_function("() => window.VSIS_MAP_FIRST_DRAW_MS !== undefined", timeout=300_000)
    page.wait_for_selector("html[data-ready]", timeout=300_000)
    drag = page.evaluate(PAN)
    memory = page.evaluate(MEMORY)
    memory["rss"] = renderer_memory()
    page.close()
    med = {key: statistics.median(r[key] for r in rows) for key in ("first_draw_ms", "bytes", "fps")}
    return {
        "renderer": memory["renderer"],
        "first_draw_ms_median": round(med["first_draw_ms"], 1),
        "first_draw_ms_all": [round(r["first_draw_ms"], 1) for r in rows],
        "bytes_before_first_draw": int(med["bytes"]),
        "requests_before_first_draw": rows[0]["requests"],
        "points_drawn": rows[0]["drawn"],
        "pan_zoom_fps_median": round(med["fps"], 1),
        "pan_zoom_fps_all": [round(r["fps"], 1) for r in rows],
        "drag_whole_map_fps": round(drag["fps"], 1),
        "tab_rss_bytes": memory["rss"],
        "js_heap_bytes": memory["heap"],
    }


ATLAS_BYTES = """() => performance.getEntriesByType("resource").filter(e => e.name.includes("/atlases/"))
  .reduce((a, e) => [a[0] + (e.encodedBodySize || e.transferSize || 0), a[1] + 1], [0, 0])"""


def thumbnail(i: int) -> bytes:
    """Item i's generated thumbnail: 224 x 168, a seeded background and three shapes, as the build's WebP."""
    import colorsys

    from PIL import Image, ImageDraw

    from builder.inputs.images import save_webp

    rng = np.random.default_rng(i)
    r, g, b = (int(255 * c) for c in colorsys.hsv_to_rgb(rng.random(), 0.5, 0.9))
    im = Image.new("RGB", (224, 168), (r, g, b))
    draw = ImageDraw.Draw(im)
    for _ in range(3):
        x0, y0 = (int(v) for v in rng.integers(0, 180, 2))
        x1, y1 = x0 + int(rng.integers(20, 90)), y0 + int(rng.integers(20, 90))
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)([x0, y0, x1, y1], fill=colour)
    return save_webp(im)


def _write_thumbnails(args: tuple[Path, range]) -> None:
    folder, items = args
    for i in items:
        (folder / f"{i:06d}.webp").write_bytes(thumbnail(i))


def thumbnails(n: int, folder: Path) -> list[str]:
    """n distinct thumbnails in folder, written by two processes."""
    folder.mkdir(parents=True, exist_ok=True)
    parts = [(folder, range(start, min(n, start + 2000))) for start in range(0, n, 2000)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.map(_write_thumbnails, parts)
    return [str(folder / f"{i:06d}.webp") for i in range(n)]


def features_kmeans(x: np.ndarray, k: int, seed: int, iterations: int = 100) -> np.ndarray:
    """The same k-means (k-means++ start, Lloyd's steps until none moves) on the features, its distances by
    matrix products in float32 (the layout's per-column float64 would take minutes here)."""
    rng = np.random.default_rng(seed)
    n = len(x)
    norms = np.einsum("ij,ij->i", x, x)
    centres = np.empty((k, x.shape[1]), dtype=np.float32)
    centres[0] = x[rng.integers(n)]
    nearest = np.maximum(norms - 2 * x @ centres[0] + centres[0] @ centres[0], 0)
    for c in range(1, k):
        centres[c] = x[min(int(np.searchsorted(np.cumsum(nearest), rng.random() * nearest.sum())), n - 1)]
        nearest = np.minimum(nearest, np.maximum(norms - 2 * x @ centres[c] + centres[c] @ centres[c], 0))
    labels = np.full(n, -1)
    for _ in range(iterations):
        fresh = (np.einsum("ij,ij->i", centres, centres)[None, :] - 2 * x @ centres.T).argmin(axis=1)
        if (fresh == labels).all():
            break
        labels = fresh
        for c in range(k):
            members = labels == c
            if members.any():
                centres[c] = x[members].mean(axis=0)
    return labels


def cluster_quality(points: np.ndarray, labels: np.ndarray, nearest: np.ndarray) -> dict[str, float]:
    """How compact the clusters are on the map, and how many items' nearest neighbour shares their cluster."""
    from builder.map.clusters import NONE
    from builder.map.embed import GRID

    xy = points.astype(np.float64) / GRID
    spreads = []
    for c in np.unique(labels[labels != NONE]):  # an image in no cluster (NONE) is no cluster of its own
        members = xy[labels == c]
        middle = (members.min(axis=0) + members.max(axis=0)) / 2
        spreads.append(float(np.percentile(np.hypot(*(members - middle).T), 90)))
    return {"map_spread_median": round(float(np.median(spreads)), 3),
            "nearest_neighbour_same_cluster": round(float((labels[nearest] == labels).mean()), 3)}  # fmt: skip


def write_site(site: Path, categories: list[str], n_networks: int, layouts: list, thumb: Path,
               atlases: list | None = None) -> None:  # fmt: skip
    """map.html with the explorer's and the map's data files (no compare pages: a museum's 100,000 would take
    minutes and the map does not open them)."""
    from dataclasses import replace

    from explorer import model
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from builder.map.atlas import atlas_files
    from builder.map.data import map_files
    from builder.map.model import map_page
    from builder.resources import static_dir, templates_dir
    from builder.site.explorer_data import explorer_files

    site_model = model(len(categories), n_networks, 10, thumb)
    names = [name for name, _ in NETWORKS[:n_networks]]
    site_model.networks = [replace(net, name=name) for net, name in zip(site_model.networks, names, strict=True)]
    site_model.datasets[0].networks = [(net.name, net.neighbours) for net in site_model.networks]
    for it, category in zip(site_model.items, categories, strict=True):
        it.category = category
    site_model.map = map_page(site_model.items, layouts, atlases, ".webp")
    env = Environment(loader=FileSystemLoader(str(templates_dir())), autoescape=select_autoescape(["html"]))
    page = env.get_template("map.html").render(site=site_model, root="", page="map", map=site_model.map)
    (site / "map.html").write_text(page, encoding="utf-8")
    for rel, text in {**explorer_files(site_model), **map_files(site_model.map, site_model.items)}.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text, encoding="utf-8")
    shutil.copytree(static_dir(), site / "static")
    for path, source in atlas_files(atlases or [], ".webp").items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, site / path)


def middle_zoom(browser, base: str, network: str, x: float, y: float) -> dict:
    """The map zoomed onto (x, y), the first network's largest cluster, until at most 4,000 points are in view:
    the time until each is drawn as its cell, the atlases' bytes, then frames per second while dragging."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + "map.html")
    page.wait_for_function("() => window.VSIS_MAP_FIRST_DRAW_MS !== undefined", timeout=120_000)
    zoom = 2.0
    while True:
        page.evaluate(f"location.hash = 'network={network}&zoom={zoom:.3f}&x={x:.5f}&y={y:.5f}'")
        page.wait_for_function(f"() => (document.documentElement.dataset.shown || '').includes('zoom={zoom:.3f}')")
        in_view = page.evaluate("window.VSIS_MAP_DRAWN")
        if in_view <= 4000:
            break
        zoom *= 1.25
    started = page.evaluate("performance.now()")
    page.wait_for_function(
        "() => VSIS_MAP_STATE.cells() === window.VSIS_MAP_DRAWN && VSIS_MAP_STATE.cells() > 0", timeout=300_000
    )
    done = page.evaluate("performance.now()")
    loaded, count = page.evaluate(ATLAS_BYTES)
    pan = page.evaluate(PAN)
    page.close()
    return {"zoom": round(zoom, 3), "in_view": in_view, "all_cells_ms": round(done - started, 1),
            "atlas_bytes": loaded, "atlases_loaded": count, "pan_fps": round(pan["fps"], 1),
            "cells_per_frame": pan["cells"]}  # fmt: skip


def make_site(args: argparse.Namespace, folder: Path) -> dict:
    """Features, neighbours, layouts, clusters, atlases and the site (folder/site) of args.items generated
    items: what it took, and where the middle zoom looks (the first network's largest cluster)."""
    from PIL import Image

    from builder.map.clusters import find_clusters
    from builder.map.embed import GRID, LayoutSettings, layout
    from builder.map.stage import NetworkLayout
    from builder.search.neighbours import NeighbourSearch

    n = args.items
    generated = (args.neighbours or ("generated" if n > GENERATED_ABOVE else "search")) == "generated"
    with_atlases = args.atlases if args.atlases is not None else n <= GENERATED_ABOVE
    layouts, layout_seconds, search_seconds, clusters = [], {}, {}, {}
    for seed, (name, dim) in enumerate(NETWORKS[: args.networks]):
        x = features(n, GENERATED_WIDTH if generated else dim, seed)
        started = time.perf_counter()
        indices = generated_neighbours(x, 10) if generated else NeighbourSearch().tuned(x, 10, 0.98, 1000)[0].indices
        search_seconds[name] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        points = layout(x, indices, LayoutSettings())
        layout_seconds[name] = round(time.perf_counter() - started, 2)
        took = f"neighbours {search_seconds[name]} s, layout {layout_seconds[name]} s"
        print(f"{name}: {n} x {x.shape[1]}: {took}", flush=True)
        started = time.perf_counter()
        found_clusters = find_clusters(points, 12, 71)
        on_layout = time.perf_counter() - started
        started = time.perf_counter()
        on_features = features_kmeans(x, 12, 71)
        on_features_seconds = time.perf_counter() - started
        nearest = indices[:, 0]
        clusters[name] = {
            "k": 12,
            "layout_seconds": round(on_layout, 3),
            "features_seconds": round(on_features_seconds, 2),
            "layout": cluster_quality(points, found_clusters.labels, nearest),
            "features": cluster_quality(points, on_features, nearest),
        }
        print(f"  12 clusters: {clusters[name]}", flush=True)
        layouts.append(NetworkLayout(name, points, found_clusters))
        del x, indices
    categories = [("Painting", "Print", "Photograph", "Drawing")[i % 4] for i in range(n)]
    thumb = folder / "thumb.jpg"
    Image.new("RGB", (224, 168), (200, 180, 150)).save(thumb, quality=85)
    atlas_row, atlases = made_atlases(n, layouts, folder) if with_atlases else ({}, None)
    site = folder / "site"
    site.mkdir()
    started = time.perf_counter()
    write_site(site, categories, args.networks, layouts, thumb, atlases)
    print(f"site written in {time.perf_counter() - started:.0f} s", flush=True)
    files = sorted((site / "data" / "map").rglob("*.js"))
    first = layouts[0]
    middle = first.points[int(first.clusters.representatives[0])] / GRID
    return {
        "items": n,
        "networks": args.networks,
        "neighbours": f"generated: {GENERATED_WIDTH}-wide features, exact k-d tree" if generated else "search",
        "layout_seconds": layout_seconds,
        "search_seconds": search_seconds,
        "map_data_bytes": sum(p.stat().st_size for p in files),
        "clusters": clusters,
        **atlas_row,
        "middle_at": {"network": first.name, "x": float(middle[0]), "y": float(middle[1])} if atlases else None,
    }


def measure(site: Path, runs: int, made: dict) -> dict:
    """map.html of the site in headless Chromium: the renderer chosen, WebGL forced, the middle zoom."""
    from tests.browser import launched, served

    with served(site) as base, launched() as browser:
        chosen = whole_map(browser, base + "map.html", runs)
        webgl = whole_map(browser, base + "map.html?renderer=webgl", 1)
        at = made["middle_at"]
        middle = middle_zoom(browser, base, at["network"], at["x"], at["y"]) if at else None
    return {"runs": runs, **chosen, "webgl_forced": webgl, "middle_zoom": middle}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--networks", type=int, default=2, choices=(1, 2))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--neighbours", choices=("search", "generated"), default=None,
                        help=f"default: generated above {GENERATED_ABOVE:,} items")  # fmt: skip
    parser.add_argument("--atlases", action=argparse.BooleanOptionalAction, default=None,
                        help=f"default: up to {GENERATED_ABOVE:,} items")  # fmt: skip
    parser.add_argument("--site", type=Path, default=None,
                        help="make the site in this folder and keep it; one made before is measured again")  # fmt: skip
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "map.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="vsis-bench-") as tmp:
        folder = args.site or Path(tmp)
        record = folder / "made.json"
        if record.is_file():
            made = json.loads(record.read_text())
            print(f"measuring the site made before in {folder} ({made['items']} items), its scripts anew", flush=True)
            from builder.resources import static_dir

            shutil.rmtree(folder / "site" / "static")
            shutil.copytree(static_dir(), folder / "site" / "static")
        else:
            folder.mkdir(parents=True, exist_ok=True)
            made = make_site(args, folder)
            record.write_text(json.dumps(made))
        row = {**made, **measure(folder / "site", args.runs, made)}
    n, chosen, webgl, middle = row["items"], row, row["webgl_forced"], row["middle_zoom"]
    print(
        f"{n} items, {chosen['renderer']['name']} ({chosen['renderer']['why']}): every point drawn after "
        f"{row['first_draw_ms_median']:.0f} ms (median of {args.runs}), {row['bytes_before_first_draw'] / 1e6:.2f} MB "
        f"loaded before, {row['requests_before_first_draw']} requests; {row['pan_zoom_fps_median']} frames/s while "
        f"dragging and zooming, {row['drag_whole_map_fps']} dragging the whole map; tab "
        f"{row['tab_rss_bytes'] / 1e6:.0f} MB resident; layout "
        + ", ".join(f"{k} {v} s" for k, v in row["layout_seconds"].items())
    )
    print(
        f"webgl forced ({webgl['renderer']['device'] or webgl['renderer']['why']}): first draw "
        f"{webgl['first_draw_ms_median']:.0f} ms, {webgl['pan_zoom_fps_median']} frames/s dragging and zooming, "
        f"{webgl['drag_whole_map_fps']} dragging the whole map"
    )
    if middle:
        print(
            f"atlases: {row['atlases']}, {row['atlas_bytes'] / 1e6:.2f} MB ({row['atlas_bytes_per_item']} B an image), "
            f"made in {row['atlas_seconds']:.1f} s from generated thumbnails; middle zoom {middle['zoom']:.1f}: "
            f"{middle['in_view']} in view, every one a cell after {middle['all_cells_ms']:.0f} ms with "
            f"{middle['atlas_bytes'] / 1e6:.2f} MB of {middle['atlases_loaded']} atlases, then "
            f"{middle['pan_fps']} frames/s dragging ({middle['cells_per_frame']} cells a frame)"
        )
    save_results(args.out, f"generated-{n}", [row])


def made_atlases(n: int, layouts: list, tmp_path: Path) -> tuple[dict, list]:
    """n generated thumbnails made into each network's atlases from an empty cache: their figures, the atlases."""
    from builder.inputs.images import THUMB_FORMATS
    from builder.map.atlas import atlas_store, default_grid, network_atlases
    from builder.progress import QuietReporter

    started = time.perf_counter()
    sources = thumbnails(n, tmp_path / "thumbs")
    generated = time.perf_counter() - started
    fmt, grid = THUMB_FORMATS["webp"], default_grid()
    started = time.perf_counter()
    store = atlas_store(tmp_path / "cache", fmt, grid, None)
    atlases = [network_atlases(lay.name, lay.points, sources, store, fmt, grid, QuietReporter(), workers=2)
               for lay in layouts]  # fmt: skip
    atlas_seconds = time.perf_counter() - started
    atlas_bytes = sum(Path(a).stat().st_size for net in atlases for a in net.locations)
    thumb_bytes = sum(Path(t).stat().st_size for t in sources)
    made = sum(len(a.locations) for a in atlases)
    print(
        f"atlases: {made} ({len(atlases)} networks) of {n} generated thumbnails ({thumb_bytes / 1e6:.1f} MB, "
        f"made in {generated:.0f} s) in {atlas_seconds:.1f} s, {atlas_bytes / 1e6:.2f} MB",
        flush=True,
    )
    row = {
        "atlases": made,
        "atlas_bytes": atlas_bytes,
        "atlas_bytes_per_item": round(atlas_bytes / n, 1),
        "atlas_seconds": round(atlas_seconds, 2),
        "thumbnails": "generated: 224 x 168 WebP q75, a seeded colour and three shapes each (not photographs)",
        "thumbnail_bytes": thumb_bytes,
    }
    return row, atlases


if __name__ == "__main__":
    main()

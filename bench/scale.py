"""Museum-size collections: a build of N images, stage by stage, and the site it publishes.

    python bench/scale.py --sizes 10000,25000 [--networks pixels] [--experiment] [--add 1000]

The collection is generated, deterministically, from Debian's openclipart-png (apt-get install
openclipart-png): image i is drawing i mod 8,121 (in a seeded order), cropped to a seeded box (60-100% of each
side), its colours shifted by seeded per-channel gains, scaled to at most 320 pixels and saved as a JPEG, so
every file is distinct; with a metadata.csv (title, artist, date, medium) like a museum's. Where OpenClipart
is absent, seeded synthetic drawings are used instead (the JSON says which). Files are generated once into
--pool (reused by later runs) and each size's collection links the first N of them.

Each size is built cold in a fresh process (`vsis build` as the CLI runs it, interpreter start included)
that reports per-stage times, its peak resident memory (VmHWM) and each network's reached recall@10;
then rebuilt with nothing changed; then, with --add, built again with that many images added. The site's
size, file count and largest file are measured as a GitHub Pages artifact counts them, and the explorer is
opened in headless Chromium over http://127.0.0.1: time until its first view is drawn and the bytes loaded
before. Prints a line per size and writes bench/results/scale.json (every row carries the CPU's features).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from common import OPENCLIPART, REPO, ensure_weights, machine, save_results

sys.path.insert(0, str(REPO))

POOL_VERSION = "/flattened-640"  # how the pool was made: drawings flattened once at 2 x SIDE
PER_FOLDER = 1000  # generated files per folder: a size's collection links whole folders
SIDE = 320
ARTISTS = ["Anni Albers", "Eugène Atget", "Hannah Höch", "Paul Klee", "Käthe Kollwitz", "Piet Mondrian",
           "Berenice Abbott", "El Lissitzky", "Sophie Taeuber-Arp", "László Moholy-Nagy"]  # fmt: skip
MEDIA = ["Gelatin silver print", "Oil on canvas", "Lithograph", "Woodcut", "Gouache on paper", "Collage"]


# ---- the collection ----


def _sources() -> list[Path]:
    """The OpenClipart drawings of at most 16 megapixels (a few are hundreds), in a seeded order."""
    from PIL import Image

    files = []
    for path in sorted(OPENCLIPART.rglob("*.png")) if OPENCLIPART.is_dir() else []:
        try:
            with Image.open(path) as im:
                if im.size[0] * im.size[1] <= 16_000_000:
                    files.append(path)
        except (OSError, Image.DecompressionBombError):
            continue
    random.Random(71).shuffle(files)
    return files


def _flatten(job: tuple[str, str]) -> str:
    """A drawing made once into what every image of it starts from: composited on white and scaled to at
    most 2 x SIDE, saved as a fast PNG (decoding the full drawing for each of its images took 90% of the
    generation: an hour for 100,000)."""
    from PIL import Image

    source, dest = job
    im = Image.open(source).convert("RGBA")
    im.thumbnail((2 * SIDE, 2 * SIDE))
    flat = Image.new("RGB", im.size, (255, 255, 255))
    flat.paste(im, mask=im.getchannel("A"))
    flat.save(dest, "PNG", compress_level=1)
    return dest


def _make(job: tuple[int, str, str, str]) -> tuple[int, str, str]:
    """Image i: a seeded crop and colour shift of its drawing (flattened once) or a synthetic drawing, as a JPEG."""
    from PIL import Image, ImageDraw

    i, source, flattened, dest = job
    rng = random.Random(i * 7919 + 1)
    if source:
        flat = Image.open(flattened).convert("RGB")
    else:
        flat = Image.new("RGB", (SIDE, SIDE), tuple(rng.randrange(256) for _ in range(3)))
        draw = ImageDraw.Draw(flat)
        for _ in range(6):
            box = sorted(rng.sample(range(SIDE), 2)), sorted(rng.sample(range(SIDE), 2))
            draw.ellipse([box[0][0], box[1][0], box[0][1], box[1][1]], fill=tuple(rng.randrange(256) for _ in range(3)))
    w, h = flat.size
    cw, ch = min(w, max(8, int(w * rng.uniform(0.6, 1.0)))), min(h, max(8, int(h * rng.uniform(0.6, 1.0))))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    im = flat.crop((x, y, x + cw, y + ch))
    gains = [rng.uniform(0.7, 1.0) for _ in range(3)]
    im = Image.merge("RGB", [band.point(lambda v, g=g: int(v * g)) for band, g in zip(im.split(), gains, strict=True)])
    im.thumbnail((SIDE, SIDE))
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    im.save(dest, "JPEG", quality=85)
    name = Path(source).stem.replace("_", " ") if source else f"composition {i}"
    return i, dest, name


def make_pool(pool: Path, n: int) -> tuple[str, Path]:
    """At least n generated images in pool/part-XXX/ (made once, then reused) and pool/metadata.csv."""
    sources = _sources()
    kind = "openclipart" if sources else "synthetic"
    meta = pool / "metadata.csv"
    kind += POOL_VERSION
    have = json.loads((pool / "made.json").read_text()) if (pool / "made.json").is_file() else {"n": 0, "kind": kind}
    if have["kind"] != kind:  # made by an older recipe: made again
        have = {"n": 0, "kind": kind}
    if have["n"] >= n:
        return kind, meta
    rows = {}
    if meta.is_file():
        with meta.open(encoding="utf-8") as fh:
            rows = {r["file"]: r for r in csv.DictReader(fh)}

    def dest(i: int) -> str:
        return str(pool / f"part-{i // PER_FOLDER:03d}" / f"img-{i:06d}.jpg")

    start = time.perf_counter()
    flat = pool / "flattened"
    flat.mkdir(parents=True, exist_ok=True)
    used = sorted({i % len(sources) for i in range(have["n"], n)}) if sources else []
    todo = [(str(sources[j]), str(flat / f"{j:05d}.png")) for j in used if not (flat / f"{j:05d}.png").is_file()]
    jobs = [(i, str(sources[i % len(sources)]) if sources else "", str(flat / f"{i % max(1, len(sources)):05d}.png"),
             dest(i)) for i in range(have["n"], n)]  # fmt: skip
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        list(ex.map(_flatten, todo, chunksize=16))
        for i, dest, name in ex.map(_make, jobs, chunksize=64):
            rng = random.Random(i)
            rel = Path(dest).relative_to(pool).as_posix()
            rows[rel] = {"file": rel, "title": f"{name.capitalize()} ({i % 97 + 1})", "artist": rng.choice(ARTISTS),
                         "date": str(rng.randint(1880, 1990)), "medium": rng.choice(MEDIA)}  # fmt: skip
    with meta.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, ["file", "title", "artist", "date", "medium"])
        writer.writeheader()
        writer.writerows(rows[k] for k in sorted(rows))
    (pool / "made.json").write_text(json.dumps({"n": n, "kind": kind}))
    print(f"generated {n - have['n']} images in {time.perf_counter() - start:.0f} s ({kind})", flush=True)
    return kind, meta


def collection_of(pool: Path, n: int, dest: Path) -> tuple[Path, Path]:
    """(folder, metadata file) of a collection of the pool's first n images (n a multiple of PER_FOLDER):
    links to whole folders, so growing it to a larger n adds links and leaves the others as they are."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in range(n // PER_FOLDER):
        link = dest / f"part-{part:03d}"
        if not link.is_symlink():
            link.symlink_to(pool / f"part-{part:03d}", target_is_directory=True)
    meta = dest.parent / f"{dest.name}.csv"
    with (pool / "metadata.csv").open(encoding="utf-8") as fh, meta.open("w", encoding="utf-8", newline="") as out:
        reader = csv.DictReader(fh)
        writer = csv.DictWriter(out, reader.fieldnames or [])
        writer.writeheader()
        writer.writerows(r for r in reader if int(r["file"].split("/")[0].removeprefix("part-")) < n // PER_FOLDER)
    return dest, meta


# ---- one build, in a fresh process ----

_CHILD = r"""
import json, sys, time
from builder.build import build
from builder.config import make_config

class Timing:
    def __init__(self):
        self.warnings, self.spans = [], []
    def task(self, description, total):
        from contextlib import contextmanager
        @contextmanager
        def span():
            start = time.perf_counter()
            class T:
                def advance(self, n=1): pass
            try:
                yield T()
            finally:
                self.spans.append((description.split(" (")[0], start, time.perf_counter()))
        return span()
    def warn(self, message):
        self.warnings.append(message)

from pathlib import Path
args = json.loads(sys.argv[1])
paths = {k: Path(args[k]) for k in ("collection", "metadata_file", "out", "cache_dir")}
config = make_config(**{**args, **paths, "networks": tuple(args["networks"])})
reporter, start = Timing(), time.perf_counter()
result = build(config, reporter)
total = time.perf_counter() - start
peak = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
print("VSIS_BENCH " + json.dumps({
    "build_s": total, "peak_mb": int(peak) / 1024, "spans": reporter.spans, "items": len(result.items),
    "skipped": len(result.skipped), "pages": result.pages, "warnings": reporter.warnings,
    "networks": [{"name": r.name, "extracted": r.extracted, "recall": r.search_recall, "search_k": r.search_k,
                  "note": r.recall_note} for r in result.networks],
}))
"""


def run_build(config: dict) -> dict:
    start = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # TORCH_HOME included, where ensure_weights set it
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(config)], capture_output=True, text=True, cwd=REPO, env=env
    )
    wall = time.perf_counter() - start
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("VSIS_BENCH ")), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    out = json.loads(line.removeprefix("VSIS_BENCH "))
    out["command_s"] = wall
    stages: dict[str, float] = {}
    for name, begin, end in out.pop("spans"):
        key = "extracting" if name.startswith("extracting") else name
        if key == "extracting":  # extraction overlaps decoding: counted inside it
            continue
        stages[key] = stages.get(key, 0.0) + end - begin
    out["stages_s"] = {k: round(v, 2) for k, v in stages.items()}
    out["other_s"] = round(out["build_s"] - sum(stages.values()), 2)
    return out


# ---- the explorer ----


def explorer_first_paint(site: Path, runs: int = 3) -> dict:
    from explorer import MEASURE

    from tests.browser import launched, served

    results = []
    with served(site) as base, launched() as browser:
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "explore.html")
            page.wait_for_function("() => window.VSIS_READY_MS !== undefined", timeout=120_000)
            results.append(page.evaluate(MEASURE))
            page.close()
    return {
        "ready_ms_median": round(statistics.median(r["ready_ms"] for r in results), 1),
        "ready_ms_all": [round(r["ready_ms"], 1) for r in results],
        "bytes_before_ready": int(statistics.median(r["all_bytes"] for r in results)),
        "data_bytes_before_ready": int(statistics.median(r["data_bytes"] for r in results)),
        "requests_before_ready": results[0]["requests"],
    }


def site_breakdown(site: Path) -> dict[str, int]:
    """Bytes by top-level part of the site: compare pages, thumbnails, explorer data, the rest."""
    parts: dict[str, int] = {}
    for path in site.rglob("*"):
        if path.is_file():
            top = path.relative_to(site).parts[0] if len(path.relative_to(site).parts) > 1 else "(root)"
            parts[top] = parts.get(top, 0) + path.stat().st_size
    return dict(sorted(parts.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000", help="comma-separated, multiples of 1,000")
    parser.add_argument("--networks", default="pixels")
    parser.add_argument("--experiment", action="store_true", help="run the perturbation experiment too")
    parser.add_argument("--add", type=int, default=0, help="images added for a third build (a multiple of 1,000)")
    parser.add_argument("--pool", type=Path, default=Path(tempfile.gettempdir()) / "vsis-scale-pool")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "vsis-scale")
    parser.add_argument("--keep", action="store_true", help="keep each size's site and cache in --work")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "scale.json")
    args = parser.parse_args()

    from builder.site.size import measure

    sizes = [int(s) for s in args.sizes.split(",")]
    networks = [n.strip() for n in args.networks.split(",") if n.strip()]
    kind, _ = make_pool(args.pool, max(sizes) + args.add)
    # torchvision networks whose ImageNet weights are not cached run with random ones (timing and sizes hold)
    weights = {name: ensure_weights(name, args.work / "torch_home") for name in networks}
    rows = []
    for n in sizes:
        work = args.work / f"{n}-{'-'.join(networks)}{'-experiment' if args.experiment else ''}"
        collection, meta = collection_of(args.pool, n, work / "collection")
        config = {
            "collection": str(collection), "metadata_file": str(meta), "networks": networks,
            "out": str(work / "site"), "cache_dir": str(work / "cache"), "experiment_enabled": args.experiment,
            "follow_external_links": True,  # the collection links the pool's folders
        }  # fmt: skip
        cold = run_build(config)
        size = measure(work / "site")
        explorer = explorer_first_paint(work / "site")
        again = run_build(config)
        added = None
        if args.add:
            collection_of(args.pool, n + args.add, collection)  # the same folder, grown
            added = run_build(config)
        row = {
            "images": n,
            "source": kind,
            "networks": networks,
            "weights": weights,
            "experiment": args.experiment,
            "cold": cold,
            "indexing_share": round(cold["stages_s"].get("indexing", 0.0) / cold["build_s"], 4),
            "site_bytes": size.bytes,
            "site_files": size.files,
            "largest_file": size.largest,
            "largest_file_bytes": size.largest_bytes,
            "bytes_per_image": round(size.bytes / n),
            "site_parts_bytes": site_breakdown(work / "site"),
            "explorer": explorer,
            "rebuild_s": round(again["build_s"], 2),
            "rebuild_command_s": round(again["command_s"], 2),
            "rebuild_share": round(again["command_s"] / cold["command_s"], 4),
            "added": {"images": args.add, **added} if added else None,
        }
        rows.append(row)
        recall = ", ".join(f"{r['name']} {r['recall']:.3f} ({r['note']})" for r in cold["networks"])
        print(
            f"{n:>7,} images ({kind}, {'+'.join(networks)}{', experiment' if args.experiment else ''}): "
            f"cold {cold['command_s']:.0f} s as a command (build {cold['build_s']:.0f} s: "
            + ", ".join(f"{k} {v:.0f}" for k, v in cold["stages_s"].items())
            + f", other {cold['other_s']:.0f}; indexing {100 * row['indexing_share']:.1f}%), "
            f"peak {cold['peak_mb']:,.0f} MB; "
            f"recall@10 {recall}; site {size.bytes / 1e6:,.1f} MB ({row['bytes_per_image']:,} B/image) in "
            f"{size.files:,} files, largest {size.largest} {size.largest_bytes / 1e6:.2f} MB; explorer drawn after "
            f"{explorer['ready_ms_median']:.0f} ms with {explorer['bytes_before_ready'] / 1e6:.2f} MB loaded; "
            f"no-change rebuild {again['command_s']:.1f} s ({100 * row['rebuild_share']:.1f}%)"
            + (
                f"; +{args.add} images: {added['command_s']:.0f} s, extracted "
                + ", ".join(f"{r['name']} {r['extracted']}" for r in added["networks"])
                if added
                else ""
            ),
            flush=True,
        )
        if not args.keep:
            subprocess.run(["rm", "-rf", str(work)], check=False)
    save_results(args.out, f"{kind}-scale ({machine()})", rows)


if __name__ == "__main__":
    main()

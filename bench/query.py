"""Search by the visitor's own image (query.html): time from choosing a file to the results, and the bytes the
search loads (runtime, model, vectors), at 5,000 and 100,000 items, in headless Chromium on this machine.

    python bench/query.py [--sizes 5000,100000] [--runs 3] [--work DIR] [--work N=DIR ...] [--cache-dir N=DIR ...]

    # reusing collections whose features and thumbnails are cached already (nothing extracted):
    python bench/query.py --work 5000=/tmp/q5k --work 100000=/tmp/prof100000

Each size's collection is the first N images of bench/scale.py's pool (Debian's OpenClipart drawings, seeded
crops and colour shifts; --pool), linked by scale.collection_of into <work>/collection (+ collection.csv); an
existing one must be exactly what collection_of makes. The site is built into <work>/query-bench-site in a
fresh process, as bench/scale.py does (no experiment, no map), with the cache <work>/cache (or --cache-dir).
Before building, the cache is checked to hold every image's features and thumbnail: where anything would be
extracted the run stops and says how much (--allow-extract lets it).

Sizes up to --full-max (5,000) are built with efficientnet_lite0 and pixels. Larger ones are built with pixels
only (extracting efficientnet_lite0 from 100,000 images would take about 50 minutes of 2 cores), and their
efficientnet_lite0 case is GENERATED, and labelled so in every figure: a copy of the site (links to its files)
whose query data adds efficientnet_lite0 with the real model and axes of the run's largest size up to
--full-max (N items) and, for item i, that build's real codes of item i mod N (same axes and levels),
written by builder/query/data.py with the runtime files. What the browser does with the vectors
(download, decode, one dot product an item) depends only on the number of items and dimensions, not on their
values (only keeping the best 20 does, a comparison an item), so its load and ranking costs at 100,000 are
measured for real; which items come first (copies of one another) means nothing.

Per size and network, --runs fresh browser contexts (cold HTTP cache): the site is served on 127.0.0.1,
query.html opened, the network chosen and a collection image uploaded; `window.vsisQueryLast.ms` gives the
time from choosing the file to the results drawn (and its parts); the page's own calls are timed too (model
file, runtime + session, inference, vectors), and every request made after the upload is mapped to its file
in the site, whose size is counted as runtime, model, vectors (axes + codes) or items + thumbnails. Then a
second image is searched on the same page (warm: the runtime, model and vectors are held). Medians of the
runs. At the smallest size the first search is also timed over file:// (time only). Prints a table and writes
bench/results/query.json (every row carries the CPU's features).
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
from common import REPO, machine, save_results
from scale import collection_of, run_build

sys.path.insert(0, str(REPO))

MODEL_NET, INPUT_NET = "efficientnet_lite0", "pixels"
SITE = "query-bench-site"
GENERATED = "query-bench-generated"
PARTS = ("runtime", "model", "vectors", "items_thumbs", "other")

# the page's own calls, timed from the moment the file is chosen (the input's change event, caught first)
INSTRUMENT = """() => {
  const B = window.vsisBench = {start: null, marks: []};
  document.addEventListener("change", e => {
    if (e.target.id === "qfile") { B.start = performance.now(); B.marks = []; }
  }, true);
  const wrap = (obj, key, label) => {
    const f = obj[key];
    obj[key] = function () {
      const t0 = performance.now(), name = label(arguments), p = f.apply(this, arguments);
      Promise.resolve(p).then(() => B.marks.push({name, t0, t1: performance.now()}), () => {});
      return p;
    };
  };
  wrap(vsisOrt, "createSession", () => "session");
  wrap(vsisOrt, "run", () => "inference");
  wrap(vsisShards, "load", a => String(a[0]).endsWith("/model.js") ? "model" : "shard");
  wrap(vsisShards, "loadAll", a => String(a[0]).startsWith("data/query/") ? "vectors" : "items");
}"""

# after a search: its figures (not the feature), the page's calls, and each kind of file's fetch window
READ = """() => {
  const B = window.vsisBench, last = Object.assign({}, window.vsisQueryLast);
  delete last.feature;
  const fetched = {};
  for (const e of performance.getEntriesByType("resource")) {
    if (B.start === null || e.startTime < B.start) continue;
    const path = new URL(e.name).pathname;
    const kind = path.includes("/vendor/") ? "runtime" : path.endsWith("/model.js") ? "model"
      : path.includes("/data/query/") ? "vectors" : "items_thumbs";
    const f = fetched[kind] || (fetched[kind] = {from: Infinity, to: 0});
    f.from = Math.min(f.from, e.startTime - B.start);
    f.to = Math.max(f.to, e.responseEnd - B.start);
  }
  const marks = {};
  for (const m of B.marks) {
    if (m.name === "shard") continue;
    marks[m.name] = {from: m.t0 - B.start, to: m.t1 - B.start};
  }
  return {last, marks, fetched, state: document.documentElement.dataset.query,
          status: document.getElementById("qstatus").textContent};
}"""

THUMBS_SHOWN = "() => Array.from(document.querySelectorAll('#qresults img')).every(i => i.complete)"


# ---- the sites ----


def pairs(values: list[str], what: str) -> dict[int, Path]:
    out = {}
    for value in values:
        size, sep, path = value.partition("=")
        if not sep or not size.strip().isdigit():
            raise SystemExit(f"{what} {value!r}: expected SIZE=PATH")
        out[int(size)] = Path(path)
    return out


def collection(pool: Path, n: int, work: Path) -> tuple[Path, Path]:
    """The pool's first n images linked into work/collection: made there, or checked to be what
    scale.collection_of makes (the same links and metadata) where it exists already."""
    folder, meta = work / "collection", work / "collection.csv"
    if not folder.exists():
        return collection_of(pool, n, folder)
    with tempfile.TemporaryDirectory(prefix="vsis-query-check-") as tmp:
        want, want_meta = collection_of(pool, n, Path(tmp) / "collection")
        links = {p.name: os.readlink(p) for p in want.iterdir()}
        have = {p.name: os.readlink(p) if p.is_symlink() else None for p in folder.iterdir()}
        if have != links or not meta.is_file() or meta.read_bytes() != want_meta.read_bytes():
            raise SystemExit(f"{folder}: not the collection scale.collection_of makes of {n} images of {pool}")
    return folder, meta


def missing(config: dict) -> dict[str, int]:
    """How many of the collection's images the build would extract again, per network and for thumbnails:
    the cache's content hashes (hashes.json, not rewritten here) against its features and thumbnails."""
    from builder.build import _thumb_store, decode_limits
    from builder.cache import CacheLayout, FeatureStore, HashCache
    from builder.collect.collection import identify, scan
    from builder.config import make_config
    from builder.features.networks import configured
    from builder.features.runtime.model_files import feature_key

    c = make_config(**{**config, **{k: Path(config[k]) for k in ("collection", "metadata_file", "out", "cache_dir")}})
    hashes = HashCache(CacheLayout(c.cache_dir).hashes, identify)
    items = scan(c.collection, c.metadata.file, identify=hashes, follow_external_links=True).items
    out = {}
    for name in c.networks:
        spec = configured(name, c.features.framing, c.features.pooling)
        key = f"{feature_key(spec, c.weights.get(name), 'fp32')}-{decode_limits(c).key}"
        store = FeatureStore(c.cache_dir, key, spec.dim)
        out[name] = sum(not store.has(i.content_hash) for i in items)
    thumbs = _thumb_store(c)
    out["thumbnails"] = sum(not thumbs.has(i.content_hash) for i in items)
    out["hashed_anew"] = sum(os.path.abspath(i.path) not in hashes.entries for i in items)
    return out


def build(pool: Path, n: int, work: Path, cache: Path, networks: list[str], allow_extract: bool) -> tuple[Path, dict]:
    folder, meta = collection(pool, n, work)
    config = {
        "collection": str(folder), "metadata_file": str(meta), "networks": networks, "out": str(work / SITE),
        "cache_dir": str(cache), "experiment_enabled": False, "map_enabled": False, "follow_external_links": True,
    }  # fmt: skip
    todo = missing(config)
    if any(todo[k] for k in (*networks, "thumbnails")) and not allow_extract:
        raise SystemExit(
            f"{n} images with the cache {cache}: the build would extract "
            + ", ".join(f"{k} for {v:,} images" for k, v in todo.items() if v and k != "hashed_anew")
            + " (stopped: --allow-extract to go on)"
        )
    print(f"{n:,} images: building {'+'.join(networks)} into {work / SITE} (cache {cache}) ...", flush=True)
    done = run_build(config)
    extracted = {r["name"]: r["extracted"] for r in done["networks"]}
    if any(extracted.values()) and not allow_extract:
        raise SystemExit(f"the build extracted features although the cache was checked: {extracted}")
    return work / SITE, {
        "build_s": round(done["command_s"], 1),
        "extracted": extracted,
        "hashed_anew": todo["hashed_anew"],
    }


def read_query_network(site: Path, net: dict, n_items: int, shard: int, model_dir: Path):
    """A network of a built site's query data read back as a QueryNetwork: axes, levels, codes, model."""
    from builder.pagekit.datafiles import read_shard
    from builder.query.browser import BrowserNetwork
    from builder.query.compact import CompactVectors
    from builder.query.data import decode_codes
    from builder.query.model import QueryNetwork

    folder = f"data/query/{net['name']}"
    both = read_shard(site, f"{folder}/axes.js")
    axes = np.frombuffer(base64.b64decode(both["axes"]), dtype="<f4")
    levels = np.frombuffer(base64.b64decode(both["levels"]), dtype="<f4").reshape(net["dims"], net["levels"])
    codes = np.concatenate(
        [decode_codes(read_shard(site, f"{folder}/codes/{s}.js")["c"]) for s in range(-(-n_items // shard))]
    ).reshape(n_items, net["width"])
    model = None
    if (site / folder / "model.js").is_file():
        model = model_dir / f"{net['name']}.onnx"
        model.write_bytes(base64.b64decode(read_shard(site, f"{folder}/model.js")["onnx"]))
    network = BrowserNetwork(net["name"], net["kind"], net["dim"], net["recipe"], tuple(net["input"]), model)
    vectors = CompactVectors(axes.reshape(net["dims"], net["dim"]), levels, codes, net["recall"], net["recall_k"],
                             net["recall_queries"])  # fmt: skip
    return QueryNetwork(network, vectors)


def generated_site(real: Path, source: Path, dest: Path) -> dict:
    """A copy of the pixels-only site `real` (its files linked) whose query data adds MODEL_NET from the site
    `source`: the real model and axes, and for item i the source's codes of item i mod its size."""
    from dataclasses import replace

    from builder.pagekit.datafiles import read_global
    from builder.query.data import first_search_bytes, query_files
    from builder.query.model import QueryPage
    from builder.query.runtime import write_runtime

    if dest.exists():
        shutil.rmtree(dest)
    (dest / "data" / "query").mkdir(parents=True)
    for entry in real.iterdir():
        if entry.name not in ("data", "query.html", "vendor"):
            (dest / entry.name).symlink_to(entry.resolve())
    for entry in (real / "data").iterdir():
        if entry.name != "query":
            (dest / "data" / entry.name).symlink_to(entry.resolve())
    have = read_global(real, "data/query/index.js", "VSIS_QUERY")
    other = read_global(source, "data/query/index.js", "VSIS_QUERY")
    n = have["size"]
    with tempfile.TemporaryDirectory(prefix="vsis-query-model-") as tmp:
        nets = [read_query_network(real, net, n, have["shard"], Path(tmp)) for net in have["networks"]]
        [spec] = [net for net in other["networks"] if net["name"] == MODEL_NET]
        model = read_query_network(source, spec, other["size"], other["shard"], Path(tmp))
        model = replace(model, vectors=replace(model.vectors, codes=model.vectors.codes[np.arange(n) % other["size"]]))
        page = QueryPage([model, *nets], [], have["shown"])
        runtime_bytes = sum(size for rel, size in write_runtime(dest).items() if rel.endswith(".js"))
        files = query_files(page, n, runtime_bytes)
        loaded_mb = first_search_bytes(page, files, runtime_bytes)[MODEL_NET] / 1e6
    for rel, text in files.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).write_text(text, encoding="utf-8")
    # the real files are what the builder wrote: the pixels network's and the source's model and axes
    same = [rel for rel in ("axes.js", "model.js") if (dest / "data/query" / MODEL_NET / rel).read_bytes()
            != (source / "data/query" / MODEL_NET / rel).read_bytes()]  # fmt: skip
    same += [p.relative_to(real).as_posix() for p in (real / "data/query" / INPUT_NET).rglob("*.js")
             if p.read_bytes() != (dest / p.relative_to(real)).read_bytes()]  # fmt: skip
    if same:
        raise SystemExit(f"the generated query data differs from the builder's where it should not: {same}")
    page_html = (real / "query.html").read_text(encoding="utf-8")
    option = (f'<option value="{MODEL_NET}">{MODEL_NET} (GENERATED: {other["size"]:,} items\' codes repeated; '
              f"{loaded_mb:.1f} MB to load on its first search)</option>")  # fmt: skip
    marker = '<select id="qnetwork">'
    if marker not in page_html:
        raise SystemExit(f"{real / 'query.html'}: no {marker}")
    (dest / "query.html").write_text(page_html.replace(marker, marker + "\n    " + option, 1), encoding="utf-8")
    return {"codes_from_items": other["size"], "dims": spec["dims"], "recall_at_source": spec["recall"]}


def tree_bytes(site: Path) -> tuple[int, int]:
    """(bytes, files) of a site, following its links (a generated site links the real one's files)."""
    total = files = 0
    for folder, _, names in os.walk(site, followlinks=True):
        for name in names:
            total, files = total + os.stat(os.path.join(folder, name)).st_size, files + 1
    return total, files


def query_bytes(site: Path, network: str) -> int:
    """What the site publishes for search by image with `network`: its query data, and the runtime where it
    runs a model."""
    folder = site / "data" / "query" / network
    total = tree_bytes(folder)[0]
    if (site / folder / "model.js").is_file():
        total += tree_bytes(site / "vendor")[0]
    return total


# ---- the searches ----


def kind_of(rel: str) -> str:
    if rel.startswith("vendor/"):
        return "runtime"
    if rel.startswith("data/query/"):
        return "model" if rel.endswith("/model.js") else "vectors"
    if re.match(r"data/[^/]+/items/", rel) or rel.endswith((".webp", ".jpg")):
        return "items_thumbs"
    return "other"


def one_search(page, image: Path, site: Path, base: str) -> dict:
    requests: list[str] = []

    def seen(request) -> None:
        requests.append(request.url)

    page.on("request", seen)
    page.evaluate("document.documentElement.dataset.query = 'waiting'")
    page.set_input_files("#qfile", str(image))
    page.wait_for_function("['done', 'error'].includes(document.documentElement.dataset.query)", timeout=600_000)
    page.wait_for_function(THUMBS_SHOWN, timeout=120_000)
    got = page.evaluate(READ)
    page.remove_listener("request", seen)
    if got["state"] != "done":
        raise SystemExit(f"{image.name}: the search failed: {got['status']}")
    loaded = dict.fromkeys(PARTS, 0)
    outside = 0
    for url in dict.fromkeys(requests):  # each file once
        if url.startswith(("data:", "blob:")):
            continue  # the page's own memory: the runtime's module (in a vendor file), the visitor's file
        if not url.startswith(base):
            outside += 1
            continue
        rel = unquote(urlsplit(url).path).lstrip("/")
        loaded[kind_of(rel)] += (site / rel).stat().st_size if (site / rel).is_file() else 0
    ms = got["last"]["ms"]
    row = {
        "ms": round(ms["total"], 1),
        "decoded_ms": round(ms["decoded"], 1),
        "feature_and_vectors_ms": round(ms["feature"], 1),
        "rank_ms": round(ms["rank"], 1),
        "draw_ms": round(ms["total"] - ms["feature"] - ms["rank"], 1),
        "bytes": loaded,
        "requests": len(dict.fromkeys(u for u in requests if not u.startswith(("data:", "blob:")))),
        "outside": outside,
        "top_score": round(got["last"]["results"][0]["score"], 4),
        "top_id": got["last"]["results"][0]["id"],
    }
    for name, m in got["marks"].items():  # model, session (runtime + session), inference, vectors, items
        row[f"{name}_ms"] = [round(m["from"], 1), round(m["to"], 1)]
    for kind, f in got["fetched"].items():
        row[f"fetch_{kind}_ms"] = [round(f["from"], 1), round(f["to"], 1)]
    return row


def searches(browser, root: str, site: Path, network: str, images: tuple[Path, Path], runs: int) -> list[dict]:
    """runs fresh contexts: open query.html, choose the network, search images[0] (cold), then images[1]."""
    out = []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(root + "query.html")
        page.wait_for_function("document.documentElement.dataset.query === 'ready'", timeout=120_000)
        page.evaluate(INSTRUMENT)
        page.select_option("#qnetwork", network)
        first = one_search(page, images[0], site, root)
        second = one_search(page, images[1], site, root)
        context.close()
        if errors:
            raise SystemExit(f"{network}: errors on the page: {errors[:3]}")
        out.append({"first": first, "second": second})
    return out


def median_row(runs: list[dict]) -> dict:
    """Each figure's median over the runs (a [from, to] window: each end's median)."""
    out: dict = {}
    for key, value in runs[0].items():
        values = [r[key] for r in runs if key in r]
        if isinstance(value, dict):
            out[key] = {k: int(statistics.median(v[k] for v in values)) for k in value}
        elif isinstance(value, list):
            out[key] = [round(statistics.median(v[i] for v in values), 1) for i in range(len(value))]
        elif isinstance(value, str):
            out[key] = value
        elif all(isinstance(v, int) for v in values):
            out[key] = int(statistics.median(values))
        else:
            out[key] = round(statistics.median(values), 1)
    return out


def measure_case(browser, site: Path, network: str, images: tuple[Path, Path], runs: int, file_url: bool) -> dict:
    from tests.browser import served

    with served(site) as base:
        done = searches(browser, base, site, network, images, runs)
    first, second = median_row([r["first"] for r in done]), median_row([r["second"] for r in done])
    row = {"first": first, "first_ms_all": [r["first"]["ms"] for r in done], "second": second,
           "second_ms_all": [r["second"]["ms"] for r in done]}  # fmt: skip
    if file_url:  # the same search from disk: time only (no HTTP, no sizes)
        found = searches(browser, site.resolve().as_uri() + "/", site, network, images, runs)
        row["file_first_ms_all"] = [r["first"]["ms"] for r in found]
        row["file_first_ms"] = round(statistics.median(row["file_first_ms_all"]), 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--sizes", default="5000,100000", help="comma-separated, multiples of 1,000")
    parser.add_argument("--runs", type=int, default=3, help="fresh page loads per size and network (median)")
    parser.add_argument("--pool", type=Path, default=Path(tempfile.gettempdir()) / "vsis-scale-pool")
    parser.add_argument(
        "--work", action="append", default=[], help="DIR (each size in DIR/<size>) or SIZE=DIR (that size's folder)"
    )
    parser.add_argument(
        "--cache-dir", action="append", default=[], help="SIZE=DIR: that size's cache (default <work>/cache)"
    )
    parser.add_argument(
        "--full-max", type=int, default=5000, help="larger sizes: pixels built, efficientnet_lite0 generated"
    )
    parser.add_argument("--allow-extract", action="store_true", help="build even where features would be extracted")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "query.json")
    args = parser.parse_args()

    from PIL import Image

    from builder.pagekit.datafiles import read_global
    from builder.site.size import measure
    from tests.browser import launched

    sizes = sorted(int(s) for s in args.sizes.split(","))
    roots = [Path(w) for w in args.work if "=" not in w]
    root = roots[-1] if roots else Path(tempfile.gettempdir()) / "vsis-query-bench"
    works = {n: root / str(n) for n in sizes} | pairs([w for w in args.work if "=" in w], "--work")
    caches = pairs(args.cache_dir, "--cache-dir")
    full = [n for n in sizes if n <= args.full_max]
    if any(n > args.full_max for n in sizes) and not full:
        raise SystemExit(f"a size above --full-max {args.full_max} needs one at most that in --sizes to generate from")

    rows, sites = [], {}
    with launched() as browser:
        for n in sizes:
            work = works[n]
            networks = [MODEL_NET, INPUT_NET] if n <= args.full_max else [INPUT_NET]
            site, built = build(args.pool, n, work, caches.get(n, work / "cache"), networks, args.allow_extract)
            sites[n] = site
            cases = [(net, site, False) for net in networks]
            generated = None
            if n > args.full_max:
                source = sites[max(full)]
                generated = generated_site(site, source, work / GENERATED)
                cases.insert(0, (MODEL_NET, work / GENERATED, True))
            size = measure(site)
            files = sorted((work / "collection").glob("part-*/*.jpg"))
            images = (files[len(files) // 3], files[2 * len(files) // 3])
            if generated:  # among the items whose codes are real (the first source size)
                images = (files[max(full) // 3], files[2 * max(full) // 3])
            with Image.open(images[0]) as a, Image.open(images[1]) as b:
                shapes = [list(a.size), list(b.size)]
            for network, case_site, is_generated in cases:
                started = time.perf_counter()
                measured = measure_case(browser, case_site, network, images, args.runs, file_url=n == sizes[0])
                site_bytes, site_files = tree_bytes(case_site) if is_generated else (size.bytes, size.files)
                row = {
                    "items": n,
                    "network": network,
                    "vectors": "GENERATED: the codes of the first "
                    f"{generated['codes_from_items']:,} items repeated; real model, axes and runtime"
                    if is_generated
                    else "real build",
                    "dims": next(
                        d["dims"]
                        for d in read_global(case_site, "data/query/index.js", "VSIS_QUERY")["networks"]
                        if d["name"] == network
                    ),
                    "site_bytes": site_bytes,
                    "site_files": site_files,
                    "query_bytes": query_bytes(case_site, network),
                    "images": [p.relative_to(work / "collection").as_posix() for p in images],
                    "image_sizes": shapes,
                    "runs": args.runs,
                    **measured,
                    "build": built if not is_generated else None,
                }
                rows.append(row)
                print(line(row), f"({time.perf_counter() - started:.0f} s)", flush=True)
    print()
    print(table(rows))
    save_results(args.out, f"query-openclipart-pool ({machine()})", rows)


def line(row: dict) -> str:
    f, s, b = row["first"], row["second"], row["first"]["bytes"]
    tag = " GENERATED" if row["vectors"].startswith("GENERATED") else ""
    return (
        f"{row['items']:>7,} {row['network']}{tag}: first search {f['ms']:.0f} ms "
        f"(decoded {f['decoded_ms']:.0f}, feature+vectors {f['feature_and_vectors_ms']:.0f}, rank {f['rank_ms']:.0f}, "
        f"draw {f['draw_ms']:.0f}), {sum(b.values()) / 1e6:.2f} MB loaded; second {s['ms']:.0f} ms"
        + (f"; file:// first {row['file_first_ms']:.0f} ms" if "file_first_ms" in row else "")
    )


def table(rows: list[dict]) -> str:
    head = (f"{'items':>7} {'network':<30} {'dims':>4} {'first ms':>8} {'decode':>6} {'feat+vec':>8} {'rank':>5} "
            f"{'draw':>5} {'2nd ms':>6} {'file://':>7} {'runtime MB':>10} {'model MB':>8} {'vectors MB':>10} "
            f"{'items+th MB':>11} {'query MB':>8} {'site MB':>8}")  # fmt: skip
    out = [head, "-" * len(head)]
    for r in rows:
        f, s, b = r["first"], r["second"], r["first"]["bytes"]
        name = r["network"] + (" (GENERATED)" if r["vectors"].startswith("GENERATED") else "")
        file_ms = f"{r['file_first_ms']:.0f}" if "file_first_ms" in r else "-"
        out.append(
            f"{r['items']:>7,} {name:<30} {r['dims']:>4} {f['ms']:>8.0f} {f['decoded_ms']:>6.0f} "
            f"{f['feature_and_vectors_ms']:>8.0f} {f['rank_ms']:>5.0f} {f['draw_ms']:>5.0f} {s['ms']:>6.0f} "
            f"{file_ms:>7} {b['runtime'] / 1e6:>10.2f} {b['model'] / 1e6:>8.2f} {b['vectors'] / 1e6:>10.2f} "
            f"{b['items_thumbs'] / 1e6:>11.2f} {r['query_bytes'] / 1e6:>8.1f} {r['site_bytes'] / 1e6:>8.1f}"
        )
    return "\n".join(out)


if __name__ == "__main__":
    main()

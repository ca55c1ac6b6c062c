"""The explorer's filters over a large collection: what the first view loads, how long a filter takes, memory.

    python bench/facets.py [--items 100000] [--runs 3] [--before /path/to/checkout-before]

Generates N items without running any network (random neighbours, one network, k = 10) with five facets as a
museum's records have them, skewed as real ones are (a few values hold most items): department (8 values),
classification (30), nationality (1 to 3 of 60 a cell, so list-valued), medium (12) and the date (years
1850-2020 written as museums write them: "1923", "c. 1950", "1920-25", "1960s", "n.d."). The explorer's data
files are written by the real writer (site/explorer_data.py, with the facet files of site/facet_data.py), its
page and scripts by the real renderer; served on 127.0.0.1 and opened in headless Chromium (system binary).

Reported, as medians of --runs fresh pages: the first view's requests and bytes until the first page of results
is drawn (window.VSIS_READY_MS), with facets and, from the checkout given by --before (a `git worktree` of the
commit before the facets), the same collection without them; then the time from a click on a facet value to the
list drawn again (a MutationObserver on the attribute explore.js sets when a view is drawn): the first filter
(its facets' files loaded then), a second value added, a year range; the JS heap after filtering (Chrome
DevTools Protocol). Writes bench/results/facets.json with the CPU's flags.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

DEPARTMENTS = 8
CLASSIFICATIONS = 30
NATIONS = 60
MEDIA = 12


def _zipf(rng: random.Random, n: int) -> int:
    """A value index 0 ... n-1, the first ones far more common (weights 1/(i+1))."""
    return rng.choices(range(n), weights=[1 / (i + 1) for i in range(n)])[0]


def _date(rng: random.Random) -> str:
    year = rng.randint(1850, 2020)
    form = rng.random()
    if form < 0.5:
        return str(year)
    if form < 0.65:
        return f"c. {year}"
    if form < 0.78:
        return f"{year}-{(year + rng.randint(1, 6)) % 100:02d}"
    if form < 0.88:
        return f"{year // 10 * 10}s"
    if form < 0.95:
        return "n.d."
    return f"{year}, printed {year + rng.randint(5, 40)}"


def records(n: int, seed: int = 71) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        nations = {f"Nation {_zipf(rng, NATIONS)}" for _ in range(rng.choice([1, 1, 1, 2, 3]))}
        out.append({"department": f"Department {_zipf(rng, DEPARTMENTS)}",
                    "classification": f"Classification {_zipf(rng, CLASSIFICATIONS)}",
                    "nationality": "; ".join(sorted(nations)), "medium": f"Medium {_zipf(rng, MEDIA)}",
                    "date": _date(rng)})  # fmt: skip
    return out


def write_site(site: Path, n: int, with_facets: bool, k: int = 10, tags: list | None = None,
               products: list | None = None) -> dict[str, int]:  # fmt: skip
    """The explorer of n generated items (with its five facets, where the builder has them; with `tags`, each
    item's tags by its network: bench/words.py; with `products`, their pages for the first 30 items:
    bench/query_words.py) under site/; returns the data files' bytes by kind."""
    from PIL import Image

    from builder.pagekit.item import PageItem
    from builder.site.explorer_data import explorer_files
    from builder.site.model import Dataset, PageNeighbour, PageNetwork, SiteModel
    from builder.site.render import render

    rng = random.Random(7)
    recs = records(n)
    thumb = site.parent / "thumb.jpg"
    Image.new("RGB", (224, 168), (200, 180, 150)).save(thumb, quality=85)
    items = [
        PageItem(
            id=f"{i:06d}",
            title=f"Work {i}",
            artist=f"Artist {i % 5000}",
            date=r["date"],
            medium=r["medium"],
            dimensions="",
            url="",
            category=r["classification"],
            relpath=f"{i}.jpg",
            extra=[],
            thumb=f"compare/{i:06d}.jpg",
        )  # fmt: skip
        for i, r in enumerate(recs)
    ]
    rows = []
    for i in range(n):
        picks = rng.sample(range(n), k + 1)
        picks = [j for j in picks if j != i][:k]
        rows.append([PageNeighbour(items[j], j, 0.9 - 0.01 * r) for r, j in enumerate(picks)])
    facets = None
    if with_facets:
        from builder.collect.collection import Item
        from builder.collect.facets import facets_of

        collected = [Item(id=p.id, path=Path(p.relpath), relpath=p.relpath, category=p.category, content_hash=p.id,
                          title=p.title, date=p.date, medium=p.medium,
                          extra={"department": r["department"], "nationality": r["nationality"]})
                     for p, r in zip(items, recs, strict=True)]  # fmt: skip
        facets = facets_of(collected, ("department", "category", "nationality", "medium", "date"))
    network = PageNetwork("network", 512, "pool", "generated", "random", 1.0, rows)
    dataset = Dataset("collection", "The collection", items, [("network", rows)])
    if with_facets:
        dataset.facets = facets
    if tags is not None:
        dataset.tags = [("network", tags)]
    first = Dataset("collection", "The collection", items[:30], [("network", rows[:30])])
    if tags is not None:
        first.tags = [("network", tags[:30])]  # the pages' search label says words find what images show
    small = SiteModel(title=f"{n} generated items", items=items[:30], networks=[network], k=k, categories=[],
                      skipped=[], manifest={"vsis": "bench"}, extra_files={it.thumb: thumb for it in items},
                      datasets=[first], products=products or [])  # fmt: skip
    # the pages and scripts (and every item's thumbnail, one picture); the data of all n items replaces the
    # small model's below
    render(small, site)
    big = SiteModel(title=small.title, items=items, networks=[network], k=k, categories=[], skipped=[],
                    manifest={}, datasets=[dataset])  # fmt: skip
    sizes: dict[str, int] = {}
    for rel, text in explorer_files(big).items():
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        kind = "facets" if "/facets" in rel else rel.split("/")[2] if rel.count("/") > 2 else rel
        sizes[kind] = sizes.get(kind, 0) + len(text.encode("utf-8"))
    return sizes


FIRST_VIEW = """() => {
  const entries = performance.getEntriesByType("resource").filter(e => e.startTime <= window.VSIS_READY_MS);
  const nav = performance.getEntriesByType("navigation")[0];
  const bytes = e => e.encodedBodySize || e.transferSize || 0;
  return {ready_ms: window.VSIS_READY_MS, requests: entries.length + 1,
          bytes: bytes(nav) + entries.reduce((a, e) => a + bytes(e), 0)};
}"""

# Milliseconds from the action to the filter applied (the number of images passing and every value's count
# shown: explore.js sets data-counted to the view's hash then) and to the page of results drawn with their
# neighbours (data-shown: its shards loaded, which at 100,000 items may be 48 files of up to 85 KB).
TIMED = """async (selector) => {
  const root = document.documentElement;
  const when = attribute => new Promise(resolve => {
    const seen = new MutationObserver(() => {
      if (root.getAttribute(attribute) === location.hash) { seen.disconnect(); resolve(performance.now()); }
    });
    seen.observe(root, {attributes: true, attributeFilter: [attribute]});
  });
  const counted = when("data-counted"), drawn = when("data-shown");
  const t0 = performance.now();
  const target = document.querySelector(selector);
  if (target.type === "checkbox") target.click();
  else { target.value = target.placeholder; target.dispatchEvent(new Event("change")); }
  return [(await counted) - t0, (await drawn) - t0];
}"""


CHROMIUM: dict[str, str] = {}


def first_views(base: str, runs: int) -> dict[str, float]:
    from tests.browser import launched

    found = []
    with launched() as browser:
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(base + "explore.html")
            page.wait_for_function("() => window.VSIS_READY_MS !== undefined", timeout=60_000)
            found.append(page.evaluate(FIRST_VIEW))
            context.close()
        CHROMIUM["version"] = f"Chromium {browser.version}"
    return {key: statistics.median(f[key] for f in found) for key in ("ready_ms", "requests", "bytes")}


def filter_times(base: str, runs: int) -> dict[str, object]:
    from tests.browser import launched

    rows: list[dict[str, float]] = []
    with launched() as browser:
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(base + "explore.html")
            page.wait_for_selector("html[data-ready]")
            t0 = time.perf_counter()
            page.click("#filters")
            page.wait_for_selector('fieldset[data-facet="department"]')
            panel_ms = 1000 * (time.perf_counter() - t0)
            page.wait_for_timeout(1500)  # the members, loaded as the panel opens
            row: dict[str, float] = {"panel_open_ms": panel_ms}
            for name, selector in (
                ("first_value", 'fieldset[data-facet="department"] input[value="Department 0"]'),
                ("second_facet", 'fieldset[data-facet="nationality"] input[value="Nation 1"]'),
                ("third_facet", 'fieldset[data-facet="category"] input[value="Classification 2"]'),
                ("year_range", 'fieldset[data-facet="years"] input'),
            ):
                counted, drawn = page.evaluate(TIMED, selector)
                row[f"{name}_applied_ms"], row[f"{name}_drawn_ms"] = counted, drawn
            cdp = context.new_cdp_session(page)
            cdp.send("HeapProfiler.collectGarbage")
            row["heap_mb"] = cdp.send("Runtime.getHeapUsage")["usedSize"] / 1e6
            row["matches"] = int(page.evaluate("document.documentElement.dataset.matches"))
            rows.append(row)
            context.close()
    out: dict[str, object] = {key: round(statistics.median(r[key] for r in rows), 1) for key in rows[0]}
    out["all"] = rows
    return out


def cpu_flags() -> str:
    try:
        flags = next(line.split(":", 1)[1].split() for line in open("/proc/cpuinfo") if line.startswith("flags"))
    except (OSError, StopIteration):
        return "unknown"
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    return " ".join(f for f in wanted if f in flags) or "none of avx2/avx512/amx"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", type=Path, help="a checkout of the commit before the facets (git worktree)")
    parser.add_argument("--site-only", type=Path, help=argparse.SUPPRESS)  # write the site there and stop
    parser.add_argument("--without-facets", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "facets.json")
    args = parser.parse_args()

    if args.site_only:  # run with another checkout's builder first on the path (--before)
        import builder

        sizes = write_site(args.site_only, args.items, not args.without_facets)
        print(f"builder from {builder.__file__}", file=sys.stderr)
        print(json.dumps(sizes))
        return
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    from common import machine

    from tests.browser import served

    result: dict[str, object] = {"items": args.items, "runs": args.runs, "machine": machine(),
                                 "cpu_flags": cpu_flags()}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vsis-facets-") as tmp:
        sites = {"facets": (REPO, False)}
        if args.before:
            sites["before"] = (args.before, True)
        for label, (repo, without) in sites.items():
            folder = Path(tmp) / label / "site"
            folder.mkdir(parents=True)
            command = [sys.executable, str(REPO / "bench" / "facets.py"), "--items", str(args.items),
                       "--site-only", str(folder), *(["--without-facets"] if without else [])]  # fmt: skip
            env = {"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"}
            sizes = json.loads(subprocess.run(command, check=True, capture_output=True, text=True, env=env,
                                              cwd=repo).stdout.splitlines()[-1])  # fmt: skip
            with served(folder) as base:
                view = first_views(base, args.runs)
                row: dict[str, object] = {"first_view": view, "data_bytes": sizes}
                if label == "facets":
                    row["filters"] = filter_times(base, args.runs)
            result[label] = row
            print(f"{label}: first view {view['requests']:.0f} requests, {view['bytes']:,.0f} bytes, "
                  f"ready after {view['ready_ms']:.0f} ms; data files {sizes}")  # fmt: skip
        if "before" in result:
            grown = result["facets"]["first_view"]["bytes"] / result["before"]["first_view"]["bytes"] - 1  # type: ignore[index]
            result["first_view_growth"] = round(grown, 4)
            print(f"first view bytes: {100 * grown:+.1f}% against the checkout before the facets")
        filters = result["facets"]["filters"]  # type: ignore[index]
        print("filters (median ms): " + ", ".join(f"{k} {v}" for k, v in filters.items() if k != "all"))
    result["chromium"] = CHROMIUM.get("version", "")
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

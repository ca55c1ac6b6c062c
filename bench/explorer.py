"""The explorer over a large collection: time until it is interactive, and what it loads first.

    python bench/explorer.py [--items 5000] [--networks 3]

Generates a site of N items without running any network (random neighbours, MoMA-like metadata: titles,
artists, dates, media and long dimension strings; one shared thumbnail file), renders it with the real
templates and data writer, serves it on 127.0.0.1 and opens explore.html in headless Chromium (the system
binary). Reported, as the median of --runs fresh page loads: milliseconds from navigation start until the
first page of results is drawn and the controls work (explore.js records it), and the bytes of every
request made until then: the data files (data/*.js) and everything (HTML, CSS, scripts, data; thumbnails
load lazily afterwards). Writes bench/results/explorer.json.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from pathlib import Path

from common import REPO, save_results

sys.path.insert(0, str(REPO))

WORDS = (
    "still life with fruit bowl untitled study portrait of woman landscape night city street composition "
    "number red blue yellow figure seated head horse river bridge window interior garden self chair "
    "abstraction mother child dancer sea morning winter village tree mountain"
).split()
MEDIA = (
    "Oil on canvas",
    "Lithograph",
    "Gelatin silver print",
    "Woodcut",
    "Etching and aquatint",
    "Pencil on paper",
    "Screenprint, printed in color",
    "Watercolor and ink on paper",
)


def dimensions(rng: random.Random) -> str:
    h, w = rng.randint(5, 120), rng.randint(5, 120)
    return f"composition: {h} x {w} cm ({h / 2.54:.1f} x {w / 2.54:.1f} in.); sheet: {h + 8} x {w + 6} cm"


def model(n: int, n_networks: int, k: int, thumb: Path, seed: int = 71):
    from builder.pagekit.item import PageItem
    from builder.site.model import Dataset, PageNeighbour, PageNetwork, SiteModel

    rng = random.Random(seed)
    artists = [f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()}son" for _ in range(800)]
    items = []
    for i in range(n):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))).capitalize()
        items.append(
            PageItem(
                id=f"{i:05d}-{title[:20].lower().replace(' ', '-')}",
                title=title,
                artist=rng.choice(artists),
                date=str(rng.randint(1850, 2020)),
                medium=rng.choice(MEDIA),
                dimensions=dimensions(rng),
                url="",
                category=rng.choice(("Painting", "Print", "Photograph", "Drawing")),
                relpath=f"{i}.jpg",
                extra=[],
                thumb="",
            )
        )
    for it in items:
        it.thumb = f"compare/{it.id}.jpg"
    networks = []
    for name in ("vgg16", "resnet152", "densenet201", "efficientnet_lite0")[:n_networks]:
        rows = []
        for i in range(n):
            picks = rng.sample(range(n - 1), k)
            scores = sorted((rng.uniform(0.3, 0.99) for _ in range(k)), reverse=True)
            rows.append(
                [
                    PageNeighbour(items[j if j < i else j + 1], j if j < i else j + 1, s)
                    for j, s in zip(picks, scores, strict=False)
                ]
            )
        networks.append(PageNetwork(name, 512, "pool", name, "random", 1.0, rows))
    datasets = [Dataset("collection", "The collection", items, [(net.name, net.neighbours) for net in networks])]
    return SiteModel(
        title=f"{n} generated items",
        items=items,
        networks=networks,
        k=k,
        categories=[],
        skipped=[],
        manifest={"vsis": "bench"},
        extra_files={it.thumb: thumb for it in items},
        datasets=datasets,
    )


MEASURE = """() => {
  const entries = performance.getEntriesByType("resource").filter(e => e.startTime <= window.VSIS_READY_MS);
  const nav = performance.getEntriesByType("navigation")[0];
  const bytes = e => e.encodedBodySize || e.transferSize || 0;
  return {ready_ms: window.VSIS_READY_MS,
          data_bytes: entries.filter(e => e.name.includes("/data/")).reduce((a, e) => a + bytes(e), 0),
          all_bytes: bytes(nav) + entries.reduce((a, e) => a + bytes(e), 0),
          requests: entries.length + 1,
          results: document.querySelectorAll("#results > li.result").length};
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--networks", type=int, default=3)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "explorer.json")
    args = parser.parse_args()

    from PIL import Image

    from builder.site.render import render
    from tests.browser import launched, served

    with tempfile.TemporaryDirectory(prefix="vsis-bench-") as tmp:
        tmp_path = Path(tmp)
        thumb = tmp_path / "thumb.jpg"
        Image.new("RGB", (256, 192), (200, 180, 150)).save(thumb, quality=85)
        site = tmp_path / "site"
        site.mkdir()
        render(model(args.items, args.networks, args.k, thumb), site)
        sizes = {p.relative_to(site).as_posix(): p.stat().st_size for p in sorted((site / "data").rglob("*.js"))}
        runs = []
        with served(site) as base, launched() as browser:
            for _ in range(args.runs):
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(base + "explore.html")
                page.wait_for_function("() => window.VSIS_READY_MS !== undefined", timeout=60_000)
                runs.append(page.evaluate(MEASURE))
                page.close()
        med = {key: statistics.median(r[key] for r in runs) for key in ("ready_ms", "data_bytes", "all_bytes")}
        row = {
            "items": args.items,
            "networks": args.networks,
            "k": args.k,
            "runs": args.runs,
            "ready_ms_median": round(med["ready_ms"], 1),
            "ready_ms_all": [round(r["ready_ms"], 1) for r in runs],
            "data_bytes_before_ready": int(med["data_bytes"]),
            "all_bytes_before_ready": int(med["all_bytes"]),
            "requests_before_ready": runs[0]["requests"],
            "results_drawn": runs[0]["results"],
            "data_files_bytes": sizes,
        }
        print(
            f"{args.items} items x {args.networks} networks: interactive after {row['ready_ms_median']:.0f} ms "
            f"(median of {args.runs}: {row['ready_ms_all']}); before that it loaded "
            f"{row['data_bytes_before_ready'] / 1e6:.2f} MB of data, {row['all_bytes_before_ready'] / 1e6:.2f} MB "
            f"in all, {row['requests_before_ready']} requests; {row['results_drawn']} results drawn"
        )
        for name, size in sizes.items():
            print(f"  {name}: {size / 1e6:.2f} MB")
    save_results(args.out, f"generated-{args.items}", [row])


if __name__ == "__main__":
    main()

"""Search by words in query.html at scale: what the text tower weighs, what a first search by words loads and
how long it takes, at 5,000 and 100,000 items, in headless Chromium on this machine.

    python bench/query_words.py [--sizes 5000,100000] [--runs 3] [--text-model INT8.onnx]

The vectors are GENERATED, and labelled so: N unit vectors of 512 dimensions (CLIP ViT-B/32's), drawn around
200 seeded centres, compacted by the builder's own query/compact.py (its recall target, its forms). The text
tower is CLIP ViT-B/32's as the builder makes it (features/runtime/weight_only.py), from a randomly
initialised open_clip model (no hub weights can be downloaded here): its size and its speed are the real
weights' (the same architecture, the same number of weights), what it finds is not, and so which items come
first means nothing. The explorer's files for N items come from bench/facets.write_site (generated titles),
the query page's from builder/query/data.py and the runtime's from builder/query/runtime.py.

Per size, --runs fresh browser contexts (cold HTTP cache), served on 127.0.0.1: query.html opened, words typed
and Enter pressed; `window.vsisQueryLast.ms` gives the time from the search to the results drawn; every
request made after it is counted by kind (text tower, tokenizer and its script, runtime, vectors, items and
thumbnails). Then other words are searched on the same page (warm: the tower and the vectors are held).
Medians of the runs. Writes bench/results/query_words.json (every row carries the CPU's features).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common import machine, save_results  # noqa: E402
from facets import CHROMIUM, cpu_flags, write_site  # noqa: E402

from builder.query.browser import BrowserNetwork  # noqa: E402
from builder.query.compact import compact  # noqa: E402
from builder.query.model import QueryNetwork, QueryPage  # noqa: E402
from builder.query.product import QueryProduct  # noqa: E402

NET = "clip_vit_b32"
DIM = 512
WORDS = ("a mountain lake at dawn", "two dogs playing in the snow")

READ = """() => {
  const start = window.vsisBenchStart, bytes = {};
  for (const e of performance.getEntriesByType("resource")) {
    if (e.startTime < start) continue;
    const path = new URL(e.name).pathname;
    const kind = path.endsWith("/text.js") ? "text_tower" : path.endsWith("tokenizer.js") ? "tokenizer"
      : path.includes("/vendor/") ? "runtime" : path.includes("/data/query/") ? "vectors" : "items_thumbs";
    bytes[kind] = (bytes[kind] || 0) + (e.encodedBodySize || e.transferSize || 0);
  }
  return {ms: window.vsisQueryLast.ms, bytes, status: document.getElementById("qstatus").textContent};
}"""


def text_model(work: Path) -> Path:
    """CLIP ViT-B/32's int8 text tower, made by the builder's model child from a random checkpoint."""
    import open_clip
    import torch

    from builder.features.networks import get
    from builder.features.runtime.model_worker import make_models

    weights, fp32, int8 = work / "clip-random.pt", work / "text-fp32.onnx", work / "text-int8.onnx"
    torch.manual_seed(0)
    torch.save(open_clip.create_model("ViT-B-32", pretrained=None).state_dict(), weights)
    make_models(get(NET), weights, fp32, int8, text=True)
    return int8


def generated(n: int, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((200, DIM)).astype(np.float32)
    x = centres[rng.integers(0, 200, n)] + 0.8 * rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def words_page(x: np.ndarray, model: Path) -> QueryPage:
    """A query page that searches x (unit rows) by words with the text tower `model`, as the builder makes it."""
    network = BrowserNetwork(NET, "", DIM, {}, (), None, model)
    return QueryPage([QueryNetwork(network, compact(x))], [], min(20, len(x)))


def write_query(site: Path, n: int, model: Path) -> dict[str, object]:
    """The query page's data for n generated items (and the runtime) under site/; what it is."""
    from builder.query.data import first_search_bytes, query_files
    from builder.query.runtime import write_runtime

    page = words_page(generated(n), model)
    vectors = page.networks[0].vectors
    runtime = sum(size for rel, size in write_runtime(site).items() if rel.endswith(".js"))
    files = query_files(page, n, runtime)
    for rel, text in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text, encoding="utf-8")
    return {"dims": vectors.dims, "bytes_an_item": vectors.width, "compact_recall_at_10": vectors.recall,
            "first_search_bytes_said": first_search_bytes(page, files, runtime)[NET].words}  # fmt: skip


def searches(base: str, runs: int) -> dict[str, object]:
    from tests.browser import launched

    first, warm = [], []
    with launched() as browser:
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(base + "query.html")
            page.wait_for_function("document.documentElement.dataset.query === 'ready'")
            for words, into in zip(WORDS, (first, warm), strict=True):
                page.evaluate("window.vsisBenchStart = performance.now(); document.documentElement.dataset.query = 'w'")
                page.fill("#qtext", words)
                page.press("#qtext", "Enter")
                page.wait_for_function("['done', 'error'].includes(document.documentElement.dataset.query)",
                                       timeout=300_000)  # fmt: skip
                found = page.evaluate(READ)
                assert page.evaluate("document.documentElement.dataset.query") == "done", found["status"]
                into.append(found)
            context.close()
        CHROMIUM["version"] = f"Chromium {browser.version}"

    def median(rows: list[dict], key: str, part: str) -> float:
        return round(statistics.median(r[key].get(part, 0) for r in rows), 1)

    out: dict[str, object] = {f"first_{p}_ms": median(first, "ms", p) for p in ("total", "feature", "rank")}
    out.update({f"warm_{p}_ms": median(warm, "ms", p) for p in ("total", "feature", "rank")})
    kinds = sorted({k for r in first for k in r["bytes"]})
    out["first_bytes"] = {k: int(statistics.median(r["bytes"].get(k, 0) for r in first)) for k in kinds}
    out["first_bytes_total"] = sum(out["first_bytes"].values())  # type: ignore[arg-type]
    out["all"] = {"first": first, "warm": warm}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--text-model", type=Path, help="an int8 text tower made before (else made here)")
    args = parser.parse_args()
    from tests.browser import served

    rows = []
    with tempfile.TemporaryDirectory(prefix="vsis-query-words-") as tmp:
        work = Path(tmp)
        model = args.text_model or text_model(work)
        for n in (int(s) for s in args.sizes.split(",")):
            site = work / f"site-{n}"
            site.mkdir()
            write_site(site, n, with_facets=False, products=[QueryProduct(words_page(generated(30), model))])
            row: dict[str, object] = {"items": n, "vectors": "generated", "text_tower_bytes": model.stat().st_size}
            row.update(write_query(site, n, model))
            with served(site) as base:
                row.update(searches(base, args.runs))
            row.update(chromium=CHROMIUM.get("version", ""), cpu_flags=cpu_flags())
            print(
                f"{n:>7} items: text tower {row['text_tower_bytes'] / 1e6:.1f} MB; first search by words "
                f"{row['first_total_ms']:.0f} ms, loads {row['first_bytes_total'] / 1e6:.1f} MB "
                f"{row['first_bytes']}; warm {row['warm_total_ms']:.0f} ms (rank {row['warm_rank_ms']:.0f} ms); "
                f"{row['dims']} dims x {row['bytes_an_item']} bytes, recall@10 {row['compact_recall_at_10']:.3f}"
            )
            rows.append(row)
    print(f"{machine()}; flags: {cpu_flags()}")
    save_results(REPO / "bench/results/query_words.json", "generated vectors, CLIP ViT-B/32 (random weights)", rows)


if __name__ == "__main__":
    main()

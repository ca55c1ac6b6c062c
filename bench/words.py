"""Search by words over a large collection: what the word index weighs, what a first view loads, how long a
search by words takes in the explorer.

    python bench/words.py [--items 100000] [--runs 3]

Generates N items without running any network (random neighbours, k = 10) and their tags as a tagging network
gives them: per item 0 to 3 classes (1.2 on average, as efficientnet_lite0 gave OpenClipart drawings at the
threshold 0.1: bench/tags.py), drawn with Zipf-like weights over ImageNet's 1,000 classes in a seeded order (a
few classes common, most rare), probabilities from 0.1 to 0.95. The explorer's files are written by the real
writers (site/explorer_data.py, site/word_data.py), its page by the real renderer (bench/facets.write_site),
served on 127.0.0.1 and opened in headless Chromium (system binary). Reported, as medians of --runs fresh pages:
the first view's requests and bytes with tags and without them; the word index's bytes (data/words.js, the tags
files, the largest); the time from a word typed to the list drawn (the attribute explore.js sets when a view is
drawn) for a title's number, a rare class, the commonest class, "dog" (118 classes over 3 files) and "animal" (398
classes over 9 files). Writes bench/results/words.json with the CPU's flags.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from facets import CHROMIUM, cpu_flags, first_views, write_site  # noqa: E402

from builder.features.tags import Tag  # noqa: E402

TIMED = """async (word) => {
  const root = document.documentElement;
  const input = document.getElementById("query");
  const t0 = performance.now();
  const drawn = new Promise(resolve => {
    const seen = new MutationObserver(() => {
      if (location.hash.includes("q=") && root.dataset.shown === location.hash) {
        seen.disconnect(); resolve(performance.now());
      }
    });
    seen.observe(root, {attributes: true, attributeFilter: ["data-shown"]});
  });
  input.value = word; input.dispatchEvent(new Event("input"));
  return [(await drawn) - t0, Number(root.dataset.matches)];
}"""
DEBOUNCE_MS = 150  # explore.js waits this long after a keystroke before searching: taken off the times


def generated_tags(n: int, seed: int = 30) -> tuple[list[list[Tag]], list[int]]:
    """Each item's tags, and the classes in order of commonness (the first the commonest)."""
    rng = random.Random(seed)
    order = list(range(1000))
    rng.shuffle(order)
    weights = [1 / (r + 1) for r in range(1000)]
    tags = []
    for _ in range(n):
        count = rng.choices((0, 1, 2, 3), weights=(0.2, 0.45, 0.25, 0.1))[0]
        classes = set()
        while len(classes) < count:
            classes.add(order[rng.choices(range(1000), weights=weights)[0]])
        probabilities = sorted((round(rng.uniform(0.1, 0.95 / count), 3) for _ in classes), reverse=True)
        tags.append([Tag(c, p) for c, p in zip(sorted(classes), probabilities, strict=True)])
    return tags, order


def search_times(base: str, runs: int, words: list[str]) -> dict[str, dict[str, float]]:
    from tests.browser import launched

    rows: dict[str, list[tuple[float, int]]] = {w: [] for w in words}
    with launched() as browser:
        for _ in range(runs):
            for word in words:  # each search on a fresh page: its files loaded then
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.goto(base + "explore.html")
                page.wait_for_selector("html[data-ready]")
                rows[word].append(tuple(page.evaluate(TIMED, word)))
                context.close()
        CHROMIUM["version"] = f"Chromium {browser.version}"
    return {
        w: {"ms": round(statistics.median(t for t, _ in r) - DEBOUNCE_MS, 1), "matches": r[0][1]}
        for w, r in rows.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "words.json")
    args = parser.parse_args()
    from common import machine

    from builder.features.networks.classes import imagenet_classes
    from tests.browser import served

    tags, order = generated_tags(args.items)
    names = imagenet_classes()
    rare = next(c for c in reversed(order) if any(t.index == c for row in tags for t in row))
    words = ["4242", names[rare].name.lower(), names[order[0]].name.lower(), "dog", "animal"]
    per_item = round(sum(map(len, tags)) / len(tags), 3)
    result: dict[str, object] = {"items": args.items, "runs": args.runs, "machine": machine(),
                                 "cpu_flags": cpu_flags(), "tags_per_item": per_item}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="vsis-words-") as tmp:
        for label, with_tags in (("without tags", False), ("with tags", True)):
            site = Path(tmp) / label.replace(" ", "-") / "site"
            site.mkdir(parents=True)
            sizes = write_site(site, args.items, False, tags=tags if with_tags else None)
            with served(site) as base:
                row: dict[str, object] = {"first_view": first_views(base, args.runs), "data_bytes": sizes}
                if with_tags:
                    files = sorted((site / "data" / "collection" / "tags").rglob("*.js"))
                    row["word_index"] = {
                        "words_js": (site / "data" / "words.js").stat().st_size,
                        "tags_files": len(files),
                        "tags_bytes": sum(f.stat().st_size for f in files),
                        "largest_tags_file": max(f.stat().st_size for f in files),
                    }
                    row["searches"] = search_times(base, args.runs, words)
            result[label] = row
            print(f"{label}: first view {row['first_view']}")  # type: ignore[index]
        tagged = result["with tags"]
        print(f"word index: {tagged['word_index']}")  # type: ignore[index]
        for word, found in tagged["searches"].items():  # type: ignore[index]
            print(f"  '{word}': {found['matches']:,} images, list drawn {found['ms']:.0f} ms after the search began")
    result["chromium"] = CHROMIUM.get("version", "")
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()

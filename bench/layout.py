"""Does the map keep each image beside its true neighbours? The build's layout against umap-learn and openTSNE.

    python bench/layout.py [--sizes 2000,5000,100000] [--methods vsis,vsis@750,umap,opentsne] [--work DIR]

Features: efficientnet_lite0's, as the build searches them (the default retrieval settings), of the
2,000-drawing OpenClipart sample of bench/quality.py (seeded, stratified by top-level folder), extracted once
by a build into --work and read back from its cache. A size of 2,000 is that sample itself; any other size is
generated from it: item i is drawing b_i's features (b_i seeded) plus Gaussian noise of norm 0.5 spread over
the dimensions, made unit length again, so each drawing has n / 2,000 variants around it and the items get
denser as n grows (at 100,000, 50 variants a drawing): the local structure is real features', the density is
not a museum's.

Every method lays out the same unit vectors. The build's layout (builder/map/embed.py; vsis@E: with
[map] epochs = E) is given what the build gives it: the neighbour lists of the build's own search (10 deep,
recall target 0.98, cells or exact as the build chooses). umap-learn (defaults: 15 neighbours, its own
search; cosine) and openTSNE (defaults: perplexity 30, FFT; cosine; 2 threads) are benchmark-only
dependencies (pip install umap-learn openTSNE).

Measured on the 2-D result, over up to 5,000 seeded query items, exact in the features (cosine) and on the
map (Euclidean, each method's own coordinates): neighbourhood preservation, the share of an item's 10
nearest in the features that are among its 10 nearest on the map; and trustworthiness at 10 (Venna and
Kaski: 1 - 2 / (n k (2n - 3k - 1)) x the summed feature-space ranks beyond k of each item's map neighbours,
over the queried items, scaled to n). Times are wall-clock seconds of the layout alone (the build's search
apart), on the 2-core machine. Writes bench/results/layout.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import OPENCLIPART, REPO, save_results

sys.path.insert(0, str(REPO))

K = 10
QUERIES = 5000
NOISE = 0.5


def real_features(work: Path, n: int = 2000, seed: int = 71) -> np.ndarray:
    """The OpenClipart sample's efficientnet_lite0 vectors as the build searches them (kept in work)."""
    saved = work / f"openclipart-{n}-seed{seed}.npy"
    if saved.exists():
        return np.load(saved)
    from quality import decodable, labelled_files, link_sample, stratified_sample

    from builder.build import build
    from builder.config import make_config

    chosen = stratified_sample(labelled_files(OPENCLIPART), n, seed, decodable())
    collection = link_sample(chosen, OPENCLIPART, work / "collection")
    config = make_config(collection=collection, networks=("efficientnet_lite0",), out=work / "site",
                         cache_dir=work / "cache", map_enabled=False, query_enabled=False, experiment_enabled=False,
                         follow_external_links=True)  # fmt: skip
    result = build(config)
    (net,) = result.networks
    x = np.asarray(net.searched if net.searched is not None else [], dtype=np.float32)
    np.save(saved, x)
    return x


def variants(base: np.ndarray, n: int, seed: int = 7) -> np.ndarray:
    """n items around the base rows: a seeded base each plus noise of norm NOISE, unit length again."""
    if n == len(base):
        return base
    rng = np.random.default_rng(seed)
    x = base[rng.integers(0, len(base), n)]
    x += rng.standard_normal(x.shape, dtype=np.float32) * np.float32(NOISE / np.sqrt(x.shape[1]))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def neighbourhoods(x: np.ndarray, y: np.ndarray, k: int = K, queries: int = QUERIES, seed: int = 0) -> dict:
    """Preservation and trustworthiness at k of the 2-D layout y of the unit rows x (see the docstring)."""
    from scipy.spatial import cKDTree

    n = len(x)
    rows = np.sort(np.random.default_rng(seed).choice(n, min(queries, n), replace=False))
    _, found = cKDTree(np.asarray(y, dtype=np.float64)).query(np.asarray(y, dtype=np.float64)[rows], k + 1)
    on_map = np.array([[j for j in listed if j != i][:k] for listed, i in zip(found, rows, strict=True)])
    kept, beyond = [], []
    for start in range(0, len(rows), 500):
        block = rows[start : start + 500]
        similarity = x[block] @ x.T
        similarity[np.arange(len(block)), block] = -np.inf  # itself is no neighbour
        order = np.argsort(-similarity, axis=1, kind="stable")
        rank = np.empty_like(order)
        rank[np.arange(len(block))[:, None], order] = np.arange(n)[None, :]
        mapped = on_map[start : start + len(block)]
        kept += [len(set(order[a, :k]) & set(mapped[a])) / k for a in range(len(block))]
        beyond += list(np.maximum(np.take_along_axis(rank, mapped, axis=1) + 1 - k, 0).sum(axis=1))
    trust = 1 - 2 / (k * (2 * n - 3 * k - 1)) * float(np.mean(beyond))  # the sum over all n items, as a mean x n
    return {"preservation": round(float(np.mean(kept)), 4), "trustworthiness": round(trust, 4), "queries": len(rows)}


def lay_out(method: str, x: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """vsis (the build's defaults; vsis@E: E steps), umap or opentsne."""
    if method.split("@")[0] == "vsis":
        from builder.map.embed import LayoutSettings, layout

        settings = LayoutSettings(epochs=int(method.split("@")[1])) if "@" in method else LayoutSettings()
        return layout(x, indices, settings).astype(np.float64)
    if method == "umap":
        import umap

        return umap.UMAP(metric="cosine", random_state=0).fit_transform(x)
    if method == "opentsne":
        from openTSNE import TSNE

        return np.asarray(TSNE(metric="cosine", n_jobs=2, random_state=0).fit(x))
    raise SystemExit(f"unknown method {method!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,5000")
    parser.add_argument("--methods", default="vsis,umap,opentsne")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "vsis-layout-bench")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "layout.json")
    args = parser.parse_args()

    from builder.search.neighbours import NeighbourSearch

    args.work.mkdir(parents=True, exist_ok=True)
    base = real_features(args.work)
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        x = variants(base, n)
        kind = "openclipart" if n == len(base) else f"variants of the {len(base)} drawings"
        started = time.perf_counter()
        found, recall = NeighbourSearch().tuned(x, K, 0.98, 1000)
        search_s = time.perf_counter() - started
        for method in args.methods.split(","):
            started = time.perf_counter()
            y = lay_out(method, x, found.indices)
            seconds = time.perf_counter() - started
            row = {"items": n, "features": kind, "dim": x.shape[1], "method": method, "layout_s": round(seconds, 2),
                   **neighbourhoods(x, y)}  # fmt: skip
            if method.startswith("vsis"):
                row |= {"search_s": round(search_s, 2), "search_recall": round(recall.value, 4)}
            print(row, flush=True)
            rows.append(row)
    save_results(args.out, "layout-quality", rows)


if __name__ == "__main__":
    main()

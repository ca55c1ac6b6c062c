"""Retrieval quality of a folder-labelled collection: does a network's neighbour list find images of the
query's own label (P@1, P@10, mAP@10, beside chance), and does it still find an image's near-duplicates
(recall@5 on the experiment's perturbation profiles)?

    python bench/quality.py                                   # 2,000 OpenClipart drawings, default setting
    python bench/quality.py --networks efficientnet_lite0,resnet152,pixels
    python bench/quality.py --settings "framing=crop,pooling=avg;framing=pad,pooling=gem,centre=true,expansion=3"
    python bench/quality.py --collection DIR --n 500 --seed 3  # any folder-labelled collection (label: top folder)
    python bench/quality.py --table                            # the README's table, from bench/results/quality.json

The collection: every image under the root, byte-identical files collapsed first (OpenClipart files one drawing
under several folders, some as symbolic links: each content is kept once, labelled by the top-level folder of
its first real path in sorted order), then a seeded sample stratified across the labels (each label's share of
the n is its share of the distinct drawings, by largest remainder; within a label, a seeded shuffle, skipping
files the builder cannot decode). The sample is linked into label/ folders, so the builder's own category (the
folder) is the label.

Measured by the product itself, so the bench reports exactly what a site would publish: for each retrieval
setting the real build runs (builder.build.build, make_config with the setting's fields, exact search, lists
of 10, the experiment on 300 of the sampled originals with the profiles m1..m5, no map, no query page), and
the figures are read from its result: each image queries all the other images of the sample as the site's
lists do (exact cosine search, itself excluded). P@k and mAP@k and their chance levels are computed here from
those published lists with builder/experiment/metrics.py's functions (the definitions are in its docstring;
nothing is reimplemented) and bootstrapped with stats.estimate, and checked against the figures the build's
experiment page publishes. The near-duplicate guard is recall@5: the share of an original's 5 copies among its
top 5, for 300 of the sampled originals (the experiment's choice) with their copies (m1..m5, made and cached
by the build's experiment) added to the whole sample, 3,500 images searched exactly (the experiment's layout,
the features read back from the build's cache, metrics.py's recall). Beside it in the JSON, the experiment
page's own recall@5, searched among the 300 originals and their 1,500 copies alone (fewer distractors, so
higher). Extraction time: the network's inference per image (its runner's clock, over every
image and copy it extracted), and the whole build's wall time.

A setting names BuildConfig fields: framing (crop|pad), pooling (avg|gem|stages), centre (true|false),
expansion (an int). They pass through make_config to the builder, so the bench measures whatever the builder
does with them. Settings that only change the search (centre, expansion) share a feature cache; framing and
pooling each get their own, so nothing cached under one can be read under another. A setting whose searched
features are byte-identical to an earlier setting's (the build's features digest) is marked "same features as
..." in the table: that setting changed nothing in the builder that ran.

Writes bench/results/quality.json (machine, CPU features and flags beside the figures, merged with earlier
runs on other collections and CPUs) and prints the markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import OPENCLIPART, REPO, cpu, machine

OUT = REPO / "bench" / "results" / "quality.json"
KS = (1, 10)  # P@1, P@10; mAP at the deepest
GUARD_ORIGINALS = 300
GUARD_K = 5
GUARD_PROFILES = ("m1", "m2", "m3", "m4", "m5")
SETTING_FIELDS = {"framing": str, "pooling": str, "centre": bool, "expansion": int}
# their names as make_config takes them (builder/config.py: a table's key after its table)
SETTING_FLAT = {"framing": "features_framing", "pooling": "features_pooling", "centre": "features_centre",
                "expansion": "neighbours_expansion"}  # fmt: skip


@dataclass(frozen=True)
class Labelled:
    """The distinct images of a folder-labelled collection, per label (content collapsed)."""

    files: dict[str, list[Path]]  # label -> its distinct files, sorted
    scanned: int  # image files found (links included)
    distinct: int  # distinct contents
    multi_labelled: int  # distinct contents found under more than one top-level folder


def labelled_files(root: Path) -> Labelled:
    """Every image under root, by content: one file per content (its first real path in sorted order, so a
    link yields to the file it points at), labelled by that path's top-level folder. Files at the root
    itself have no label and are left out."""
    from builder.collect.collection import IMAGE_SUFFIXES

    root = root.resolve()
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    by_content: dict[str, list[tuple[Path, Path]]] = {}  # content -> (where found, the real file)
    for path in paths:
        real = path.resolve()
        if len(path.relative_to(root).parts) < 2 or not real.is_relative_to(root) or real.parent == root:
            continue
        by_content.setdefault(hashlib.sha256(real.read_bytes()).hexdigest(), []).append((path, real))
    files: dict[str, list[Path]] = {}
    multi = 0
    for found in by_content.values():
        multi += len({path.relative_to(root).parts[0] for path, _ in found}) > 1  # a link files it there too
        first = min(real for _, real in found)
        files.setdefault(first.relative_to(root).parts[0], []).append(first)
    return Labelled({label: sorted(set(f)) for label, f in sorted(files.items())}, len(paths), len(by_content), multi)


def allocation(sizes: dict[str, int], n: int) -> dict[str, int]:
    """n shared across the labels in proportion to their sizes, by largest remainder (ties: the label's name),
    never more than a label holds."""
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    quota = {label: n * size / total for label, size in sizes.items()}
    share = {label: int(q) for label, q in quota.items()}
    for label in sorted(quota, key=lambda lb: (-(quota[lb] - share[lb]), lb))[: n - sum(share.values())]:
        share[label] += 1
    return share


def stratified_sample(labelled: Labelled, n: int, seed: int, usable: Callable[[Path], bool]) -> dict[str, list[Path]]:
    """Per label, its allocation of files in a seeded shuffle, skipping those `usable` refuses (taking the
    next in line, so every label keeps its share while it has files to give)."""
    chosen: dict[str, list[Path]] = {}
    for label, count in allocation({lb: len(f) for lb, f in labelled.files.items()}, n).items():
        order = list(labelled.files[label])
        random.Random(f"{seed}|{label}").shuffle(order)
        chosen[label] = []
        for path in order:
            if len(chosen[label]) == count:
                break
            if usable(path):
                chosen[label].append(path)
    return chosen


def decodable() -> Callable[[Path], bool]:
    """Whether the builder decodes a file within its default limits: what a sample may hold."""
    from builder.build import decode_limits
    from builder.config import make_config
    from builder.inputs.images import ImageError, decode

    limits = decode_limits(make_config())

    def usable(path: Path) -> bool:
        try:
            decode(path, limits)
            return True
        except ImageError:
            return False

    return usable


def link_sample(chosen: dict[str, list[Path]], root: Path, dest: Path) -> Path:
    """The sample as dest/label/<path under root, '/' as '__'>: the builder's category is the label."""
    for label, paths in chosen.items():
        for path in paths:
            link = dest / label / "__".join(path.relative_to(root.resolve()).parts)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(path)
    return dest


def parse_settings(text: str) -> list[dict[str, object]]:
    """'framing=pad,pooling=gem;centre=true' -> [{'framing': 'pad', 'pooling': 'gem'}, {'centre': True}];
    an empty setting is the builder's defaults."""
    settings = []
    for part in text.split(";"):
        setting: dict[str, object] = {}
        for pair in filter(None, (p.strip() for p in part.split(","))):
            name, _, value = pair.partition("=")
            kind = SETTING_FIELDS.get(name.strip())
            if kind is None:
                raise SystemExit(f"--settings: {name!r} is not one of {', '.join(SETTING_FIELDS)}")
            value = value.strip()
            if kind is bool:
                if value.lower() not in ("true", "false"):
                    raise SystemExit(f"--settings: {name} must be true or false, got {value!r}")
                setting[name] = value.lower() == "true"
            else:
                setting[name] = kind(value)
        settings.append(setting)
    return settings


def setting_name(config) -> str:
    """A setting as the table names it, from the config the build ran with: 'crop/avg', 'pad/gem/centre/exp3'."""
    name = f"{config.features.framing}/{config.features.pooling}"
    return (
        name
        + ("/centre" if config.features.centre else "")
        + (f"/exp{config.neighbours.expansion}" if config.neighbours.expansion else "")
    )


def cpu_flags() -> list[str]:
    """The vector and matrix extensions the kernel reports (what `grep -o 'avx512[a-z_]*|avx2|amx[a-z_]*'
    /proc/cpuinfo | sort -u` shows)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    return sorted(set(re.findall(r"\b(avx512[a-z_0-9]*|avx2|amx[a-z_0-9]*)\b", text)))


def figure(e) -> dict[str, float]:
    return {"mean": round(e.mean, 4), "low": round(e.low, 4), "high": round(e.high, 4)}


def measure(result, config, digests: dict[tuple[str, str], str]) -> list[dict[str, object]]:
    """One row per network: the category figures from the published lists (metrics.py), checked against the
    build's own experiment page, and near-duplicate recall@5 among the whole sample (and, as the experiment
    page publishes it, among the experiment's own set)."""
    from builder.experiment.metrics import (
        average_precision_at,
        category_chance,
        category_codes,
        category_matches,
        category_others,
        category_shares,
        random_average_precision,
    )
    from builder.experiment.stats import estimate

    ex = result.experiment
    codes = category_codes([i.category for i in result.items])
    others = category_others(codes)
    queries = others >= 1
    n = len(result.items)
    deepest = max(KS)
    chance_p = float(category_chance(codes).mean())
    chance_map = float(random_average_precision(deepest, others[queries], n - 1).mean())
    assert ex.category_chance == chance_p and ex.category_map_chance[deepest] == chance_map
    recovery = {(e.network, r.k): r for e in ex.networks for r in e.recovery}
    versus = {(c.a, c.b, c.metric): c for c in ex.category_comparisons}
    guard_values = near_duplicate_recall(result, config)
    rows = []
    for net in result.networks:
        lists = net.neighbours.indices
        assert lists.shape[1] >= deepest, f"{net.name}: lists of {lists.shape[1]}, {deepest} needed"
        found = {f"p@{k}": estimate(category_shares(lists, codes, k)) for k in KS}
        found[f"map@{deepest}"] = estimate(
            average_precision_at(category_matches(lists, codes, deepest), deepest, others)[queries]
        )
        published = {f"p@{k}": ex.category_precision[(net.name, k)] for k in KS}
        published[f"map@{deepest}"] = ex.category_map[(net.name, deepest)]
        for key, e in found.items():  # what the bench computed is what the site publishes
            p = published[key]
            assert np.allclose([e.mean, e.low, e.high], [p.mean, p.low, p.high], atol=1e-8), (net.name, key, e, p)
        guard = estimate(guard_values[net.name])
        setting = setting_name(config)
        digest_key = (net.name, net.features)
        same_as = digests.setdefault(digest_key, setting)
        comparisons = {
            f"{c.a} - {c.b} {c.metric}": {**figure(c.difference), "verdict": c.verdict}
            for key, c in versus.items()
            if net.name in key[:2] and key[2] in ("category P@1", f"category mAP@{deepest}")
        }
        rows.append(
            {
                "network": net.name,
                "setting": setting,
                "settings": {
                    "framing": config.features.framing,
                    "pooling": config.features.pooling,
                    "centre": config.features.centre,
                    "expansion": config.neighbours.expansion,
                },  # fmt: skip
                "same_features_as": same_as if same_as != setting else "",
                "images": n,
                "queries_p": int(len(codes[codes >= 0])),
                "queries_map": int(queries.sum()),
                **{key: figure(e) for key, e in found.items()},
                "chance_p": round(chance_p, 4),
                f"chance_map@{deepest}": round(chance_map, 4),
                f"near_dup_recall@{GUARD_K}": figure(guard),
                "near_dup_originals": ex.layout.m,
                "near_dup_indexed": n + ex.layout.size - ex.layout.m,
                f"near_dup_recall@{GUARD_K}_experiment_set": figure(recovery[(net.name, GUARD_K)].recall),
                "near_dup_experiment_indexed": ex.layout.size,
                "precision_used": net.precision.used,
                "extracted": net.extracted,
                "ms_per_image": round(1000 / net.images_per_second, 2) if net.extracted else None,
                "comparisons": comparisons,
            }
        )
    return rows


def near_duplicate_recall(result, config) -> dict[str, np.ndarray]:
    """Per network, recall@GUARD_K of each of the experiment's originals when its copies are added to the
    whole sample: rows [the originals, their copies in the experiment's order (run.ExperimentLayout), the
    rest of the sample], searched exactly with the network's refinement applied over that set as the
    experiment applies it over its own; relevance, counts and recall by metrics.py. The features are read
    from the build's cache with the builder's own runners and layout (the build made every copy's)."""
    from builder.build import make_runners
    from builder.experiment.metrics import copies_found, own_copies, precision_recall_f1
    from builder.features.extract import load_matrix
    from builder.search.neighbours import exact_neighbours

    layout = result.experiment.layout
    chosen = {i.id for i in layout.originals}
    rest = [i.content_hash for i in result.items if i.id not in chosen]
    keys = layout.keys + rest
    owner = np.concatenate([layout.owner(np.arange(layout.size)), np.full(len(rest), -1)])  # -1: no original's
    runners = make_runners(config, lambda message: print(f"  {message}"))
    recall = {}
    for net in result.networks:
        runner = runners[net.name]
        x = load_matrix(runner.store, keys, runner.spec.dim)
        x = net.refinement.apply(x, lambda v, n: exact_neighbours(v, n).indices)
        listed = exact_neighbours(x, GUARD_K, rows=range(layout.m)).indices
        relevant = own_copies(owner[listed], np.arange(layout.m))
        recall[net.name] = precision_recall_f1(copies_found(relevant)[:, GUARD_K - 1], GUARD_K, len(layout.profiles))[1]
    return recall


def cell(f: dict[str, float] | None) -> str:
    return "–" if not f else f"{f['mean']:.3f} [{f['low']:.3f}, {f['high']:.3f}]"


def table(records: Iterable[dict]) -> str:
    """The markdown table of every record's rows (quality.json), in the file's order."""
    lines = [
        "| collection | network | setting | P@1 | P@10 | mAP@10 | chance P / mAP@10 | near-dup recall@5 | ms / image |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for record in records:
        for r in record["rows"]:
            setting = r["setting"] + (f" (same features as {r['same_features_as']})" if r["same_features_as"] else "")
            ms = "cached" if r["ms_per_image"] is None else f"{r['ms_per_image']:.1f}"
            lines.append(
                f"| {record['collection']} | {r['network']} | {setting} | {cell(r['p@1'])} | {cell(r['p@10'])} | "
                f"{cell(r['map@10'])} | {r['chance_p']:.3f} / {r['chance_map@10']:.3f} | "
                f"{cell(r['near_dup_recall@5'])} | {ms} |"
            )
    return "\n".join(lines)


def print_table(path: Path) -> None:
    records = json.loads(path.read_text()).values()
    print(table(records))
    for record in records:
        s = record["sample"]
        print(
            f"\n{record['collection']}: {s['images']:,} images in {len(s['labels'])} labels ({s['scanned']:,} files, "
            f"{s['distinct']:,} distinct, {s['multi_labelled']} under more than one label; seed {s['seed']}); "
            f"{record['machine']}; CPU {record['cpu']}; flags {' '.join(record['cpu_flags']) or 'none'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", type=Path, default=None, help=f"a folder-labelled collection ({OPENCLIPART})")
    parser.add_argument("--n", type=int, default=2000, help="images sampled, stratified across the labels")
    parser.add_argument("--seed", type=int, default=71)
    parser.add_argument("--networks", default="efficientnet_lite0,pixels")
    parser.add_argument("--settings", default="", help="';'-separated settings of 'field=value,...' (see above)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--table", action="store_true", help="print the table of --out and stop")
    args = parser.parse_args()
    if args.table:
        return print_table(args.out)

    from builder.build import build
    from builder.config import FeaturesTable, make_config
    from builder.errors import ConfigError

    root = args.collection or OPENCLIPART
    if not root.is_dir():
        raise SystemExit(f"{root}: not a folder (for OpenClipart: apt-get install openclipart-png)")
    networks = tuple(n.strip() for n in args.networks.split(",") if n.strip())
    settings = parse_settings(args.settings)
    print(f"CPU {cpu()}; flags {' '.join(cpu_flags()) or 'none'}", flush=True)
    labelled = labelled_files(root)
    start = time.perf_counter()
    chosen = stratified_sample(labelled, args.n, args.seed, decodable())
    n = sum(len(p) for p in chosen.values())
    print(
        f"{root}: {labelled.scanned:,} files, {labelled.distinct:,} distinct ({labelled.multi_labelled} under more "
        f"than one label), {len(labelled.files)} labels; sampled {n:,} (seed {args.seed}) in "
        f"{time.perf_counter() - start:.0f}s",
        flush=True,
    )
    label = f"{'openclipart' if args.collection is None else root.resolve().name}-{n}-seed{args.seed}"
    rows: list[dict[str, object]] = []
    digests: dict[tuple[str, str], str] = {}
    with tempfile.TemporaryDirectory(prefix="vsis-quality-") as tmp:
        work = Path(tmp)
        collection = link_sample(chosen, root, work / "collection")
        for number, setting in enumerate(settings):
            try:
                config = make_config(
                    collection=collection,
                    networks=networks,
                    out=work / f"site-{number}",
                    # a feature cache per framing and pooling: what one cached is never read under another
                    cache_dir=work / f"cache-{setting.get('framing', FeaturesTable().framing)}"
                    f"-{setting.get('pooling', FeaturesTable().pooling)}",
                    k=max(KS),
                    neighbours_method="exact",
                    experiment_originals=GUARD_ORIGINALS,
                    experiment_seed=args.seed,
                    experiment_k=(1, GUARD_K, max(KS)),
                    experiment_profiles=GUARD_PROFILES,
                    map_enabled=False,
                    query_enabled=False,
                    follow_external_links=True,  # the sample is linked in
                    **{SETTING_FLAT[name]: value for name, value in setting.items()},
                )
            except ConfigError as exc:
                raise SystemExit(f"--settings {setting}: {exc}") from None
            start = time.perf_counter()
            result = build(config)
            seconds = time.perf_counter() - start
            if result.skipped:
                print(f"  {len(result.skipped)} files skipped by the build: {result.skipped[:3]} ...", flush=True)
            measured = measure(result, config, digests)
            for row in measured:
                row["build_seconds"] = round(seconds, 1)
            rows += measured
            print(f"{setting_name(config)}: built in {seconds:.0f}s", flush=True)
    record = {
        "collection": label,
        "machine": machine(),
        "cpu": cpu(),
        "cpu_flags": cpu_flags(),
        "python": platform.python_version(),
        "command": " ".join(["python", "bench/quality.py", *sys.argv[1:]]),
        "sample": {
            "root": str(root),
            "images": n,
            "seed": args.seed,
            "scanned": labelled.scanned,
            "distinct": labelled.distinct,
            "multi_labelled": labelled.multi_labelled,
            "labels": {lb: len(p) for lb, p in chosen.items()},
        },
        "measured": {
            "lists": f"exact cosine search over the {n} sampled images, itself excluded, {max(KS)} deep",
            "near_dup": f"recall@{GUARD_K} of {GUARD_ORIGINALS} of the sampled originals, their copies "
            f"({', '.join(GUARD_PROFILES)}) added to the {n} images searched; _experiment_set: among the "
            "originals and their copies alone, as the experiment page publishes it",
            "bootstrap": "stats.estimate: 95% percentile interval, 2,000 resamples of the queries, seed 16",
        },
        "rows": [{**row, "cpu": cpu()} for row in rows],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(args.out.read_text()) if args.out.is_file() else {}
    existing[f"{label} on {cpu()}"] = record
    args.out.write_text(json.dumps(existing, indent=2) + "\n")
    print(table([record]))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()

"""`vsis evaluate`: the experiment's tables in the terminal, read back from a finished site's
experiments/metrics.json, so the terminal and the site can never disagree."""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table

from builder.errors import VsisError
from builder.experiment.metrics import RECOVERY_METRICS
from builder.experiment.stats import Estimate
from builder.site import formats


def load_metrics(site_dir: Path) -> dict:
    path = site_dir / "experiments" / "metrics.json"
    if not path.is_file():
        raise VsisError(f"{path}: not found; build with the experiment enabled first (vsis build)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise VsisError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None


def _estimate(row: dict, mean: str = "mean", prefix: str = "") -> Estimate:
    """An Estimate read back from metrics.json (pages.estimate_fields wrote it), so that the terminal writes
    each figure with the page's own formats (formats.py)."""
    return Estimate(row[mean], row[f"{prefix}std"], row[f"{prefix}low"], row[f"{prefix}high"])


def _with_ci(e: Estimate) -> str:
    return f"{formats.score(e.mean)} {formats.ci(e)}"


def metric_tables(metrics: dict) -> list[Table]:
    n_profiles = len(metrics["profiles"])
    names = ", ".join(f"{p['name']} {p['label']}" for p in metrics["profiles"])
    boot = metrics["bootstrap"]
    interval = f"{boot['level']:.0%} bootstrap interval ({boot['resamples']:,} resamples, seed {boot['seed']})"
    recovery = Table(
        "network",
        "k",
        *(label for _, label in RECOVERY_METRICS),
        title=f"Perturbation recovery: {metrics['originals']} originals x {n_profiles} profiles ({names}); "
        f"mean ± std over the originals, then the {interval}",
        title_justify="left",
    )
    for r in metrics["recovery"]:
        recovery.add_row(
            r["network"],
            str(r["k"]),
            *(
                f"{formats.pm(e)} {formats.ci(e)}"
                for e in (_estimate(r, f"{m}_mean", f"{m}_") for m, _ in RECOVERY_METRICS)
            ),
        )
    tables = [recovery]

    retrieval = Table(
        "network",
        "mAP",
        title=f"Mean average precision (within {metrics['depth']} neighbours; ideal 1)",
        title_justify="left",
    )
    for a in metrics["map"]:
        retrieval.add_row(a["network"], f"{formats.pm(_estimate(a))} {formats.ci(_estimate(a))}")
    tables.append(retrieval)

    curve: dict[int, dict[str, dict]] = {}
    for c in metrics["recall_curve"]:
        curve.setdefault(c["k"], {})[c["network"]] = c
    networks = [a["network"] for a in metrics["map"]]
    recall = Table("k", "ideal", *networks, title="Recall at k, all copies", title_justify="left")
    for k, row in sorted(curve.items()):
        ideal = next(iter(row.values()))["ideal"]
        recall.add_row(
            str(k),
            formats.score(ideal),
            *(_with_ci(_estimate(row[n])) if n in row else formats.NOT_MEASURED for n in networks),
        )
    tables.append(recall)

    if metrics["comparisons"]:
        comparisons = Table(
            "networks",
            "metric",
            "difference, interval",
            "verdict",
            title="Paired comparisons: the mean per-original difference, first − second; a verdict only where "
            "its interval excludes 0",
            title_justify="left",
        )
        for c in metrics["comparisons"]:
            comparisons.add_row(
                f"{c['a']} − {c['b']}",
                c["metric"],
                formats.difference(_estimate(c, "difference")),
                c["verdict"],
            )
        tables.append(comparisons)

    ks = metrics["ks"]
    per_profile = Table(
        "profile",
        "network",
        *(f"@{k}" for k in ks),
        "1 / rank",
        title="Recovery per profile: the share of originals whose copy is in the top k, and the mean of 1 / its rank",
        title_justify="left",
    )
    shares: dict[tuple[str, str], dict[int, dict]] = {}
    for p in metrics["per_profile"]:
        shares.setdefault((p["profile"], p["network"]), {})[p["k"]] = p
    ranks = {(r["profile"], r["network"]): r for r in metrics["profile_rank"]}
    for (profile, network), by_k in shares.items():
        rank = ranks[(profile, network)]
        per_profile.add_row(
            profile,
            network,
            *(_with_ci(_estimate(by_k[k], "share")) if k in by_k else formats.NOT_MEASURED for k in ks),
            _with_ci(_estimate(rank)),
        )
    tables.append(per_profile)

    if metrics["category_precision"]:
        ks = sorted({c["k"] for c in metrics["category_precision"]})
        category = Table(
            "network",
            *(f"@{k}" for k in ks),
            title="Category precision (plain collection), beside its chance level",
            title_justify="left",
        )
        cat: dict[str, dict[int, dict]] = {}
        for c in metrics["category_precision"]:
            cat.setdefault(c["network"], {})[c["k"]] = c
        for network, values in cat.items():
            category.add_row(
                network,
                *(_with_ci(_estimate(values[k], "value")) if k in values else formats.NOT_MEASURED for k in ks),
            )
        category.add_row("chance", *(f"{metrics['category_chance']:.3f}" for _ in ks))
        tables.append(category)
    if metrics["agreement"]:
        k = metrics["agreement"][0]["k"]
        agreement = Table("networks", f"Jaccard@{k}", title="Agreement between networks", title_justify="left")
        for a in metrics["agreement"]:
            agreement.add_row(f"{a['a']} · {a['b']}", _with_ci(_estimate(a, "jaccard")))
        tables.append(agreement)
    return tables

"""`vsis evaluate`: the experiment's tables in the terminal, read back from a finished site's
experiments/metrics.json, so the terminal and the site can never disagree."""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table

from builder.errors import VsisError
from builder.experiment.metrics import RECOVERY_METRICS


def load_metrics(site_dir: Path) -> dict:
    path = site_dir / "experiments" / "metrics.json"
    if not path.is_file():
        raise VsisError(f"{path}: not found; build with the experiment enabled first (vsis build)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise VsisError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None


def _ci(row: dict, low: str = "low", high: str = "high") -> str:
    return f"[{row[low]:.3f}, {row[high]:.3f}]"


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
                f"{r[f'{m}_mean']:.3f} ± {r[f'{m}_std']:.3f} {_ci(r, f'{m}_low', f'{m}_high')}"
                for m, _ in RECOVERY_METRICS
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
        retrieval.add_row(a["network"], f"{a['mean']:.3f} ± {a['std']:.3f} {_ci(a)}")
    tables.append(retrieval)

    curve: dict[int, dict[str, dict]] = {}
    for c in metrics["recall_curve"]:
        curve.setdefault(c["k"], {})[c["network"]] = c
    networks = [a["network"] for a in metrics["map"]]
    recall = Table("k", "ideal", *networks, title="Recall at k, all copies", title_justify="left")
    for k, row in sorted(curve.items()):
        ideal = next(iter(row.values()))["ideal"]
        recall.add_row(
            str(k), f"{ideal:.3f}", *(f"{row[n]['mean']:.3f} {_ci(row[n])}" if n in row else "–" for n in networks)
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
                f"{c['difference']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}]",
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
            *(f"{by_k[k]['share']:.3f} {_ci(by_k[k])}" if k in by_k else "–" for k in ks),
            f"{rank['mean']:.3f} {_ci(rank)}",
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
                network, *(f"{values[k]['value']:.3f} {_ci(values[k])}" if k in values else "–" for k in ks)
            )
        category.add_row("chance", *(f"{metrics['category_chance']:.3f}" for _ in ks))
        tables.append(category)
    if metrics["agreement"]:
        k = metrics["agreement"][0]["k"]
        agreement = Table("networks", f"Jaccard@{k}", title="Agreement between networks", title_justify="left")
        for a in metrics["agreement"]:
            agreement.add_row(f"{a['a']} · {a['b']}", f"{a['jaccard']:.3f} {_ci(a)}")
        tables.append(agreement)
    return tables

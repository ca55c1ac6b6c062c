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


def metric_tables(metrics: dict) -> list[Table]:
    n_profiles = len(metrics["profiles"])
    names = ", ".join(f"{p['name']} {p['label']}" for p in metrics["profiles"])
    recovery = Table(
        "network",
        "k",
        *(label for _, label in RECOVERY_METRICS),
        title=f"Perturbation recovery: {metrics['originals']} originals x {n_profiles} profiles ({names}); "
        "mean ± std over the originals",
        title_justify="left",
    )
    for r in metrics["recovery"]:
        recovery.add_row(
            r["network"],
            str(r["k"]),
            *(f"{r[f'{m}_mean']:.3f} ± {r[f'{m}_std']:.3f}" for m, _ in RECOVERY_METRICS),
        )
    tables = [recovery]

    profiles = [p["name"] for p in metrics["profiles"]]
    per_profile = Table(
        "network",
        "k",
        *profiles,
        title="Recovery per profile (share of originals whose copy is in the top k)",
        title_justify="left",
    )
    shares: dict[tuple[str, int], dict[str, float]] = {}
    for p in metrics["per_profile"]:
        shares.setdefault((p["network"], p["k"]), {})[p["profile"]] = p["share"]
    for (network, k), row in shares.items():
        per_profile.add_row(network, str(k), *(f"{row[p]:.3f}" if p in row else "–" for p in profiles))
    tables.append(per_profile)

    if metrics["category_precision"]:
        ks = sorted({c["k"] for c in metrics["category_precision"]})
        category = Table(
            "network", *(f"@{k}" for k in ks), title="Category precision (plain collection)", title_justify="left"
        )
        cat: dict[str, dict[int, float]] = {}
        for c in metrics["category_precision"]:
            cat.setdefault(c["network"], {})[c["k"]] = c["value"]
        for network, values in cat.items():
            category.add_row(network, *(f"{values[k]:.3f}" if k in values else "–" for k in ks))
        tables.append(category)
    if metrics["agreement"]:
        k = metrics["agreement"][0]["k"]
        agreement = Table("networks", f"Jaccard@{k}", title="Agreement between networks", title_justify="left")
        for a in metrics["agreement"]:
            agreement.add_row(f"{a['a']} · {a['b']}", f"{a['jaccard']:.3f}")
        tables.append(agreement)
    return tables

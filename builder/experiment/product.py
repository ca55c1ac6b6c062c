"""The experiment's page as a product of the site: experiments/index.html and its metrics as JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from builder.experiment.metrics import RECOVERY_METRICS
from builder.experiment.page import ExperimentPage, experiment_items, experiment_page
from builder.experiment.run import ExperimentResult
from builder.pagekit.product import NavEntry, PageKit


@dataclass
class ExperimentProduct:
    page: ExperimentPage
    name: str = "experiment"
    nav: NavEntry | None = NavEntry("experiment", "experiments/index.html", "Experiment")
    templates: Path | None = None
    placed: dict[str, str] = field(default_factory=dict)  # its thumbnails are the explorer's perturbation set's

    def page_count(self) -> int:
        return 1

    def files(self, kit: PageKit) -> dict[str, str | bytes]:
        page = kit.render("experiment.html", "experiments/index.html", "experiment", ex=self.page)
        return {
            "experiments/index.html": page,
            "experiments/metrics.json": json.dumps(self.page.metrics, indent=2, sort_keys=True) + "\n",
            "experiments/metrics.csv": metrics_csv(self.page),
        }

    def fingerprint(self) -> object:
        return self.page


def experiment_product(experiment: ExperimentResult | None, suffix: str) -> ExperimentProduct | None:
    """None where no experiment ran. suffix: the thumbnails' file suffix."""
    if experiment is None:
        return None
    return ExperimentProduct(experiment_page(experiment, *experiment_items(experiment.layout, suffix)))


def metrics_csv(ex: ExperimentPage) -> str:
    """One row per network and k: the recovery metrics, mean, standard deviation and interval, and the
    paired F1 difference against the baseline with its interval and verdict (empty for the baseline)."""
    stats = ("mean", "std", "low", "high")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "network",
            "k",
            *(f"{field}_{stat}" for field, _ in RECOVERY_METRICS for stat in stats),
            "f1_difference_vs_baseline",
            "f1_difference_low",
            "f1_difference_high",
            "f1_verdict_vs_baseline",
            "originals",
            "profiles",
        ]
    )
    for r in ex.recovery:
        against = ["", "", "", ""]
        if r.versus_baseline is not None:
            d = r.versus_baseline.difference
            against = [f"{d.mean:.6f}", f"{d.low:.6f}", f"{d.high:.6f}", r.versus_baseline.verdict]
        writer.writerow(
            [
                r.network,
                r.k,
                *(f"{getattr(getattr(r, field), stat):.6f}" for field, _ in RECOVERY_METRICS for stat in stats),
                *against,
                ex.originals,
                len(ex.profiles),
            ]
        )
    return buf.getvalue()

"""`vsis evaluate`: the experiment's tables in the terminal, read back from a finished site's
experiments/metrics.json, so the terminal and the site can never disagree.

The file is read as data from disk, not trusted as the builder's own: it may be damaged, cut short or edited
by hand. Its whole structure is checked against `_SCHEMA` before a table is made, so a damaged file is one
line naming the file and the first field that is wrong, never a KeyError or TypeError halfway through; and
every text it holds is shown as plain text made safe for a terminal (never read as Rich markup).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.table import Column, Table
from rich.text import Text

from builder.errors import VsisError
from builder.experiment.metrics import RECOVERY_METRICS
from builder.experiment.stats import Estimate
from builder.pagekit import formats
from builder.terminal import printable
from builder.textfiles import parse_json, read_text


@dataclass(frozen=True)
class _Leaf:
    """A value of metrics.json that is no object or list: what it must be, in words and as a test."""

    words: str
    accepts: Callable[[object], bool]


def _is_number(value: object) -> bool:
    """A float, or an int that converts to one (a longer one would overflow formatting as a float)."""
    return isinstance(value, float) or (type(value) is int and abs(value) <= sys.float_info.max)


@dataclass(frozen=True)
class _Absent:
    """A key of metrics.json that a file written before it was added lacks: checked when present, and its
    table left out when absent (category mAP came after the first sites were published)."""

    schema: object


_WHOLE = _Leaf("a whole number", lambda v: type(v) is int)  # not a bool
_NUMBER = _Leaf("a number", _is_number)
_TEXT = _Leaf("text", lambda v: isinstance(v, str))


def _estimate_fields(mean: str, prefix: str = "") -> dict[str, object]:
    """What pages.estimate_fields writes of an Estimate (the recovery rows prefix each field)."""
    return {mean: _NUMBER, **{f"{prefix}{stat}": _NUMBER for stat in ("std", "low", "high")}}


_COMPARISON = {"a": _TEXT, "b": _TEXT, "metric": _TEXT, "verdict": _TEXT, **_estimate_fields("difference")}

# What metrics.json must hold for the tables (pages.experiment_metrics writes it): a dict is an object with at
# least those keys (an _Absent one may be missing), a one-element list a list of such values, a _Leaf anything
# else. Fields the tables do not read are not checked.
_SCHEMA: dict[str, object] = {
    "originals": _WHOLE,
    "profiles": [{"name": _TEXT, "label": _TEXT}],
    "ks": [_WHOLE],
    "depth": _WHOLE,
    "bootstrap": {"resamples": _WHOLE, "seed": _WHOLE, "level": _NUMBER},
    "recovery": [
        {
            "network": _TEXT,
            "k": _WHOLE,
            **{key: leaf for m, _ in RECOVERY_METRICS for key, leaf in _estimate_fields(f"{m}_mean", f"{m}_").items()},
        }
    ],
    "map": [{"network": _TEXT, **_estimate_fields("mean")}],
    "recall_curve": [{"network": _TEXT, "k": _WHOLE, "ideal": _NUMBER, **_estimate_fields("mean")}],
    "per_profile": [{"network": _TEXT, "profile": _TEXT, "k": _WHOLE, **_estimate_fields("share")}],
    "profile_rank": [{"network": _TEXT, "profile": _TEXT, **_estimate_fields("mean")}],
    "comparisons": [_COMPARISON],
    "category_precision": [{"network": _TEXT, "k": _WHOLE, **_estimate_fields("value")}],
    "category_chance": _Leaf("a number or null", lambda v: v is None or _is_number(v)),  # null: no categories
    "agreement": [{"a": _TEXT, "b": _TEXT, "k": _WHOLE, **_estimate_fields("jaccard")}],
    "category_map": _Absent([{"network": _TEXT, "k": _WHOLE, **_estimate_fields("value")}]),
    "category_map_chance": _Absent([{"k": _WHOLE, "value": _NUMBER}]),
    "category_map_queries": _Absent(_WHOLE),
    "category_comparisons": _Absent([_COMPARISON]),
    "tag_agreement": _Absent(
        {
            "threshold": _NUMBER,
            "not_measured": _TEXT,
            "rows": [
                {
                    "network": _TEXT,
                    "images": _WHOLE,
                    "tagged": _WHOLE,
                    "agreeing": _WHOLE,
                    "tags": _WHOLE,
                    "precision": _NUMBER,
                    "chance": _NUMBER,
                    "agreement": _NUMBER,
                }
            ],
        }
    ),
}

_FOUND = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text",
    list: "a list",
    dict: "an object",
}


def _problem(value: object, schema: object, where: str) -> str | None:
    """The first place where `value` does not have the shape `schema` describes, in words; None if none."""
    found = _FOUND.get(type(value), "null")
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return f"{where or 'the file'}: expected an object, found {found}"
        for key, inner in schema.items():
            at = f"{where}.{key}" if where else key
            if isinstance(inner, _Absent):
                if key not in value:
                    continue
                inner = inner.schema
            problem = f"{at}: missing" if key not in value else _problem(value[key], inner, at)
            if problem:
                return problem
        return None
    if isinstance(schema, list):
        if not isinstance(value, list):
            return f"{where}: expected a list, found {found}"
        return next(filter(None, (_problem(v, schema[0], f"{where}[{n}]") for n, v in enumerate(value))), None)
    assert isinstance(schema, _Leaf)
    return None if schema.accepts(value) else f"{where}: expected {schema.words}, found {found}"


def load_metrics(site_dir: Path) -> dict:
    """metrics.json with its structure checked: a damaged file is one VsisError naming it and what is wrong."""
    path = site_dir / "experiments" / "metrics.json"
    if not path.is_file():
        raise VsisError(f"{path}: not found; build with the experiment enabled first (vsis build)")
    try:
        metrics = parse_json(read_text(path), path)  # not UTF-8, not JSON, nested too deeply: one line each
    except ValueError:  # parse_json names every other problem; this is an integer past int()'s digit limit
        raise VsisError(f"{path}: a number in it has more digits than can be read") from None
    problem = _problem(metrics, _SCHEMA, "")
    if problem:
        raise VsisError(f"{path}: not the metrics vsis writes ({problem}); build the site again")
    assert isinstance(metrics, dict)
    return metrics


def _text(value: str) -> Text:
    """A text of the file as a table shows it: plain (never read as Rich markup), safe for a terminal."""
    return Text(printable(value))


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
        title=_text(
            f"Perturbation recovery: {metrics['originals']} originals x {n_profiles} profiles ({names}); "
            f"mean ± std over the originals, then the {interval}"
        ),
        title_justify="left",
    )
    for r in metrics["recovery"]:
        recovery.add_row(
            _text(r["network"]),
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
        retrieval.add_row(_text(a["network"]), f"{formats.pm(_estimate(a))} {formats.ci(_estimate(a))}")
    tables.append(retrieval)

    curve: dict[int, dict[str, dict]] = {}
    for c in metrics["recall_curve"]:
        curve.setdefault(c["k"], {})[c["network"]] = c
    networks = [a["network"] for a in metrics["map"]]
    recall = Table(
        "k", "ideal", *(Column(_text(n)) for n in networks), title="Recall at k, all copies", title_justify="left"
    )
    for k, row in sorted(curve.items()):
        ideal = next(iter(row.values()))["ideal"]
        recall.add_row(
            str(k),
            formats.score(ideal),
            *(_with_ci(_estimate(row[n])) if n in row else formats.NOT_MEASURED for n in networks),
        )
    tables.append(recall)

    if metrics["comparisons"]:
        tables.append(_comparisons(metrics["comparisons"], "original"))

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
        rank = ranks.get((profile, network))
        per_profile.add_row(
            _text(profile),
            _text(network),
            *(_with_ci(_estimate(by_k[k], "share")) if k in by_k else formats.NOT_MEASURED for k in ks),
            formats.NOT_MEASURED if rank is None else _with_ci(_estimate(rank)),
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
                _text(network),
                *(_with_ci(_estimate(values[k], "value")) if k in values else formats.NOT_MEASURED for k in ks),
            )
        chance = metrics["category_chance"]
        category.add_row("chance", *(formats.NOT_MEASURED if chance is None else formats.score(chance) for _ in ks))
        tables.append(category)
    if metrics.get("category_map"):
        tables.append(_category_map(metrics))
    if metrics.get("category_comparisons"):
        tables.append(_comparisons(metrics["category_comparisons"], "image"))
    if "tag_agreement" in metrics:
        tables.append(_tag_agreement(metrics["tag_agreement"]))
    if metrics["agreement"]:
        k = metrics["agreement"][0]["k"]
        agreement = Table("networks", f"Jaccard@{k}", title="Agreement between networks", title_justify="left")
        for a in metrics["agreement"]:
            agreement.add_row(_text(f"{a['a']} · {a['b']}"), _with_ci(_estimate(a, "jaccard")))
        tables.append(agreement)
    return tables


def _tag_agreement(tags: dict) -> Table:
    """The tags' agreement with the categories per network, or the one line saying why it was not measured."""
    title = f"Tags (probability at least {tags['threshold']:g}) against the categories that name ImageNet classes"
    if not tags["rows"]:
        title = f"Tags against the categories: {formats.NOT_MEASURED} ({tags['not_measured']})"
    table = Table("network", "images", "tagged", "precision", "chance", "agreeing", title=_text(title),
                  title_justify="left")  # fmt: skip
    for r in tags["rows"]:
        tagged = r["tagged"] / r["images"] if r["images"] else 0.0
        table.add_row(_text(r["network"]), f"{r['images']:,}", formats.pct(tagged), formats.pct(r["precision"]),
                      formats.pct(r["chance"]), formats.pct(r["agreement"]))  # fmt: skip
    return table


def _comparisons(rows: list[dict], unit: str) -> Table:
    """A table of paired comparisons, each over the same queries (`unit`: what one is, e.g. "original")."""
    table = Table(
        "networks",
        "metric",
        "difference, interval",
        "verdict",
        title=f"Paired comparisons: the mean per-{unit} difference, first − second; a verdict only where "
        "its interval excludes 0",
        title_justify="left",
    )
    for c in rows:
        table.add_row(
            _text(f"{c['a']} − {c['b']}"),
            _text(c["metric"]),
            formats.difference(_estimate(c, "difference")),
            _text(c["verdict"]),
        )
    return table


def _category_map(metrics: dict) -> Table:
    """Category mAP@k per network and k, beside its chance level at each k."""
    ks = sorted({c["k"] for c in metrics["category_map"]})
    queries = metrics.get("category_map_queries")
    over = f"{queries:,} images with another of their category" if queries is not None else "the images"
    table = Table(
        "network",
        *(f"mAP@{k}" for k in ks),
        title=f"Category mAP@k (plain collection, over {over}), beside its chance level",
        title_justify="left",
    )
    by_network: dict[str, dict[int, dict]] = {}
    for c in metrics["category_map"]:
        by_network.setdefault(c["network"], {})[c["k"]] = c
    for network, values in by_network.items():
        table.add_row(
            _text(network),
            *(_with_ci(_estimate(values[k], "value")) if k in values else formats.NOT_MEASURED for k in ks),
        )
    chance = {c["k"]: c["value"] for c in metrics.get("category_map_chance", [])}
    table.add_row("chance", *(formats.score(chance[k]) if k in chance else formats.NOT_MEASURED for k in ks))
    return table

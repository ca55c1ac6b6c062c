"""The perturbation-recovery experiment, end to end, and its published numbers recomputed."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from builder.build import build
from builder.collect.collection import Item, scan
from builder.config import make_config
from builder.experiment.metrics import (
    average_precision,
    average_precision_at,
    category_chance,
    category_codes,
    category_matches,
    category_others,
    category_shares,
    jaccard_rows,
    precision_recall_f1,
    random_average_precision,
)
from builder.experiment.run import choose_originals, collection_measures
from builder.experiment.stats import DECIMALS, UNCLEAR, Estimate, estimate
from builder.features.networks import get as get_network
from builder.inputs import perturb
from builder.inputs.perturb import Profile
from builder.progress import QuietReporter
from builder.search.neighbours import AnnoySettings, NeighbourSearch, exact_neighbours
from builder.search.results import NetworkResult

from .conftest import write_collection
from .sitecheck import explorer_data
from .test_cli import VSIS
from .test_evaluate import HAND_CATEGORIES, HAND_LISTS

# the published figures are rounded to stats.DECIMALS places: a recomputed one agrees to one rounding step
TO_DECIMALS = 10.0**-DECIMALS


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.fixture
def images(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    write_collection(root, {"warm": 5, "cool": 5, "": 2})
    return root


def config_for(tmp_path: Path, images: Path, **overrides):
    values = dict(
        collection=images, networks=("efficientnet_lite0",), k=4, out=tmp_path / "site", cache_dir=tmp_path / "cache"
    )
    values.update(overrides)
    return make_config(**values)


@pytest.fixture
def identity_profiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    names = [f"same{n}" for n in range(1, 6)]
    for name in names:
        monkeypatch.setitem(perturb._PROFILES, name, Profile(name, f"copy {name}", "identity", lambda im: im.copy()))
    return names


def test_identity_copies_are_recovered_perfectly_at_k5(tmp_path: Path, images: Path, identity_profiles) -> None:
    result = build(config_for(tmp_path, images, experiment_profiles=tuple(identity_profiles), experiment_k=(1, 3, 5)))
    assert result.experiment is not None
    for net in result.experiment.networks:
        at = {r.k: r for r in net.recovery}
        assert (at[5].precision.mean, at[5].recall.mean, at[5].f1.mean) == pytest.approx((1.0, 1.0, 1.0))
        assert (at[1].precision.mean, at[1].recall.mean) == pytest.approx((1.0, 0.2))
        assert at[5].recall.std == pytest.approx(0.0)
        assert all(v.mean == pytest.approx(1.0) for (p, k), v in net.per_profile.items() if k == 5)
        assert net.average_precision == Estimate(1.0, 0.0, 1.0, 1.0)  # every copy first, on every original
    # both networks perfect on the same originals: no difference to see
    assert {c.verdict for c in result.experiment.comparisons} == {UNCLEAR}


def test_the_experiment_page_shows_what_the_published_neighbours_give(tmp_path: Path, images: Path) -> None:
    before = snapshot(images)
    result = build(config_for(tmp_path, images))
    site = tmp_path / "site"
    assert snapshot(images) == before  # perturbed copies never touch the user's folder
    assert {n.network for n in result.experiment.networks} == {"efficientnet_lite0", "pixels"}  # baseline added

    ds = next(d for d in explorer_data(site)["datasets"] if d["name"] == "perturbation")
    metrics = json.loads((site / "experiments" / "metrics.json").read_text())
    n_profiles = len(metrics["profiles"])
    assert metrics["originals"] == len(ds["queries"]) == 12
    assert metrics["indexed"] == len(ds["items"]) == 12 * 6
    assert sorted({i["profile"] for i in ds["items"] if "profile" in i}) == sorted(
        p["label"] for p in metrics["profiles"]
    )
    page = (site / "experiments" / "index.html").read_text()
    boot = metrics["bootstrap"]
    manifest = json.loads((site / "data" / "manifest.json").read_text())
    assert (manifest["bootstrap_resamples"], manifest["bootstrap_seed"]) == (boot["resamples"], boot["seed"])

    def redone(values: np.ndarray) -> Estimate:
        """The published procedure, applied to values recomputed from the published lists."""
        return estimate(values, boot["resamples"], boot["seed"], boot["level"])

    def same(row: dict, values: np.ndarray, mean: str = "mean", std: bool = True) -> None:
        e = redone(values)
        assert (row[mean], row["low"], row["high"]) == pytest.approx((e.mean, e.low, e.high), abs=TO_DECIMALS)
        if std:
            assert row["std"] == pytest.approx(e.std, abs=TO_DECIMALS)

    def shown(row: dict, mean: str = "mean") -> None:
        assert f"{row[mean]:.3f}" in page and f"[{row['low']:.3f}, {row['high']:.3f}]" in page

    rows = {(r["network"], r["k"]): r for r in metrics["recovery"]}
    queries = np.array(ds["queries"])
    label_of = {p["label"]: p["name"] for p in metrics["profiles"]}
    f1_at: dict[tuple[str, str], np.ndarray] = {}
    for net in ds["networks"]:
        # recompute from the published lists: a neighbour is an own copy when its owner is the query
        name = net["name"]
        listed = [[ds["items"][j] for j, _ in row] for row in net["neighbours"]]
        owners = np.array([[i.get("owner", -1) for i in row] for row in listed])
        relevant = owners == queries[:, None]
        assert owners.shape[1] == metrics["depth"] == 10  # enough for the curves to k = 10
        for k in metrics["ks"]:
            p, r, f1 = precision_recall_f1(relevant[:, :k].sum(axis=1), k, n_profiles)
            f1_at[(name, f"F1@{k}")] = f1
            row = rows[(name, k)]
            for metric, values in (("precision", p), ("recall", r), ("f1", f1)):
                e = redone(values)
                assert row[f"{metric}_mean"] == pytest.approx(values.mean(), abs=TO_DECIMALS)
                assert row[f"{metric}_std"] == pytest.approx(values.std(), abs=TO_DECIMALS)
                assert (row[f"{metric}_low"], row[f"{metric}_high"]) == pytest.approx((e.low, e.high), abs=TO_DECIMALS)
                assert f"{values.mean():.3f} ± {values.std():.3f}" in page
                assert f"[{row[f'{metric}_low']:.3f}, {row[f'{metric}_high']:.3f}]" in page
        ap = average_precision(relevant, n_profiles)
        f1_at[(name, "mAP")] = ap
        (map_row,) = [a for a in metrics["map"] if a["network"] == name]
        same(map_row, ap)
        shown(map_row)
        curve = np.cumsum(relevant, axis=1) / n_profiles  # recall@k, k = 1..10
        for c in (c for c in metrics["recall_curve"] if c["network"] == name):
            same(c, curve[:, c["k"] - 1])
            assert c["ideal"] == min(c["k"], n_profiles) / n_profiles
        for label, profile in label_of.items():
            copy = relevant & np.array([[i.get("profile") == label for i in row] for row in listed])
            for share in (x for x in metrics["per_profile"] if x["network"] == name and x["profile"] == profile):
                same(share, copy[:, : share["k"]].any(axis=1).astype(float), "share")
                if share["k"] in metrics["ks"]:
                    assert f"{share['share'] * 100:.1f}% [{share['low'] * 100:.1f}, {share['high'] * 100:.1f}]" in page
            (rank,) = [x for x in metrics["profile_rank"] if x["network"] == name and x["profile"] == profile]
            same(rank, np.where(copy.any(axis=1), 1 / (copy.argmax(axis=1) + 1), 0.0))
            shown(rank)
    # the paired comparisons: the interval of the per-original difference, a verdict only where it excludes 0
    assert len(metrics["comparisons"]) == len(metrics["ks"]) + 1
    for c in metrics["comparisons"]:
        d = redone(f1_at[(c["a"], c["metric"])] - f1_at[(c["b"], c["metric"])])
        assert (c["difference"], c["low"], c["high"]) == pytest.approx((d.mean, d.low, d.high), abs=TO_DECIMALS)
        assert c["verdict"] == ("better" if d.low > 0 else "worse" if d.high < 0 else "no clear difference")
        assert f"{c['difference']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}]" in page
    # category precision and agreement, from the plain collection's published lists
    plain = next(d for d in explorer_data(site)["datasets"] if d["name"] == "collection")
    codes = category_codes([i["category"] or None for i in plain["items"]])
    lists = {net["name"]: np.array([[j for j, _ in row] for row in net["neighbours"]]) for net in plain["networks"]}
    assert metrics["category_chance"] == pytest.approx(category_chance(codes).mean(), abs=1e-12)
    assert f"{metrics['category_chance'] * 100:.1f}%" in page
    for c in metrics["category_precision"]:
        same(c, category_shares(lists[c["network"]], codes, c["k"]), "value")
        assert f"{c['value'] * 100:.1f}% [{c['low'] * 100:.1f}, {c['high'] * 100:.1f}]" in page
    for a in metrics["agreement"]:
        same(a, jaccard_rows(lists[a["a"]], lists[a["b"]], a["k"]), "jaccard")
        shown(a, "jaccard")
    # category mAP@k beside it: over the items with another of their category, with its exact chance level
    others = category_others(codes)
    queries = others >= 1
    assert metrics["category_map_queries"] == queries.sum() == 10  # 5 warm + 5 cool; the 2 at the root have none

    def category_values(network: str, figure: str, k: int) -> np.ndarray:
        if figure == "P":
            return category_shares(lists[network], codes, k)
        return average_precision_at(category_matches(lists[network], codes, k), k, others)[queries]

    assert {(c["network"], c["k"]) for c in metrics["category_map"]} == {
        (c["network"], c["k"]) for c in metrics["category_precision"]
    }
    for c in metrics["category_map"]:
        same(c, category_values(c["network"], "mAP", c["k"]), "value")
        assert f"{c['value']:.3f} [{c['low']:.3f}, {c['high']:.3f}]" in page
    for c in metrics["category_map_chance"]:
        assert c["value"] == pytest.approx(random_average_precision(c["k"], others[queries], 12 - 1).mean())
        assert f">{c['value']:.3f}<" in page
    measured = sorted({c["k"] for c in metrics["category_precision"]})
    assert measured == [1, 3]  # the lists are k = 4 long: 5 is beyond them
    assert [(c["a"], c["b"], c["metric"]) for c in metrics["category_comparisons"]] == [
        ("efficientnet_lite0", "pixels", f"category {figure}@{k}") for figure in ("P", "mAP") for k in measured
    ]
    for c in metrics["category_comparisons"]:
        figure, k = c["metric"].removeprefix("category ").split("@")
        d = redone(category_values(c["a"], figure, int(k)) - category_values(c["b"], figure, int(k)))
        assert (c["difference"], c["low"], c["high"]) == pytest.approx((d.mean, d.low, d.high), abs=TO_DECIMALS)
        assert c["verdict"] == ("better" if d.low > 0 else "worse" if d.high < 0 else "no clear difference")
        assert f"{c['difference']:+.3f} [{c['low']:+.3f}, {c['high']:+.3f}]" in page
    assert "Category precision and mAP" in page
    csv_rows = list(csv.DictReader(io.StringIO((site / "experiments" / "metrics.csv").read_text())))
    assert {(r["network"], int(r["k"])) for r in csv_rows} == set(rows)
    for r in csv_rows:
        published = rows[(r["network"], int(r["k"]))]
        for column in ("f1_mean", "f1_low", "f1_high", "recall_low", "precision_high"):
            assert float(r[column]) == pytest.approx(published[column], abs=1e-6)
        if r["network"] != "pixels":
            (c,) = [c for c in metrics["comparisons"] if (c["a"], c["metric"]) == (r["network"], f"F1@{r['k']}")]
            assert (float(r["f1_difference_low"]), r["f1_verdict_vs_baseline"]) == (
                pytest.approx(c["low"], abs=1e-6),
                c["verdict"],
            )
    # the page says what the experiment measures, how F1 compares with the pixel baseline, and draws the charts
    assert "robustness to near-duplicate edits" in page and "not semantic similarity" in page
    assert re.search(r'class="verdict (better|worse|unclear)"', page)
    assert page.count("<td>baseline</td>") == len(metrics["ks"])  # the baseline's own rows, said in the model
    assert page.count("<svg") == 3 + 1 + n_profiles  # P/R/F1, recall to k = 10, one per profile
    # every copy's thumbnail is in the site; copies link to their original's page
    for item in ds["items"]:
        assert (site / item["thumb"]).is_file()
        assert (site / item["page"]).is_file()


def test_the_page_model_writes_the_cells_the_template_only_places() -> None:
    from builder.experiment.page import category_cell, chance_cell, map_cell, note

    assert category_cell(None) == "–"  # no figure: k beyond the lists
    assert category_cell(Estimate(0.5, 0.1, 0.4, 0.625)) == "50.0% [40.0, 62.5]"
    assert map_cell(None) == "–" and map_cell(Estimate(0.5, 0.1, 0.4, 0.625)) == "0.500 [0.400, 0.625]"
    assert (chance_cell({3: 31 / 90}, 3), chance_cell({3: 0.5}, 5)) == ("0.344", "–")
    assert (note("pixels"), note("efficientnet_lite0")) == ("baseline", "")


def test_collection_measures_on_the_hand_case() -> None:
    """The hand case of test_evaluate.py through the pipeline's function: the figures, the queries each is
    averaged over, the chance levels and the paired comparisons."""
    other = np.array([[1, 2, 3], [2, 0, 4], [0, 1, 3], [4, 0, 1], [0, 1, 2], [3, 4, 0], [0, 1, 2]])
    measures = collection_measures({"net": HAND_LISTS, "pixels": other}, HAND_CATEGORIES, [1, 3, 5], 3)
    # mAP@3 over the 5 items with R >= 1 (item 5's category has no other member; item 6 has none): 37/60
    assert measures.category_map_queries == 5
    assert measures.category_map[("net", 3)].mean == pytest.approx(37 / 60, abs=TO_DECIMALS)
    # pixels: items 0, 1, 2 list a, a first (AP@3 1, 1, 1), item 3 lists its b first (1), item 4 no b (0)
    assert measures.category_map[("pixels", 3)].mean == pytest.approx(4 / 5, abs=TO_DECIMALS)
    assert measures.category_precision[("net", 3)].mean == pytest.approx(1 / 3, abs=TO_DECIMALS)  # over 6 items
    assert measures.category_chance == pytest.approx((3 * 2 / 6 + 2 * 1 / 6 + 0) / 6)
    assert measures.category_map_chance[3] == pytest.approx((3 * 31 / 90 + 2 * 11 / 36) / 5)
    assert set(measures.category_map_chance) == {1, 3}  # k = 5 is beyond the lists: not measured
    assert ("net", 5) not in measures.category_map and ("net", 5) not in measures.category_precision
    labels = [(c.a, c.b, c.metric) for c in measures.category_comparisons]
    assert labels == [
        ("net", "pixels", m) for m in ("category P@1", "category P@3", "category mAP@1", "category mAP@3")
    ]
    (d,) = [c.difference for c in measures.category_comparisons if c.metric == "category mAP@3"]
    assert d.mean == pytest.approx(37 / 60 - 4 / 5, abs=TO_DECIMALS)  # paired over the same 5 items
    assert d == estimate(np.array([7 / 12 - 1, 1 - 1, 0 - 1, 1 / 2 - 1, 1 - 0]))
    empty = collection_measures({"net": HAND_LISTS}, [None] * 7, [1, 3], 3)
    assert (empty.category_map, empty.category_map_chance, empty.category_map_queries) == ({}, {}, 0)
    assert empty.category_comparisons == [] and empty.category_chance is None


def test_a_rebuild_is_byte_identical(tmp_path: Path, images: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bootstrap is seeded: building again (the same cache, another folder) writes the same bytes."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    build(config_for(tmp_path, images, networks=("pixels",), out=tmp_path / "a"))
    build(config_for(tmp_path, images, networks=("pixels",), out=tmp_path / "b"))
    for rel in ("experiments/index.html", "experiments/metrics.json", "experiments/metrics.csv", "data/manifest.json"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


class _Store:
    """Features by key, as a FeatureStore hands them out."""

    def __init__(self, rows: dict[str, np.ndarray]) -> None:
        self.rows = rows

    def matrix(self, hashes: list[str]) -> np.ndarray:
        return np.stack([self.rows[h] for h in hashes])


def _experiment_at(depth: int, monkeypatch: pytest.MonkeyPatch, search_effort: AnnoySettings):
    """run_experiment on 300 originals with 8-d features (copies: the original plus noise of growing size),
    lists `depth` long."""
    from builder.experiment import run

    m, dim = 300, 8
    rng = np.random.default_rng(5)
    items = [Item(f"i{n:03d}", Path(f"i{n:03d}.png"), f"i{n:03d}.png", None, f"h{n:03d}", f"i{n}") for n in range(m)]
    layout = run.ExperimentLayout(items, [perturb.get_profile(p) for p in ("m1", "m2", "m3", "m4", "m5")])
    base = rng.standard_normal((m, dim))
    x = np.concatenate([base] + [base + rng.standard_normal((m, dim)) * 0.15 * j for j in range(1, 6)])
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    spec = SimpleNamespace(dim=dim)
    runs = {"pixels": SimpleNamespace(spec=spec, store=_Store(dict(zip(layout.keys, x, strict=True))))}
    plain = NetworkResult("pixels", exact_neighbours(x[:m], 5), 1.0, 0, 0, 0.0, None, get_network("pixels"))  # type: ignore[arg-type]
    monkeypatch.setattr(run, "CURVE_K", depth)  # with k up to 5 and 5 profiles: lists of max(5, depth)
    search = NeighbourSearch(search_effort)
    return run.run_experiment(layout, items, runs, [plain], search, [1, 3, 5], 5, QuietReporter())  # type: ignore[arg-type]


def test_the_figures_at_k_do_not_depend_on_the_depth_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    """The experiment's lists are exact: fetching 10 neighbours instead of 5 leaves every figure at k <= 5 as
    it was, to the bit. (Plain Annoy with its effort scaled by the neighbours asked, trees x (k + 1), found
    other lists at depth 10 than at 5 on these features, and so other figures.)"""
    little = AnnoySettings(trees=1, search_k=-1)
    deep, shallow = _experiment_at(10, monkeypatch, little), _experiment_at(5, monkeypatch, little)
    assert (deep.depth, shallow.depth) == (10, 5)
    for a, b in zip(deep.networks, shallow.networks, strict=True):
        assert (a.neighbours.indices[:, :5] == b.neighbours.indices).all()
        assert a.recovery == b.recovery  # P/R/F1 at 1, 3 and 5: mean, std and interval
        assert a.recall_curve[:5] == b.recall_curve
        assert {key: e for key, e in a.per_profile.items() if key[1] <= 5} == b.per_profile
    # the figures are not all perfect: there is something for a search's effort to move
    assert 0 < deep.networks[0].recovery[-1].f1.mean < 1


def test_the_experiment_can_be_turned_off(tmp_path: Path, images: Path) -> None:
    result = build(config_for(tmp_path, images, experiment_enabled=False))
    assert result.experiment is None
    assert [n.name for n in result.networks] == ["efficientnet_lite0"]  # no baseline added
    assert not (tmp_path / "site" / "experiments").exists()
    assert [d["name"] for d in explorer_data(tmp_path / "site")["datasets"]] == ["collection"]


def test_copies_are_cached_like_originals(tmp_path: Path, images: Path) -> None:
    cfg = config_for(tmp_path, images, networks=("pixels",), experiment_profiles=("m1", "flip"))
    first = build(cfg)
    assert first.networks[0].extracted == 12 * 3
    second = build(cfg)
    assert (second.networks[0].extracted, second.networks[0].cached) == (0, 36)
    third = build(cfg.updated(experiment_profiles=("m1", "flip", "blur")))
    assert third.networks[0].extracted == 12  # only the new profile's copies


def test_originals_are_capped_with_a_fixed_seed(tmp_path: Path, images: Path) -> None:
    items = scan(images).items
    a = choose_originals(items, 5, seed=71)
    assert len(a) == 5 and a == choose_originals(items, 5, seed=71)
    assert [i.id for i in a] == sorted(i.id for i in a)
    assert choose_originals(items, 5, seed=72) != a
    # an item's rank does not depend on the others: dropping an unchosen item changes nothing
    rest = [i for i in items if i not in a]
    assert choose_originals([i for i in items if i is not rest[0]], 5, seed=71) == a
    assert choose_originals(items, 100, seed=71) == items
    result = build(config_for(tmp_path, images, networks=("pixels",), experiment_originals=5))
    assert result.experiment.layout.m == 5


def test_an_original_that_cannot_be_decoded_is_replaced(tmp_path: Path, images: Path) -> None:
    (images / "broken.png").write_bytes(b"not a png")
    scanned = scan(images).items  # 12 good + 1 broken
    seed = next(s for s in range(100) if "broken" in {i.id for i in choose_originals(scanned, 12, s)})
    result = build(config_for(tmp_path, images, networks=("pixels",), experiment_originals=12, experiment_seed=seed))
    originals = result.experiment.layout.originals
    assert len(originals) == 12 and "broken" not in {i.id for i in originals}
    assert dict(result.skipped)["broken.png"].startswith("not an image")


def test_vsis_evaluate_prints_the_tables_of_a_finished_build(tmp_path: Path, images: Path) -> None:
    build(config_for(tmp_path, images, networks=("pixels",)))
    done = subprocess.run(
        [VSIS, "evaluate", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "site" / "experiments" / "metrics.json").read_text())
    for r in metrics["recovery"]:
        assert f"{r['f1_mean']:.3f} ± {r['f1_std']:.3f} [{r['f1_low']:.3f}, {r['f1_high']:.3f}]" in done.stdout
    for a in metrics["map"]:
        assert f"{a['mean']:.3f} ± {a['std']:.3f} [{a['low']:.3f}, {a['high']:.3f}]" in done.stdout
    assert "Recovery per profile" in done.stdout and "Category precision" in done.stdout
    assert "chance" in done.stdout and "Mean average precision" in done.stdout
    assert "Category mAP@k" in done.stdout
    for c in metrics["category_map"]:
        assert f"{c['value']:.3f} [{c['low']:.3f}, {c['high']:.3f}]" in done.stdout
    for c in metrics["category_map_chance"]:
        assert f"{c['value']:.3f}" in done.stdout
    assert "2,000 resamples" in done.stdout
    missing = subprocess.run([VSIS, "evaluate", str(tmp_path / "nothing")], capture_output=True, text=True)
    assert missing.returncode == 1 and "metrics.json: not found" in missing.stderr


def test_layout_rows_owners_and_profiles_agree(images: Path) -> None:
    from builder.experiment.run import ExperimentLayout
    from builder.inputs.perturb import copy_key, get_profile

    items = scan(images).items[:3]
    layout = ExperimentLayout(items, [get_profile("m1"), get_profile("flip")])
    assert layout.size == len(layout.keys) == 9
    for row, (profile, item) in enumerate(layout.copies, start=layout.m):
        i, j = items.index(item), layout.profiles.index(profile)
        assert layout.row(i, j) == row
        assert layout.owner(np.array([row]))[0] == i and layout.profile(np.array([row]))[0] == j
        assert layout.keys[row] == copy_key(item.content_hash, profile)


def test_evaluate_reads_category_map_when_present_and_files_written_before_it(tmp_path: Path) -> None:
    """A metrics.json written before category mAP has none of its keys: the tables it has are printed. Where
    the keys are there, they are checked like every other field."""
    from typer.testing import CliRunner

    from builder.cli import app

    from .test_faults_commands import metrics_as_written

    def evaluate(metrics: dict) -> object:
        path = tmp_path / "site" / "experiments" / "metrics.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(metrics))
        return CliRunner().invoke(app, ["evaluate", str(tmp_path / "site")], env={"COLUMNS": "160"})

    before = evaluate(metrics_as_written())
    assert before.exit_code == 0, before.output
    assert "Category precision" in before.output and "Category mAP" not in before.output
    row = {"network": "pixels", "k": 1, "value": 0.375, "std": 0.1, "low": 0.3125, "high": 0.4375}
    comparison = {"a": "x", "b": "pixels", "metric": "category mAP@1", "verdict": "better"}
    comparison |= {"difference": 0.25, "std": 0.1, "low": 0.125, "high": 0.5}
    now = {
        **metrics_as_written(),
        "category_map": [row],
        "category_map_chance": [{"k": 1, "value": 0.0625}],
        "category_map_queries": 1234,
        "category_comparisons": [comparison],
    }
    done = evaluate(now)
    assert done.exit_code == 0, done.output
    assert "Category mAP@k" in done.output and "1,234 images" in done.output
    assert "0.375 [0.312, 0.438]" in done.output and "0.062" in done.output
    assert "+0.250 [+0.125, +0.500]" in done.output and "per-image difference" in done.output
    damaged = evaluate({**now, "category_map": [{k: v for k, v in row.items() if k != "low"}]})
    assert damaged.exit_code == 1 and "category_map[0].low: missing" in damaged.output

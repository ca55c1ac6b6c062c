"""The bootstrap intervals and paired comparisons: reproducible, paired, and verdicts only where the data
supports them."""

from __future__ import annotations

import numpy as np
import pytest

from builder.experiment import stats
from builder.experiment.run import Columns, ExperimentLayout, pairs, recovered, recovery_estimates
from builder.experiment.stats import BETTER, UNCLEAR, WORSE, Estimate, estimate, estimates, resampled_means, verdict
from builder.inputs.perturb import get_profile

from .conftest import write_collection


def test_the_same_values_give_the_same_interval_whatever_they_are_computed_with(monkeypatch) -> None:
    rng = np.random.default_rng(1)
    values = rng.random((300, 4))
    together = estimates(values)
    assert together == estimates(values)  # seeded
    one_by_one = [estimate(values[:, j]) for j in range(4)]
    for a, b in zip(together, one_by_one, strict=True):
        assert (a.low, a.high) == pytest.approx((b.low, b.high), abs=1e-12)
    monkeypatch.setattr(stats, "BLOCK_CELLS", 1000)  # blocks of 3 resamples: the same draws
    assert resampled_means(values) == pytest.approx(resampled_means(values, stats.RESAMPLES, stats.SEED), abs=1e-12)
    small_blocks = estimates(values)
    for a, b in zip(together, small_blocks, strict=True):
        assert (a.low, a.high) == pytest.approx((b.low, b.high), abs=1e-12)
    assert estimates(values, seed=17) != together


def test_an_interval_is_a_percentile_interval_of_the_mean() -> None:
    """The interval, redone by the plainest loop: resample r draws n originals from its own generator seeded
    (SEED, r), takes their mean; the interval is the 2.5% and 97.5% quantiles of those means."""
    rng = np.random.default_rng(2)
    values = (rng.random(400) < 0.9).astype(float) * rng.random(400)  # mostly near 1, some 0: like recovery
    n = len(values)
    means = []
    for r in range(stats.RESAMPLES):
        draw = np.random.default_rng((stats.SEED, r)).integers(0, n, n)
        means.append(values[draw].mean())
    low, high = np.quantile(means, [0.025, 0.975])
    e = estimate(values)
    assert (e.low, e.high) == pytest.approx((low, high), abs=1e-9)
    assert (e.mean, e.std) == pytest.approx((values.mean(), values.std()), abs=1e-9)
    assert estimate(np.ones(50)) == Estimate(1.0, 0.0, 1.0, 1.0)  # no spread, no width
    assert estimate(np.array([0.25])) == Estimate(0.25, 0.0, 0.25, 0.25)


def test_the_last_bits_of_the_product_decide_nothing(monkeypatch) -> None:
    """Another BLAS or thread count may round the resampled means differently in the last bits: every
    figure is rounded to DECIMALS places, so an interval end that is 0 in exact arithmetic reads 0 (not
    +-1e-17, which would read 'better' or 'worse'), and the same figures are written everywhere."""
    noise = np.array([1e-17, -1e-17] * (stats.RESAMPLES // 2))[:, None]
    monkeypatch.setattr(stats, "resampled_means", lambda values, resamples, seed: noise)
    e = estimate(np.array([-0.5, 0.0, 0.5]))
    assert (e.low, e.high) == (0.0, 0.0) and str(e.low) == "0.0" and verdict(e) == UNCLEAR
    thirds = estimate(np.array([0.0, 1 / 3, 2 / 3]))
    assert thirds.mean == round(1 / 3, stats.DECIMALS) != 1 / 3


def test_verdict_only_where_the_interval_excludes_zero() -> None:
    assert verdict(Estimate(0.1, 0.2, 0.01, 0.2)) == BETTER
    assert verdict(Estimate(-0.1, 0.2, -0.2, -0.01)) == WORSE
    assert verdict(Estimate(0.002, 0.1, -0.01, 0.015)) == UNCLEAR
    assert verdict(Estimate(0.0, 0.0, 0.0, 0.0)) == UNCLEAR  # every original tied
    assert verdict(Estimate(0.0, 0.1, 0.0, 0.02)) == UNCLEAR  # touching 0 is not excluding it


def _layout(tmp_path, m: int, n_profiles: int) -> ExperimentLayout:
    from builder.collect.collection import scan

    write_collection(tmp_path / "images", {"a": m})
    profiles = [get_profile(p) for p in ("m1", "m2", "m3", "m4", "m5")[:n_profiles]]
    return ExperimentLayout(scan(tmp_path / "images").items, profiles)


def test_a_real_difference_gets_a_verdict_in_the_right_direction(tmp_path) -> None:
    """Network 'copies' lists every original's copies first (identity copies); 'noise' finds one copy in a
    few and lists strangers otherwise: 'copies' is better on every measure, 'noise' worse."""
    layout = _layout(tmp_path, 40, 3)
    m = layout.m
    copies = np.array([[layout.row(i, j) for j in range(3)] + [(i + d) % m for d in range(1, 8)] for i in range(m)])
    noise = np.array([[(i + d) % m for d in range(1, 11)] for i in range(m)])
    noise[::5, 4] = [layout.row(i, 0) for i in range(0, m, 5)]  # one copy at rank 5 for every fifth
    values = {"copies": recovered(copies, layout), "noise": recovered(noise, layout)}
    assert values["copies"].ap.tolist() == [1.0] * m
    found, comparisons = recovery_estimates(values, [1, 3, 5])
    assert [(c.a, c.b, c.metric) for c in comparisons] == [
        ("copies", "noise", m) for m in ("F1@1", "F1@3", "F1@5", "mAP")
    ]
    assert all(c.verdict == BETTER for c in comparisons)
    assert found[("copies", "ap")].mean == 1.0
    assert found[("noise", "ap")].mean == pytest.approx(8 / 40 * (1 / 5) / 3)
    _, reverse = recovery_estimates({"noise": values["noise"], "copies": values["copies"]}, [1, 3, 5])
    assert all(c.verdict == WORSE and c.difference.high < 0 for c in reverse)


def test_a_small_difference_reads_no_clear_difference(tmp_path) -> None:
    """Two networks that differ on one original of 40: the interval of the difference holds 0."""
    layout = _layout(tmp_path, 40, 3)
    m = layout.m
    good = np.array([[layout.row(i, j) for j in range(3)] + [(i + 1) % m] for i in range(m)])
    worse = good.copy()
    worse[7, [0, 3]] = worse[7, [3, 0]]  # one original's first copy swapped down to rank 4
    values = {"a": recovered(worse, layout), "b": recovered(good, layout)}
    _, comparisons = recovery_estimates(values, [1, 3])
    f1_at_1 = next(c for c in comparisons if c.metric == "F1@1")
    assert f1_at_1.difference.mean < 0 and f1_at_1.difference.low < 0 <= f1_at_1.difference.high
    assert f1_at_1.verdict == UNCLEAR
    same = recovery_estimates({"a": values["b"], "b": values["b"]}, [1, 3])[1]
    assert all(c.verdict == UNCLEAR and c.difference == Estimate(0.0, 0.0, 0.0, 0.0) for c in same)


def test_the_baseline_is_always_the_second_of_a_pair() -> None:
    assert pairs(["pixels", "a", "b"]) == [("a", "pixels"), ("b", "pixels"), ("a", "b")]
    assert pairs(["a", "b", "pixels"]) == [("a", "b"), ("a", "pixels"), ("b", "pixels")]


def test_many_originals_stay_in_bounded_blocks(monkeypatch) -> None:
    """100,000 originals: the draws go by blocks of resamples (BLOCK_CELLS counts at a time), never a
    (resamples x originals) matrix at once."""
    seen = []
    real = stats._counts

    def counting(n: int, first: int, last: int, seed: int) -> np.ndarray:
        seen.append(last - first)
        return real(n, first, last, seed)

    monkeypatch.setattr(stats, "_counts", counting)
    values = np.random.default_rng(3).random((100_000, 2))
    means = resampled_means(values, resamples=100)
    assert means.shape == (100, 2) and max(seen) * 100_000 <= stats.BLOCK_CELLS
    assert sum(seen) == 100


def test_columns_fill_one_table_that_the_bootstrap_reads_without_a_copy(monkeypatch) -> None:
    """Each figure's values are made once, into its row of one (figures, n) table; the bootstrap multiplies
    that table as it is (its transpose is C-contiguous: no copy), and the estimates are those of the values."""
    values = np.random.default_rng(4).random((500, 3))
    made: list[int] = []
    columns: Columns[int] = Columns(500)
    for j in range(3):
        columns.add(j, lambda j=j: made.append(j) or values[:, j])
    copies = []
    real = np.ascontiguousarray
    monkeypatch.setattr(stats.np, "ascontiguousarray", lambda a: copies.append(not a.flags.c_contiguous) or real(a))
    found = columns.estimate()
    assert made == [0, 1, 2] and copies == [False]
    assert [found[j] for j in range(3)] == estimates(values)

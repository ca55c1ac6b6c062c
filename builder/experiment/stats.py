"""Confidence intervals and paired comparisons, by bootstrap over the originals.

Why a bootstrap: the per-original values (c / k, an average precision, a found-or-not) are bounded and far
from normal (most originals score 1, a few 0), and the originals are what was sampled, so resampling them
is the honest way to say how much a mean would move with another sample of the same size. The interval is
the percentile interval of the resampled means (LEVEL, RESAMPLES).

Paired: every column is resampled with the same draws, so a comparison of two networks is the interval of
the mean per-original difference (the same originals on both sides), not two intervals set side by side.
A verdict says "better" or "worse" only where that interval excludes 0.

Seeded and reproducible: resample r draws its n originals from a generator of its own, seeded with
(SEED, r), so the draws depend on nothing but n: not on which columns are computed together, nor on the
block size. A rebuild is byte-identical, and anyone can recompute a published interval from the published
neighbour lists with `estimate`.

Rounded: the resampled means come from a BLAS matrix product, whose last bits may differ with the BLAS
library, the processor or the number of threads. Every Estimate is rounded to DECIMALS decimal places (and
-0.0 made 0.0) before anything is written or decided from it, so the published bytes and the verdicts
(an interval whose end is 0 in exact arithmetic must not read 1e-17 here and -1e-17 there) are the same on
every machine; 1e-9 is far below the three decimals shown.

Fast: a block of resamples is a matrix of counts (how often each original was drawn); the resampled means
of every column at once are one matrix product, counts @ values / n. Memory is bounded by BLOCK_CELLS
counts at a time; there is no Python loop over originals (100,000 originals x 2,000 resamples is 2e8
draws and one product per block).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 2000
SEED = 16
LEVEL = 0.95
BLOCK_CELLS = 1 << 22  # counts held at once: 32 MB as float64
DECIMALS = 9  # every mean, std and interval end is rounded to this many decimal places

BETTER, WORSE, UNCLEAR = "better", "worse", "no clear difference"


@dataclass(frozen=True)
class Estimate:
    """A mean over the originals, its population standard deviation (ddof = 0, what the original study
    reported) and the bootstrap interval of the mean."""

    mean: float
    std: float
    low: float
    high: float


@dataclass(frozen=True)
class Comparison:
    """Network `a` against network `b` on one metric (at k, where it has one), paired over the originals:
    the difference is mean(a - b)."""

    a: str
    b: str
    metric: str  # a label, e.g. "F1@5", "mAP"
    difference: Estimate

    @property
    def verdict(self) -> str:
        return verdict(self.difference)


def verdict(difference: Estimate) -> str:
    """'better' or 'worse' only where the interval of the difference excludes 0."""
    if difference.low > 0:
        return BETTER
    if difference.high < 0:
        return WORSE
    return UNCLEAR


def _counts(n: int, first: int, last: int, seed: int) -> np.ndarray:
    """How often each of n originals is drawn in resamples first..last-1: one row per resample."""
    counts = np.empty((last - first, n))
    for row, r in enumerate(range(first, last)):  # a loop over resamples; each draws its n at once
        draw = np.random.default_rng((seed, r)).integers(0, n, n)
        counts[row] = np.bincount(draw, minlength=n)
    return counts


def resampled_means(values: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """values: (n, m), one row per original and one column per figure. Returns (resamples, m): each
    column's mean in each resample of the originals. Given values.T C-contiguous (run.Columns' table
    transposed), no copy of them is made."""
    values = np.asarray(values, dtype=np.float64)
    n, m = values.shape
    out = np.zeros((resamples, m))
    if n == 0 or m == 0:
        return out
    columns = np.ascontiguousarray(values.T)  # (m, n) @ (n, block): BLAS runs this shape far faster
    rows = max(1, BLOCK_CELLS // n)
    for first in range(0, resamples, rows):
        last = min(resamples, first + rows)
        out[first:last] = (columns @ _counts(n, first, last, seed).T).T
    return out / n


def estimates(values: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL) -> list[Estimate]:
    """One Estimate per column of values (n, m); all zeros where n = 0."""
    values = np.asarray(values, dtype=np.float64)
    n, m = values.shape
    if n == 0:
        return [Estimate(0.0, 0.0, 0.0, 0.0)] * m
    tail = (1 - level) / 2
    low, high = np.quantile(resampled_means(values, resamples, seed), [tail, 1 - tail], axis=0)
    mean, std, least, most = (np.empty(m) for _ in range(4))
    columns, block = values.T, max(1, BLOCK_CELLS // n)
    for first in range(0, m, block):  # a few figures at a time: std's temporary stays BLOCK_CELLS values
        part = columns[first : first + block]
        at = slice(first, first + len(part))
        mean[at], std[at], least[at], most[at] = part.mean(axis=1), part.std(axis=1), part.min(axis=1), part.max(axis=1)
    # a resample's mean lies within the values' range; clipping removes the last bit of rounding
    low, high = np.clip(low, least, most), np.clip(high, least, most)
    mean, std, low, high = (_rounded(a) for a in (mean, std, low, high))
    return [Estimate(float(a), float(b), float(c), float(d)) for a, b, c, d in zip(mean, std, low, high, strict=True)]


def _rounded(a: np.ndarray) -> np.ndarray:
    """To DECIMALS places, without negative zeros (which JSON and '+.3f' would write as '-0')."""
    return np.round(a, DECIMALS) + 0.0


def estimate(values: np.ndarray, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL) -> Estimate:
    """The Estimate of one figure from its per-original values (n,)."""
    return estimates(np.asarray(values, dtype=np.float64)[:, None], resamples, seed, level)[0]

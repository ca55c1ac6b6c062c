"""How the pages write a number: the one place of each format, used by the page models (for cells
decided before rendering) and by the templates' filters (render.py), so a figure reads the same wherever it
is shown (the tests look for these strings in the pages)."""

from __future__ import annotations

from typing import Protocol


class Estimate(Protocol):
    """A figure with its spread and interval (experiment/stats.py's Estimate, among others)."""

    @property
    def mean(self) -> float: ...
    @property
    def std(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...


def pct(v: float) -> str:
    return f"{v * 100:.1f}%"


def score(v: float) -> str:
    return f"{v:.3f}"


def probability(v: float) -> str:
    """A class's probability as a compare page shows it: two decimals ("0.62")."""
    return f"{v:.2f}"


def megabytes(n: int) -> str:
    """A download's size as the query page states it: "87.1 MB" (decimal megabytes, one decimal)."""
    return f"{n / 1e6:.1f} MB"


def pm(e: Estimate) -> str:
    """The mean ± standard deviation, as the original study reported them."""
    return f"{e.mean:.3f} ± {e.std:.3f}"


def ci(e: Estimate) -> str:
    return f"[{e.low:.3f}, {e.high:.3f}]"


def pct_ci(e: Estimate) -> str:
    return f"{e.mean * 100:.1f}% [{e.low * 100:.1f}, {e.high * 100:.1f}]"


def difference(e: Estimate) -> str:
    """A paired difference with its interval, signed."""
    return f"{e.mean:+.3f} [{e.low:+.3f}, {e.high:+.3f}]"


NOT_MEASURED = "–"  # a cell with no figure (a k beyond the lists' length)

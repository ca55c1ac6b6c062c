"""Line charts as data for an SVG template: all geometry is computed here, the template only draws.

A chart plots metric values (0..1) against k, one series per network, plus a dashed 'ideal' series
(the upper bound any network could reach).
"""

from __future__ import annotations

from dataclasses import dataclass

PALETTE = ("#0b5cad", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#4d7c0f")


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    points: str  # "x,y x,y ..." for <polyline>
    markers: list[tuple[float, float, str]]  # x, y, value text (for the title tooltip)
    dashed: bool = False


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class LineChart:
    title: str
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    series: list[Series]
    x_label: str = "k"


def line_chart(
    title: str, ks: list[int], values: dict[str, list[float]], ideal: list[float], width: int = 420, height: int = 260
) -> LineChart:
    left, right, top, bottom = 44, width - 12, 28, height - 36
    lo, hi = min(ks), max(ks)

    def x(k: float) -> float:
        return left + (right - left) * ((k - lo) / (hi - lo) if hi > lo else 0.5)

    def y(v: float) -> float:
        return bottom - (bottom - top) * max(0.0, min(1.0, v))

    def series(label: str, colour: str, vals: list[float], dashed: bool = False) -> Series:
        pts = [(round(x(k), 1), round(y(v), 1), f"{label}, k = {k}: {v:.3f}") for k, v in zip(ks, vals, strict=False)]
        return Series(label, colour, " ".join(f"{px},{py}" for px, py, _ in pts), pts, dashed)

    all_series = [series("ideal", "#6b7280", ideal, dashed=True)]
    all_series += [series(name, PALETTE[n % len(PALETTE)], vals) for n, (name, vals) in enumerate(values.items())]
    return LineChart(
        title=title,
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        x_ticks=[Tick(round(x(k), 1), str(k)) for k in ks],
        y_ticks=[Tick(round(y(v), 1), f"{v:.2f}".rstrip("0").rstrip(".")) for v in (0.0, 0.25, 0.5, 0.75, 1.0)],
        series=all_series,
    )

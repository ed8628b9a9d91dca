"""Geometry of the cell-voltage chart, shared by the SVG (HTML) and PDF renderers.

Both formats use a y-down coordinate system in their own units, so one layout computed here is
drawn identically by both; only the drawing calls differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from bmsflasher.records.reports.content import Chart

SERIES_COLOURS: Final = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
"""Blue for before, red for after, then distinct colours for any further labels."""

_TARGET_Y_TICKS: Final = 5
_MAX_X_LABELS: Final = 24


@dataclass(frozen=True, slots=True)
class Tick:
    """A labelled position along an axis (pixel/mm coordinate plus text)."""

    position: float
    text: str


@dataclass(frozen=True, slots=True)
class Line:
    """One series as points to join, and the colour and legend text to draw it with."""

    label: str
    colour: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class ChartLayout:
    """Where everything goes inside a ``width`` x ``height`` box."""

    width: float
    height: float
    left: float
    top: float
    right: float
    bottom: float
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    lines: tuple[Line, ...]
    y_min_mv: int
    y_max_mv: int


def nice_step(span: float, target_ticks: int = _TARGET_Y_TICKS) -> int:
    """A 1-2-5 step (in mV) giving about ``target_ticks`` intervals over ``span``; at least 1."""
    raw = max(span / target_ticks, 1.0)
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return int(factor * magnitude)
    return int(10 * magnitude)  # pragma: no cover (the loop always returns)


def layout_chart(
    chart: Chart, width: float, height: float, margins: tuple[float, float, float, float]
) -> ChartLayout:
    """Lay out ``chart`` in a box; ``margins`` are (left, top, right, bottom) around the plot area.

    The y axis spans the data with whole 1-2-5 steps rather than starting at zero, because the
    differences a technician looks for (a few mV of drift, a calibration offset) vanish on a 0-4 V
    scale.
    """
    left, top = margins[0], margins[1]
    right, bottom = width - margins[2], height - margins[3]
    values = [v for s in chart.series for v in s.values_mv]
    low, high = min(values), max(values)
    step = nice_step(high - low)
    y_min = math.floor(low / step) * step
    y_max = math.ceil(high / step) * step
    if y_max == y_min:
        y_min, y_max = y_min - step, y_max + step

    def y_of(value_mv: float) -> float:
        return bottom - (value_mv - y_min) / (y_max - y_min) * (bottom - top)

    cells = max(len(s.values_mv) for s in chart.series)
    pitch = (right - left) / cells

    def x_of(index: int) -> float:
        return left + (index + 0.5) * pitch

    every = max(1, math.ceil(cells / _MAX_X_LABELS))
    x_ticks = tuple(Tick(x_of(i), str(i + 1)) for i in range(0, cells, every))
    y_ticks = tuple(Tick(y_of(v), str(v)) for v in range(y_min, y_max + 1, step))
    lines = tuple(
        Line(
            label=series.label,
            colour=SERIES_COLOURS[index % len(SERIES_COLOURS)],
            points=tuple((x_of(i), y_of(v)) for i, v in enumerate(series.values_mv)),
        )
        for index, series in enumerate(chart.series)
    )
    return ChartLayout(width, height, left, top, right, bottom, y_ticks, x_ticks, lines, y_min, y_max)

"""Pack trends: voltage, current, SOC/SOH and temperature over the last minute.

Four small plots in a 2 × 2 grid sharing one time axis, updated with ``setData`` on fixed curve items (peak
downsampling and clip-to-view keep redraws cheap however long the buffer grows).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from bmsflasher.gui.telemetry_buffer import TrendSeries
from bmsflasher.gui.theme import LIGHT, ThemeColors
from bmsflasher.gui.widgets.axis_cache import cache_axes


class TrendLabels(NamedTuple):
    """Translated titles for the four trend plots and their curves."""

    time_s: str
    pack_voltage_v: str
    current_a: str
    percent: str
    soc: str
    soh: str
    temperature_c: str
    temp_min: str
    temp_max: str


class TrendPlotsWidget(pg.GraphicsLayoutWidget):  # type: ignore[misc]
    """A 2 × 2 grid of trend plots with a linked time axis (seconds before now)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setMinimumHeight(200)
        self._plots: list[pg.PlotItem] = []
        for index in range(4):
            plot = self.addPlot(row=index // 2, col=index % 2)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
            plot.showGrid(x=True, y=True, alpha=0.25)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("left").setWidth(42)
            cache_axes(plot)
            if self._plots:
                plot.setXLink(self._plots[0])
            self._plots.append(plot)
        self._voltage = self._plots[0].plot()
        self._current = self._plots[1].plot()
        self._plots[2].addLegend(offset=(5, 5), labelTextSize="8pt")
        self._soc = self._plots[2].plot(name="SOC")
        self._soh = self._plots[2].plot(name="SOH")
        self._plots[2].setYRange(0, 100, padding=0.05)
        self._plots[3].addLegend(offset=(5, 5), labelTextSize="8pt")
        self._tmin = self._plots[3].plot(name="min")
        self._tmax = self._plots[3].plot(name="max")
        self._colors = LIGHT
        self._titles: tuple[str, ...] = ("", "", "", "")
        self.apply_theme(LIGHT)

    def apply_theme(self, colors: ThemeColors) -> None:
        """Recolour for the light or dark theme."""
        self._colors = colors
        self.setBackground(colors.plot_background)
        self._show_titles()
        for plot in self._plots:
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setPen(colors.plot_foreground)
                plot.getAxis(axis).setTextPen(colors.plot_foreground)
            legend = plot.legend
            if legend is not None:
                legend.setLabelTextColor(colors.plot_foreground)
                legend.setBrush(pg.mkBrush(colors.plot_background + "c0"))
                for _sample, label in legend.items:
                    label.setText(label.text, color=colors.plot_foreground)
        lines = colors.accent_lines
        curves = (self._voltage, self._current, self._soc, self._soh, self._tmin, self._tmax)
        colours = (lines[0], lines[1], lines[2], lines[3], lines[0], lines[1])
        for curve, colour in zip(curves, colours, strict=True):
            # one-pixel pens take Qt's fast line path; 1.5 px went through the path stroker and tripled
            # the trends' paint time (4 ms of a 512-cell frame)
            curve.setPen(pg.mkPen(colour, width=1))

    def set_labels(self, labels: TrendLabels) -> None:
        """Axis titles and curve names (translated by the page that owns the widget)."""
        self._titles = (labels.pack_voltage_v, labels.current_a, labels.percent, labels.temperature_c)
        self._show_titles()
        for plot in self._plots[2:]:
            plot.setLabel("bottom", labels.time_s)
        for plot, curves in (
            (self._plots[2], (labels.soc, labels.soh)),
            (self._plots[3], (labels.temp_min, labels.temp_max)),
        ):
            legend = plot.legend
            if legend is None:
                continue
            for (_sample, label), name in zip(legend.items, curves, strict=True):
                label.setText(name)

    def _show_titles(self) -> None:
        for plot, title in zip(self._plots, self._titles, strict=True):
            plot.setTitle(title, size="9pt", color=self._colors.plot_foreground)

    def set_series(self, series: TrendSeries) -> None:
        """Show the buffered series (ages ≤ 0 s)."""
        age = series.age_s
        self._voltage.setData(age, series.pack_voltage_v)
        self._current.setData(age, series.current_a)
        self._soc.setData(age, series.soc_pct)
        self._soh.setData(age, series.soh_pct)
        finite = np.isfinite(series.temp_min_c)
        self._tmin.setData(age[finite], series.temp_min_c[finite])
        self._tmax.setData(age[finite], series.temp_max_c[finite])

    def set_window(self, span_s: float) -> None:
        """Fix the time axis to the last ``span_s`` seconds (a moving range would re-tick every frame)."""
        self._plots[0].setXRange(-span_s, 0.0, padding=0)

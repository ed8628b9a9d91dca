"""Cell voltage bar chart with balancing cells highlighted.

Drawn as one filled step curve for all cells plus one bar item for the balancing ones, so the cost
per frame is a couple of vectorised ``setData`` calls whether the pack has 16 cells or 512 (a
widget or a rectangle object per cell would not hold 10 Hz at 512).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from bmsflasher.gui.theme import LIGHT, ThemeColors
from bmsflasher.gui.widgets.axis_cache import cache_axes

_MIN_MARGIN_MV = 10.0


class CellBarsWidget(pg.PlotWidget):  # type: ignore[misc]
    """Bars of cell voltage (mV) by cell number; balancing cells in the theme's balancing colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setMinimumHeight(160)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.showGrid(x=False, y=True)
        cache_axes(self.getPlotItem())
        self._bars = pg.PlotDataItem(stepMode="center", fillLevel=0.0, pen=None)
        self._balancing = pg.BarGraphItem(x=[], height=[], width=0.8)
        self._min_line = pg.InfiniteLine(angle=0, movable=False)
        self._max_line = pg.InfiniteLine(angle=0, movable=False)
        for item in (self._bars, self._balancing, self._min_line, self._max_line):
            self.addItem(item)
        self._y_range: tuple[float, float] | None = None
        self._cell_count = 0
        self.apply_theme(LIGHT)

    def apply_theme(self, colors: ThemeColors) -> None:
        """Recolour for the light or dark theme."""
        self.setBackground(colors.plot_background)
        for axis in ("left", "bottom"):
            self.getAxis(axis).setPen(colors.plot_foreground)
            self.getAxis(axis).setTextPen(colors.plot_foreground)
        self._bars.setBrush(pg.mkBrush(colors.cell_bar))
        self._balancing.setOpts(brush=pg.mkBrush(colors.balancing), pen=pg.mkPen(colors.balancing))
        dash = pg.QtCore.Qt.PenStyle.DashLine
        self._min_line.setPen(pg.mkPen(colors.bad, style=dash))
        self._max_line.setPen(pg.mkPen(colors.good, style=dash))

    def set_labels(self, cell_label: str, voltage_label: str) -> None:
        """Axis titles (translated by the page that owns the widget)."""
        self.setLabel("bottom", cell_label)
        self.setLabel("left", voltage_label)

    def set_cells(self, voltages_mv: npt.NDArray[np.float64], balancing: npt.NDArray[np.bool_]) -> None:
        """Show one snapshot. Cell numbers start at 1, as printed on packs."""
        count = len(voltages_mv)
        if count == 0:
            self.clear_cells()
            return
        edges = np.arange(count + 1, dtype=np.float64) + 0.5
        self._bars.setData(edges, voltages_mv)
        on = np.flatnonzero(balancing[:count])
        self._balancing.setOpts(x=on + 1.0, height=voltages_mv[on], width=0.8)
        known = voltages_mv[np.isfinite(voltages_mv)]  # NaN: a rack module without a sample, not 0 mV
        low, high = (float(known.min()), float(known.max())) if known.size else (0.0, 1.0)
        self._min_line.setPos(low)
        self._max_line.setPos(high)
        if count != self._cell_count:
            self._cell_count = count
            self.setXRange(0.5, count + 0.5, padding=0.01)
        self._fit_y(low, high)

    def clear_cells(self) -> None:
        """Show nothing (disconnected)."""
        self._bars.setData([], [])
        self._balancing.setOpts(x=[], height=[])
        self._cell_count = 0
        self._y_range = None

    def _fit_y(self, low: float, high: float) -> None:
        """Keep the y axis still unless the data leaves it or shrinks a lot: a jumping axis hides trends."""
        margin = max(_MIN_MARGIN_MV, 0.3 * (high - low))
        if self._y_range is not None:
            current_low, current_high = self._y_range
            inside = current_low <= low and high <= current_high
            tight = (current_high - current_low) < 4 * (high - low + 2 * margin)
            if inside and tight:
                return
        self._y_range = (low - margin, high + margin)
        self.setYRange(*self._y_range, padding=0)

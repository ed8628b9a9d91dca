"""Cell × time heat map: a drifting or weak cell shows up as a stripe long before an alarm.

One ``ImageItem`` fed the whole ring buffer with ``setImage`` per frame; the colour levels follow
the data so a 5 mV spread is as visible as a 500 mV one.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QWidget

from bmsflasher.gui.theme import LIGHT, ThemeColors
from bmsflasher.gui.widgets.axis_cache import cache_axes, cache_axis


class CellHeatmapWidget(pg.PlotWidget):  # type: ignore[misc]
    """Heat map of cell voltage: x = seconds before now, y = cell number."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setMinimumHeight(140)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self._image = pg.ImageItem(axisOrder="row-major")
        self.addItem(self._image)
        self._colorbar = pg.ColorBarItem(values=(0, 1), interactive=False, width=12, colorMapMenu=False)
        self._colorbar.setImageItem(self._image, insert_in=self.getPlotItem())
        cache_axes(self.getPlotItem())
        cache_axis(self._colorbar.axis)
        # room above the plot: the colour bar's top tick label is centred on its edge and was clipped
        self.getPlotItem().layout.setContentsMargins(1, 8, 1, 1)
        self._window_s = 60.0
        self._cells = 0
        self._levels: tuple[float, float] = (0.0, 1.0)
        self.setXRange(-self._window_s, 0, padding=0)
        self.apply_theme(LIGHT)

    def apply_theme(self, colors: ThemeColors) -> None:
        """Recolour for the light or dark theme."""
        self.setBackground(colors.plot_background)
        for axis in ("left", "bottom"):
            self.getAxis(axis).setPen(colors.plot_foreground)
            self.getAxis(axis).setTextPen(colors.plot_foreground)
        self._colorbar.setColorMap(pg.colormap.get(colors.heatmap))
        self._colorbar.axis.setPen(colors.plot_foreground)
        self._colorbar.axis.setTextPen(colors.plot_foreground)

    def set_labels(self, time_label: str, cell_label: str) -> None:
        """Axis titles (translated by the page that owns the widget)."""
        self.setLabel("bottom", time_label)
        self.setLabel("left", cell_label)

    def set_window(self, span_s: float) -> None:
        """Fix the time axis to the last ``span_s`` seconds (a moving range would re-tick every frame)."""
        self._window_s = span_s
        self.setXRange(-span_s, 0, padding=0)

    def set_history(self, matrix_mv: npt.NDArray[np.float64], span_s: float) -> None:
        """Show a (samples, cells) matrix, oldest sample first, covering ``span_s`` seconds."""
        samples, cells = matrix_mv.shape if matrix_mv.ndim == 2 else (0, 0)
        if samples == 0 or cells == 0:
            self._image.clear()
            return
        low, high = float(matrix_mv.min()), float(matrix_mv.max())
        if high - low < 1.0:
            low, high = low - 0.5, high + 0.5
        self._image.setImage(matrix_mv.T, autoLevels=False, levels=(low, high))
        if (low, high) != self._levels:
            self._levels = (low, high)
            self._colorbar.setLevels((low, high))
        width = max(span_s, 0.1)
        self._image.setRect(QRectF(-width, 0.5, width, float(cells)))
        if cells != self._cells:
            self._cells = cells
            self.setYRange(0.5, cells + 0.5, padding=0)

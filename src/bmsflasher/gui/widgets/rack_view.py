"""A rack at a glance: every module's cells as one heat map row, and every cell as one bar.

Up to 16 modules × 16 cells (256 cells) are drawn with one ``ImageItem`` and one bar curve, so a
frame costs the same few vectorised calls as a single pack's. A module that stops answering keeps
its row, drawn empty (NaN, not a colour) with "no answer" written over it: a silent module must
never look like a module at 0 mV.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from bmsflasher.core.types import PackTelemetry
from bmsflasher.gui.theme import LIGHT, ThemeColors
from bmsflasher.gui.widgets.cell_bars import CellBarsWidget

MAX_MODULES: Final = 16
MAX_CELLS_PER_MODULE: Final = 16


class RackHeatmapWidget(pg.PlotWidget):  # type: ignore[misc]
    """Heat map of cell voltage: x = cell number in its module, y = module (labelled by address)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.setObjectName("rack_heatmap")
        self.setMinimumHeight(160)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self._image = pg.ImageItem(axisOrder="row-major")
        self.addItem(self._image)
        self._colorbar = pg.ColorBarItem(values=(0, 1), interactive=False, width=12, colorMapMenu=False)
        self._colorbar.setImageItem(self._image, insert_in=self.getPlotItem())
        self.getPlotItem().layout.setContentsMargins(1, 8, 1, 1)
        self._silent_items: list[pg.TextItem] = []
        self._text_color = LIGHT.plot_foreground
        self._shape: tuple[int, int] = (0, 0)
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
        self._text_color = colors.bad

    def set_labels(self, cell_label: str, module_label: str) -> None:
        self.setLabel("bottom", cell_label)
        self.setLabel("left", module_label)

    def set_rack(self, matrix_mv: npt.NDArray[np.float64], addresses: tuple[int, ...], silent: str) -> None:
        """Show a (modules, cells) matrix; a row of NaN is a module without a sample, marked ``silent``."""
        modules, cells = matrix_mv.shape
        for item in self._silent_items:
            self.removeItem(item)
        self._silent_items = []
        if modules == 0 or cells == 0:
            self._image.clear()
            return
        known = matrix_mv[np.isfinite(matrix_mv)]
        low, high = (float(known.min()), float(known.max())) if known.size else (0.0, 1.0)
        if high - low < 1.0:
            low, high = low - 0.5, high + 0.5
        self._image.setImage(matrix_mv, autoLevels=False, levels=(low, high))
        self._colorbar.setLevels((low, high))
        self._image.setRect(QRectF(0.5, -0.5, float(cells), float(modules)))
        if (modules, cells) != self._shape:
            self._shape = (modules, cells)
            self.setXRange(0.5, cells + 0.5, padding=0)
            self.setYRange(modules - 0.5, -0.5, padding=0)
            self.getPlotItem().invertY(True)
        self.getAxis("left").setTicks([[(row, str(address)) for row, address in enumerate(addresses)]])
        for row in np.flatnonzero(~np.isfinite(matrix_mv).any(axis=1)):
            item = pg.TextItem(silent, color=self._text_color, anchor=(0.5, 0.5))
            item.setPos((cells + 1) / 2, float(row))
            self.addItem(item)
            self._silent_items.append(item)


class RackView(QWidget):
    """Modules × cells of a rack: the heat map above, every cell's bar below (module after module)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rack_view")
        self.heatmap = RackHeatmapWidget(self)
        self.bars = CellBarsWidget(self)
        self.bars.setObjectName("rack_bars")
        splitter = QSplitter(self)
        splitter.addWidget(self.heatmap)
        splitter.addWidget(self.bars)
        splitter.setSizes([500, 500])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.addresses: tuple[int, ...] = ()
        self.samples: dict[int, PackTelemetry] = {}
        self.silent: dict[int, str] = {}
        self._silent_text = "no answer"

    def apply_theme(self, colors: ThemeColors) -> None:
        self.heatmap.apply_theme(colors)
        self.bars.apply_theme(colors)

    def set_labels(self, cell_label: str, module_label: str, voltage_label: str, silent: str) -> None:
        """Axis titles and the word over a silent module (translated by the page)."""
        self.heatmap.set_labels(cell_label, module_label)
        self.bars.set_labels(cell_label, voltage_label)
        self._silent_text = silent

    def watch(self, addresses: tuple[int, ...]) -> None:
        """Start over with these modules (none: the view is cleared)."""
        self.addresses = addresses[:MAX_MODULES]
        self.samples.clear()
        self.silent.clear()
        self.bars.clear_cells()

    def add_sample(self, address: int, sample: PackTelemetry) -> None:
        self.samples[address] = sample
        self.silent.pop(address, None)

    def mark_silent(self, address: int, why: str) -> None:
        """The module did not answer: its last sample is dropped, it is not drawn as zeros."""
        self.samples.pop(address, None)
        self.silent[address] = why

    def matrix_mv(self) -> npt.NDArray[np.float64]:
        """(modules, cells) voltages, NaN where a module gave no sample (or has fewer cells)."""
        cells = max((s.cell_count for s in self.samples.values()), default=0)
        cells = min(max(cells, 1), MAX_CELLS_PER_MODULE) if self.samples else 0
        matrix = np.full((len(self.addresses), cells), np.nan)
        for row, address in enumerate(self.addresses):
            sample = self.samples.get(address)
            if sample is not None and cells:
                values = sample.cell_voltages_mv[:cells]
                matrix[row, : len(values)] = values
        return matrix

    def redraw(self) -> None:
        """Redraw both charts from the latest samples."""
        matrix = self.matrix_mv()
        self.heatmap.set_rack(matrix, self.addresses, self._silent_text)
        if not np.isfinite(matrix).any():
            self.bars.clear_cells()
            return
        balancing = np.zeros(matrix.shape, dtype=bool)
        for row, address in enumerate(self.addresses):
            sample = self.samples.get(address)
            if sample is not None:
                flags = sample.balancing[: matrix.shape[1]]
                balancing[row, : len(flags)] = flags
        self.bars.set_cells(matrix.reshape(-1), balancing.reshape(-1))

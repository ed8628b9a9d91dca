"""The pack's live cells: every BMU's cells, drawn by the live page's rack view.

One heat map row per BMU and one bar per cell, as a rack's modules are drawn.

A 1 + 2 + 12 pack has 192 cells and the BMU tier's address block holds 64 nodes, so a pack goes
beyond a rack's 16 modules: the same two vectorised charts take up to :data:`MAX_BMUS` rows
(512 cells are 32 BMUs of 16). Nothing else differs from the rack view — a BMU that stops
answering keeps its row, drawn empty with "no answer" over it, never as 0 mV.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from PySide6.QtWidgets import QWidget

from bmsflasher.gui.widgets.rack_view import RackView

MAX_BMUS: Final = 64
"""The BMU tier's address block (0x40-0x7F)."""


class PackCellsView(RackView):
    """The rack view with room for every BMU of a pack."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pack_cells")
        self.heatmap.setObjectName("pack_heatmap")
        self.bars.setObjectName("pack_bars")

    def watch(self, addresses: tuple[int, ...]) -> None:
        """Start over with these BMUs (none: the view is cleared)."""
        super().watch(())
        self.addresses = addresses[:MAX_BMUS]

    def redraw(self) -> None:
        """Redraw both charts; a BMU's row is labelled with its CAN address in hex, as the tree shows it."""
        super().redraw()
        if self.addresses:
            labels = [(row, f"0x{address:02X}") for row, address in enumerate(self.addresses)]
            self.heatmap.getAxis("left").setTicks([labels])

    @property
    def cell_count(self) -> int:
        """Cells drawn now (BMUs with a sample × cells per BMU)."""
        matrix = self.matrix_mv()
        return int(np.isfinite(matrix).sum())  # a silent BMU's cells are NaN

"""A table of measured values against their limits: preconditions, package checks, self-test.

Every row says what was measured, the limit, pass or fail, and *why it matters*, so a refusal is
something the technician can act on rather than a red cross.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from bmsflasher.core.events import Measurement
from bmsflasher.gui.icons import icon
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.texts import measurement_name
from bmsflasher.gui.theme import LIGHT, ThemeColors

COL_NAME, COL_VALUE, COL_LIMIT, COL_RESULT, COL_WHY = range(5)


class MeasurementTable(RetranslateOnLanguageChange, QTableWidget):
    """Rows of :class:`Measurement`; failed rows in the alarm colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 5, parent)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.horizontalHeader()
        for column in (COL_NAME, COL_RESULT):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        for column, width_px in ((COL_VALUE, 190), (COL_LIMIT, 130)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.setColumnWidth(column, width_px)
        header.setSectionResizeMode(COL_WHY, QHeaderView.ResizeMode.Stretch)
        self._rows: list[Measurement] = []
        self._colors = LIGHT
        self.retranslate()

    def retranslate(self) -> None:
        self.setHorizontalHeaderLabels(
            [
                self.tr("Check"),
                self.tr("Measured"),
                self.tr("Limit"),
                self.tr("Result"),
                self.tr("Why it matters"),
            ]
        )
        self.show_measurements(self._rows)

    def apply_theme(self, colors: ThemeColors) -> None:
        self._colors = colors
        self.show_measurements(self._rows)

    @property
    def measurements(self) -> list[Measurement]:
        return list(self._rows)

    def show_measurements(self, rows: Sequence[Measurement]) -> None:
        """Replace the rows."""
        self._rows = list(rows)
        self.setRowCount(len(self._rows))
        for row, m in enumerate(self._rows):
            self._fill_row(row, m)
        self.resizeRowsToContents()

    def add_measurement(self, measurement: Measurement) -> None:
        """Append one row (live self-test results)."""
        self._rows.append(measurement)
        self.setRowCount(len(self._rows))
        self._fill_row(len(self._rows) - 1, measurement)
        self.resizeRowToContents(len(self._rows) - 1)

    def _fill_row(self, row: int, m: Measurement) -> None:
        color = self._colors.good if m.passed else self._colors.bad
        if m.passed:
            result = self.tr("pass")
        elif m.overridable:
            result = self.tr("fail (may be overridden)")
        else:
            result = self.tr("FAIL")
        cells = (measurement_name(m.name), m.value, m.limit, result, m.why)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(m.why)
            if column == COL_RESULT:
                item.setForeground(QColor(color))
                item.setIcon(icon("ok" if m.passed else "fail", color))
            self.setItem(row, column, item)

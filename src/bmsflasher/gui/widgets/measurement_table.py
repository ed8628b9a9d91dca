"""A table of measured values against their limits: preconditions, package checks, self-test.

Every row says what was measured, the limit, pass or fail, and *why it matters*, so a refusal is
something the technician can act on rather than a red cross. The engine's words are shown in the
technician's language when the row is drawn (and again after a language switch); a check the
battery ran itself keeps its own words, which are the same in every language.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from bmsflasher.core.events import Measurement
from bmsflasher.gui.engine_text import DEVICE_TEXT_ROLE, measured, sentence
from bmsflasher.gui.icons import icon
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.texts import DEVICE_CHECK_PREFIX, measurement_name
from bmsflasher.gui.theme import LIGHT, ThemeColors

COL_NAME, COL_VALUE, COL_LIMIT, COL_RESULT, COL_WHY = range(5)
_COLUMN_SHARES = {COL_NAME: 0.22, COL_VALUE: 0.2, COL_LIMIT: 0.16}
"""Share of the table's width for the named columns; the result column fits, "why" takes the rest."""
_MIN_COLUMN_PX = 90
_MIN_ROWS_SHOWN = 2
"""A table told to show all its rows still shrinks to this many (then scrolls) in a small window."""


class MeasurementTable(RetranslateOnLanguageChange, QTableWidget):
    """Rows of :class:`Measurement`; failed rows in the alarm colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 5, parent)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)  # wrapped, never cut in the middle of a word
        header = self.horizontalHeader()
        header.setSectionResizeMode(COL_RESULT, QHeaderView.ResizeMode.ResizeToContents)
        for column, width_px in ((COL_NAME, 210), (COL_VALUE, 180), (COL_LIMIT, 130)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            self.setColumnWidth(column, width_px)
        header.setSectionResizeMode(COL_WHY, QHeaderView.ResizeMode.Stretch)
        self._rows: list[Measurement] = []
        self._colors = LIGHT
        self._fit_rows = 0
        self._preferred_height = 0
        self.retranslate()

    def fit_rows(self, rows: int) -> None:
        """Grow to show up to ``rows`` rows without scrolling (the result page's checks stay in view)."""
        self._fit_rows = rows
        self._fit()

    def _fit(self) -> None:
        """Prefer the height that shows every row; never demand more than a few rows.

        The preferred height (``sizeHint``) lets the layout give the table room for all its checks
        when the window has it; the minimum stays at a few rows so, in a small window, the table
        scrolls instead of being drawn over the buttons below it (a layout squeezed below its
        widgets' minimum sizes overlaps them).
        """
        if not self._fit_rows:
            return
        shown = min(self.rowCount(), self._fit_rows)
        chrome = self.horizontalHeader().sizeHint().height() + 2 * self.frameWidth() + 2
        self._preferred_height = chrome + sum(self.rowHeight(row) for row in range(shown))
        few = min(shown, _MIN_ROWS_SHOWN)
        self.setMinimumHeight(chrome + sum(self.rowHeight(row) for row in range(few)))
        self.updateGeometry()

    def _share_columns(self) -> None:
        """Give "why it matters" a fair share in a narrow window instead of what fixed widths leave it."""
        width = self.viewport().width()
        for column, share in _COLUMN_SHARES.items():
            self.setColumnWidth(column, max(_MIN_COLUMN_PX, int(width * share)))

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self._fit_rows and self._preferred_height:
            hint.setHeight(self._preferred_height)
        return hint

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._share_columns()
        if self._fit_rows:
            self.resizeRowsToContents()  # wrapped "why" texts change height with the width
            self._fit()

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
        self._fit()

    def add_measurement(self, measurement: Measurement) -> None:
        """Append one row (live self-test results)."""
        self._rows.append(measurement)
        self.setRowCount(len(self._rows))
        self._fill_row(len(self._rows) - 1, measurement)
        self.resizeRowToContents(len(self._rows) - 1)
        self._fit()

    def _fill_row(self, row: int, m: Measurement) -> None:
        color = self._colors.good if m.passed else self._colors.bad
        if m.passed:
            result = self.tr("pass")
        elif m.overridable:
            result = self.tr("fail (may be overridden)")
        else:
            result = self.tr("FAIL")
        why = sentence(m.why)
        cells = (measurement_name(m.name), measured(m.value), measured(m.limit), result, why)
        from_device = m.name.startswith(DEVICE_CHECK_PREFIX)  # the battery's own words and values
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(why)
            if from_device and column in (COL_VALUE, COL_LIMIT, COL_WHY):
                item.setData(DEVICE_TEXT_ROLE, True)
            if column == COL_RESULT:
                item.setForeground(QColor(color))
                item.setIcon(icon("ok" if m.passed else "fail", color))
            self.setItem(row, column, item)

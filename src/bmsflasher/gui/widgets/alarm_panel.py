"""Active protection alarms and stored trouble codes, worst first.

Alarms come with every telemetry sample; DTCs are read on demand. Both are shown as one list so the
technician has a single place to look for "what is wrong with this pack".
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from bmsflasher.core.types import Alarm, Dtc, DtcSeverity
from bmsflasher.gui.texts import alarm_text, severity_text
from bmsflasher.gui.theme import LIGHT, ThemeColors


class AlarmPanel(QListWidget):
    """A list of the current alarms followed by the stored DTCs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAlternatingRowColors(True)
        self._alarms: frozenset[Alarm] = frozenset()
        self._dtcs: tuple[Dtc, ...] = ()
        self._colors = LIGHT
        self._rebuild()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self._rebuild()
        super().changeEvent(event)

    def apply_theme(self, colors: ThemeColors) -> None:
        self._colors = colors
        self._rebuild()

    def set_alarms(self, alarms: frozenset[Alarm]) -> None:
        """Show the alarms of the newest sample (rebuilt only when they change)."""
        if alarms != self._alarms:
            self._alarms = alarms
            self._rebuild()

    def set_dtcs(self, dtcs: Sequence[Dtc]) -> None:
        """Show the DTCs last read from the device."""
        self._dtcs = tuple(sorted(dtcs, key=lambda d: (d.severity != DtcSeverity.CRITICAL, d.code)))
        self._rebuild()

    def _add(self, text: str, color: str | None) -> None:
        item = QListWidgetItem(text, self)
        if color:
            item.setForeground(QColor(color))

    def _rebuild(self) -> None:
        self.clear()
        for alarm in sorted(self._alarms, key=lambda a: a.value):
            self._add(self.tr("Alarm: %1").replace("%1", alarm_text(alarm)), self._colors.bad)
        for dtc in self._dtcs:
            color = {DtcSeverity.CRITICAL: self._colors.bad, DtcSeverity.WARNING: self._colors.warning}
            text = self.tr("DTC %1 (%2): %3")
            text = text.replace("%1", dtc.code_text).replace("%2", severity_text(dtc.severity))
            self._add(text.replace("%3", dtc.description), color.get(dtc.severity))
        if not self._alarms and not self._dtcs:
            self._add(self.tr("No active alarms and no stored trouble codes."), self._colors.good)

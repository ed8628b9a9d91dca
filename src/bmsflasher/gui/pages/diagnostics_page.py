"""Diagnostics page: stored trouble codes (read, clear) and link statistics.

Link statistics refresh every two seconds while the page is visible: a climbing retry or timeout
count is the first sign of the worn cable or wrong termination the troubleshooting table warns of.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from PySide6.QtCore import QTimer, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bmsflasher.core.target import LinkStats
from bmsflasher.core.types import DeviceIdentity, Dtc, DtcSeverity
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine_text import DEVICE_TEXT_ROLE, plain_label, shown
from bmsflasher.gui.icons import icon
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.shortcuts import bind_shortcut
from bmsflasher.gui.texts import severity_text
from bmsflasher.gui.theme import THEMES

STATS_REFRESH_MS: Final = 2000


class DiagnosticsPage(RetranslateOnLanguageChange, QWidget):
    """DTC table with read/clear, and the link's health counters."""

    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diagnostics_page")
        self._model = model
        self._dtcs: list[Dtc] = []

        self.title = QLabel(self)
        self.title.setObjectName("page_title")
        self.read_button = QPushButton(self)
        self.clear_button = QPushButton(self)
        self.status = QLabel(self)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addWidget(self.status, 1)
        top.addWidget(self.read_button)
        top.addWidget(self.clear_button)

        self.dtc_box = QGroupBox(self)
        self.dtc_table = QTableWidget(0, 4, self)
        self.dtc_table.verticalHeader().setVisible(False)
        self.dtc_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.dtc_table.horizontalHeader()
        for column in range(3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        QVBoxLayout(self.dtc_box).addWidget(self.dtc_table)

        self.link_box = QGroupBox(self)
        self.link_form = QFormLayout(self.link_box)
        self._stat_captions = [QLabel(self) for _ in range(8)]
        self.stat_values = [plain_label(QLabel("—", self), device=False) for _ in range(8)]  # a typed port
        for caption, value in zip(self._stat_captions, self.stat_values, strict=True):
            self.link_form.addRow(caption, value)
        self.record_bus_check = QCheckBox(self)  # the CAN bus recorded while an update runs
        self.record_bus_check.setObjectName("record_bus_check")
        self.record_bus_check.setChecked(model.record_bus)
        self.record_bus_check.toggled.connect(self._on_record_bus)
        self.link_form.addRow(self.record_bus_check)

        body = QHBoxLayout()
        body.addWidget(self.dtc_box, 3)
        body.addWidget(self.link_box, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(STATS_REFRESH_MS)
        self._timer.timeout.connect(self._refresh_stats)
        self._timer.start()

        self.read_button.clicked.connect(model.read_dtcs)
        self.clear_button.clicked.connect(model.clear_dtcs)
        model.sig_dtcs.connect(self.show_dtcs)
        model.sig_link_stats.connect(self.show_link_stats)
        model.sig_connection_changed.connect(self._on_connection)
        model.sig_theme_changed.connect(lambda _name: self._apply_theme())
        bind_shortcut(self.read_button, "Ctrl+D", self)
        self.retranslate()
        self._apply_theme()
        self._update_buttons()

    def retranslate(self) -> None:
        self.title.setText(self.tr("Diagnostics"))
        self.read_button.setText(self.tr("Read &DTCs"))
        self.read_button.setToolTip(self.tr("Read the stored diagnostic trouble codes (Ctrl+D)."))
        self.clear_button.setText(self.tr("C&lear DTCs"))
        self.clear_button.setToolTip(self.tr("Erase the stored trouble codes, then read them again."))
        self.dtc_box.setTitle(self.tr("Diagnostic trouble codes"))
        self.dtc_table.setHorizontalHeaderLabels(
            [self.tr("Code"), self.tr("Severity"), self.tr("Status"), self.tr("Description")]
        )
        self.link_box.setTitle(self.tr("Link statistics"))
        captions = [
            self.tr("Link:"),
            self.tr("Requests:"),
            self.tr("Retries:"),
            self.tr("Timeouts:"),
            self.tr("Errors:"),
            self.tr("Last round trip:"),
            self.tr("Bytes sent:"),
            self.tr("Bytes received:"),
        ]
        for caption, text in zip(self._stat_captions, captions, strict=True):
            caption.setText(text)
        self.record_bus_check.setText(self.tr("Record the CAN bus during updates"))
        self.record_bus_check.setToolTip(
            self.tr(
                "Every frame on the battery's CAN adapter while an update runs is written to a bus log "
                "(candump format, size-capped and rotated) kept with the session's report."
            )
        )
        self.show_dtcs(self._dtcs)

    @Slot(bool)
    def _on_record_bus(self, checked: bool) -> None:
        self._model.record_bus = checked

    def _apply_theme(self) -> None:
        colors = THEMES[self._model.theme_name]
        self.read_button.setIcon(icon("diagnostics", colors.text))
        self.clear_button.setIcon(icon("clear", colors.text))
        self.show_dtcs(self._dtcs)

    @Slot(list)
    def show_dtcs(self, dtcs: Sequence[Dtc]) -> None:
        """Fill the DTC table, critical codes first."""
        colors = THEMES[self._model.theme_name]
        self._dtcs = sorted(dtcs, key=lambda d: (d.severity is not DtcSeverity.CRITICAL, d.code))
        self.dtc_table.setRowCount(len(self._dtcs))
        for row, dtc in enumerate(self._dtcs):
            texts = (dtc.code_text, severity_text(dtc.severity), f"0x{dtc.status:02X}", dtc.description)
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if column == 3:
                    item.setData(DEVICE_TEXT_ROLE, True)  # the battery's own description
                if dtc.severity is DtcSeverity.CRITICAL:
                    item.setForeground(QColor(colors.bad))
                elif dtc.severity is DtcSeverity.WARNING:
                    item.setForeground(QColor(colors.warning))
                self.dtc_table.setItem(row, column, item)
        if self._model.connected:
            self.status.setText(self.tr("%n stored trouble code(s).", "", len(self._dtcs)))

    @Slot(object)
    def show_link_stats(self, stats: LinkStats) -> None:
        link = self._model.link.describe() if self._model.link else "—"
        values = (
            link,
            str(stats.requests),
            str(stats.retries),
            str(stats.timeouts),
            str(stats.errors),
            f"{stats.last_round_trip_s * 1000:.1f} ms",
            str(stats.bytes_sent),
            str(stats.bytes_received),
        )
        for label, text in zip(self.stat_values, values, strict=True):
            label.setText(text)

    @Slot()
    def _refresh_stats(self) -> None:
        if self.isVisible() and self._model.connected and not self._model.update_running:
            self._model.read_link_stats()

    @Slot(object)
    def _on_connection(self, identity: DeviceIdentity | None) -> None:
        self._dtcs = []
        self.dtc_table.setRowCount(0)
        for label in self.stat_values:
            label.setText("—")
        self.status.setText("")
        reason = self._model.read_only_reason  # a battery watched through its CAN broadcasts
        if identity is not None and reason is not None:
            self.status.setText(shown(reason))
        elif identity is not None:
            self._model.read_dtcs()
        self._update_buttons()

    def _update_buttons(self) -> None:
        writable = self._model.connected and self._model.read_only_reason is None
        self.read_button.setEnabled(writable)
        self.clear_button.setEnabled(writable)
        link = self._model.link if self._model.connected else None
        self.record_bus_check.setEnabled(link is None or link.kind == "can")

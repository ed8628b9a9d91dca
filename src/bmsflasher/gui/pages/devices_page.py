"""Devices page: adapters found, scan, connect — and recovery-mode devices that need rescuing.

A scan lists every adapter with a plain verdict (busy, no permission, nothing answered) and every
device by serial number. A device in recovery mode has no bootable firmware: its row is drawn in
the alarm colour with a "Recover" button, because that is the one thing to do with it.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt, Slot
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bmsflasher.core.types import CanAddressing, DeviceIdentity, DeviceMode, LinkSettings
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine import BusModule, BusReading, DriverGuidance
from bmsflasher.gui.engine_text import DEVICE_TEXT_ROLE, later, plain_label, sentence, shown
from bmsflasher.gui.icons import icon
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.shortcuts import bind_shortcut
from bmsflasher.gui.texts import adapter_status_text, fmt, mode_text
from bmsflasher.gui.theme import THEMES
from bmsflasher.gui.widgets.identity_view import IdentityView

STANDARD_BAUDS: Final = (9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000)
STANDARD_BITRATES: Final = (125000, 250000, 500000, 1000000)


MAX_11BIT_NODE: Final = 8
"""11-bit normal addressing numbers nodes 1..8 (0x7E0..0x7E7, ISO 15765-4)."""
MAX_29BIT_ADDRESS: Final = 0xFD
"""Highest one-byte ECU address; 0xFE and 0xFF are reserved (SAE J1939-81)."""
MAX_MODBUS_ADDRESS: Final = 247
"""Modbus unit addresses are 1..247; 0 is broadcast and 248..255 are reserved."""
ADDRESS_COLUMN: Final = 6
"""The devices table's last column: a Modbus module's unit address (empty for other links)."""
MODBUS_KINDS: Final = ("modbus_rtu", "modbus_tcp")
"""The manual form's two ways to one Modbus module: on an RS485 line, or behind a TCP gateway."""


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """One battery in the table: one found by the scan, or the one connected now."""

    serial: str
    model: str
    mode: DeviceMode
    firmware: str
    protocol: str
    link: LinkSettings
    connected: bool = False


def _row_of_module(module: BusModule) -> DeviceRow:
    identity = module.identity
    return DeviceRow(
        serial=identity.serial_number,
        model=identity.model,
        mode=identity.mode,
        firmware=str(identity.firmware_version) if identity.firmware_version else "—",
        protocol="Modbus",
        link=module.link,
    )


def _row_of_found(device: Any) -> DeviceRow:
    identity: DeviceIdentity | None = device.identity
    return DeviceRow(
        serial=device.serial_number or "",
        model=identity.model if identity else "",
        mode=device.mode,
        firmware=str(identity.firmware_version) if identity and identity.firmware_version else "—",
        protocol=device.protocol.upper(),
        link=device.link,
    )


class DevicesPage(RetranslateOnLanguageChange, QWidget):
    """Scan results, manual connection and the connected device's identity."""

    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("devices_page")
        self._model = model
        self._found: list[Any] = []
        self._reports: list[Any] = []
        self._scanned = False
        self._elapsed_s = 0.0
        self._shown_rows: list[DeviceRow] = []

        self.title = QLabel(self)
        self.title.setObjectName("page_title")
        self.scan_button = QPushButton(self)
        self.scan_status = plain_label(QLabel(self), device=False)
        self.scan_status.setObjectName("scan_status")
        self.scan_status.setWordWrap(True)
        self._scan_text: Callable[[], str] | None = None
        self._connecting_to = ""

        self.devices_box = QGroupBox(self)
        self.devices_table = QTableWidget(0, 7, self)
        self.devices_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.devices_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.devices_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.devices_table.verticalHeader().setVisible(False)
        self.devices_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        # a rack module's bus address, which the elided link text would hide
        self.devices_table.horizontalHeader().setSectionResizeMode(
            ADDRESS_COLUMN, QHeaderView.ResizeMode.ResizeToContents
        )
        self.connect_button = QPushButton(self)
        self.recover_button = QPushButton(self)
        self.recover_button.setObjectName("recover_button")
        device_buttons = QHBoxLayout()
        device_buttons.addStretch(1)
        device_buttons.addWidget(self.recover_button)
        device_buttons.addWidget(self.connect_button)
        devices_layout = QVBoxLayout(self.devices_box)
        devices_layout.addWidget(self.devices_table)
        devices_layout.addLayout(device_buttons)

        self.adapters_box = QGroupBox(self)
        self.adapters_table = QTableWidget(0, 3, self)
        self.adapters_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.adapters_table.verticalHeader().setVisible(False)
        header = self.adapters_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.adapters_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.adapters_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.guidance_view = QLabel(self)
        self.guidance_view.setObjectName("driver_guidance")
        self.guidance_view.setWordWrap(True)
        self.guidance_view.setTextFormat(Qt.TextFormat.RichText)
        self.guidance_view.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.guidance_view.setOpenExternalLinks(True)
        self.guidance_view.hide()
        adapters_layout = QVBoxLayout(self.adapters_box)
        adapters_layout.addWidget(self.adapters_table)
        adapters_layout.addWidget(self.guidance_view)

        self.manual_box = QGroupBox(self)
        self.kind_combo = QComboBox(self)
        self.port_edit = QLineEdit(self)
        self.baud_combo = QComboBox(self)
        self.baud_combo.setEditable(True)
        for baud in STANDARD_BAUDS:
            self.baud_combo.addItem(str(baud))
        self.baud_combo.setCurrentText("115200")
        self.interface_edit = QLineEdit("socketcan", self)
        self.channel_edit = QLineEdit("can0", self)
        self.bitrate_combo = QComboBox(self)
        for bitrate in STANDARD_BITRATES:
            self.bitrate_combo.addItem(str(bitrate))
        self.bitrate_combo.setCurrentText("500000")
        self.addressing_combo = QComboBox(self)
        self.node_spin = QSpinBox(self)
        self.node_spin.setRange(1, MAX_11BIT_NODE)
        self.node_spin.setDisplayIntegerBase(16)
        self.node_spin.setPrefix("0x")
        self.parity_combo = QComboBox(self)
        self.stopbits_combo = QComboBox(self)
        self.stopbits_combo.addItem("1", 1)
        self.stopbits_combo.addItem("2", 2)
        self.tcp_edit = QLineEdit(self)
        self.tcp_edit.setObjectName("modbus_tcp")
        self.address_spin = QSpinBox(self)
        self.address_spin.setObjectName("modbus_address")
        self.address_spin.setRange(1, MAX_MODBUS_ADDRESS)
        self.last_address_spin = QSpinBox(self)
        self.last_address_spin.setObjectName("modbus_last_address")
        self.last_address_spin.setRange(1, MAX_MODBUS_ADDRESS)
        self.last_address_spin.setValue(16)
        self.dbc_edit = QLineEdit(self)  # "CAN broadcast (DBC)": the DBC and its signal map
        self.dbc_edit.setObjectName("dbc_file")
        self.signals_edit = QLineEdit(self)
        self.signals_edit.setObjectName("signal_map_file")
        self.read_bus_button = QPushButton(self)
        self.read_bus_button.setObjectName("read_bus_button")
        self.watch_rack_button = QPushButton(self)
        self.watch_rack_button.setObjectName("watch_rack_button")
        self.watch_rack_button.setEnabled(False)
        self.bus_progress = QProgressBar(self)
        self.bus_progress.setObjectName("bus_progress")
        self.bus_progress.hide()
        self._bus_modules: list[BusModule] = []
        self.manual_connect_button = QPushButton(self)
        self.disconnect_button = QPushButton(self)
        self.manual_form = QFormLayout(self.manual_box)
        self.manual_labels = [QLabel(self) for _ in range(15)]
        fields: list[QWidget] = [
            self.kind_combo,
            self.port_edit,
            self.baud_combo,
            self.interface_edit,
            self.channel_edit,
            self.bitrate_combo,
            self.addressing_combo,
            self.node_spin,
            self.parity_combo,
            self.stopbits_combo,
            self.tcp_edit,
            self.address_spin,
            self.last_address_spin,
            self.dbc_edit,
            self.signals_edit,
        ]
        for label, field in zip(self.manual_labels, fields, strict=True):
            label.setBuddy(field)
            self.manual_form.addRow(label, field)
        manual_buttons = QHBoxLayout()
        manual_buttons.addWidget(self.disconnect_button)
        manual_buttons.addStretch(1)
        manual_buttons.addWidget(self.manual_connect_button)
        self.manual_form.addRow(manual_buttons)
        bus_row = QHBoxLayout()
        bus_row.addWidget(self.bus_progress, 1)
        bus_row.addStretch(0)
        bus_row.addWidget(self.read_bus_button)
        bus_row.addWidget(self.watch_rack_button)
        self.manual_form.addRow(bus_row)

        self.identity_box = QGroupBox(self)
        self.connection_status = plain_label(QLabel(self), device=False)  # names device text
        self.connection_status.setObjectName("connection_status")
        self.connection_status.setWordWrap(True)
        self.identity_view = IdentityView(self)
        identity_layout = QVBoxLayout(self.identity_box)
        identity_layout.addWidget(self.connection_status)
        identity_layout.addWidget(self.identity_view)
        identity_layout.addStretch(1)

        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.scan_status, 2)
        top.addWidget(self.scan_button)
        left = QVBoxLayout()
        left.addWidget(self.devices_box, 3)
        left.addWidget(self.adapters_box, 2)
        right = QVBoxLayout()
        right.addWidget(self.manual_box)
        right.addWidget(self.identity_box, 1)
        body = QHBoxLayout()
        body.addLayout(left, 3)
        body.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body, 1)

        self.scan_button.clicked.connect(self._on_scan)
        self.connect_button.clicked.connect(self._on_connect_selected)
        self.recover_button.clicked.connect(self._on_recover_selected)
        self.devices_table.itemSelectionChanged.connect(self._update_buttons)
        self.adapters_table.itemSelectionChanged.connect(self._show_guidance)
        self.devices_table.itemDoubleClicked.connect(lambda _item: self._on_connect_selected())
        self.manual_connect_button.clicked.connect(self._on_manual_connect)
        self.read_bus_button.clicked.connect(self._on_read_bus)
        self.watch_rack_button.clicked.connect(self._on_watch_rack)
        model.sig_bus_running.connect(self._on_bus_running)
        model.sig_bus_progress.connect(self._on_bus_progress)
        model.sig_bus_result.connect(self._on_bus_result)
        self.disconnect_button.clicked.connect(model.disconnect_device)
        self.kind_combo.currentIndexChanged.connect(self._update_manual_fields)
        self.addressing_combo.currentIndexChanged.connect(self._update_node_range)
        model.sig_scan_running.connect(self._on_scan_running)
        model.sig_scan_result.connect(self._on_scan_result)
        model.sig_connection_changed.connect(self._on_connection)
        model.sig_connecting.connect(self._on_connecting)
        model.sig_connect_failed.connect(self._on_connect_failed)
        model.sig_theme_changed.connect(lambda _name: self._apply_theme())

        self.setTabOrder(self.scan_button, self.devices_table)
        self.setTabOrder(self.devices_table, self.connect_button)
        self.setTabOrder(self.connect_button, self.recover_button)
        self.setTabOrder(self.recover_button, self.kind_combo)
        bind_shortcut(self.scan_button, "F5", self)
        self.retranslate()
        self._apply_theme()
        self._update_manual_fields()
        self._update_buttons()

    # --- text and looks ---------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.title.setText(self.tr("Devices"))
        self.scan_button.setText(self.tr("&Scan (F5)"))
        self.scan_button.setToolTip(self.tr("Look for adapters and batteries on every port and bus."))
        self.devices_box.setTitle(self.tr("Batteries found"))
        self.devices_table.setHorizontalHeaderLabels(
            [
                self.tr("Serial"),
                self.tr("Model"),
                self.tr("Mode"),
                self.tr("Firmware"),
                self.tr("Protocol"),
                self.tr("Link"),
                self.tr("Address"),
            ]
        )
        self.connect_button.setText(self.tr("&Connect"))
        self.recover_button.setText(self.tr("&Recover…"))
        self.recover_button.setToolTip(
            self.tr("This battery has no bootable firmware: flash the last stable version in recovery mode.")
        )
        self.adapters_box.setTitle(self.tr("Adapters"))
        self.adapters_table.setHorizontalHeaderLabels(
            [self.tr("Adapter"), self.tr("Status"), self.tr("Details")]
        )
        self.manual_box.setTitle(self.tr("Connect by hand"))
        texts = [
            self.tr("&Link:"),
            self.tr("&Port or URL:"),
            self.tr("&Baud rate:"),
            self.tr("&Interface:"),
            self.tr("C&hannel:"),
            self.tr("Bit&rate:"),
            self.tr("A&ddressing:"),
            self.tr("&Node:"),
            self.tr("Par&ity:"),
            self.tr("S&top bits:"),
            self.tr("&Gateway (host:port):"),
            self.tr("Modbus &address:"),
            self.tr("&Up to address:"),
            self.tr("D&BC file:"),
            self.tr("Signal &map:"),
        ]
        for label, text in zip(self.manual_labels, texts, strict=True):
            label.setText(text)
        current = self.kind_combo.currentIndex()
        self.kind_combo.clear()
        self.kind_combo.addItem(self.tr("Serial (USB, UART, RS485) — SMP"), "serial")
        self.kind_combo.addItem(self.tr("CAN — UDS"), "can")
        self.kind_combo.addItem(self.tr("CAN broadcast (DBC) — read-only"), "can_dbc")
        self.kind_combo.addItem(self.tr("RS485 — Modbus RTU (rack module)"), "modbus_rtu")
        self.kind_combo.addItem(self.tr("Ethernet — Modbus TCP gateway"), "modbus_tcp")
        parity = self.parity_combo.currentIndex()
        self.parity_combo.clear()
        self.parity_combo.addItem(self.tr("Even (E)"), "E")
        self.parity_combo.addItem(self.tr("None (N)"), "N")
        self.parity_combo.addItem(self.tr("Odd (O)"), "O")
        self.parity_combo.setCurrentIndex(max(parity, 0))
        self.tcp_edit.setPlaceholderText(self.tr("192.168.1.50:502"))
        self.dbc_edit.setPlaceholderText(self.tr("the BMS's DBC file, e.g. pack.dbc"))
        self.signals_edit.setPlaceholderText(self.tr("which signal is which, e.g. pack.map.json"))
        self.dbc_edit.setToolTip(
            self.tr("Listen without sending and decode the BMS's own broadcasts (docs/can-tools.md).")
        )
        self.address_spin.setToolTip(self.tr("The module's unit address on the bus (1 to 247)."))
        self.last_address_spin.setToolTip(
            self.tr("Read the bus asks every address from the Modbus address up to this one.")
        )
        self.read_bus_button.setText(self.tr("R&ead the bus"))
        self.watch_rack_button.setText(self.tr("&Watch the rack"))
        self.watch_rack_button.setToolTip(
            self.tr("Show the live cells of every module the bus read found, side by side (Live page).")
        )
        self.read_bus_button.setToolTip(
            self.tr(
                "List every module that answers on this RS485 line or gateway, one address after another."
            )
        )
        self.kind_combo.setCurrentIndex(max(current, 0))
        addressing = self.addressing_combo.currentIndex()
        self.addressing_combo.clear()
        self.addressing_combo.addItem(
            self.tr("11-bit normal (0x7E0 / 0x7E8)"), CanAddressing.NORMAL_11BIT.value
        )
        self.addressing_combo.addItem(
            self.tr("29-bit normal fixed (0x18DA…, J1939-style buses)"),
            CanAddressing.NORMAL_FIXED_29BIT.value,
        )
        self.addressing_combo.setCurrentIndex(max(addressing, 0))
        self.addressing_combo.setToolTip(
            self.tr("Which CAN identifiers the BMS answers on; a scan reports it for each battery found.")
        )
        self.port_edit.setPlaceholderText(self.tr("/dev/ttyUSB0, COM3 or socket://host:port"))
        self.manual_connect_button.setText(self.tr("C&onnect"))
        self.disconnect_button.setText(self.tr("&Disconnect"))
        self.identity_box.setTitle(self.tr("Connected battery"))
        self._fill_tables()
        if self._scan_text is not None:
            self.scan_status.setText(self._scan_text())
        self._show_connection()

    def _apply_theme(self) -> None:
        colors = THEMES[self._model.theme_name]
        self.scan_button.setIcon(icon("scan", colors.text))
        self.connect_button.setIcon(icon("connect", colors.text))
        self.manual_connect_button.setIcon(icon("connect", colors.text))
        self.disconnect_button.setIcon(icon("disconnect", colors.text))
        self.recover_button.setIcon(icon("recover", colors.bad))
        self._fill_tables()

    # --- scan -------------------------------------------------------------------------------------
    @Slot()
    def _on_scan(self) -> None:
        extra = [self.port_edit.text().strip()] if self.port_edit.text().strip() else []
        self._model.scan(extra)

    @Slot(bool)
    def _on_scan_running(self, running: bool) -> None:
        self.scan_button.setEnabled(not running)
        if running:
            self._set_scan_text(lambda: self.tr("Scanning every adapter…"))

    def _set_scan_text(self, render: Callable[[], str]) -> None:
        self._scan_text = render
        self.scan_status.setText(render())

    @Slot(object)
    def _on_scan_result(self, result: Any) -> None:
        self._found = list(getattr(result, "devices", ()))
        self._reports = list(getattr(result, "reports", ()))
        self._scanned = True
        self._elapsed_s = float(getattr(result, "elapsed_s", 0.0))
        self._fill_tables()
        if self.devices_table.rowCount():
            self.devices_table.selectRow(0)

    def rows(self) -> list[DeviceRow]:
        """The batteries to list: the connected one first (a scan cannot open its port), then the scan's."""
        found = [_row_of_module(module) for module in self._bus_modules]
        found += [_row_of_found(device) for device in self._found]
        identity, link = self._model.identity, self._model.link
        if identity is None or link is None or not self._model.connected:
            return found
        connected = DeviceRow(
            serial=identity.serial_number,
            model=identity.model,
            mode=identity.mode,
            firmware=str(identity.firmware_version) if identity.firmware_version else "—",
            protocol={"can": "UDS", "modbus": "Modbus"}.get(link.kind, "SMP"),
            link=link,
            connected=True,
        )
        return [connected, *(row for row in found if row.serial != identity.serial_number)]

    def _scan_summary(self) -> str:
        rows = self.rows()
        elapsed = f"{self._elapsed_s:.1f}"
        count = len(rows)
        if any(row.connected for row in rows):
            return fmt(
                self.tr("%n battery(ies) found in %1 s, the connected one included.", "", count), elapsed
            )
        return fmt(self.tr("%n battery(ies) found in %1 s.", "", count), elapsed)

    def _fill_tables(self) -> None:
        colors = THEMES[self._model.theme_name]
        table = self.devices_table
        rows = self.rows()  # the connected battery is listed even before a scan
        self._shown_rows = rows
        table.setRowCount(len(rows))
        for index, device in enumerate(rows):
            recovery = device.mode is DeviceMode.RECOVERY
            values = [
                device.serial or self.tr("(unknown)"),
                device.model,
                mode_text(device.mode),
                device.firmware,
                device.protocol,
                device.link.describe(),
                str(device.link.address) if device.link.kind == "modbus" else "",
            ]
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column in (0, 1) and value and device.serial:
                    item.setData(DEVICE_TEXT_ROLE, True)  # the battery's own serial and model
                if recovery or device.connected:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                if recovery:
                    item.setForeground(QColor(colors.bad))
                    item.setToolTip(self.tr("No bootable firmware: use Recover."))
                elif device.connected:
                    item.setToolTip(self.tr("This battery is connected now."))
                table.setItem(index, column, item)
        if self._scanned:
            self._set_scan_text(self._scan_summary)
        adapters = self.adapters_table
        adapters.setRowCount(len(self._reports))
        for row, report in enumerate(self._reports):
            status = str(getattr(report.status, "value", report.status))
            details = sentence(report.message) + (f" — {sentence(report.hint)}" if report.hint else "")
            cells = (f"{report.label} ({report.adapter_name})", adapter_status_text(status), details)
            for column, value in enumerate(cells):
                item = QTableWidgetItem(value)
                item.setToolTip(details)
                if status not in {"found", "no_device"} and column == 1:
                    item.setForeground(QColor(colors.warning))
                adapters.setItem(row, column, item)
        self._show_guidance()
        self._update_buttons()

    # --- driver guidance --------------------------------------------------------------------------
    def _guided_report(self) -> Any | None:
        """The selected adapter's report if it has guidance, else the first report that has some."""
        rows = self.adapters_table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self._reports):
            selected = self._reports[rows[0].row()]
            if getattr(selected, "guidance", None) is not None:
                return selected
        return next((r for r in self._reports if getattr(r, "guidance", None) is not None), None)

    @Slot()
    def _show_guidance(self) -> None:
        """Explain what to do about an adapter without driver or permission, or held by another program."""
        report = self._guided_report()
        if report is None:
            self.guidance_view.clear()
            self.guidance_view.hide()
            return
        guidance: DriverGuidance = report.guidance
        title = f"<b>{html.escape(report.label)}: {html.escape(shown(guidance.title))}</b>"
        steps = "".join(f"<li>{html.escape(shown(step))}</li>" for step in guidance.steps)
        guide_label = html.escape(self.tr("Driver guide:"))
        download_label = html.escape(self.tr("Download:"))
        references: list[str] = []
        if guidance.doc_location:
            where = html.escape(guidance.doc_location)
            target = f"<a href='{html.escape(guidance.doc_url)}'>{where}</a>" if guidance.doc_url else where
            references.append(f"{guide_label} {target}")
        for link in guidance.links:
            url = html.escape(link)
            references.append(f"{download_label} <a href='{url}'>{url}</a>")
        self.guidance_view.setText(f"{title}<ol>{steps}</ol>{'<br>'.join(references)}")
        self.guidance_view.show()

    def _selected_device(self) -> DeviceRow | None:
        rows = self.devices_table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._shown_rows):
            return None
        return self._shown_rows[rows[0].row()]

    @Slot()
    def _update_buttons(self) -> None:
        device = self._selected_device()
        recovery = device is not None and device.mode is DeviceMode.RECOVERY
        self.connect_button.setEnabled(device is not None and not device.connected)
        self.recover_button.setVisible(recovery)
        self.disconnect_button.setEnabled(self._model.connected)

    # --- connect ----------------------------------------------------------------------------------
    @Slot()
    def _on_connect_selected(self) -> None:
        device = self._selected_device()
        if device is not None:
            self._model.connect_device(device.link)

    @Slot()
    def _on_recover_selected(self) -> None:
        device = self._selected_device()
        if device is not None:
            self._model.request_recovery(device.link)

    def manual_link(self) -> LinkSettings | None:
        """The link typed in the manual form, or None (with a message) when incomplete."""
        kind = self.kind_combo.currentData()
        if kind == "serial":
            return self.manual_link_serial()
        if kind in MODBUS_KINDS:
            return self._modbus_link(kind)
        interface = self.interface_edit.text().strip()
        channel = self.channel_edit.text().strip()
        if not interface or not channel:
            self._model.sig_error.emit(
                later(
                    "DevicesPage",
                    QT_TRANSLATE_NOOP("DevicesPage", "Type the CAN interface and channel first."),
                ),
                "",
            )
            return None
        return LinkSettings(
            kind="can",
            interface=interface,
            channel=channel,
            bitrate=int(self.bitrate_combo.currentText()),
            node=self.node_spin.value(),
            addressing=CanAddressing(self.addressing_combo.currentData()),
        )

    def _modbus_link(self, kind: str) -> LinkSettings | None:
        """One module on an RS485 line (Modbus RTU) or behind a gateway (Modbus TCP), by its address."""
        address = self.address_spin.value()
        if kind == "modbus_tcp":
            gateway = self.tcp_edit.text().strip()
            host, _, port = gateway.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                self._model.sig_error.emit(
                    later(
                        "DevicesPage",
                        QT_TRANSLATE_NOOP("DevicesPage", "'%1' is not a gateway address."),
                        gateway,
                    ),
                    later(
                        "DevicesPage",
                        QT_TRANSLATE_NOOP("DevicesPage", "Type host:port, such as 192.168.1.50:502."),
                    ),
                )
                return None
            return LinkSettings(kind="modbus", tcp=gateway, address=address)
        serial = self.manual_link_serial()
        if serial is None:
            return None
        return LinkSettings(
            kind="modbus",
            port=serial.port,
            baud=serial.baud,
            parity=str(self.parity_combo.currentData()),
            stopbits=int(self.stopbits_combo.currentData()),
            address=address,
        )

    def manual_link_serial(self) -> LinkSettings | None:
        """The typed port and baud rate as a serial link, or None (with a message) when incomplete."""
        port = self.port_edit.text().strip()
        if not port:
            self._model.sig_error.emit(
                later("DevicesPage", QT_TRANSLATE_NOOP("DevicesPage", "Type the serial port or URL first.")),
                "",
            )
            return None
        baud_text = self.baud_combo.currentText().strip()
        if not baud_text.isdigit() or int(baud_text) <= 0:
            self._model.sig_error.emit(
                later("DevicesPage", QT_TRANSLATE_NOOP("DevicesPage", "'%1' is not a baud rate."), baud_text),
                later("DevicesPage", QT_TRANSLATE_NOOP("DevicesPage", "Use a whole number such as 115200.")),
            )
            return None
        return LinkSettings(kind="serial", port=port, baud=int(baud_text))

    @Slot()
    def _on_manual_connect(self) -> None:
        link = self.manual_link()
        if link is None:
            return
        if self.kind_combo.currentData() != "can_dbc":
            self._model.connect_device(link)
            return
        dbc, signal_map = self.dbc_edit.text().strip(), self.signals_edit.text().strip()
        if not dbc or not signal_map:
            self._model.sig_error.emit(
                later(
                    "DevicesPage",
                    QT_TRANSLATE_NOOP("DevicesPage", "Choose the DBC file and its signal map first."),
                ),
                "",
            )
            return
        self._model.connect_device(link, broadcast=(Path(dbc), Path(signal_map)))

    @Slot()
    def _update_node_range(self) -> None:
        """11-bit addressing numbers nodes 1..8; 29-bit takes the ECU's one-byte address."""
        if self.addressing_combo.currentData() == CanAddressing.NORMAL_FIXED_29BIT.value:
            self.node_spin.setRange(0, MAX_29BIT_ADDRESS)
        else:
            self.node_spin.setRange(1, MAX_11BIT_NODE)

    @Slot()
    def _update_manual_fields(self) -> None:
        kind = self.kind_combo.currentData()
        serial = kind in ("serial", "modbus_rtu")
        dbc = kind == "can_dbc"
        can = kind == "can" or dbc
        uds = kind == "can"
        rtu = kind == "modbus_rtu"
        tcp = kind == "modbus_tcp"
        shown = (
            True,
            serial,
            serial,
            can,
            can,
            can,
            uds,
            uds,
            rtu,
            rtu,
            tcp,
            rtu or tcp,
            rtu or tcp,
            dbc,
            dbc,
        )
        for index, visible in enumerate(shown):
            self.manual_labels[index].setVisible(visible)
            buddy = self.manual_labels[index].buddy()
            if buddy is not None:
                buddy.setVisible(visible)
        self.read_bus_button.setVisible(rtu or tcp)
        self.watch_rack_button.setVisible(rtu or tcp)

    # --- read the bus -----------------------------------------------------------------------------
    @Slot()
    def _on_read_bus(self) -> None:
        kind = self.kind_combo.currentData()
        link = self._modbus_link(str(kind)) if kind in MODBUS_KINDS else None
        if link is None:
            return
        first, last = self.address_spin.value(), self.last_address_spin.value()
        self._model.read_bus(link, range(min(first, last), max(first, last) + 1))

    @Slot()
    def _on_watch_rack(self) -> None:
        if self._bus_modules:
            self._model.watch_rack(
                self._bus_modules[0].link, [module.address for module in self._bus_modules]
            )

    @Slot(bool)
    def _on_bus_running(self, running: bool) -> None:
        self.read_bus_button.setEnabled(not running)
        self.scan_button.setEnabled(not running)
        self.bus_progress.setVisible(running)
        if running:
            self.bus_progress.setRange(0, 0)  # busy until the first address has answered or not

    @Slot(int, int)
    def _on_bus_progress(self, done: int, total: int) -> None:
        self.bus_progress.setRange(0, total)
        self.bus_progress.setValue(done)
        self._set_scan_text(lambda: fmt(self.tr("Reading the bus: address %1 of %2…"), done, total))

    @Slot(object)
    def _on_bus_result(self, reading: BusReading) -> None:
        self._bus_modules = list(reading.modules)
        count, elapsed = len(reading.modules), f"{reading.elapsed_s:.1f}"
        complete = reading.complete

        def summary() -> str:
            text = fmt(self.tr("%n module(s) answered on the bus in %1 s.", "", count), elapsed)
            if not complete:
                text += " " + fmt(
                    self.tr("Stopped after %1 addresses: the read took too long."), reading.asked
                )
            return text

        self.watch_rack_button.setEnabled(bool(self._bus_modules))
        self._scanned = False  # the status line now tells the bus read's result, not the scan's
        self._fill_tables()
        self._set_scan_text(summary)
        if self.devices_table.rowCount():
            self.devices_table.selectRow(0)

    @Slot(str)
    def _on_connecting(self, description: str) -> None:
        self._connecting_to = description
        self._show_connection()

    @Slot(str)
    def _on_connect_failed(self, _description: str) -> None:
        self._connecting_to = ""
        self._show_connection()

    def _show_connection(self) -> None:
        """One line, one state: connecting, connected (to which battery), or not connected."""
        identity = self._model.identity if self._model.connected else None
        if identity is not None:
            text = fmt(self.tr("Connected to %1, serial %2."), identity.model, identity.serial_number)
        elif self._model.connected:
            text = self.tr("Connected; identifying the battery…")
        else:
            text = self.tr("Not connected.")
        if self._connecting_to:
            text = (
                fmt(self.tr("Connecting to %1…"), self._connecting_to)
                + " "
                + (
                    fmt(self.tr("Still connected to %1 until it answers."), identity.serial_number)
                    if identity is not None
                    else ""
                )
            )
        self.connection_status.setText(text.strip())

    @Slot(object)
    def _on_connection(self, identity: DeviceIdentity | None) -> None:
        if not self._model.connecting:
            self._connecting_to = ""
        self.identity_view.show_identity(identity)
        self._show_connection()
        self._fill_tables()  # the connected battery is listed with the scan's
        self._update_buttons()

    def keyPressEvent(self, event: Any) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.devices_table.hasFocus():
            self._on_connect_selected()
            return
        super().keyPressEvent(event)

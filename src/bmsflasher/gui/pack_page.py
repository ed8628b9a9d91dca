"""Pack page: a multi-node pack (BCU, BMCs, BMUs on one CAN bus) — its nodes, live cells and campaign.

The technician names the pack's CAN bus (interface, channel, bit rate) and reads the pack: every
node answers one functional request and is listed under its tier with its model, serial number,
firmware and state. "Watch the cells" listens on the one adapter for the cell frames every BMU
sends ten times a second (a BMU that sends none is asked over UDS instead; see
``discovery/pack_cell_stream.py``) and draws the pack's cells with the live page's rack drawing (a
heat map row per BMU, a bar per cell), redrawn at most ten times a second and only while the page
is visible; the status line says how many whole sweeps of the pack arrived in the last second.
"Update the pack…" opens the campaign wizard; "Roll back the pack" returns every node to its
previous firmware, or none.

In demo mode (``gui --demo``) "Start a demo pack" runs the virtual pack of ``bmsflasher sim
--topology bcu=1,bmc=2,bmu=12`` and reads it.
"""

from __future__ import annotations

import time
from typing import Final

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from bmsflasher.core.types import LinkSettings, PackTelemetry
from bmsflasher.gui.campaign_wizard import CampaignWizard
from bmsflasher.gui.engine import PackNodeInfo
from bmsflasher.gui.pack_cells import PackCellsView
from bmsflasher.gui.pack_model import PackModel
from bmsflasher.gui.pack_tree import PackTree
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.texts import fmt
from bmsflasher.gui.theme import THEMES

INTERFACES: Final = ("slcan", "socketcan", "pcan", "kvaser", "vector", "ixxat", "gs_usb", "virtual")
BITRATES: Final = (125_000, 250_000, 500_000, 1_000_000)
DEFAULT_BITRATE: Final = 500_000
REDRAW_MS: Final = 100
"""The cells are redrawn at most ten times a second (only when a sample arrived and the page shows)."""


class PackPage(RetranslateOnLanguageChange, QWidget):
    """The pack's bus, its tree of tiers, its live cells, and the doors to the campaign and the rollback."""

    def __init__(self, model: PackModel, parent: QWidget | None = None, *, demo: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("pack_page")
        self.model = model
        self.wizard: CampaignWizard | None = None
        self.frames_drawn = 0
        self._dirty = False
        self._samples = 0
        self._rate_since = time.monotonic()
        self._rate_hz = 0.0

        self.title = QLabel(self)
        self.title.setObjectName("page_title")
        self.explanation = QLabel(self)
        self.explanation.setWordWrap(True)

        self.bus_box = QGroupBox(self)
        self.interface_label = QLabel(self.bus_box)
        self.interface = QComboBox(self.bus_box)
        self.interface.setObjectName("pack_interface")
        self.interface.setEditable(True)
        self.interface.addItems(INTERFACES)
        self.channel_label = QLabel(self.bus_box)
        self.channel = QLineEdit(self.bus_box)
        self.channel.setObjectName("pack_channel")
        self.bitrate_label = QLabel(self.bus_box)
        self.bitrate = QComboBox(self.bus_box)
        self.bitrate.setObjectName("pack_bitrate")
        for rate in BITRATES:
            self.bitrate.addItem(f"{rate // 1000} kbit/s", rate)
        self.bitrate.setCurrentIndex(BITRATES.index(DEFAULT_BITRATE))
        self.read_button = QPushButton(self.bus_box)
        self.read_button.setObjectName("read_pack_button")
        self.demo_button = QPushButton(self.bus_box)
        self.demo_button.setObjectName("demo_pack_button")
        self.demo_button.setVisible(demo)
        bus_row = QHBoxLayout(self.bus_box)
        for widget in (self.interface_label, self.interface, self.channel_label):
            bus_row.addWidget(widget)
        bus_row.addWidget(self.channel, 1)
        for other in (self.bitrate_label, self.bitrate, self.read_button, self.demo_button):
            bus_row.addWidget(other)

        self.tree = PackTree(self)
        self.cells_box = QGroupBox(self)
        self.cells_button = QPushButton(self.cells_box)
        self.cells_button.setObjectName("watch_cells_button")
        self.cells_button.setCheckable(True)
        self.cells_status = QLabel(self.cells_box)
        self.cells_status.setObjectName("cells_status")
        self.cells = PackCellsView(self.cells_box)
        cells_top = QHBoxLayout()
        cells_top.addWidget(self.cells_button)
        cells_top.addWidget(self.cells_status, 1)
        cells_layout = QVBoxLayout(self.cells_box)
        cells_layout.addLayout(cells_top)
        cells_layout.addWidget(self.cells, 1)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.cells_box)
        splitter.setSizes([260, 440])

        self.update_button = QPushButton(self)
        self.update_button.setObjectName("update_pack_button")
        self.rollback_button = QPushButton(self)
        self.rollback_button.setObjectName("rollback_pack_button")
        self.status = QLabel(self)
        self.status.setObjectName("pack_status")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.update_button)
        buttons.addWidget(self.rollback_button)
        buttons.addWidget(self.status, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.explanation)
        layout.addWidget(self.bus_box)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)

        self.read_button.clicked.connect(self.read_pack)
        self.demo_button.clicked.connect(lambda _checked=False: self.model.start_demo_pack())
        self.cells_button.toggled.connect(self._on_cells_toggled)
        self.update_button.clicked.connect(self.open_campaign_wizard)
        self.rollback_button.clicked.connect(self.roll_back_pack)
        model.sig_nodes.connect(self._on_nodes)
        model.sig_busy.connect(self._on_busy)
        model.sig_bus_changed.connect(self._on_bus)
        model.sig_cells_watching.connect(self._on_watching)
        model.sig_cell_sample.connect(self._on_sample)
        model.sig_cell_silent.connect(self._on_silent)
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self.retranslate()
        self._update_buttons()

    # --- text ----------------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.title.setText(self.tr("Pack"))
        self.explanation.setText(
            self.tr(
                "A pack's nodes — one BCU, its BMCs and their BMUs — share one CAN bus. Read the pack to "
                "list every node, watch every BMU's cells, and update the whole pack to one release bundle: "
                "every node ends on the new set, or every node goes back to its old one."
            )
        )
        self.bus_box.setTitle(self.tr("The pack's CAN bus"))
        self.interface_label.setText(self.tr("Interface"))
        self.channel_label.setText(self.tr("Channel"))
        self.channel.setPlaceholderText(self.tr("e.g. can0 or /dev/ttyACM0"))
        self.bitrate_label.setText(self.tr("Bit rate"))
        self.read_button.setText(self.tr("&Read the pack"))
        self.demo_button.setText(self.tr("Start a &demo pack"))
        self.cells_box.setTitle(self.tr("Live cells of every BMU"))
        self.cells.set_labels(
            self.tr("Cell"), self.tr("BMU address"), self.tr("Voltage (mV)"), self.tr("no answer")
        )
        self.update_button.setText(self.tr("&Update the pack…"))
        self.rollback_button.setText(self.tr("Roll &back the pack"))
        self._show_cells_button()
        self._show_cells_status()
        self._on_busy(self.model.busy)

    def _show_cells_button(self) -> None:
        self.cells_button.setText(
            self.tr("&Stop watching the cells")
            if self.cells_button.isChecked()
            else self.tr("&Watch the cells")
        )

    def _show_cells_status(self) -> None:
        addresses = self.cells.addresses
        if not addresses:
            self.cells_status.setText("")
            return
        text = fmt(self.tr("%1 BMUs, %2 cells"), len(addresses), self.cells.cell_count)
        if self._rate_hz > 0:  # measured over the first whole second
            text = f"{text}, " + fmt(self.tr("%1 sweeps a second"), f"{self._rate_hz:.1f}")
        silent = sorted(self.cells.silent)
        if silent:
            text = f"{text} · " + fmt(self.tr("not answering: %1"), ", ".join(f"0x{a:02X}" for a in silent))
        stream = self.model.cell_stream
        by_uds = [a for a in stream.read_over_uds() if a not in silent] if stream is not None else []
        if by_uds:  # a BMU without cell frames: its row is read over UDS, slower than the others
            listed = ", ".join(f"0x{a:02X}" for a in by_uds)
            text = f"{text} · " + fmt(self.tr("read over UDS (no cell frames): %1"), listed)
        self.cells_status.setText(text)

    def apply_theme(self, name: str) -> None:
        self.cells.apply_theme(THEMES[name])

    # --- the bus -------------------------------------------------------------------------------
    def bus(self) -> LinkSettings | None:
        """The link the fields describe (None while the channel is empty)."""
        channel = self.channel.text().strip()
        interface = self.interface.currentText().strip()
        if not channel or not interface:
            return None
        return LinkSettings(
            kind="can", interface=interface, channel=channel, bitrate=int(self.bitrate.currentData())
        )

    @Slot()
    def read_pack(self) -> None:
        bus = self.bus()
        if bus is not None:
            self.model.set_bus(bus)
        self.model.read_pack()

    @Slot(object)
    def _on_bus(self, bus: LinkSettings | None) -> None:
        if bus is None:
            return
        self.interface.setCurrentText(bus.interface)
        self.channel.setText(bus.channel)
        index = self.bitrate.findData(bus.bitrate)
        if index < 0:
            self.bitrate.addItem(f"{bus.bitrate // 1000} kbit/s", bus.bitrate)
            index = self.bitrate.count() - 1
        self.bitrate.setCurrentIndex(index)

    @Slot(object)
    def _on_nodes(self, nodes: tuple[PackNodeInfo, ...]) -> None:
        self.tree.show_nodes(nodes)
        self._update_buttons()

    @Slot(str)
    def _on_busy(self, job: str) -> None:
        texts = {
            "read": self.tr("Reading the pack…"),
            "demo": self.tr("Starting the demo pack…"),
            "campaign": self.tr("A campaign is running."),
            "rollback": self.tr("The pack is being rolled back."),
        }
        if job:
            self.status.setText(texts.get(job, ""))
        elif self.model.nodes:
            self.status.setText(fmt(self.tr("%n node(s) answered.", "", len(self.model.nodes))))
        else:
            self.status.setText("")
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = bool(self.model.busy)
        has_nodes = bool(self.model.nodes)
        self.read_button.setEnabled(not busy)
        self.demo_button.setEnabled(not busy)
        self.cells_button.setEnabled(not busy and bool(self.model.bmu_addresses))
        self.update_button.setEnabled(not busy and self.model.bus is not None)
        self.rollback_button.setEnabled(not busy and has_nodes)

    # --- live cells ------------------------------------------------------------------------------
    @Slot(bool)
    def _on_cells_toggled(self, on: bool) -> None:
        if on and not self.model.watching_cells:
            self.model.watch_cells()
        elif not on and self.model.watching_cells:
            self.model.stop_cells()
        self._show_cells_button()

    @Slot(object)
    def _on_watching(self, addresses: tuple[int, ...]) -> None:
        self.cells.watch(addresses)
        self._samples = 0
        self._rate_since = time.monotonic()
        self._rate_hz = 0.0
        self.cells_button.blockSignals(True)
        self.cells_button.setChecked(bool(addresses))
        self.cells_button.blockSignals(False)
        self._show_cells_button()
        self._dirty = True

    @Slot(int, object)
    def _on_sample(self, address: int, sample: PackTelemetry) -> None:
        if address in self.cells.addresses:
            self.cells.add_sample(address, sample)
            self._samples += 1
            self._dirty = True

    @Slot(int, object)
    def _on_silent(self, address: int, _why: object) -> None:
        if address in self.cells.addresses:
            self.cells.mark_silent(address, "")
            self._dirty = True

    @Slot()
    def _tick(self) -> None:
        now = time.monotonic()
        if now - self._rate_since >= 1.0 and self.cells.addresses:
            self._rate_hz = self._samples / len(self.cells.addresses) / (now - self._rate_since)
            self._samples = 0
            self._rate_since = now
        if self._dirty and self.isVisible():
            self.render_cells()

    @property
    def sweeps_per_s(self) -> float:
        """Whole sweeps of the pack (a sample of every watched BMU) a second, measured each second."""
        return self._rate_hz

    def render_cells(self) -> None:
        """Redraw the pack's cells (public so a test or benchmark can time exactly this)."""
        self._dirty = False
        self.cells.redraw()
        self.frames_drawn += 1
        self._show_cells_status()

    # --- campaign and rollback -------------------------------------------------------------------
    @Slot()
    def open_campaign_wizard(self) -> CampaignWizard | None:
        """The campaign wizard (non-modal: the tree stays visible behind it)."""
        if self.model.busy:
            return None
        bus = self.bus()
        if bus is not None and self.model.bus is None:
            self.model.set_bus(bus)
        if self.wizard is not None:
            self.wizard.close()
            self.wizard.deleteLater()
        self.wizard = CampaignWizard(self.model, self)
        self.wizard.show()
        return self.wizard

    @Slot()
    def roll_back_pack(self) -> CampaignWizard | None:
        """One rollback for the whole pack, followed row by row in the campaign wizard."""
        wizard = self.open_campaign_wizard()
        if wizard is not None:
            wizard.roll_back_pack()
        return wizard

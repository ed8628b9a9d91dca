"""Live page: the battery at a glance, redrawn at 10 Hz.

Samples arrive on ``AppModel.sig_telemetry`` and go straight into a numpy ring buffer (cheap); a
100 ms display timer redraws only when something new arrived and the page is visible. Separating the
data rate from the paint rate keeps the GUI responsive even if a fast link delivers bursts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np
from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from bmsflasher.core.types import DeviceIdentity, PackTelemetry
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine_text import plain_label, sentence
from bmsflasher.gui.icons import icon
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.shortcuts import bind_shortcut
from bmsflasher.gui.telemetry_buffer import TelemetryHistory
from bmsflasher.gui.texts import fmt
from bmsflasher.gui.theme import THEMES, ThemeColors
from bmsflasher.gui.widgets.alarm_panel import AlarmPanel
from bmsflasher.gui.widgets.cell_bars import CellBarsWidget
from bmsflasher.gui.widgets.cell_heatmap import CellHeatmapWidget
from bmsflasher.gui.widgets.pack_summary import PackSummaryWidget
from bmsflasher.gui.widgets.rack_view import RackView
from bmsflasher.gui.widgets.trend_plots import TrendLabels, TrendPlotsWidget

FRAME_INTERVAL_MS: Final = 100
WINDOW_STEP_S: Final = 10.0


class LivePage(RetranslateOnLanguageChange, QWidget):
    """Cell bars, heat map, trends, summary tiles and alarms of the connected pack."""

    def __init__(self, model: AppModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("live_page")
        self._model = model
        self.history = TelemetryHistory()
        self._dirty = False
        self._paused = False
        self.frames_drawn = 0

        self.title = QLabel(self)
        self.title.setObjectName("page_title")
        self.pause_button = QPushButton(self)
        self.pause_button.setCheckable(True)
        self.record_button = QPushButton(self)
        self.record_button.setCheckable(True)
        self.stop_rack_button = QPushButton(self)
        self.stop_rack_button.setObjectName("stop_rack_button")
        self.stop_rack_button.hide()
        self.status = plain_label(QLabel(self), device=False)  # names the battery's model and serial
        self.status.setWordWrap(True)
        self._status: Callable[[], str] | None = None
        toolbar = QHBoxLayout()
        toolbar.addWidget(self.title)
        toolbar.addStretch(1)
        toolbar.addWidget(self.status, 2)
        toolbar.addWidget(self.stop_rack_button)
        toolbar.addWidget(self.pause_button)
        toolbar.addWidget(self.record_button)

        self.summary = PackSummaryWidget(self)
        self.bars = CellBarsWidget(self)
        self.heatmap = CellHeatmapWidget(self)
        self.trends = TrendPlotsWidget(self)
        self.alarms = AlarmPanel(self)
        self.alarms.setMaximumHeight(72)

        lower = QSplitter(Qt.Orientation.Horizontal, self)
        lower.addWidget(self.heatmap)
        lower.addWidget(self.trends)
        lower.setSizes([500, 500])
        charts = QSplitter(Qt.Orientation.Vertical, self)
        charts.addWidget(self.bars)
        charts.addWidget(lower)
        charts.setSizes([300, 360])
        self.charts = charts
        self.rack = RackView(self)
        self.rack.hide()
        self._rack_dirty = False

        layout = QVBoxLayout(self)
        layout.addLayout(toolbar)
        layout.addWidget(self.summary)
        layout.addWidget(charts, 1)
        layout.addWidget(self.rack, 1)
        layout.addWidget(self.alarms)

        self._max_window_s = self.history.capacity * FRAME_INTERVAL_MS / 1000.0
        self._window_s = 0.0
        self._set_window(WINDOW_STEP_S)

        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_INTERVAL_MS)
        self._timer.timeout.connect(self._on_frame)
        self._timer.start()

        self.pause_button.toggled.connect(self._on_pause)
        self.record_button.clicked.connect(self._on_record_clicked)
        model.sig_telemetry.connect(self.add_sample)
        model.sig_connection_changed.connect(self._on_connection)
        model.sig_recording_changed.connect(self._on_recording)
        model.sig_link_problem.connect(self._on_link_problem)
        model.sig_dtcs.connect(self.alarms.set_dtcs)
        model.sig_rack_watching.connect(self._on_rack_watching)
        model.sig_rack_sample.connect(self._on_rack_sample)
        model.sig_rack_silent.connect(self._on_rack_silent)
        self.stop_rack_button.clicked.connect(model.stop_rack)
        model.sig_theme_changed.connect(lambda name: self.apply_theme(THEMES[name]))
        bind_shortcut(self.pause_button, "Ctrl+P", self)
        bind_shortcut(self.record_button, "Ctrl+R", self)
        self.retranslate()
        self.apply_theme(THEMES[model.theme_name])
        if model.connected and model.identity is not None:  # built (lazily) while a device is connected
            self._on_connection(model.identity)

    # --- text and looks ---------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.title.setText(self.tr("Live data"))
        self.pause_button.setText(self.tr("Resume (Ctrl+P)") if self._paused else self.tr("Pause (Ctrl+P)"))
        self.pause_button.setToolTip(self.tr("Freeze the charts; samples keep being collected."))
        recording = bool(self._model.recording_path)
        self.record_button.setText(self.tr("Stop recording") if recording else self.tr("Record CSV…"))
        self.record_button.setToolTip(self.tr("Record every sample to a CSV file (Ctrl+R)."))
        self.bars.set_labels(self.tr("Cell"), self.tr("Voltage (mV)"))
        self.stop_rack_button.setText(self.tr("Stop watching the rack"))
        self.rack.set_labels(
            self.tr("Cell (module after module in the bars)"),
            self.tr("Module address"),
            self.tr("Voltage (mV)"),
            self.tr("no answer"),
        )
        self._rack_dirty = True
        self.heatmap.set_labels(self.tr("Seconds before now"), self.tr("Cell"))
        self.trends.set_labels(
            TrendLabels(
                time_s=self.tr("Seconds before now"),
                pack_voltage_v=self.tr("Pack voltage (V)"),
                current_a=self.tr("Current (A)"),
                percent=self.tr("SOC and SOH (%)"),
                soc=self.tr("SOC"),
                soh=self.tr("SOH"),
                temperature_c=self.tr("Temperature (°C)"),
                temp_min=self.tr("min"),
                temp_max=self.tr("max"),
            )
        )
        if self.rack.addresses:
            self._set_status(self._rack_status)
        elif not self._model.connected:
            self._set_status(lambda: self.tr("No device connected: go to Devices and connect one."))
        elif self._status is not None:
            self.status.setText(self._status())

    def _set_status(self, render: Callable[[], str]) -> None:
        """A status line written again in the new language after a switch."""
        self._status = render
        self.status.setText(render())

    def apply_theme(self, colors: ThemeColors) -> None:
        for widget in (self.bars, self.heatmap, self.trends, self.summary, self.alarms, self.rack):
            widget.apply_theme(colors)
        self.record_button.setIcon(icon("record", colors.bad))
        self.pause_button.setIcon(icon("stop", colors.text))
        self._dirty = True

    # --- data -------------------------------------------------------------------------------------
    @Slot(object)
    def add_sample(self, sample: PackTelemetry) -> None:
        """Buffer one sample; drawing happens on the next frame tick."""
        self.history.append(sample)
        self._dirty = True

    @Slot()
    def _on_frame(self) -> None:
        if self._dirty and not self._paused and self.isVisible():
            self.render_frame()
        if self._rack_dirty and not self._paused and self.rack.isVisible():
            self.render_rack()

    def render_rack(self) -> None:
        """Redraw the rack view (public so a test or benchmark can time exactly this)."""
        self._rack_dirty = False
        self.rack.redraw()
        if self._status == self._rack_status:
            self.status.setText(self._rack_status())
        self.frames_drawn += 1

    def _rack_status(self) -> str:
        """One short line (it shares the toolbar): how many modules, and which do not answer."""
        count, silent = len(self.rack.addresses), len(self.rack.silent)
        text = self.tr("Rack: %n module(s).", "", count)
        if silent:
            text += " " + fmt(
                self.tr("%n not answering: %1.", "", silent), ", ".join(map(str, sorted(self.rack.silent)))
            )
        return text

    def show_rack_watching(self, addresses: tuple[int, ...]) -> None:
        """Show the rack watch the model started before this page was built (main window, lazily)."""
        self._on_rack_watching(addresses)

    @Slot(object)
    def _on_rack_watching(self, addresses: tuple[int, ...]) -> None:
        self.rack.watch(tuple(addresses))
        watching = bool(addresses)
        # hide one view before the other shows: both at once would outgrow (and so enlarge) the window
        for single in (self.charts, self.summary, self.alarms):  # the connected pack's, not the rack's
            single.setVisible(not watching)
        self.rack.setVisible(watching)
        self.stop_rack_button.setVisible(watching)
        self._rack_dirty = True
        self.retranslate()

    @Slot(int, object)
    def _on_rack_sample(self, address: int, sample: PackTelemetry) -> None:
        self.rack.add_sample(address, sample)
        self._rack_dirty = True

    @Slot(int, object)
    def _on_rack_silent(self, address: int, why: object) -> None:
        self.rack.mark_silent(address, sentence(why))
        self._rack_dirty = True

    def render_frame(self) -> None:
        """Redraw every chart from the buffer (public so the benchmark can time exactly this)."""
        self._dirty = False
        latest = self.history.latest
        if latest is None:
            return
        voltages = np.asarray(latest.cell_voltages_mv, dtype=np.float64)
        balancing = np.asarray(latest.balancing, dtype=bool)
        self.bars.set_cells(voltages, balancing)
        trends = self.history.trends()
        span_s = float(-trends.age_s[0]) if len(trends.age_s) > 1 else 0.1
        self._set_window(min(self._max_window_s, WINDOW_STEP_S * math.ceil(span_s / WINDOW_STEP_S)))
        self.heatmap.set_history(self.history.cell_matrix_mv(), span_s)
        self.trends.set_series(trends)
        self.summary.show_sample(latest)
        self.alarms.set_alarms(latest.alarms)
        self.frames_drawn += 1

    def _set_window(self, window_s: float) -> None:
        """Grow the time axis in 10 s steps up to the buffer's minute: it re-ticks only on a step."""
        window_s = max(window_s, WINDOW_STEP_S)
        if window_s != self._window_s:
            self._window_s = window_s
            self.heatmap.set_window(window_s)
            self.trends.set_window(window_s)

    # --- reactions --------------------------------------------------------------------------------
    @Slot(object)
    def _on_connection(self, identity: DeviceIdentity | None) -> None:
        self.history.clear()
        self._set_window(WINDOW_STEP_S)
        self.bars.clear_cells()
        self.summary.clear()
        if identity is None:
            self._set_status(lambda: self.tr("No device connected: go to Devices and connect one."))
        else:
            model, serial = identity.model, identity.serial_number
            firmware = str(identity.firmware_version or "?")
            self._set_status(lambda: fmt(self.tr("%1, serial %2, firmware %3"), model, serial, firmware))
        self.retranslate()

    @Slot(object)
    def _on_link_problem(self, message: object) -> None:
        self._set_status(lambda: fmt(self.tr("The device did not answer: %1"), sentence(message)))

    @Slot(bool)
    def _on_pause(self, paused: bool) -> None:
        self._paused = paused
        self._dirty = True
        self.retranslate()

    @Slot()
    def _on_record_clicked(self) -> None:
        if self._model.recording_path:
            self._model.stop_recording()
            return
        name = f"bmsflasher-live-{datetime.now():%Y%m%d-%H%M%S}.csv"
        suggested = str(self._model.reports_folder() / name)
        path, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Record live data"), suggested, self.tr("CSV files (*.csv)")
        )
        if path:
            self._model.start_recording(Path(path))
        else:
            self.record_button.setChecked(False)

    @Slot(str)
    def _on_recording(self, path: str) -> None:
        self.record_button.setChecked(bool(path))
        if path:
            self._set_status(lambda: fmt(self.tr("Recording to %1"), path))
        self.retranslate()

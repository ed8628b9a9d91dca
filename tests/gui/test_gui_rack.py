"""RS485/Modbus racks in the GUI (issue 15): manual connect to one module, by Modbus RTU and TCP.

Every test runs the real engine and the real GUI against real virtual modules on the rack's bus
model (``tests/gui/rack_support.py``): nothing below the GUI is replaced.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion, LinkSettings
from bmsflasher.gui.app_model import AppModel
from bmsflasher.gui.engine import Engine
from bmsflasher.gui.i18n import LanguageSwitcher
from bmsflasher.gui.main_window import DEVICES, LIVE, MainWindow

from .conftest import wait_until
from .gui_steps import run_update
from .rack_support import pty_rack, tcp_rack
from .test_gui_screenshots import _clipped_texts, _save

pytestmark = pytest.mark.gui


@pytest.fixture
def gui(
    qapp: QApplication, tmp_path: Path, data_home: Path
) -> Iterator[tuple[AppModel, MainWindow, list[object]]]:
    engine = Engine(
        db_path=tmp_path / "history.sqlite", keys_dir=tmp_path / "keys", journal_dir=tmp_path / "journal"
    )
    model = AppModel(engine)
    window = MainWindow(model, None, None)
    errors: list[object] = []
    model.sig_error.connect(lambda message, hint: errors.append((message, hint)))
    window.show()
    try:
        yield model, window, errors
    finally:
        model.shutdown()
        window.close()
        window.deleteLater()
        qapp.processEvents()


def _choose_kind(window: MainWindow, kind: str) -> None:
    page = window.devices_page
    page.kind_combo.setCurrentIndex(page.kind_combo.findData(kind))


def test_manual_modbus_tcp_connect_shows_the_module_and_its_live_data(qapp: QApplication, gui) -> None:
    model, window, errors = gui
    page = window.devices_page
    with tcp_rack((3, 7)) as (link, rack):
        _choose_kind(window, "modbus_tcp")
        assert page.tcp_edit.isVisible()
        assert page.address_spin.isVisible()
        assert not page.parity_combo.isVisible()
        assert not page.port_edit.isVisible()
        page.tcp_edit.setText(link.tcp)
        page.address_spin.setValue(7)
        page.manual_connect_button.click()
        wait_until(qapp, lambda: model.identity is not None or bool(errors), 20)
        assert not errors
        assert model.identity is not None
        assert model.identity.serial_number == rack.devices[1].serial_number
        assert model.link is not None
        assert model.link.address == 7
        wait_until(qapp, lambda: model.latest_telemetry is not None, 10)
        assert model.latest_telemetry is not None
        assert model.latest_telemetry.cell_count == 16
        row = page.rows()[0]
        assert row.connected
        assert row.protocol == "Modbus"
        assert "unit 7" in page.devices_table.item(0, 5).text()


def test_manual_modbus_rtu_connect_takes_parity_stop_bits_and_address(qapp: QApplication, gui) -> None:
    model, window, errors = gui
    page = window.devices_page
    with pty_rack((1, 2)) as (link, rack):
        _choose_kind(window, "modbus_rtu")
        assert page.parity_combo.isVisible()
        assert page.stopbits_combo.isVisible()
        assert page.port_edit.isVisible()
        assert not page.tcp_edit.isVisible()
        page.port_edit.setText(link.port)
        page.baud_combo.setCurrentText(str(link.baud))
        page.parity_combo.setCurrentIndex(page.parity_combo.findData("N"))
        page.stopbits_combo.setCurrentIndex(page.stopbits_combo.findData(1))
        page.address_spin.setValue(2)
        typed = page.manual_link()
        assert typed is not None
        assert (typed.kind, typed.parity, typed.stopbits, typed.address) == ("modbus", "N", 1, 2)
        page.manual_connect_button.click()
        wait_until(qapp, lambda: model.identity is not None or bool(errors), 20)
        assert not errors
        assert model.identity is not None
        assert model.identity.serial_number == rack.devices[1].serial_number
        wait_until(qapp, lambda: page.identity_view.values[1].text() == model.identity.serial_number, 5)
        assert "address 2" in page.devices_table.item(0, 5).text()


def test_a_gateway_without_port_is_refused_in_one_sentence(qapp: QApplication, gui) -> None:
    _model, window, errors = gui
    page = window.devices_page
    _choose_kind(window, "modbus_tcp")
    page.tcp_edit.setText("gateway.local")
    assert page.manual_link() is None
    assert len(errors) == 1


@pytest.mark.parametrize("rack_of", [tcp_rack, pty_rack], ids=["tcp", "rtu"])
def test_read_the_bus_lists_every_module_with_progress_and_connects_one(
    qapp: QApplication, gui, rack_of
) -> None:
    model, window, errors = gui
    page = window.devices_page
    progress: list[tuple[int, int]] = []
    model.sig_bus_progress.connect(lambda done, total: progress.append((done, total)))
    with rack_of((2, 3, 5)) as (link, rack):
        if link.tcp:
            _choose_kind(window, "modbus_tcp")
            page.tcp_edit.setText(link.tcp)
        else:
            _choose_kind(window, "modbus_rtu")
            page.port_edit.setText(link.port)
            page.baud_combo.setCurrentText(str(link.baud))
            page.parity_combo.setCurrentIndex(page.parity_combo.findData("N"))
        assert page.read_bus_button.isVisible()
        page.address_spin.setValue(1)
        page.last_address_spin.setValue(6)
        page.read_bus_button.click()
        wait_until(qapp, lambda: page.read_bus_button.isEnabled() and bool(progress), 30)
        assert not errors
        assert progress[-1] == (6, 6)
        rows = page.rows()
        assert [row.link.address for row in rows] == [2, 3, 5]
        shown_addresses = [
            page.devices_table.item(row, 6).text() for row in range(page.devices_table.rowCount())
        ]
        assert shown_addresses == ["2", "3", "5"]
        assert [row.serial for row in rows] == [device.serial_number for device in rack.devices]
        assert all(
            row.protocol == "Modbus" and row.model == "VBMS-16" and row.firmware == "1.0.0" for row in rows
        )
        assert "3" in page.scan_status.text()
        page.devices_table.selectRow(2)
        page.connect_button.click()
        wait_until(qapp, lambda: model.identity is not None or bool(errors), 20)
        assert model.identity is not None
        assert model.identity.serial_number == rack.devices[2].serial_number


def test_live_page_shows_a_rack_of_16_modules_by_16_cells_and_a_silent_module_as_silent(
    qapp: QApplication, gui
) -> None:
    model, window, errors = gui
    page, live = window.devices_page, window.live_page
    addresses = tuple(range(1, 17))
    with tcp_rack(addresses) as (link, rack):
        _choose_kind(window, "modbus_tcp")
        page.tcp_edit.setText(link.tcp)
        page.address_spin.setValue(1)
        page.last_address_spin.setValue(16)
        page.read_bus_button.click()
        wait_until(qapp, page.watch_rack_button.isEnabled, 30)
        page.watch_rack_button.click()
        window.show_page(1)
        wait_until(qapp, lambda: len(live.rack.samples) == 16, 30)
        assert not errors
        assert live.rack.isVisible()
        assert not live.charts.isVisible()
        live.render_rack()
        matrix = live.rack.matrix_mv()
        assert matrix.shape == (16, 16)
        assert (matrix > 2000).all()
        assert (matrix < 4500).all()
        assert "16" in live.status.text()

        rack.break_chain_after(14)  # modules 15 and 16 fall silent
        wait_until(qapp, lambda: set(live.rack.silent) == {15, 16}, 30)
        live.render_rack()
        matrix = live.rack.matrix_mv()
        assert np.isnan(matrix[14:]).all(), "a silent module is drawn as no data, not as zeros"
        assert np.isfinite(matrix[:14]).all()
        assert "15, 16" in live.status.text()
        assert len(live.rack.heatmap._silent_items) == 2

        rack.break_chain_after(None)  # the chain is mended: the modules are shown again
        wait_until(qapp, lambda: not live.rack.silent and len(live.rack.samples) == 16, 30)

        frames = live.frames_drawn
        started = time.monotonic()
        for _ in range(20):
            live._rack_dirty = True
            live.render_rack()
        per_frame_s = (time.monotonic() - started) / 20
        assert live.frames_drawn == frames + 20
        assert per_frame_s < 0.1, (
            f"a 256-cell rack frame takes {per_frame_s * 1000:.0f} ms, over the 100 ms refresh"
        )

        live.stop_rack_button.click()
        wait_until(qapp, lambda: not model.watching_rack and live.charts.isVisible(), 10)
        assert not live.rack.isVisible()


@dataclass
class RackRig:
    """The rig shape the shared wizard steps drive (``tests/gui/gui_steps.py``), for one rack module."""

    app: QApplication
    model: AppModel
    window: MainWindow
    link: LinkSettings
    errors: list[object]

    def connect(self) -> None:
        self.model.connect_device(self.link)
        wait_until(self.app, lambda: self.model.identity is not None or bool(self.errors), 20)
        assert not self.errors


def test_update_wizard_and_roll_back_work_on_one_module_of_a_rack(
    qapp: QApplication, qtbot, packages: dict[str, Path], tmp_path: Path, data_home: Path
) -> None:
    engine = Engine(
        db_path=tmp_path / "history.sqlite",
        trusted_keys=[resource_path("demo", "demo-key.pub.pem")],
        keys_dir=tmp_path / "keys",
        journal_dir=tmp_path / "journal",
    )
    model = AppModel(engine)
    window = MainWindow(model, None, packages["healthy"].parent)
    errors: list[object] = []
    model.sig_error.connect(lambda message, hint: errors.append((message, hint)))
    window.show()
    try:
        with pty_rack((1, 2)) as (link, rack):
            rig = RackRig(qapp, model, window, dataclasses.replace(link, address=2), errors)
            wizard = run_update(rig, qtbot, packages["healthy"])
            outcome = model.last_outcome
            assert outcome is not None
            assert outcome.result == "updated", outcome.message
            assert outcome.identity is not None
            assert outcome.identity.firmware_version == FirmwareVersion(1, 1, 0)
            assert rack.devices[1].identity().firmware_version == FirmwareVersion(1, 1, 0)
            assert rack.devices[0].identity().firmware_version == FirmwareVersion(1, 0, 0), "the other module"
            result = wizard.result_page
            assert result.rollback_button.isEnabled()
            with qtbot.waitSignal(model.sig_rollback_finished, timeout=60000) as rolled_back:
                result.rollback_button.click()
            assert rolled_back.args[0].firmware_version == FirmwareVersion(1, 0, 0)
            assert rack.devices[1].identity().firmware_version == FirmwareVersion(1, 0, 0)
            assert errors == []
            wizard.close()
    finally:
        model.shutdown()
        window.close()
        window.deleteLater()
        qapp.processEvents()


@pytest.mark.slow  # 13 s per language; the walk-through covers nl/fr text, this the rack's pictures
@pytest.mark.parametrize("language", ["nl", "fr"])
def test_rack_pages_fit_and_are_photographed(qapp: QApplication, gui, language: str) -> None:
    model, window, errors = gui
    page, live = window.devices_page, window.live_page
    switcher = LanguageSwitcher(qapp)
    window.resize(1280, 800)
    try:
        assert switcher.set_language(language)
        with tcp_rack(tuple(range(1, 17))) as (link, rack):
            _choose_kind(window, "modbus_tcp")
            page.tcp_edit.setText(link.tcp)
            page.last_address_spin.setValue(16)
            page.read_bus_button.click()
            wait_until(qapp, page.watch_rack_button.isEnabled, 30)
            problems: dict[str, list[str]] = {}
            window.show_page(DEVICES)
            qapp.processEvents()
            _save(window, f"rack-devices-tcp-{language}")
            problems["devices-tcp"] = _clipped_texts(window)
            _choose_kind(window, "modbus_rtu")
            qapp.processEvents()
            _save(window, f"rack-devices-rtu-{language}")
            problems["devices-rtu"] = _clipped_texts(window)
            _choose_kind(window, "modbus_tcp")
            rack.break_chain_after(13)
            page.watch_rack_button.click()
            qapp.processEvents()
            window.show_page(LIVE)
            qapp.processEvents()
            wait_until(qapp, lambda: len(live.rack.samples) == 13 and len(live.rack.silent) == 3, 30)
            live.render_rack()
            qapp.processEvents()
            assert window.size().height() == 800, "showing the rack must not enlarge the window"
            assert "module(s)" not in live.status.text(), "the rack's status line is translated"
            _save(window, f"rack-live-{language}")
            problems["live"] = _clipped_texts(window)
            assert not errors
            assert not any(problems.values()), problems
            model.stop_rack()
    finally:
        switcher.set_language("en")

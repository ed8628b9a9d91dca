"""Every main page against the virtual BMS: live view and CSV, scan/connect, config, DTCs, history."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from bmsflasher.core.types import DeviceMode, LinkSettings
from bmsflasher.gui.demo import DemoScenario
from bmsflasher.gui.engine_text import capitalised
from bmsflasher.gui.main_window import CONFIG, DEVICES, DIAGNOSTICS, HISTORY, LIVE
from bmsflasher.gui.pages.config_page import NAME_ROLE
from bmsflasher.gui.recovery_dialog import RecoveryDialog
from bmsflasher.gui.theme import DARK, LIGHT

from .conftest import FAST_BAUD, GuiRig, _rig

pytestmark = pytest.mark.gui


@pytest.fixture
def scan_rig(qapp: QApplication, data_home: Path) -> Iterator[GuiRig]:
    """A pack at a standard baud rate (921600), so the scanner's baud table finds it."""
    for rig in _rig(qapp, DemoScenario(baud=921_600), None):
        # the pack and the GUI share this process on a loaded CI machine: allow slow answers
        rig.model.engine.scan_answer_timeout_s = 1.0
        yield rig


@pytest.fixture
def faulty_rig(qapp: QApplication, data_home: Path) -> Iterator[GuiRig]:
    """A pack with an open temperature sensor: it raises an alarm and latches a DTC."""
    yield from _rig(qapp, DemoScenario(baud=FAST_BAUD, failed_sensor=1), None)


def test_live_view_draws_every_chart_and_records_csv(rig: GuiRig, qtbot, tmp_path: Path) -> None:
    rig.connect()
    window = rig.window
    assert window.stack.currentIndex() == LIVE  # connecting jumps to the live page
    live = window.live_page
    qtbot.waitUntil(lambda: live.frames_drawn >= 5 and len(live.history) >= 5, timeout=15000)
    live.render_frame()  # samples arrive between 10 Hz frames: draw the newest before comparing
    sample = live.history.latest
    assert sample is not None
    assert live.history.cell_count == 16
    assert live.summary.tiles["min"].value.text() == f"{sample.min_cell_mv} mV"
    assert live.summary.tiles["delta"].value.text() == f"{sample.delta_cell_mv} mV"
    assert live.history.cell_matrix_mv().shape[1] == 16
    assert "No active alarms" in live.alarms.item(0).text()

    path = tmp_path / "live.csv"
    rig.model.start_recording(path)
    assert "Recording" in live.status.text()
    assert live.record_button.isChecked()
    qtbot.waitUntil(lambda: len(path.read_text(encoding="utf-8").splitlines()) >= 6, timeout=15000)
    rig.model.stop_recording()
    assert not live.record_button.isChecked()
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) >= 5
    first = rows[0]
    cells = [int(first[f"cell{i}_mv"]) for i in range(1, 17)]
    assert abs(sum(cells) - int(first["pack_voltage_mv"])) <= 0.01 * int(first["pack_voltage_mv"])
    assert {first[f"cell{i}_balancing"] for i in range(1, 17)} <= {"0", "1"}

    # pausing freezes the charts while samples keep arriving
    live.pause_button.click()
    frames = live.frames_drawn
    samples = len(live.history)
    qtbot.waitUntil(lambda: len(live.history) >= samples + 3, timeout=10000)
    assert live.frames_drawn == frames
    live.pause_button.click()
    qtbot.waitUntil(lambda: live.frames_drawn > frames, timeout=5000)


def test_scan_finds_the_battery_and_connects(scan_rig: GuiRig, qtbot) -> None:
    rig = scan_rig
    page = rig.window.devices_page
    page.port_edit.setText(rig.bench.link.port)
    with qtbot.waitSignal(rig.model.sig_scan_result, timeout=30000):
        page.scan_button.click()
    assert page.scan_button.isEnabled()
    assert page.devices_table.rowCount() >= 1
    serials = [page.devices_table.item(row, 0).text() for row in range(page.devices_table.rowCount())]
    assert "VB2400007" in serials
    assert page.adapters_table.rowCount() >= 1
    assert page.connect_button.isEnabled()
    assert not page.recover_button.isVisible()  # the battery runs its application
    page.devices_table.selectRow(serials.index("VB2400007"))
    page.connect_button.click()
    rig.wait(lambda: rig.model.identity is not None)
    assert rig.model.identity.serial_number == "VB2400007"
    assert "VB2400007" in rig.window.connection_label.text()


def test_connect_to_a_missing_port_shows_one_sentence(rig: GuiRig, qtbot, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-port"
    rig.model.connect_device(LinkSettings(kind="serial", port=str(missing), baud=115200))
    qtbot.waitUntil(lambda: bool(rig.errors), timeout=15000)
    message, _hint = rig.errors[0]
    assert str(missing) in message or "not" in message
    assert "Traceback" not in message
    assert rig.window.banner.isVisible()
    assert rig.model.identity is None


def test_config_edit_validate_backup_diff_restore(rig: GuiRig, qtbot) -> None:
    rig.connect()
    rig.window.show_page(CONFIG)
    page = rig.window.config_page
    qtbot.waitUntil(lambda: page.table.rowCount() > 5, timeout=10000)
    names = [page.table.item(row, 0).data(NAME_ROLE) for row in range(page.table.rowCount())]
    row = names.index("balance_start_mv")  # the cell shows the translated name; the role keeps the id
    original = int(page.table.item(row, 1).text())

    with qtbot.waitSignal(rig.model.sig_backup_done, timeout=10000) as backup_signal:
        page.backup_button.click()
    backup = backup_signal.args[0]
    qtbot.waitUntil(lambda: page.backups_table.rowCount() >= 1, timeout=10000)

    item = page.table.item(row, 1)
    item.setText("not a number")
    assert page.changes()[1] == ["balance_start_mv"]
    assert not page.write_button.isEnabled()
    assert item.foreground().color() == QColor(LIGHT.bad)
    item.setText(str(original + 10))
    assert page.changes() == ({"balance_start_mv": original + 10}, [])
    assert page.write_button.isEnabled()
    with qtbot.waitSignal(rig.model.sig_config_written, timeout=10000) as written:
        page.write_button.click()
    assert written.args[0].parameters["balance_start_mv"] == original + 10

    page.backups_table.selectRow(0)
    with qtbot.waitSignal(rig.model.sig_diff, timeout=10000) as diff:
        page.diff_button.click()
    assert diff.args[0] == {"balance_start_mv": (original, original + 10)}
    assert page.diff_table.rowCount() == 1

    with qtbot.waitSignal(rig.model.sig_config_written, timeout=10000) as restored:
        page.restore_button.click()
    assert restored.args[0].parameters["balance_start_mv"] == original
    with qtbot.waitSignal(rig.model.sig_diff, timeout=10000) as diff_after:
        page.diff_button.click()
    assert diff_after.args[0] == {}
    assert "No differences" in page.diff_label.text()
    assert backup.serial == "VB2400007"


def test_diagnostics_dtcs_and_link_statistics(faulty_rig: GuiRig, qtbot) -> None:
    rig = faulty_rig
    rig.connect()
    rig.window.show_page(DIAGNOSTICS)
    page = rig.window.diagnostics_page
    qtbot.waitUntil(lambda: page.dtc_table.rowCount() >= 1, timeout=10000)
    descriptions = [page.dtc_table.item(r, 3).text().lower() for r in range(page.dtc_table.rowCount())]
    assert any("sensor" in text for text in descriptions), descriptions
    live = rig.window.live_page
    qtbot.waitUntil(
        lambda: live.history.latest is not None and bool(live.history.latest.alarms), timeout=10000
    )
    assert live.frames_drawn == 0  # a hidden page is not redrawn...
    live.render_frame()  # ...until it is shown
    assert any("Alarm" in live.alarms.item(i).text() for i in range(live.alarms.count()))
    with qtbot.waitSignal(rig.model.sig_dtcs, timeout=10000):
        page.clear_button.click()
    with qtbot.waitSignal(rig.model.sig_link_stats, timeout=10000) as stats:
        rig.model.read_link_stats()
    assert stats.args[0].requests > 0
    assert int(page.stat_values[1].text()) > 0
    assert rig.bench.link.port in page.stat_values[0].text()


def test_history_lists_sessions_and_saves_a_pdf_report(rig: GuiRig, qtbot, tmp_path: Path) -> None:
    rig.connect()
    # A manual rollback on a factory-fresh battery has nothing to roll back to: a recorded failure.
    rig.model.rollback()
    qtbot.waitUntil(lambda: bool(rig.errors), timeout=20000)
    assert "no previous firmware" in rig.errors[0][0]
    rig.window.show_page(HISTORY)
    page = rig.window.history_page
    qtbot.waitUntil(lambda: page.table.rowCount() >= 1, timeout=10000)
    assert page.table.item(0, 3).text() == "rollback"  # session kind, translated (English here)
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: "Session #" in page.detail.toPlainText(), timeout=10000)
    assert "Roll back" in page.detail.toPlainText()
    report = tmp_path / "session.pdf"
    session = page.selected_session()
    with qtbot.waitSignal(rig.model.sig_report_saved, timeout=20000):
        rig.model.save_report(session.id, report)
    assert report.read_bytes().startswith(b"%PDF")


def test_keyboard_navigation_theme_and_recovery_mark(rig: GuiRig, qtbot) -> None:
    window = rig.window
    window.activateWindow()
    QTest.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.stack.currentIndex() == LIVE
    QTest.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.stack.currentIndex() == DEVICES
    devices = window.devices_page
    assert devices.scan_button.nextInFocusChain() is not None
    order = [devices.scan_button]
    widget = devices.scan_button
    for _ in range(3):
        widget = widget.nextInFocusChain()
        order.append(widget)
    assert devices.devices_table in order
    assert devices.scan_button.shortcut().toString() == "Alt+S"  # mnemonic from "&Scan (F5)"
    devices.devices_table.setFocus()
    with qtbot.waitSignal(rig.model.sig_scan_running, timeout=3000) as scanning:
        QTest.keyClick(devices.devices_table, Qt.Key.Key_F5)
    assert scanning.args == [True]
    qtbot.waitUntil(devices.scan_button.isEnabled, timeout=30000)

    rig.model.set_theme("dark")
    assert QApplication.palette().window().color() == QColor(DARK.window)
    rig.model.set_theme("light")
    assert QApplication.palette().window().color() == QColor(LIGHT.window)

    # a scan result with a recovery-mode device: the row stands out and "Recover" appears
    from bmsflasher.discovery.results import AdapterReport, AdapterStatus, FoundDevice, ScanResult

    link = LinkSettings(kind="serial", port="/dev/ttyACM7", baud=115200)
    found = FoundDevice(None, link, "smp", DeviceMode.RECOVERY, "usb:test")
    report = AdapterReport(
        "/dev/ttyACM7", "CDC-ACM", "usb:test", AdapterStatus.FOUND, "found", devices=(found,)
    )
    rig.model.sig_scan_result.emit(ScanResult((report,), 0.1))
    devices.devices_table.selectRow(0)
    assert devices.recover_button.isVisibleTo(window)
    shots = Path(__file__).resolve().parents[1] / "screenshots"
    shots.mkdir(exist_ok=True)
    assert window.grab().save(str(shots / "devices-recovery.png"))
    assert devices.devices_table.item(0, 2).foreground().color() == QColor(LIGHT.bad)
    with qtbot.waitSignal(rig.model.sig_recovery_requested, timeout=2000) as requested:
        devices.recover_button.click()
    assert requested.args[0] == link
    # the button must open the dialog for this battery (open_recovery runs on the signal, same thread)
    dialog = window.findChild(RecoveryDialog, "recovery_dialog")
    assert isinstance(dialog, RecoveryDialog), "pressing Recover opened no recovery dialog"
    assert dialog.isVisible()
    assert link.describe() in dialog.explanation.text()
    dialog.close()


@pytest.fixture
def recovery_rig(qapp: QApplication, packages: dict[str, Path], data_home: Path) -> Iterator[GuiRig]:
    """A battery with no bootable image: only its bootloader's serial recovery answers."""
    yield from _rig(qapp, DemoScenario(baud=FAST_BAUD, recovery=True), packages["healthy"].parent)


def test_emergency_recovery_flashes_a_battery_without_firmware(recovery_rig: GuiRig, qtbot, packages) -> None:
    rig = recovery_rig
    dialog = rig.window.open_recovery(rig.bench.link)
    dialog.path_edit.setText(str(packages["healthy"]))
    dialog.model_edit.setText("VBMS-16")  # from the unit's label: serial recovery cannot tell it
    dialog.hw_rev_edit.setText("C")
    with qtbot.waitSignal(rig.model.sig_recovery_finished, timeout=60000) as finished:
        dialog.recover_button.click()
    identity = finished.args[0]
    assert identity.mode is DeviceMode.APPLICATION
    assert str(identity.firmware_version) == "1.1.0"
    assert "1.1.0" in dialog.status.text()
    assert dialog.progress.value() == 1000
    rig.wait(lambda: rig.model.identity is not None)  # the window reconnects to the rescued battery
    assert rig.model.identity.firmware_version == identity.firmware_version
    sessions = rig.model.engine.sessions()
    assert sessions[0].kind == "recovery"
    assert sessions[0].outcome == "recovered"
    assert sessions[0].details["front_end"] == "gui"  # recorded by the procedure's recover_recorded
    assert sessions[0].details["package"] == packages["healthy"].name
    assert sessions[0].details["declared_model"] == "VBMS-16"
    dialog.close()


def test_recovery_of_a_battery_that_runs_firmware_is_refused_and_recorded(
    rig: GuiRig, qtbot, packages
) -> None:
    """The GUI uses the procedure's recovery: a running application is updated, never "recovered"."""
    dialog = rig.window.open_recovery(rig.bench.link)
    dialog.path_edit.setText(str(packages["healthy"]))
    dialog.recover_button.click()
    qtbot.waitUntil(lambda: bool(rig.errors), timeout=30000)
    message, hint = rig.errors[0]
    assert message == "the device runs firmware 1.0.0, so it needs an update, not a recovery"
    assert "update wizard" in hint
    assert capitalised(message) in dialog.status.text()  # shown as a sentence: capital first letter
    assert dialog.recover_button.isEnabled()
    assert str(rig.bench.device.identity().firmware_version) == "1.0.0"  # nothing was written
    sessions = rig.model.engine.sessions()
    assert (sessions[0].kind, sessions[0].outcome) == ("recovery", "failed")
    dialog.close()


def test_gui_backup_and_restore_appear_in_history_with_their_sessions(rig: GuiRig, qtbot) -> None:
    """Issue 13: the GUI called the backup primitives without a session, so History never showed them."""
    rig.connect()
    rig.window.show_page(CONFIG)
    page = rig.window.config_page
    qtbot.waitUntil(lambda: page.table.rowCount() > 5, timeout=10000)
    with qtbot.waitSignal(rig.model.sig_backup_done, timeout=10000) as backup_signal:
        page.backup_button.click()
    backup = backup_signal.args[0]
    assert backup.session_id is not None
    qtbot.waitUntil(lambda: page.backups_table.rowCount() >= 1, timeout=10000)
    page.backups_table.selectRow(0)
    with qtbot.waitSignal(rig.model.sig_config_written, timeout=10000):
        page.restore_button.click()

    rig.window.show_page(HISTORY)
    history = rig.window.history_page
    rig.model.load_history()
    qtbot.waitUntil(lambda: history.table.rowCount() >= 2, timeout=10000)
    kinds = [history.table.item(row, 3).text() for row in range(history.table.rowCount())]
    assert kinds[:2] == ["restore", "backup"], kinds
    sessions = rig.model.engine.sessions()
    by_kind = {s.kind: s for s in sessions}
    assert by_kind["backup"].id == backup.session_id
    assert by_kind["backup"].outcome == "backed_up"
    assert by_kind["backup"].details["front_end"] == "gui"
    assert by_kind["restore"].outcome == "restored"
    assert by_kind["restore"].details["backup_id"] == backup.id

"""Issue 14, GUI item 4: one connection state, a failed connect that loses nothing, a window that fits.

A failed manual connect dropped the working battery and left "Connected" and "Not connected" on
screen at once; the devices page said "0 batteries found" while connected; the 1280×820 window did
not fit a 1366×768 laptop screen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QLabel, QWidget

from bmsflasher.core.types import LinkSettings
from bmsflasher.gui.main_window import DEVICES, PREFERRED_SIZE, fitted_size

from .conftest import GuiRig
from .gui_steps import displayed

pytestmark = pytest.mark.gui


def _visible_label_texts(root: QWidget) -> list[str]:
    return [
        displayed(label) for label in root.findChildren(QLabel) if label.isVisibleTo(root) and label.text()
    ]


def _assert_one_state_connected(rig: GuiRig, serial: str) -> None:
    texts = _visible_label_texts(rig.window)
    assert not any("Not connected" in text for text in texts), texts
    assert serial in rig.window.connection_label.text()
    assert rig.window.devices_page.connection_status.text() == f"Connected to VBMS-16, serial {serial}."


def test_failed_connect_keeps_the_working_battery_and_shows_one_state(
    rig: GuiRig, qtbot, tmp_path: Path
) -> None:
    rig.connect()
    serial = rig.model.identity.serial_number
    rig.window.show_page(DEVICES)
    page = rig.window.devices_page
    page.port_edit.setText(str(tmp_path / "no-such-port"))
    page.manual_connect_button.click()
    assert "Still connected to" in page.connection_status.text()  # while it tries
    qtbot.waitUntil(lambda: bool(rig.errors) and not rig.model.connecting, timeout=15000)
    assert rig.model.connected
    assert rig.model.identity is not None
    assert rig.model.identity.serial_number == serial
    _assert_one_state_connected(rig, serial)
    samples = len(rig.window.live_page.history)
    qtbot.waitUntil(lambda: len(rig.window.live_page.history) > samples + 3, timeout=10000)  # still polled


def test_failed_connect_on_the_same_port_reopens_the_battery_that_worked(rig: GuiRig, qtbot) -> None:
    rig.connect()
    serial = rig.model.identity.serial_number
    port = rig.bench.link.port
    rig.model.connect_device(LinkSettings(kind="serial", port=port, baud=9600))  # the wrong line rate
    qtbot.waitUntil(lambda: bool(rig.errors), timeout=60000)
    qtbot.waitUntil(lambda: rig.model.identity is not None and not rig.model.connecting, timeout=60000)
    assert rig.model.link == rig.bench.link  # the link that worked, reopened
    _assert_one_state_connected(rig, serial)


def test_devices_page_counts_the_connected_battery_after_a_scan(rig: GuiRig, qtbot) -> None:
    rig.model.engine.scan_timeout_s = 5.0
    rig.connect()
    page = rig.window.devices_page
    with qtbot.waitSignal(rig.model.sig_scan_result, timeout=30000):
        page.scan_button.click()
    serials = [page.devices_table.item(row, 0).text() for row in range(page.devices_table.rowCount())]
    assert rig.model.identity.serial_number in serials
    assert not page.scan_status.text().startswith("0 ")
    assert "connected one included" in page.scan_status.text()
    assert not page.connect_button.isEnabled()  # the connected battery is selected: nothing to do


def test_window_size_follows_the_free_area_of_the_screen() -> None:
    laptop = QRect(0, 0, 1366, 728)  # 1366×768 less a 40-pixel taskbar
    size = fitted_size(laptop)
    assert size.width() <= laptop.width()
    assert size.height() <= laptop.height()
    assert fitted_size(QRect(0, 0, 2560, 1400)) == PREFERRED_SIZE
    assert fitted_size(QRect(0, 0, 1024, 600)).boundedTo(QSize(1024, 600)) == fitted_size(
        QRect(0, 0, 1024, 600)
    )


def test_main_window_fits_a_1366x768_laptop_screen(tmp_path: Path, data_home: Path) -> None:
    """A real 1366×768 screen (Qt's offscreen platform configured so): the whole window is on it."""
    config = tmp_path / "screen.json"
    screen = {"name": "laptop", "x": 0, "y": 0, "width": 1366, "height": 768, "logicalDpi": 96}
    config.write_text(json.dumps({"screens": [screen]}), encoding="utf-8")
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from bmsflasher.gui.app_model import AppModel\n"
        "from bmsflasher.gui.engine import Engine\n"
        "from bmsflasher.gui.main_window import MainWindow\n"
        "app = QApplication([])\n"
        f"window = MainWindow(AppModel(Engine(db_path={str(tmp_path / 'h.sqlite3')!r})))\n"
        "window.show(); app.processEvents()\n"
        "free = window.screen().availableGeometry()\n"
        "hint = window.minimumSizeHint()\n"
        "print(free.width(), free.height(), window.width(), window.height(), hint.width(), hint.height())\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    free_w, free_h, width, height, hint_w, hint_h = map(int, result.stdout.split())
    assert (free_w, free_h) == (1366, 768)
    assert width <= free_w, width
    assert height <= free_h - 40, height  # room for a taskbar
    assert hint_w <= width, hint_w  # the layout fits in it
    assert hint_h <= height, hint_h

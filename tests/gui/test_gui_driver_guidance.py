"""The Devices page explains an adapter that cannot be used, with the driver guide's advice.

A real pty held open exclusively stands for a USB adapter a serial terminal keeps busy; the page's
own scan reports it, and the advice from drivers/guidance.json appears under the adapters table.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from bmsflasher.discovery import AdapterReport, AdapterStatus, ScanResult, load_guidance
from bmsflasher.discovery.driver_guidance import AdapterFacts
from bmsflasher.links.serial import SerialLink

from .conftest import GuiRig, _rig

pytestmark = pytest.mark.gui


@pytest.fixture
def idle_rig(qapp: QApplication, data_home: Path) -> Iterator[GuiRig]:
    from bmsflasher.gui.demo import DemoScenario

    yield from _rig(qapp, DemoScenario(baud=921_600), None)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the expected advice is Linux's")
def test_a_busy_port_found_by_the_scan_shows_what_to_do(idle_rig: GuiRig, qtbot) -> None:
    page = idle_rig.window.devices_page
    assert not page.guidance_view.isVisibleTo(page)
    master, slave = os.openpty()
    path = os.ttyname(slave)
    try:
        with SerialLink.open(path, 115200):  # "another program" holds the adapter
            page.port_edit.setText(path)
            with qtbot.waitSignal(idle_rig.model.sig_scan_result, timeout=30000):
                page.scan_button.click()
    finally:
        os.close(slave)
        os.close(master)
    row = next(
        r for r in range(page.adapters_table.rowCount()) if path in page.adapters_table.item(r, 0).text()
    )
    assert page.adapters_table.item(row, 1).text().startswith("busy")
    assert page.guidance_view.isVisibleTo(page)
    text = page.guidance_view.text()
    assert f"{path}: Another program holds the port" in text
    assert "<li>Close serial terminals" in text
    assert "href='file://" in text
    assert "drivers/linux/README.md#port-busy" in text
    shots = Path(__file__).resolve().parents[1] / "screenshots"
    shots.mkdir(exist_ok=True)
    assert idle_rig.window.grab().save(str(shots / "devices-guidance.png"))


def test_the_selected_adapter_s_advice_wins_and_none_hides_the_panel(idle_rig: GuiRig) -> None:
    page = idle_rig.window.devices_page
    table = load_guidance()
    ch340 = AdapterFacts(vid=0x1A86, pid=0x7523, kind="serial")
    wch = table.lookup("no_driver", ch340, "windows")
    busy = table.lookup("busy", ch340, "windows")
    assert wch is not None
    assert busy is not None
    reports = (
        AdapterReport("/dev/pts/9", "Serial port", "serial:/dev/pts/9", AdapterStatus.NO_DEVICE, "nothing"),
        AdapterReport(
            "COM3", "WCH CH340", "usb:1a86:7523@1", AdapterStatus.NO_DRIVER, "no driver", guidance=wch
        ),
        AdapterReport("COM4", "WCH CH340", "usb:1a86:7523@2", AdapterStatus.BUSY, "in use", guidance=busy),
    )
    idle_rig.model.sig_scan_result.emit(ScanResult(reports, 0.1))
    assert page.guidance_view.isVisibleTo(page)
    assert "COM3: The CH340/CH343 adapter has no driver" in page.guidance_view.text()
    assert "href='https://www.wch-ic.com/downloads/CH341SER_EXE.html'" in page.guidance_view.text()
    page.adapters_table.selectRow(2)
    assert "COM4: Another program holds the COM port" in page.guidance_view.text()
    page.adapters_table.selectRow(0)  # no advice for this one: the first advice stays in view
    assert "COM3:" in page.guidance_view.text()
    idle_rig.model.sig_scan_result.emit(ScanResult(reports[:1], 0.1))
    assert not page.guidance_view.isVisibleTo(page)

"""Issue 14: device and package text is shown as plain text, never as markup.

A ZIP member named ``<font color=green size=6>GENUINE</font>`` showed as a large green "GENUINE"
before any signature check; a serial number is just as much the device's word. Every label that
shows such text draws it literally.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel, QWidget

from bmsflasher.core.types import LinkSettings
from bmsflasher.gui.main_window import DEVICES, LIVE, UPDATE
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd

from .conftest import FAST_BAUD, GuiRig
from .gui_steps import displayed

pytestmark = pytest.mark.gui

MEMBER = "<font color=green size=6>GENUINE</font>"
SERIAL = "<font size=6>GENUINE</font>"


def _labels_showing(root: QWidget, needle: str) -> list[QLabel]:
    return [label for label in root.findChildren(QLabel) if needle in label.text()]


def test_a_package_member_named_as_markup_is_shown_literally(rig: GuiRig, qtbot, packages, tmp_path) -> None:
    good = packages["healthy"]
    forged = tmp_path / "forged.bmspkg"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(forged, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            name = MEMBER if info.filename.endswith(".img") else info.filename
            target.writestr(name, data, compress_type=info.compress_type)
    rig.connect()
    wizard = rig.window.open_update_wizard()
    assert wizard is not None
    wizard.package_page.select_package(forged)
    wizard.next()
    qtbot.waitUntil(lambda: wizard.verify_page.check is not None, timeout=15000)
    assert not wizard.verify_page.check.ok
    shown = _labels_showing(wizard, "GENUINE")
    assert shown, "the member name is not mentioned at all"
    for label in shown:
        assert MEMBER in displayed(label), (label.objectName(), label.text())
    wizard.close()


@pytest.fixture
def markup_battery(tmp_path: Path) -> Iterator[LinkSettings]:
    """A real virtual BMS whose serial number is markup, on its own pty."""
    with VirtualBms.create(SimOptions(serial_number=SERIAL, seed=11)) as device:
        front_end = SerialFrontEnd(device, FrontEndOptions(baud=FAST_BAUD))
        front_end.start()
        try:
            yield LinkSettings(kind="serial", port=front_end.port, baud=FAST_BAUD)
        finally:
            front_end.stop()


def test_a_serial_number_written_as_markup_is_shown_literally(rig: GuiRig, markup_battery, qtbot) -> None:
    rig.model.connect_device(markup_battery)
    rig.wait(lambda: rig.model.identity is not None)
    assert rig.model.identity.serial_number == SERIAL
    window = rig.window
    for page in (DEVICES, LIVE, UPDATE):
        window.show_page(page)
        rig.app.processEvents()
        shown = _labels_showing(window, "GENUINE")
        assert shown
        for label in shown:
            assert SERIAL in displayed(label), (label.objectName(), label.text())
    wizard = window.open_update_wizard()
    assert wizard is not None
    assert SERIAL in displayed(wizard.package_page.intro)
    wizard.close()
    rig.model.disconnect_device()
    rig.wait(lambda: not rig.model.connected)

"""The "CAN broadcast (DBC)" connection and the CAN recording option in Dutch and French: no English.

A virtual BMS on a python-can ``virtual`` channel broadcasts its cyclic frames; the devices page's
manual form (kind "CAN broadcast (DBC)", DBC and map fields) connects to it with the shipped DBC.
The devices form, the live page and the pages that cannot write over a read-only connection
(update, configuration, diagnostics with its "record the CAN bus" option) are checked with
``english_finder`` in both languages and saved as ``tests/screenshots/i18n-dbc-*.png``.
"""

from __future__ import annotations

import uuid

import pytest
from PySide6.QtWidgets import QApplication

from bmsflasher.core.resources import resource_path
from bmsflasher.gui.i18n import LanguageSwitcher
from bmsflasher.gui.main_window import CONFIG, DEVICES, DIAGNOSTICS, LIVE, UPDATE
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire import can_frontend
from bmsflasher.sim.wire.frontend_options import FrontEndOptions

from .conftest import GuiRig
from .screenshot_support import save_shot
from .test_gui_walkthrough import Walk

pytestmark = pytest.mark.gui

PAGES = {"devices": DEVICES, "live": LIVE, "update": UPDATE, "config": CONFIG, "diagnostics": DIAGNOSTICS}


def test_a_dbc_connection_reads_dutch_and_french_on_every_page(rig: GuiRig, qapp: QApplication) -> None:
    channel = f"gui-dbc-i18n-{uuid.uuid4().hex[:8]}"
    switcher = LanguageSwitcher(qapp)
    found: dict[str, dict[str, str]] = {}
    with VirtualBms.create(SimOptions(seed=5)) as device:
        simulation = can_frontend.start(device, FrontEndOptions(channel=channel, broadcast=True), "virtual")
        try:
            page = rig.window.devices_page
            page.kind_combo.setCurrentIndex(page.kind_combo.findData("can_dbc"))
            page.interface_edit.setText("virtual")
            page.channel_edit.setText(channel)
            page.dbc_edit.setText(str(resource_path("dbc", "vbms.dbc")))
            page.signals_edit.setText(str(resource_path("dbc", "vbms.map.json")))
            page.manual_connect_button.click()
            rig.wait(lambda: rig.model.latest_telemetry is not None, 20)
            for language in ("nl", "fr"):
                assert switcher.set_language(language)
                rig.model.set_language(language)
                walk = Walk(language)
                for name, index in PAGES.items():
                    rig.window.show_page(index)
                    for _ in range(5):
                        qapp.processEvents()
                    walk.look(rig.window, f"DBC connection, {name} page")
                    if name in ("devices", "diagnostics"):
                        save_shot(rig.window, f"i18n-dbc-{name}-{language}")
                found[language] = walk.found
            assert (
                rig.window.diagnostics_page.record_bus_check.text()
                == "Enregistrer le bus CAN pendant les mises à jour"
            )
        finally:
            switcher.set_language("en")
            rig.model.set_language("en")
            rig.model.disconnect_device()
            simulation.close()
    assert found == {"nl": {}, "fr": {}}, found

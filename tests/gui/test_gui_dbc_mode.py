"""Issue 19: "CAN broadcast (DBC)" in the GUI: live data from broadcasts; writing pages say why not.

A virtual BMS on a python-can ``virtual`` channel broadcasts its cyclic frames; the devices page's
manual form connects to it with the shipped DBC and map. The live data are the device's cells; the
update, configuration and diagnostics pages are unavailable and say it is a read-only connection.
"""

from __future__ import annotations

import uuid

import pytest

from bmsflasher.core.resources import resource_path
from bmsflasher.gui.main_window import CONFIG, DIAGNOSTICS, UPDATE
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire import can_frontend
from bmsflasher.sim.wire.frontend_options import FrontEndOptions

from .conftest import GuiRig

pytestmark = pytest.mark.gui


def test_dbc_connection_shows_the_cells_and_refuses_writing_pages(rig: GuiRig, qtbot) -> None:
    channel = f"gui-dbc-{uuid.uuid4().hex[:8]}"
    with VirtualBms.create(SimOptions(seed=5, weak_cell=2, load_a=30.0)) as device:
        simulation = can_frontend.start(device, FrontEndOptions(channel=channel, broadcast=True), "virtual")
        try:
            page = rig.window.devices_page
            page.kind_combo.setCurrentIndex(page.kind_combo.findData("can_dbc"))
            assert page.dbc_edit.isVisibleTo(rig.window)
            assert not page.node_spin.isVisibleTo(rig.window)  # nothing is addressed: nothing is sent
            page.interface_edit.setText("virtual")
            page.channel_edit.setText(channel)
            page.dbc_edit.setText(str(resource_path("dbc", "vbms.dbc")))
            page.signals_edit.setText(str(resource_path("dbc", "vbms.map.json")))
            page.manual_connect_button.click()
            rig.wait(lambda: rig.model.latest_telemetry is not None, 20)
            sample = rig.model.latest_telemetry
            assert sample is not None
            truth = device.telemetry().cell_voltages_mv
            assert len(sample.cell_voltages_mv) == len(truth) == 16
            assert all(abs(a - b) <= 8 for a, b in zip(sample.cell_voltages_mv, truth, strict=True))
            assert sample.cell_voltages_mv.index(min(sample.cell_voltages_mv)) == 2  # the weak cell
            assert rig.model.read_only_reason is not None
            for index in (UPDATE, CONFIG, DIAGNOSTICS):
                rig.window.show_page(index)
            assert not rig.window.update_page.start_button.isEnabled()
            assert "read-only" in rig.window.update_page.status.text()
            assert not rig.window.config_page.read_button.isEnabled()
            assert "read-only" in rig.window.config_page.status.text()
            assert not rig.window.diagnostics_page.read_button.isEnabled()
            assert "read-only" in rig.window.diagnostics_page.status.text()
            assert simulation.bus.stats.frames > 0
            assert not rig.errors, rig.errors  # nothing tried to read the configuration or codes
        finally:
            rig.model.disconnect_device()
            simulation.close()

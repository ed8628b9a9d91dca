"""Connect by hand to a BMS on 29-bit CAN identifiers: the form's addressing reaches the real link."""

from __future__ import annotations

import uuid

from bmsflasher.core.types import CanAddressing
from bmsflasher.gui.pages.devices_page import MAX_11BIT_NODE, MAX_29BIT_ADDRESS
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire import can_frontend
from bmsflasher.sim.wire.frontend_options import FrontEndOptions

from .conftest import GuiRig

ECU = 0x17


def test_manual_29bit_connect_reaches_the_node_by_its_address(rig: GuiRig) -> None:
    page = rig.window.devices_page
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("can"))
    assert page.node_spin.maximum() == MAX_11BIT_NODE  # 11-bit numbers nodes 1..8
    page.addressing_combo.setCurrentIndex(
        page.addressing_combo.findData(CanAddressing.NORMAL_FIXED_29BIT.value)
    )
    assert page.node_spin.maximum() == MAX_29BIT_ADDRESS
    assert page.addressing_combo.isVisible()

    channel = f"gui-29bit-{uuid.uuid4().hex[:8]}"
    options = FrontEndOptions(channel=channel, addressing=CanAddressing.NORMAL_FIXED_29BIT, node_address=ECU)
    with VirtualBms.create(SimOptions(seed=29)) as device:
        simulation = can_frontend.start(device, options, "virtual")
        try:
            page.interface_edit.setText("virtual")
            page.channel_edit.setText(channel)
            page.node_spin.setValue(ECU)
            link = page.manual_link()
            assert link is not None
            assert (link.addressing, link.node) == (CanAddressing.NORMAL_FIXED_29BIT, ECU)
            page.manual_connect_button.click()
            rig.wait(lambda: rig.model.identity is not None, 30)
            assert rig.model.identity is not None
            assert rig.model.identity.serial_number == device.identity().serial_number
            rig.model.disconnect_device()
            rig.wait(lambda: rig.model.identity is None, 15)
        finally:
            simulation.close()

"""Through a Modbus TCP gateway a pack node's reboot is waited out, not taken for a refusal.

While a node boots, the gateway gets no answer from it on its RS485 side and tells the tool so with
exception 0x0B ("gateway target failed to respond"). A campaign's node target must treat that as
the node's silence and keep asking until it is back — a test boot or the restart after a transfer
would fail otherwise. The pack (a BCU alone) runs in another process behind the virtual gateway.
"""

from __future__ import annotations

from pack_support import PackProcess

from bmsflasher.core.types import DeviceMode, LinkSettings
from bmsflasher.discovery.pack_nodes_modbus import unit_link
from bmsflasher.procedure.campaign_modbus import ModbusPackOpener
from bmsflasher.procedure.profiles import profile_for_model
from bmsflasher.procedure.reboot import reset_device, wait_for_application


def test_a_node_rebooting_behind_the_gateway_is_waited_for() -> None:
    with PackProcess("bcu=1", "--link", "tcp", protocol="modbus") as pack:
        gateway = LinkSettings(kind="modbus", tcp=f"{pack.info['host']}:{pack.info['tcp_port']}")
        opener = ModbusPackOpener(gateway, reconnect_timeout_s=10.0)
        try:
            target = opener(unit_link(gateway, 1))
            identity = target.identify()
            reset_device(target)
            back = wait_for_application(target, profile_for_model(identity.model).reboot)
            assert (back.serial_number, back.mode) == (identity.serial_number, DeviceMode.APPLICATION)
            assert opener.port_opens == 1  # the gateway's socket kept through the reboot
            target.close()
        finally:
            opener.close()

"""Cross-process: a virtual pack as an RS485 rack (``sim --protocol modbus --topology …``).

The same nodes as the CAN pack sit at unit addresses 1, 2, 3, … (BCU first) behind one pty, each
served by the Modbus module layer; the BCU's pack values still come from its BMUs (their status
frames on the pack's internal CAN bus).
"""

from __future__ import annotations

from pack_support import PackProcess

from bmsflasher.protocols.modbus.target import ModbusTarget, open_link


def test_the_rack_serves_every_node_model_and_the_bcu_adds_up_its_modules() -> None:
    with PackProcess("bcu=1,bmc=1,bmu=2", protocol="modbus") as pack:
        assert [n["address"] for n in pack.nodes] == [1, 2, 3, 4]
        models, volts = [], []
        # One port for every module, as a rack scan does (a pty reopened at once may refuse parity).
        link = open_link(pack.modbus_link(1))
        try:
            for node in pack.nodes:
                target = ModbusTarget(
                    link, pack.modbus_link(int(str(node["address"]))), reconnect_timeout_s=0.0
                )
                identity = target.identify()
                assert identity.serial_number == node["serial"]
                models.append(identity.model)
                volts.append(target.read_telemetry().pack_voltage_mv)
        finally:
            link.close()
        assert models == ["VBCU-1", "VBMC-4", "VBMU-16", "VBMU-16"]
        modules = volts[2] + volts[3]
        assert abs(volts[0] - modules) <= 0.005 * modules

"""A battery module's live data and identity over Modbus: the tool, the CLI, an independent SunSpec client.

The modules are real virtual BMS devices on the rack's RS485 bus (behind a pty) or behind its Modbus
TCP gateway. pysunspec2's own client — the SunSpec Alliance's reference code, with its own Modbus
stack — scans a module and must read the same SoC and cell voltages the tool shows; a SunSpec
device without this vendor's block is read too (the live view is for any SunSpec battery).
"""

from __future__ import annotations

import contextlib
import io
import json
import struct

import pytest
from modbus_support import ModuleBench, pty_modules, released, sim_options, tcp_modules
from sunspec2.modbus.client import SunSpecModbusClientDeviceTCP

from bmsflasher.cli.main import main
from bmsflasher.core.errors import UnsupportedOperationError
from bmsflasher.core.types import Alarm, DeviceMode
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.modbus.module import ModbusModule, create_module
from bmsflasher.sim.wire.modbus_rack import ModbusRack
from bmsflasher.sim.wire.rs485_line import LineSettings, Parity

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs ptys")

STILL = sim_options(noise_mv=0.0)
"""No measurement noise and a frozen clock: every read of the pack gives the same numbers."""


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_an_independent_sunspec_client_reads_what_the_tool_shows() -> None:
    with tcp_modules((3,), sim=STILL) as bench:
        host, port = bench.link.tcp.rsplit(":", 1)
        reference = SunSpecModbusClientDeviceTCP(slave_id=3, ipaddr=host, ipport=int(port), timeout=5)
        try:
            reference.scan()
            models = reference.models
            cells = models[805][0].groups["lithium-ion-module-cell"]
            their_cells = [round(cell.CellV.cvalue * 1000) for cell in cells]
            their_soc, their_serial = models[802][0].SoC.cvalue, models[1][0].SN.value
        finally:
            reference.close()
        code, out, err = run_cli(
            "monitor", *bench.cli_link_args(), "--count", "1", "--interval", "0.1", "--json"
        )
        assert code == 0, err
        shown = json.loads(out.splitlines()[0])
        identity = bench.open().identify()
        assert shown["soc_pct"] == their_soc == bench.device.telemetry().soc_pct == 60.0
        assert shown["cell_voltages_mv"] == their_cells == list(bench.device.telemetry().cell_voltages_mv)
        assert identity.serial_number == their_serial == bench.device.serial_number


def test_info_and_monitor_json_of_a_module_on_an_rs485_bus_at_19200_8e1() -> None:
    with pty_modules((2, 9), baud=19_200, parity="E", sim=STILL) as (bench, host):
        args = bench.cli_link_args()
        args[args.index("--address") + 1] = "9"  # the second module on the bus
        code, out, err = run_cli("info", *args, "--json")
        assert code == 0, err
        info = json.loads(out)
        released(host)
        code, out, err = run_cli("monitor", *args, "--count", "1", "--interval", "0.1", "--json")
        assert code == 0, err
        sample = json.loads(out.splitlines()[0])
        second = bench.devices[1]
        assert info["serial_number"] == second.serial_number != bench.devices[0].serial_number
        assert info["model"] == "VBMS-16"
        assert info["firmware_version"] == "1.0.0"
        assert info["mode"] == "application"
        expected = second.telemetry()
        assert sample["cell_voltages_mv"] == list(expected.cell_voltages_mv)
        assert sample["temperatures_c"] == pytest.approx(
            list(expected.temperatures_c), abs=0.3
        )  # sensor noise
        assert sample["soc_pct"] == expected.soc_pct
        assert sample["soh_pct"] == expected.soh_pct
        assert abs(sample["pack_voltage_mv"] - expected.pack_voltage_mv) <= 5  # V_SF -2: 10 mV steps


def test_alarms_and_a_failed_sensor_come_through_802_and_the_vendor_block() -> None:
    with pty_modules(sim=sim_options(noise_mv=0.0, failed_sensor=1, ambient_c=70.0)) as (bench, _host):
        telemetry = bench.open().read_telemetry()
        expected = bench.device.telemetry()
    assert telemetry.temperatures_c[1] is expected.temperatures_c[1] is None
    for shown, measured in zip(telemetry.temperatures_c, expected.temperatures_c, strict=True):
        assert shown == measured or abs(shown - measured) < 0.3  # type: ignore[operator]  # sensor noise
    assert telemetry.alarms == expected.alarms >= {Alarm.SENSOR_FAULT, Alarm.OVERTEMPERATURE}


class PlainSunSpecModule:
    """Another vendor's SunSpec battery: the same chain, but no register at 0xE000 and above."""

    def __init__(self, device: VirtualBms, address: int) -> None:
        self._inner: ModbusModule = create_module(device, address)
        self.address = address

    def handle(self, pdu: bytes, *, broadcast: bool) -> bytes | None:
        if (len(pdu) >= 3 and struct.unpack(">H", pdu[1:3])[0] >= 0xE000) or pdu[:1] in (b"\x14", b"\x15"):
            return None if broadcast else bytes([pdu[0] | 0x80, 0x02])
        return self._inner.handle(pdu, broadcast=broadcast)

    def late_by_s(self) -> float:
        return 0.0

    def close(self) -> None:
        self._inner.close()


def test_a_sunspec_battery_without_the_vendor_block_still_shows_live_data() -> None:
    from bmsflasher.sim.wire.rs485_pty import PtyBusHost

    device = VirtualBms.create(STILL)
    host = PtyBusHost(even_or_none=Parity.EVEN)
    host.plug()
    try:
        line = LineSettings(1_000_000, Parity.EVEN, 1)
        with ModbusRack([device], [4], host, line, factory=PlainSunSpecModule):
            bench = ModuleBench((device,), None, sim_link(host.path))  # type: ignore[arg-type]
            try:
                target = bench.open()
                identity = target.identify()
                telemetry = target.read_telemetry()
                assert (identity.model, identity.serial_number) == ("VBMS-16", device.serial_number)
                assert identity.mode is DeviceMode.APPLICATION
                assert identity.slots == ()
                assert telemetry.cell_voltages_mv == device.telemetry().cell_voltages_mv
                assert len(telemetry.temperatures_c) == 16  # per cell from 805: no vendor sensor block
                with pytest.raises(UnsupportedOperationError, match="no vendor update block"):
                    target.read_config()
            finally:
                bench.close()
    finally:
        host.close()
        device.close()


def sim_link(port: str):  # type: ignore[no-untyped-def]
    from bmsflasher.core.types import LinkSettings

    return LinkSettings(kind="modbus", port=port, baud=1_000_000, parity="E", stopbits=1, address=4)

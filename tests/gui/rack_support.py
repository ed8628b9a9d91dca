"""A virtual energy-storage rack for GUI tests: real ``sim.modbus`` modules on the RS485 bus model.

Served as a Modbus TCP gateway on 127.0.0.1 (``tcp_rack``) or behind a pty (``pty_rack``), exactly
as ``bmsflasher sim --protocol modbus`` serves them; the GUI reaches them through its engine.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Final

from bmsflasher.core.types import LinkSettings
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.modbus_rack import ModbusRack, create_rack_devices
from bmsflasher.sim.wire.rack_options import RackOptions
from bmsflasher.sim.wire.rs485_line import LineSettings, Parity

RACK_BAUD: Final = 1_000_000


def _sim() -> SimOptions:
    return dataclasses.replace(SimOptions(), erase_time_s_per_sector=0.0, boot_time_s=0.0, time_scale=0.0)


@contextlib.contextmanager
def tcp_rack(addresses: tuple[int, ...] = (1,)) -> Iterator[tuple[LinkSettings, ModbusRack]]:
    """Modules behind a Modbus TCP gateway; yields the link to the first module and the rack."""
    from bmsflasher.sim.wire.modbus_tcp_gateway import GatewayHost, ModbusTcpGateway

    line = LineSettings(RACK_BAUD, Parity.EVEN, 1)
    devices = tuple(create_rack_devices(_sim(), len(addresses)))
    host = GatewayHost(line)
    rack = ModbusRack(devices, addresses, host, line, rack=RackOptions())
    try:
        gateway = ModbusTcpGateway(rack.bus, host, addresses, timeout_s=0.5)
        with rack, gateway:
            yield (
                LinkSettings(kind="modbus", tcp=f"{gateway.host}:{gateway.tcp_port}", address=addresses[0]),
                rack,
            )
    finally:
        for device in devices:
            device.close()


@contextlib.contextmanager
def pty_rack(addresses: tuple[int, ...] = (1,)) -> Iterator[tuple[LinkSettings, ModbusRack]]:
    """Modules on the RS485 bus behind a pty at 1 Mbaud 8N1; yields the link to the first module."""
    from bmsflasher.sim.wire.rs485_pty import PtyBusHost

    line = LineSettings(RACK_BAUD, Parity.NONE, 1)
    devices = tuple(create_rack_devices(_sim(), len(addresses)))
    host = PtyBusHost(even_or_none=Parity.NONE)
    host.plug()
    try:
        with ModbusRack(
            devices, addresses, host, line, rack=RackOptions(parity=Parity.NONE, stopbits=1)
        ) as rack:
            yield LinkSettings(kind="modbus", port=host.path, baud=RACK_BAUD, parity="N", stopbits=1,
                               address=addresses[0]), rack  # fmt: skip
    finally:
        host.close()
        for device in devices:
            device.close()

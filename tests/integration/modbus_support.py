"""Virtual battery modules on the rack's RS485 bus (a pty) or behind its Modbus TCP gateway, for the tool.

The modules are the real ``sim.modbus`` application layers on real virtual BMS devices, on the wire
helper's bus (``sim/wire/rs485_bus.py``: line-rate pacing, frame gaps, half duplex, faults); the
tool opens them exactly as a technician would, through :func:`bmsflasher.procedure.open_target`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bmsflasher.core.resources import resource_path
from bmsflasher.core.target import Target
from bmsflasher.core.types import FirmwareVersion, LinkSettings
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.firmware.package import PackageSpec, build_package
from bmsflasher.procedure import open_target
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.modbus_rack import ModbusRack
from bmsflasher.sim.wire.rack_options import RackOptions
from bmsflasher.sim.wire.rs485_line import LineSettings, Parity

FAST_BAUD: Final = 1_000_000
"""Fast enough that a 96 KiB transfer takes about a second on the paced bus."""
OPEN_TIMEOUT_S: Final = 5.0


def sim_options(**changes: object) -> SimOptions:
    base = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0, time_scale=0.0)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def signed_image(
    version: str, size: int = 24 * 1024, *, counter: int = 1, behaviour: str | None = None
) -> bytes:
    """An MCUboot image signed with the demo key (the virtual module trusts it)."""
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    payload = hashlib.shake_256(f"modbus-{version}-{behaviour}".encode()).digest(size)
    return build_image(
        payload,
        version=FirmwareVersion.parse(version),
        security_counter=counter,
        key=key,
        sim_behaviour=behaviour,
    )


def small_package(folder: Path, version: str, *, behaviour: str | None = None, size: int = 16 * 1024) -> Path:
    """A signed ``.bmspkg`` for the demo model with a 16 KiB image (the demo packages hold about 260 KiB)."""
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    image = signed_image(version, size, behaviour=behaviour)
    spec = PackageSpec(
        model="VBMS-16",
        hardware_revisions=("C",),
        version=FirmwareVersion.parse(version),
        security_counter=1,
        sim_behaviour=behaviour,
    )
    path = folder / f"VBMS-16-{version}{'-' + behaviour if behaviour else ''}.bmspkg"
    path.write_bytes(build_package(spec, image, key))
    return path


@dataclass
class ModuleBench:
    """Virtual modules on one bus, and the link settings that reach the first of them."""

    devices: tuple[VirtualBms, ...]
    rack: ModbusRack
    link: LinkSettings
    unplug: contextlib.AbstractContextManager[None] | None = None
    opened: list[Target] = field(default_factory=list)

    @property
    def device(self) -> VirtualBms:
        return self.devices[0]

    def open(self, timeout_s: float = OPEN_TIMEOUT_S, **link_changes: object) -> Target:
        link = dataclasses.replace(self.link, **link_changes)  # type: ignore[arg-type]
        target = open_target(link, timeout_s=timeout_s)
        self.opened.append(target)
        return target

    def cli_link_args(self) -> list[str]:
        if self.link.tcp:
            return ["--tcp", self.link.tcp, "--address", str(self.link.address)]
        return [
            "--port", self.link.port, "--baud", str(self.link.baud), "--parity", self.link.parity,
            "--stopbits", str(self.link.stopbits), "--address", str(self.link.address),
        ]  # fmt: skip

    def close(self) -> None:
        for target in self.opened:
            target.close()
        self.opened.clear()


@contextlib.contextmanager
def pty_modules(
    addresses: tuple[int, ...] = (1,),
    *,
    baud: int = FAST_BAUD,
    parity: str = "E",
    stopbits: int = 1,
    rack_options: RackOptions | None = None,
    sim: SimOptions | None = None,
) -> Iterator[tuple[ModuleBench, object]]:
    """Modules on the RS485 bus behind a pty; yields the bench and the pty host (for cable pulls)."""
    from bmsflasher.sim.wire.rs485_pty import PtyBusHost

    line = LineSettings(baud, Parity(parity), stopbits)
    devices = _devices(sim or sim_options(), len(addresses))
    hidden = line.parity if line.parity in (Parity.NONE, Parity.EVEN) else Parity.NONE
    host = PtyBusHost(even_or_none=hidden)
    host.plug()
    options = rack_options or RackOptions(parity=line.parity, stopbits=stopbits)
    try:
        with ModbusRack(devices, addresses, host, line, rack=options) as rack:
            link = LinkSettings(
                kind="modbus",
                port=host.path,
                baud=baud,
                parity=parity,
                stopbits=stopbits,
                address=addresses[0],
            )
            bench = ModuleBench(devices, rack, link)
            try:
                yield bench, host
            finally:
                bench.close()
    finally:
        host.close()
        for device in devices:
            device.close()


@contextlib.contextmanager
def tcp_modules(
    addresses: tuple[int, ...] = (1,),
    *,
    baud: int = FAST_BAUD,
    sim: SimOptions | None = None,
    gateway_timeout_s: float = 1.0,
) -> Iterator[ModuleBench]:
    """Modules behind the rack's Modbus TCP gateway on 127.0.0.1."""
    from bmsflasher.sim.wire.modbus_tcp_gateway import GatewayHost, ModbusTcpGateway

    line = LineSettings(baud, Parity.EVEN, 1)
    devices = _devices(sim or sim_options(), len(addresses))
    host = GatewayHost(line)
    rack = ModbusRack(devices, addresses, host, line, rack=RackOptions())
    try:
        gateway = ModbusTcpGateway(rack.bus, host, addresses, timeout_s=gateway_timeout_s)
        with rack, gateway:
            link = LinkSettings(kind="modbus", tcp=f"{gateway.host}:{gateway.tcp_port}", address=addresses[0])
            bench = ModuleBench(devices, rack, link)
            try:
                yield bench
            finally:
                bench.close()
    finally:
        for device in devices:
            device.close()


def released(host: object, timeout_s: float = 5.0) -> None:
    """Wait until the bus has seen the tool close its pty (it then puts the line back to idle).

    A Linux pty refuses a reopen with parity while the line still has the settings asked for
    (``sim/wire/rs485_pty.py``); a real adapter does not, and a second command on a real bus opens
    at once. Between two commands on the virtual bus the test waits for the bus instead.
    """
    deadline = time.monotonic() + timeout_s
    while host.host_open():  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the pty still looks open"
        time.sleep(0.01)


def _devices(options: SimOptions, count: int) -> tuple[VirtualBms, ...]:
    from bmsflasher.sim.wire.modbus_rack import create_rack_devices

    return tuple(create_rack_devices(options, count))

"""The virtual BMS benches behind one small interface, so a contract test reads the same for each.

SMP: the virtual BMS behind the sim's paced UART on a pty. UDS: the virtual BMS behind an emulated
slcan USB-CAN adapter on a pty, reached through python-can's own slcan driver. Modbus: the virtual
BMS as one battery module on the rack's paced RS485 bus behind a pty (8E1). Each bench can pull its
cable (the pty vanishes) and plug it back, the one fault every wire shares. The tool side is the
real client, opened the way the tool opens it (:func:`bmsflasher.procedure.open_target`). Modbus
joined by implementing the target's raw operations only: nothing here but its bench knows it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bmsflasher.core.link_options import link_argv
from bmsflasher.core.resources import resource_path
from bmsflasher.core.target import Target
from bmsflasher.core.types import FirmwareVersion, LinkSettings, ParameterValue
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.procedure import open_target
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions

PROTOCOLS: Final = ("smp", "uds", "modbus")
SMP_BAUD: Final = 2_000_000
UDS_BITRATE: Final = 1_000_000
MODBUS_BAUD: Final = 1_000_000
MODBUS_ADDRESS: Final = 7
OPEN_TIMEOUT_S: Final = 5.0
DEMO_PUB: Final = resource_path("demo", "demo-key.pub.pem")


def signed_image(version: str, size: int = 24 * 1024, *, counter: int = 1) -> bytes:
    """An MCUboot image signed with the demo key (the virtual BMS trusts it).

    Counter 1 is the factory image's: the previous firmware stays installable, so rollback works.
    """
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    payload = hashlib.shake_256(f"contract-{version}".encode()).digest(size)
    return build_image(payload, version=FirmwareVersion.parse(version), security_counter=counter, key=key)


@dataclass
class ContractBench:
    """One virtual BMS on one wire, the way the tool reaches it."""

    protocol: str
    device: VirtualBms
    link: LinkSettings
    unplug: Callable[[], None]
    plug: Callable[[], None]
    opened: list[Target] = field(default_factory=list)
    timers: list[threading.Timer] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    def open(self, timeout_s: float = OPEN_TIMEOUT_S) -> Target:
        """Open the device with the tool's own factory (closed by the bench at the end)."""
        target = open_target(self.link, timeout_s=timeout_s)
        self.opened.append(target)
        return target

    def pull_cable(self, replug_after_s: float | None = None) -> None:
        """Pull the USB cable now; plug it back after ``replug_after_s`` if given."""
        self.unplug()
        if replug_after_s is not None:
            timer = threading.Timer(replug_after_s, self.plug)
            timer.name = "contract-replug"
            timer.start()
            self.timers.append(timer)

    def record_parameter_writes(self) -> None:
        """Note every parameter name the device is asked to write (the real write still runs)."""
        write = self.device.set_parameters

        def recording(values: dict[str, ParameterValue]) -> None:
            self.written.extend(values)
            write(values)

        self.device.set_parameters = recording  # type: ignore[method-assign]

    def cli_link_args(self) -> list[str]:
        """The command-line options that name this device."""
        if self.link.kind == "serial":
            return ["--port", self.link.port, "--baud", str(self.link.baud)]
        if self.link.kind == "modbus":
            return link_argv(self.link)
        return [
            "--interface", self.link.interface, "--channel", self.link.channel,
            "--bitrate", str(self.link.bitrate), "--node", str(self.link.node),
        ]  # fmt: skip

    def close(self) -> None:
        for timer in self.timers:
            timer.join(5.0)
        for target in self.opened:
            target.close()
        self.opened.clear()


def sim_options(**changes: object) -> SimOptions:
    base = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@contextlib.contextmanager
def contract_bench(protocol: str, workdir: Path, **sim: object) -> Iterator[ContractBench]:
    """A fresh virtual BMS speaking ``protocol`` ("smp", "uds" or "modbus") on its pty."""
    del workdir  # the flash lives in memory: every bench is a new device
    device = VirtualBms.create(sim_options(**sim))
    try:
        if protocol == "smp":
            with _smp(device) as bench:
                yield bench
        elif protocol == "uds":
            with _uds(device) as bench:
                yield bench
        elif protocol == "modbus":
            with _modbus(device) as bench:
                yield bench
        else:  # pragma: no cover - a typo in a parametrisation
            raise ValueError(f"unknown protocol {protocol!r}")
    finally:
        device.close()


@contextlib.contextmanager
def _smp(device: VirtualBms) -> Iterator[ContractBench]:
    from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd

    with SerialFrontEnd(device, FrontEndOptions(baud=SMP_BAUD)) as front_end:
        link = LinkSettings(kind="serial", port=front_end.port, baud=SMP_BAUD)
        bench = ContractBench("smp", device, link, front_end.pull_cable, front_end.plug_cable)
        try:
            yield bench
        finally:
            bench.close()


@contextlib.contextmanager
def _uds(device: VirtualBms) -> Iterator[ContractBench]:
    from bmsflasher.sim.wire.can_frontend import start

    with start(device, FrontEndOptions(bitrate=UDS_BITRATE), "slcan") as simulation:
        adapter = simulation.adapter
        assert adapter is not None
        link = LinkSettings(
            kind="can", interface="slcan", channel=simulation.channel, bitrate=UDS_BITRATE, node=1
        )
        bench = ContractBench("uds", device, link, adapter.unplug, adapter.replug)
        try:
            yield bench
        finally:
            bench.close()


@contextlib.contextmanager
def _modbus(device: VirtualBms) -> Iterator[ContractBench]:
    from bmsflasher.sim.wire.modbus_rack import ModbusRack
    from bmsflasher.sim.wire.rs485_line import LineSettings, Parity
    from bmsflasher.sim.wire.rs485_pty import PtyBusHost

    line = LineSettings(MODBUS_BAUD, Parity.EVEN, 1)
    host = PtyBusHost(even_or_none=Parity.EVEN)
    host.plug()
    try:
        with ModbusRack([device], [MODBUS_ADDRESS], host, line):
            link = LinkSettings(
                kind="modbus",
                port=host.path,
                baud=MODBUS_BAUD,
                parity="E",
                stopbits=1,
                address=MODBUS_ADDRESS,
            )
            unplug = host._port.unplug  # the pty node and its symlink vanish, as a pulled USB adapter's do
            bench = ContractBench("modbus", device, link, unplug, host.plug)
            try:
                yield bench
            finally:
                bench.close()
    finally:
        host.close()

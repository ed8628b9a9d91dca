"""An energy-storage rack: N virtual battery modules, each a whole virtual BMS, on one RS485 bus.

Every module is its own :class:`~bmsflasher.sim.device.virtual_bms.VirtualBms` — its own identity
(serial number from its own seed), flash, bootloader, 16-cell pack and state file — served by its
own Modbus application layer (``sim.modbus``) at its unit address. So a power cut, a torn write or
an update of one module is exactly the single device's, proven by the device model's own tests;
the rack adds only the bus between them.

State files: ``--state rack.state`` keeps module 1 in ``rack.state`` and module *n* in
``rack.module<n>.state``; ``--state DIR`` (an existing folder) keeps module *n* in
``DIR/module<n>.state``. Restarting on the same files is a power cycle of the whole rack.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Final

from bmsflasher.core.i18n import t
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimError
from bmsflasher.sim.modbus.module import create_module
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.rack_options import RackOptions
from bmsflasher.sim.wire.rs485_bus import BusFaults, BusHost, BusModule, Rs485Bus
from bmsflasher.sim.wire.rs485_line import LineSettings
from bmsflasher.sim.wire.rtu_framing import MAX_ADDRESS, MIN_ADDRESS

ModuleFactory = Callable[[VirtualBms, int], BusModule]
"""``create_module(device, address)``: a module's Modbus application layer (the ``sim.modbus`` seam)."""
MAX_MODULES: Final = MAX_ADDRESS


def parse_addresses(text: str) -> tuple[int, ...]:
    """``"1-4,7,7"`` → ``(1, 2, 3, 4, 7, 7)``: chain order kept, repeats kept (the duplicate fault).

    Raises:
        ValueError: not a list of addresses 1..247 and ranges.
    """
    addresses: list[int] = []
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            raise ValueError(t("an empty entry in the address list '{text}'", text=text))
        low_text, dash, high_text = part.partition("-")
        try:
            low = int(low_text, 0)
            high = int(high_text, 0) if dash else low
        except ValueError:
            raise ValueError(t("'{part}' is not an address or a range like 1-8", part=part)) from None
        if not MIN_ADDRESS <= low <= high <= MAX_ADDRESS:
            raise ValueError(
                t(
                    "'{part}' is not within the unit addresses {low}..{high}",
                    part=part,
                    low=MIN_ADDRESS,
                    high=MAX_ADDRESS,
                )
            )
        addresses.extend(range(low, high + 1))
    if len(addresses) > MAX_MODULES:
        raise ValueError(t("a bus has at most {count} modules", count=MAX_MODULES))
    return tuple(addresses)


def rack_addresses(modules: int | None, first_address: int, addresses: Sequence[int] = ()) -> tuple[int, ...]:
    """The modules' addresses in chain order: ``addresses`` if given, else ``first_address`` upwards.

    Raises:
        SimError: the count and the list disagree, or the addresses run past 247.
    """
    if addresses:
        if modules is not None and modules != len(addresses):
            raise SimError(
                t(
                    "--modules {modules} but --addresses names {count} modules",
                    modules=modules,
                    count=len(addresses),
                )
            )
        return tuple(addresses)
    count = 1 if modules is None else modules
    last = first_address + count - 1
    if first_address < MIN_ADDRESS or last > MAX_ADDRESS:
        raise SimError(
            t(
                "{count} modules from address {first} run past the last unit address {last}",
                count=count,
                first=first_address,
                last=MAX_ADDRESS,
            )
        )
    return tuple(range(first_address, last + 1))


def module_options(base: SimOptions, index: int) -> SimOptions:
    """Options of the module at chain position ``index`` (0-based): its own seed, serial and state file."""
    state = base.state_file
    if state is not None:
        if state.is_dir():
            state = state / f"module{index + 1}.state"
        elif index > 0:
            state = state.with_name(f"{state.stem}.module{index + 1}{state.suffix}")
    if index == 0:
        return replace(base, state_file=state)
    serial = f"{base.serial_number}-{index + 1}" if base.serial_number else None
    return replace(base, state_file=state, seed=base.seed + index, serial_number=serial)


def create_rack_devices(base: SimOptions, count: int) -> list[VirtualBms]:
    """Build (or restore from their state files) the rack's ``count`` modules; closes them all on failure."""
    devices: list[VirtualBms] = []
    try:
        for index in range(count):
            devices.append(VirtualBms.create(module_options(base, index)))
    except BaseException:
        for device in devices:
            device.close()
        raise
    return devices


def default_module_factory() -> ModuleFactory:
    """``sim.modbus``'s ``create_module``: the real module's application layer."""
    return create_module


def late_by_index(addresses: Sequence[int], late: Sequence[tuple[int, float]]) -> dict[int, float]:
    """``(address, seconds)`` faults as extra delays per chain position (every module at that address)."""
    delays: dict[int, float] = {}
    for address, seconds in late:
        for index, module_address in enumerate(addresses):
            if module_address == address:
                delays[index] = delays.get(index, 0.0) + seconds
    return delays


class ModbusRack:
    """The modules, their Modbus layers and the bus, started and stopped together.

    Args:
        devices: one virtual BMS per module, in chain order (the caller owns and closes them).
        addresses: one unit address per device (may repeat: the duplicate fault).
        host: the bus's host end (a pty, or the TCP gateway's serial side).
        settings: the modules' line settings.
        rack: faults and layout from the command line.
        factory: builds a module's Modbus layer; default ``sim.modbus.module.create_module``.
        seed: fixes collision noise.
        max_baud: the fastest rate the cable holds (None: any); a module's negotiated rate above it
            garbles (``sim --max-baud``).
    """

    def __init__(
        self,
        devices: Sequence[VirtualBms],
        addresses: Sequence[int],
        host: BusHost,
        settings: LineSettings,
        *,
        rack: RackOptions | None = None,
        factory: ModuleFactory | None = None,
        seed: int = 0,
        max_baud: int | None = None,
    ) -> None:
        if len(devices) != len(addresses):
            raise SimError(
                t(
                    "{devices} modules but {addresses} addresses",
                    devices=len(devices),
                    addresses=len(addresses),
                )
            )
        rack = rack or RackOptions()
        factory = factory or default_module_factory()
        self.devices = tuple(devices)
        self.modules = tuple(
            factory(device, address) for device, address in zip(devices, addresses, strict=True)
        )
        for module in self.modules:
            configure_line = getattr(module, "configure_line", None)
            if callable(configure_line):
                configure_line(settings.baud)  # the bus rate: each module's rate at reset
        faults = BusFaults(
            max_baud=max_baud,
            echo=rack.echo,
            chain_break_after=rack.chain_break_after,
            late_s=late_by_index(addresses, rack.late),
        )
        self.bus = Rs485Bus(
            host, self.modules, settings, faults=faults, seed=random.Random(seed).getrandbits(31)
        )

    @property
    def addresses(self) -> tuple[int, ...]:
        return tuple(module.address for module in self.modules)

    def start(self) -> ModbusRack:
        self.bus.start()
        return self

    def stop(self) -> None:
        """Stop the bus, then every module's own workers (a module with a ``close()`` has some)."""
        self.bus.stop()
        for module in self.modules:
            close = getattr(module, "close", None)
            if callable(close):
                close()

    def __enter__(self) -> ModbusRack:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- faults, while running -------------------------------------------------------------------
    def set_echo(self, on: bool) -> None:
        """The host's adapter echoes (or stops echoing) what it sends."""
        self.bus.faults.echo = on

    def break_chain_after(self, count: int | None) -> None:
        """Cut the daisy chain after ``count`` modules (None: repair it)."""
        self.bus.faults.chain_break_after = count

    def set_late(self, index: int, seconds: float) -> None:
        """Module ``index`` (chain position) answers ``seconds`` late (0: on time)."""
        self.bus.faults.late_s[index] = seconds

    def set_address(self, index: int, address: int) -> None:
        """Re-address module ``index`` (e.g. to give two modules one address)."""
        self.modules[index].address = address

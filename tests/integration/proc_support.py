"""Helpers for the procedure's end-to-end tests: a virtual BMS behind a real OS link, the demo packages.

The device is the real virtual BMS; the link is a real pty (SMP, through the sim's paced UART) or
an emulated slcan adapter on a pty (UDS, through python-can's own slcan driver). The tool side is
the real client opened by :func:`bmsflasher.procedure.open_target`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bmsflasher.core.events import Event, Measurement, Progress, StepFinished
from bmsflasher.core.resources import resource_path
from bmsflasher.core.target import Target
from bmsflasher.core.types import LinkSettings
from bmsflasher.procedure import (
    UpdateOptions,
    UpdateProcedure,
    UpdateResult,
    build_keyring,
    open_target,
    package_loader,
    profile_for_model,
)
from bmsflasher.procedure.profiles import DeviceProfile
from bmsflasher.records import RecordsDb
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd

SMP_BAUD = 2_000_000
HEALTHY = "VBMS-16-1.1.0.bmspkg"
SELFTEST_FAIL = "VBMS-16-1.2.0-selftest-fail.bmspkg"
BOOT_LOOP = "VBMS-16-1.2.1-boot-loop.bmspkg"
DEMO_PUB = resource_path("demo", "demo-key.pub.pem")


def package(name: str) -> Path:
    return resource_path("demo", "packages", name)


def fast_profile() -> DeviceProfile:
    """The shipped default profile with a shorter stability window (same limits, fewer seconds)."""
    base = profile_for_model("VBMS-16")
    stability = dataclasses.replace(base.preconditions.stability, interval_s=0.05)
    return dataclasses.replace(
        base, preconditions=dataclasses.replace(base.preconditions, stability=stability)
    )


@dataclass
class Bench:
    """One virtual BMS on a link, plus everything a procedure run needs around it."""

    device: VirtualBms
    link: LinkSettings
    workdir: Path
    db: RecordsDb
    front_end: SerialFrontEnd | None = None
    events: list[Event] = field(default_factory=list)
    opened: list[Target] = field(default_factory=list)

    def connect(self) -> Target:
        target = open_target(self.link, timeout_s=10.0)
        self.opened.append(target)
        return target

    def sink(self, event: Event) -> None:
        self.events.append(event)

    def flash(self, name: str | Path, **options: object) -> UpdateResult:
        path = name if isinstance(name, Path) else package(name)
        keyring = build_keyring([DEMO_PUB], folder=self.workdir / "no-user-keys")
        opts = UpdateOptions(journal_dir=self.workdir / "journal", profile=fast_profile(), operator="pytest")
        opts = dataclasses.replace(opts, **options)  # type: ignore[arg-type]
        try:
            return UpdateProcedure(
                package_loader(path, keyring), self.connect, self.db, self.sink, opts
            ).run()
        finally:
            self.close_targets()

    def close_targets(self) -> None:
        for target in self.opened:
            target.close()
        self.opened.clear()

    def measurements(self) -> dict[str, Measurement]:
        return {e.name: e for e in self.events if isinstance(e, Measurement)}

    def progress(self) -> list[Progress]:
        return [e for e in self.events if isinstance(e, Progress)]

    def finished_steps(self) -> list[tuple[str, bool]]:
        return [(e.step, e.ok) for e in self.events if isinstance(e, StepFinished)]


def sim_options(workdir: Path, **changes: object) -> SimOptions:
    base = SimOptions(state_file=workdir / "vbms.state", erase_time_s_per_sector=0.0005, time_scale=1.0)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@contextlib.contextmanager
def smp_bench(workdir: Path, baud: int = SMP_BAUD, **sim: object) -> Iterator[Bench]:
    """A virtual BMS served over SMP on a pty at ``baud``."""
    device = VirtualBms.create(sim_options(workdir, **sim))
    try:
        with (
            SerialFrontEnd(device, FrontEndOptions(baud=baud)) as front_end,
            RecordsDb.open(workdir / "history.sqlite3") as db,
        ):
            link = LinkSettings(kind="serial", port=front_end.port, baud=baud)
            bench = Bench(device, link, workdir, db, front_end)
            try:
                yield bench
            finally:
                bench.close_targets()
    finally:
        device.close()


UDS_BITRATE = 1_000_000


@contextlib.contextmanager
def uds_bench(workdir: Path, bitrate: int = UDS_BITRATE, **sim: object) -> Iterator[Bench]:
    """A virtual BMS served over UDS behind an emulated slcan USB-CAN adapter on a pty."""
    from bmsflasher.sim.wire.can_frontend import start

    device = VirtualBms.create(sim_options(workdir, **sim))
    try:
        with (
            start(device, FrontEndOptions(bitrate=bitrate), "slcan") as simulation,
            RecordsDb.open(workdir / "history.sqlite3") as db,
        ):
            link = LinkSettings(
                kind="can", interface="slcan", channel=simulation.channel, bitrate=bitrate, node=1
            )
            bench = Bench(device, link, workdir, db)
            bench.can = simulation  # type: ignore[attr-defined]
            try:
                yield bench
            finally:
                bench.close_targets()
    finally:
        device.close()

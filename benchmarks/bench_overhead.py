"""Guarded-update overhead: where the seconds around the transfer go, phase by phase.

A guarded update of the demo package 1.1.0 (256 KiB) runs with the shipped default profile (5
stability samples 0.2 s apart, 5 + 10 link round trips, balancing observed on and off) against a
virtual BMS as ``bmsflasher sim`` serves it (0.2 s per start, 5 ms per sector erase, real-time
pack model), over three real OS links:

* SMP on a pty at 115200 baud (the connect rate of a serial BMS), as a USB CDC device whose port
  vanishes while it reboots and re-enumerates 0.3 s after its application is up;
* the same SMP device behind a separate USB-UART adapter, whose port stays across the reboot (the
  tool must notice the device answering again on a port that never went away);
* UDS behind an emulated slcan USB-CAN adapter on a pty at 500 kbit/s.

Each phase is timed from the procedure's own ``StepStarted``/``StepFinished`` events (verify package,
identify, preconditions, backup, transfer, reboot, self-test, confirm, configuration check). The
**overhead** is everything but the transfer phase; it is printed next to a bare upload of the same
image (open, upload, close: no checks) measured in the same run on a fresh device, so the ratio
says how much longer the guarded update is than the upload alone. The virtual BMS's own part of the
reboot (the 0.25 s reset delay, one start and the MCUboot swap of the package's image, timed on a
device of its own, plus the USB re-enumeration where the port re-enumerates) is printed as well:
the overhead minus it is the tool's share.

Run: ``python -m benchmarks --only bench_overhead`` or ``python -m benchmarks.bench_overhead``.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bmsflasher.core.events import Event, StepFinished, StepStarted
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import LinkSettings
from bmsflasher.procedure import (
    UpdateOptions,
    UpdateProcedure,
    build_keyring,
    open_target,
    package_loader,
    profile_for_model,
)
from bmsflasher.procedure.states import State
from bmsflasher.records import RecordsDb
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import (
    REENUMERATION_DELAY_S,
    RESET_DELAY_S,
    SerialDeviceSettings,
    SerialFrontEnd,
)

PACKAGE = resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg")
DEMO_PUB = resource_path("demo", "demo-key.pub.pem")
SMP_BAUD = 115_200
CAN_BITRATE = 500_000
OVERHEAD_TARGET_S = 3.0
SIM_BOOT_TIME_S = 0.2  # what ``bmsflasher sim`` serves


@dataclass
class PhaseClock:
    """Seconds per procedure step, from its StepStarted/StepFinished events."""

    phases: dict[str, float]
    ok: dict[str, bool]

    def __init__(self) -> None:
        self.phases = {}
        self.ok = {}
        self._started: dict[str, float] = {}

    def __call__(self, event: Event) -> None:
        now = time.perf_counter()
        if isinstance(event, StepStarted):
            self._started[event.step] = now
        elif isinstance(event, StepFinished):
            began = self._started.pop(event.step, now)
            self.phases[event.step] = self.phases.get(event.step, 0.0) + now - began
            self.ok[event.step] = event.ok


def _sim(workdir: Path) -> SimOptions:
    return SimOptions(state_file=workdir / "vbms.state", boot_time_s=SIM_BOOT_TIME_S, time_scale=1.0)


@contextlib.contextmanager
def _smp(workdir: Path, *, reenumerate: bool = True) -> Iterator[LinkSettings]:
    device = VirtualBms.create(_sim(workdir))
    settings = SerialDeviceSettings(reenumerate_on_reset=reenumerate)
    try:
        with SerialFrontEnd(device, FrontEndOptions(baud=SMP_BAUD), settings) as front_end:
            yield LinkSettings(kind="serial", port=front_end.port, baud=SMP_BAUD)
    finally:
        device.close()


def _smp_uart(workdir: Path) -> contextlib.AbstractContextManager[LinkSettings]:
    return _smp(workdir, reenumerate=False)


@contextlib.contextmanager
def _uds(workdir: Path) -> Iterator[LinkSettings]:
    from bmsflasher.sim.wire.can_frontend import start

    device = VirtualBms.create(_sim(workdir))
    try:
        with start(device, FrontEndOptions(bitrate=CAN_BITRATE), "slcan") as simulation:
            yield LinkSettings(
                kind="can", interface="slcan", channel=simulation.channel, bitrate=CAN_BITRATE, node=1
            )
    finally:
        device.close()


LINKS: dict[str, Callable[[Path], contextlib.AbstractContextManager[LinkSettings]]] = {
    f"SMP/pty {SMP_BAUD} baud": _smp,
    f"SMP/pty {SMP_BAUD} baud, UART adapter (port stays)": _smp_uart,
    f"UDS/slcan {CAN_BITRATE // 1000} kbit/s": _uds,
}
DEVICE_REBOOT_EXTRA_S: dict[str, float] = {
    f"SMP/pty {SMP_BAUD} baud": RESET_DELAY_S + REENUMERATION_DELAY_S,
    f"SMP/pty {SMP_BAUD} baud, UART adapter (port stays)": RESET_DELAY_S,
}
"""Seconds of the virtual BMS's reboot outside its boot and swap (its front-end's reset delay and USB
re-enumeration); the UDS front-end resets on the ECUReset answer and keeps its bus."""


def device_boot_s(workdir: Path) -> float:
    """One reset of a virtual BMS holding the package's image pending: its start and the swap."""
    keyring = build_keyring([DEMO_PUB], folder=workdir / "boot-keys")
    image = package_loader(PACKAGE, keyring)().image
    device = VirtualBms.create(_sim(workdir / "boot"))
    try:
        offset = device.upload_begin(len(image), hashlib.sha256(image).digest())
        while offset < len(image):
            offset = device.upload_write(offset, image[offset : offset + 4096])
        device.mark_pending()
        started = time.perf_counter()
        device.reset()
        return time.perf_counter() - started
    finally:
        device.close()


def guarded_update(link: LinkSettings, workdir: Path) -> PhaseClock:
    """One guarded update of the demo package with the default profile; seconds per phase."""
    clock = PhaseClock()
    opened = []

    def connect():  # type: ignore[no-untyped-def]
        target = open_target(link, timeout_s=10.0)
        opened.append(target)
        return target

    keyring = build_keyring([DEMO_PUB], folder=workdir / "no-user-keys")
    options = UpdateOptions(
        journal_dir=workdir / "journal", profile=profile_for_model("VBMS-16"), operator="benchmark"
    )
    with RecordsDb.open(workdir / "history.sqlite3") as db:
        try:
            result = UpdateProcedure(package_loader(PACKAGE, keyring), connect, db, clock, options).run()
        finally:
            for target in opened:
                target.close()
    if result.outcome is not State.UPDATED:
        raise RuntimeError(f"the guarded update did not succeed: {result}")
    return clock


def bare_upload_s(link: LinkSettings) -> float:
    """Open, upload the package's image, close: the transfer alone (no checks, no reboot)."""
    keyring = build_keyring([DEMO_PUB], folder=Path(tempfile.mkdtemp(prefix="bench-keys-")))
    image = package_loader(PACKAGE, keyring)().image
    target = open_target(link, timeout_s=10.0)
    try:
        target.identify()
        started = time.perf_counter()
        target.upload_image(image, lambda done, total: None)
        return time.perf_counter() - started
    finally:
        target.close()


def measure(name: str, folder: Path) -> tuple[PhaseClock, float]:
    """(phases of a guarded update, bare upload seconds) on two fresh devices behind ``name``'s link."""
    open_link = LINKS[name]
    with open_link(folder / "bare") as link:
        bare = bare_upload_s(link)
    with open_link(folder / "guarded") as link:
        clock = guarded_update(link, folder / "guarded")
    return clock, bare


def run() -> list[dict[str, object]]:
    """Phase rows and one overhead row per link."""
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-boot-") as tmp:
        (Path(tmp) / "boot").mkdir()
        boot = device_boot_s(Path(tmp))
    for name in LINKS:
        with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
            folder = Path(tmp)
            (folder / "bare").mkdir()
            (folder / "guarded").mkdir()
            clock, bare = measure(name, folder)
        total = sum(clock.phases.values())
        transfer = clock.phases.get("transfer", 0.0)
        overhead = total - transfer
        for phase, seconds in clock.phases.items():
            rows.append(
                {
                    "benchmark": "guarded update phase",
                    "case": f"{name}: {phase}",
                    "value": round(seconds, 2),
                    "unit": "s",
                    "ratio": None,
                    "reference": "",
                }
            )
        rows.append(
            {
                "benchmark": "guarded update overhead",
                "case": (
                    f"{name}: everything but the transfer (guarded update {total:.1f} s, its transfer "
                    f"{transfer:.1f} s, bare upload {bare:.1f} s)"
                ),
                "value": round(overhead, 2),
                "unit": "s",
                "ratio": round(overhead / OVERHEAD_TARGET_S, 3),
                "reference": f"{OVERHEAD_TARGET_S:g} s target",
            }
        )
        if name in DEVICE_REBOOT_EXTRA_S:
            extra = DEVICE_REBOOT_EXTRA_S[name]
            device_s = extra + boot
            rows.append(
                {
                    "benchmark": "guarded update overhead",
                    "case": (
                        f"{name}: of it the virtual BMS's own reboot ({extra:.2f} s reset delay and "
                        f"re-enumeration, {boot:.2f} s start and swap); the tool's share "
                        f"{overhead - device_s:.2f} s"
                    ),
                    "value": round(device_s, 2),
                    "unit": "s",
                    "ratio": None,
                    "reference": "",
                }
            )
        rows.append(
            {
                "benchmark": "guarded update vs bare upload",
                "case": f"{name}: whole guarded update over the bare upload of the same image",
                "value": round(total / bare, 2) if bare else None,
                "unit": "×",
                "ratio": None,
                "reference": f"bare upload {bare:.1f} s",
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)

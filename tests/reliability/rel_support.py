"""Rigs for the tool-level reliability proofs: the real tool against a virtual BMS on a real link.

A :class:`Rig` is one virtual BMS behind a real OS link — a pty speaking SMP (the sim's paced UART)
or an emulated slcan adapter on a pty speaking UDS (python-can's own ``slcan`` driver on the tool
side) — plus the records database and journal folder a technician's machine would hold. The tool
side is the real update procedure, opened through :func:`bmsflasher.procedure.open_target`.

Power is first-class: :meth:`Rig.arm_power_cut` makes the device's flash lose power before (or in
the middle of) its k-th operation; a watcher then waits for the outage, and "power returns" by
restarting the device from its state file (the RAM is gone, the flash is what it is) on the same
stable port name, while the tool keeps running and either resumes by itself or is rerun.

The verdict is taken from the device's own flash, not from the tool's opinion: which image each
slot holds (compared byte for byte with the two images of the release), whether the bootloader
would boot it, and whether the configuration saved in flash is the one the technician set.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[2]
if str(REPO / "tests" / "integration") not in sys.path:
    sys.path.insert(0, str(REPO / "tests" / "integration"))

from proc_support import DEMO_PUB, fast_profile  # noqa: E402

from bmsflasher.core.events import Event  # noqa: E402
from bmsflasher.core.resources import resource_path  # noqa: E402
from bmsflasher.core.target import Target  # noqa: E402
from bmsflasher.core.types import DeviceMode, FirmwareVersion, LinkSettings  # noqa: E402
from bmsflasher.firmware.demo_assets import demo_firmware_payload  # noqa: E402
from bmsflasher.firmware.keys import load_private_key_file  # noqa: E402
from bmsflasher.firmware.mcuboot import DEFAULT_HEADER_SIZE, build_image  # noqa: E402
from bmsflasher.firmware.package import PackageSpec, build_package  # noqa: E402
from bmsflasher.procedure import (  # noqa: E402
    State,
    UpdateOptions,
    UpdateProcedure,
    UpdateResult,
    build_keyring,
    open_target,
    package_loader,
)
from bmsflasher.records import RecordsDb  # noqa: E402
from bmsflasher.sim.device.virtual_bms import VirtualBms  # noqa: E402
from bmsflasher.sim.options import FlashGeometry, SimOptions  # noqa: E402
from bmsflasher.sim.wire import can_frontend  # noqa: E402
from bmsflasher.sim.wire.can_frontend import CanSimulation  # noqa: E402
from bmsflasher.sim.wire.frontend_options import FrontEndOptions  # noqa: E402
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd  # noqa: E402
from wait_support import wait_until  # noqa: E402

MODEL: Final = "VBMS-16"
DEMO_ED_PUB: Final = resource_path("demo", "demo-key-ed25519.pub.pem")
SMALL_IMAGE_BYTES: Final = 2048
"""Small enough that a sweep hits every flash operation of a whole update, big enough for 3 sectors."""
SMALL_GEOMETRY: Final = FlashGeometry(sector_size=1024, write_size=8, slot_sectors=4)
SMP_BAUD: Final = 921_600
CAN_BITRATE: Final = 1_000_000
CUSTOM_CONFIG: Final = {"balance_delta_mv": 25, "capacity_ah": 280.0}
"""A technician's settings that differ from the defaults, so a lost configuration is visible."""
OUTAGE_S: Final = 0.4
_POLL_S: Final = 0.01
_CREATED: Final = datetime(2025, 1, 15, 9, 0, 0, tzinfo=UTC)
_EXPIRES: Final = datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)


# --- a small release: factory image on the device, a signed package for the tool --------------------
@dataclass(frozen=True)
class Release:
    """A device's factory image and one package to update it with (both signed with the demo key)."""

    factory: Path
    package: Path
    old_image: bytes
    new_image: bytes
    new_version: FirmwareVersion

    def image_label(self, data: bytes) -> str:
        """'old', 'new', 'empty' or 'foreign' for what a slot holds."""
        if data == self.old_image:
            return "old"
        if data == self.new_image:
            return "new"
        return "empty" if not data else "foreign"


def signed_image(
    version: str, counter: int, size: int = SMALL_IMAGE_BYTES, behaviour: str | None = None
) -> bytes:
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    parsed = FirmwareVersion.parse(version)
    return build_image(
        demo_firmware_payload(parsed, size),
        version=parsed,
        security_counter=counter,
        key=key,
        header_size=DEFAULT_HEADER_SIZE,
        sim_behaviour=behaviour,
    )


def write_package(
    path: Path,
    image: bytes,
    version: str,
    counter: int,
    *,
    model: str = MODEL,
    hardware_revisions: tuple[str, ...] = ("B", "C"),
    min_bootloader: str = "1.0.0",
    behaviour: str = "healthy",
) -> Path:
    """Write a demo-signed package for ``image``; the spec fields are what the gates look at."""
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    spec = PackageSpec(
        model=model,
        hardware_revisions=hardware_revisions,
        version=FirmwareVersion.parse(version),
        security_counter=counter,
        min_bootloader_version=FirmwareVersion.parse(min_bootloader),
        release_notes="Reliability sweep release.",
        created=_CREATED,
        expires=_EXPIRES,
        sim_behaviour=behaviour,
    )
    path.write_bytes(build_package(spec, image, key))
    return path


def small_release(folder: Path, *, version: str = "1.1.0", counter: int = 2) -> Release:
    """Factory 1.0.0 (counter 1) and a package of ``version``, both :data:`SMALL_IMAGE_BYTES` of code."""
    folder.mkdir(parents=True, exist_ok=True)
    old = signed_image("1.0.0", 1)
    new = signed_image(version, counter)
    factory = folder / "factory-1.0.0.img"
    factory.write_bytes(old)
    package = write_package(folder / f"{MODEL}-{version}.bmspkg", new, version, counter)
    return Release(factory, package, old, new, FirmwareVersion.parse(version))


# --- the device's own verdict -----------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """What the device's flash says after a fault (read from the device, not from the tool).

    Attributes:
        mode: the mode the device booted into.
        bootable: the bootloader boots a valid image (not stuck in recovery).
        running: 'old', 'new' or 'foreign' — what slot 0 holds.
        standby: what slot 1 holds ('old', 'new', 'empty', 'foreign' — a partial upload is 'foreign').
        confirmed: the running image is confirmed (permanent).
        config_intact: the configuration saved in flash equals what the technician had set.
        corrupt_accepted: a slot the bootloader would boot holds bytes that are neither image.
    """

    mode: DeviceMode
    bootable: bool
    running: str
    standby: str
    confirmed: bool
    config_intact: bool
    corrupt_accepted: bool

    @property
    def completed(self) -> bool:
        return (
            self.bootable and self.running == "new" and self.confirmed and self.mode is DeviceMode.APPLICATION
        )

    @property
    def unchanged(self) -> bool:
        return (
            self.bootable and self.running == "old" and self.confirmed and self.mode is DeviceMode.APPLICATION
        )


def verdict(device: VirtualBms, release: Release, config: dict[str, object]) -> Verdict:
    slots = device.slots()
    running_bytes = device.image_bytes(0)
    running = release.image_label(running_bytes)
    standby = release.image_label(device.image_bytes(1))
    bootable = device.mode is not DeviceMode.RECOVERY and device.image_problem(0) is None
    active = next((s for s in slots if s.active), None)
    corrupt = False
    for index in (0, 1):
        label = running if index == 0 else standby
        if label == "foreign" and device.image_problem(index) is None:
            corrupt = True  # the bootloader would accept bytes that are not a released image
    if bootable and running == "foreign":
        corrupt = True
    saved = dict(device.saved_config().parameters)
    intact = all(saved.get(name) == value for name, value in config.items())
    return Verdict(
        device.mode,
        bootable,
        running,
        standby,
        bool(active and active.confirmed),
        intact,
        corrupt,
    )


# --- the rig ----------------------------------------------------------------------------------------
@dataclass
class Rig:
    """A virtual BMS on a real link, its records and journal, and a power switch.

    Args:
        workdir: holds the device's state file, the history database and the journal.
        protocol: 'smp' (pty, MCUmgr SMP) or 'uds' (slcan adapter on a pty, or python-can virtual).
        sim: options of the device (its state file must be set: a restart is a power cycle).
        front: link options (baud, bit rate, faults); the stable port path is filled in here.
        can_link: 'slcan' (a real pty + python-can's slcan driver) or 'virtual'.
    """

    workdir: Path
    protocol: str
    sim: SimOptions
    front: FrontEndOptions
    can_link: str = "slcan"
    events: list[Event] = field(default_factory=list)
    device: VirtualBms | None = None
    restarts: int = 0
    boot_checks: list[bool] = field(default_factory=list)
    pulls: list[float] = field(default_factory=list)
    """When (monotonic) each cable pull reached the device's link: the proof that a pull happened."""
    _serial: SerialFrontEnd | None = None
    _can: CanSimulation | None = None
    _opened: list[Target] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _watcher: threading.Thread | None = None
    _timers: list[threading.Timer] = field(default_factory=list)
    _stop_watch: threading.Event = field(default_factory=threading.Event)
    db: RecordsDb | None = None

    # --- lifecycle ---
    def start(self) -> Rig:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db = RecordsDb.open(self.workdir / "history.sqlite3")
        self._power_up()
        return self

    def _power_up(self) -> None:
        device = VirtualBms.create(self.sim)
        try:
            if self.protocol == "smp":
                options = dataclasses.replace(self.front, link_path=str(self.workdir / "ttyBMS"))
                self._serial = SerialFrontEnd(device, options).start()
            else:
                options = dataclasses.replace(self.front, link_path=str(self.workdir / "slcan0"))
                self._can = can_frontend.start(device, options, self.can_link)
        except BaseException:
            device.close()
            raise
        self.device = device

    def _power_down(self) -> None:
        if self._serial is not None:
            self._serial.stop()
            self._serial = None
        if self._can is not None:
            self._can.close()
            self._can = None
        if self.device is not None:
            self.device.close()
            self.device = None

    def restart(self) -> None:
        """Power returns: the device restarts from its state file and the port enumerates again."""
        with self._lock:
            self._power_down()
            self._power_up()
            self.restarts += 1
            assert self.device is not None
            self.boot_checks.append(
                self.device.mode is not DeviceMode.RECOVERY and self.device.image_problem(0) is None
            )

    def stop(self) -> None:
        self.disarm()
        for timer in self._timers:
            timer.cancel()
        self.join_timers()
        self.close_targets()
        with self._lock:
            self._power_down()
        if self.db is not None:
            self.db.close()
            self.db = None

    def __enter__(self) -> Rig:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- the device ---
    @property
    def dev(self) -> VirtualBms:
        assert self.device is not None
        return self.device

    def customise(self, values: dict[str, object] | None = None) -> dict[str, object]:
        """Set the technician's configuration and save it to flash; returns what was set."""
        chosen = dict(values or CUSTOM_CONFIG)
        self.dev.set_parameters(chosen)  # type: ignore[arg-type]
        self.dev.save_config()
        return chosen

    def ops(self) -> int:
        return self.dev.flash.ops_done

    @property
    def link(self) -> LinkSettings:
        if self.protocol == "smp":
            return LinkSettings(kind="serial", port=str(self.workdir / "ttyBMS"), baud=self.front.baud)
        channel = str(self.workdir / "slcan0") if self.can_link == "slcan" else self.front.channel
        return LinkSettings(
            kind="can", interface=self.can_link, channel=channel, bitrate=self.front.bitrate, node=1
        )

    # --- power faults ---
    def arm_power_cut(self, op: int, *, torn: bool, outage_s: float = OUTAGE_S) -> None:
        """Cut the supply before (or during, when ``torn``) the ``op``-th flash operation from now.

        A watcher restarts the device from its state file ``outage_s`` after it went dark.
        """
        faults = self.dev.flash.faults
        if torn:
            faults.tear_op = self.dev.flash.ops_done + op
        else:
            faults.cut_before_op = self.dev.flash.ops_done + op
        device = self.dev
        self._stop_watch.clear()

        def watch() -> None:
            while not self._stop_watch.is_set():
                if not device.powered:
                    time.sleep(outage_s)
                    self.restart()
                    return
                time.sleep(_POLL_S)

        self._watcher = threading.Thread(target=watch, name="rel-power-watch", daemon=True)
        self._watcher.start()

    def disarm(self) -> None:
        self._stop_watch.set()
        if self._watcher is not None:
            self._watcher.join(timeout=30.0)
            self._watcher = None
        with self._lock:
            if self.device is not None:
                self.device.flash.faults.clear()

    # --- link faults ---
    def pull_cable(self, replug_after_s: float) -> None:
        """Pull the USB cable now (the port vanishes) and plug it back ``replug_after_s`` later."""
        with self._lock:
            if self._serial is not None:
                self._serial.pull_cable(replug_after_s=replug_after_s)
                self.pulls.append(time.monotonic())
                return
            assert self._can is not None
            assert self._can.adapter is not None
            adapter = self._can.adapter
            adapter.unplug()
            self.pulls.append(time.monotonic())
        timer = threading.Timer(replug_after_s, adapter.replug)
        timer.name = "rel-replug"
        timer.start()
        self._timers.append(timer)

    def pull_cable_later(self, delay_s: float, replug_after_s: float) -> None:
        """Schedule a cable pull ``delay_s`` from now (the tool keeps running meanwhile)."""
        timer = threading.Timer(delay_s, self.pull_cable, args=(replug_after_s,))
        timer.name = "rel-pull"
        timer.start()
        self._timers.append(timer)

    def wait_for_port(self, timeout_s: float = 10.0) -> None:
        """Wait until the port's stable name is back (it vanishes while the cable is out)."""
        assert self.protocol == "smp" or self.can_link == "slcan", "only a USB port can be pulled"
        port = Path(self.link.port if self.protocol == "smp" else str(self.link.channel))
        wait_until(port.exists, timeout_s, f"the port {port} came back")

    def join_timers(self) -> None:
        for timer in self._timers:
            timer.join(timeout=10.0)
        self._timers.clear()

    # --- the tool ---
    def connect(self) -> Target:
        target = open_target(self.link, timeout_s=10.0)
        self._opened.append(target)
        return target

    def close_targets(self) -> None:
        for target in self._opened:
            target.close()
        self._opened.clear()

    def flash(
        self, package: Path, sink: Callable[[Event], None] | None = None, **options: object
    ) -> UpdateResult:
        """One run of the real update procedure, as ``bmsflasher flash --yes`` does it."""
        assert self.db is not None
        keyring = build_keyring([DEMO_PUB, DEMO_ED_PUB], folder=self.workdir / "no-user-keys")
        opts = UpdateOptions(
            journal_dir=self.workdir / "journal", profile=fast_profile(), operator="reliability"
        )
        opts = dataclasses.replace(opts, **options)  # type: ignore[arg-type]
        try:
            return UpdateProcedure(
                package_loader(package, keyring), self.connect, self.db, sink or self.events.append, opts
            ).run()
        finally:
            self.close_targets()

    def flash_until_settled(self, package: Path, attempts: int = 3) -> list[UpdateResult]:
        """Rerun the tool (as a technician would) until it ends UPDATED, ROLLED_BACK or REFUSED."""
        results: list[UpdateResult] = []
        for _ in range(attempts):
            results.append(self.flash(package))
            if results[-1].outcome in (State.UPDATED, State.ROLLED_BACK, State.REFUSED):
                break
        return results


def make_rig(
    workdir: Path,
    protocol: str,
    release: Release,
    *,
    can_link: str = "slcan",
    sim_changes: dict[str, object] | None = None,
    **front: object,
) -> Rig:
    """A rig holding ``release``'s factory image on the small flash, on a fresh state file."""
    sim = SimOptions(
        state_file=workdir / "vbms.state",
        factory_image=release.factory,
        geometry=SMALL_GEOMETRY,
        erase_time_s_per_sector=0.0,
        time_scale=1.0,
    )
    sim = dataclasses.replace(sim, **(sim_changes or {}))  # type: ignore[arg-type]
    defaults: dict[str, object] = {
        "baud": SMP_BAUD,
        "bitrate": CAN_BITRATE,
        "channel": f"rel-{uuid.uuid4().hex[:8]}",
    }
    defaults.update(front)
    return Rig(workdir, protocol, sim, FrontEndOptions(**defaults), can_link=can_link)  # type: ignore[arg-type]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]

"""The virtual BMS: one device object the protocol front-ends drive (see docs/design/sim-api.md).

It ties together the pack model (physics), the firmware logic (measurement, protection,
balancing, DTCs, self-test), the flash (images, boot state, configuration) and the bootloader
(MCUboot semantics). Every public method is thread-safe and raises only :mod:`bmsflasher.sim.errors`
exceptions; a simulated power cut turns the device off until :meth:`VirtualBms.power_on`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Final

from bmsflasher.core.types import (
    ConfigSnapshot,
    DeviceIdentity,
    DeviceMode,
    DeviceSelfTest,
    Dtc,
    FirmwareVersion,
    PackTelemetry,
    ParameterValue,
    SelfTestCheck,
    SlotState,
)
from bmsflasher.sim.device import monitor
from bmsflasher.sim.device.behaviours import SELFTEST_FAIL, Behaviour, parse_behaviour
from bmsflasher.sim.device.config import SCHEMA, SCHEMA_VERSION, ConfigStore, ParameterSpec, factory_defaults
from bmsflasher.sim.device.dtcs import DtcMemory
from bmsflasher.sim.device.pack import PackModel, PackScenario
from bmsflasher.sim.errors import (
    SimDowngradeError,
    SimError,
    SimImageRejectedError,
    SimModeError,
    SimParameterError,
    SimPoweredOffError,
    SimStateError,
    SimUploadError,
)
from bmsflasher.sim.flash.bootloader import Bootloader, ResetReason, SlotImage, SlotInspector
from bmsflasher.sim.flash.bootstate import NO_UPLOAD, BootState, BootStateStore, SwapRequest
from bmsflasher.sim.flash.faults import PowerCut
from bmsflasher.sim.flash.images import ImageInfo, ImageParseError, ImageVerifier, parse_image
from bmsflasher.sim.flash.memory import Flash
from bmsflasher.sim.flash.swap import erase_secondary_trailer
from bmsflasher.sim.options import BOOTLOADER_VERSION, MAX_CELLS, MIN_CELLS, SimOptions

__all__ = [
    "ParameterSpec",
    "SimDowngradeError",
    "SimError",
    "SimImageRejectedError",
    "SimModeError",
    "SimOptions",
    "SimParameterError",
    "SimPoweredOffError",
    "SimStateError",
    "SimUploadError",
    "UploadStatus",
    "VirtualBms",
]

CALIBRATION_TOLERANCE_PCT: Final = 0.5
_UPLOAD_PIECE_BYTES: Final = 1024
_FLASH_ERRORS = (PowerCut,)


@dataclass(frozen=True, slots=True)
class UploadStatus:
    """The upload in progress (RAM state: a reset forgets it, the next ``upload_begin`` resumes).

    Attributes:
        slot: target slot, or -1 when no upload is in progress.
        offset: bytes received so far.
        total: the image size announced by ``upload_begin``.
        image_sha256: the SHA-256 of the whole image announced by ``upload_begin``.
    """

    slot: int
    offset: int
    total: int
    image_sha256: bytes

    @property
    def active(self) -> bool:
        return self.slot >= 0

    @property
    def complete(self) -> bool:
        return self.active and self.offset == self.total


@dataclass(slots=True)
class _UploadSession:
    slot: int
    total: int
    sha256: bytes
    flushed: int  # bytes programmed into flash
    pending: bytes  # received bytes waiting for a full write unit

    @property
    def offset(self) -> int:
        return self.flushed + len(self.pending)


class VirtualBms:
    """A simulated smart BMS with dual-bank flash and an MCUboot-style bootloader.

    Create it with :meth:`create`. The flash persists in ``options.state_file`` (if set), so a new
    process on the same file is the same device after a power cycle.
    """

    def __init__(self, options: SimOptions, flash: Flash, verifier: ImageVerifier) -> None:
        self._options = options
        self._flash = flash
        self._lock = threading.RLock()
        self._inspector = SlotInspector(flash, verifier)
        self._boot = BootStateStore(flash)
        self._configs = ConfigStore(flash)
        self._bootloader = Bootloader(flash, self._boot, self._inspector, boot_time_s=options.boot_time_s)
        self._listeners: list[Callable[[], None]] = []
        self._dtcs = DtcMemory()
        self._powered = False
        self._mode = DeviceMode.RECOVERY
        self._recovery_reason = ""
        self._running: ImageInfo | None = None
        self._behaviour = parse_behaviour("healthy")
        self._upload: _UploadSession | None = None
        self._saved: dict[str, ParameterValue] = {}
        self._staged: dict[str, ParameterValue] = {}
        self._forced_balancing: set[int] = set()
        self._balancing: tuple[bool, ...] = ()
        self._pack: PackModel | None = None
        self._clock_real_s = time.monotonic()
        self._master_secret = _read_master_secret(options.security_master)

    # --- life cycle --------------------------------------------------------------------------
    @classmethod
    def create(
        cls, options: SimOptions, *, flash_contents: bytes | None = None, powered: bool = True
    ) -> VirtualBms:
        """Build a new device or restore one from ``options.state_file``, then power it on.

        Args:
            options: the device options.
            flash_contents: a :meth:`Flash.snapshot` to start from instead of factory programming
                (tests clone a device in a given state with it).
            powered: False leaves the device off (tests arm flash faults before the first boot).

        Raises:
            SimError: an option is out of range, a key or image file is unusable, or the state
                file belongs to something else (one sentence saying which).
        """
        if not MIN_CELLS <= options.cells <= MAX_CELLS:
            raise SimError(f"the cell count must be {MIN_CELLS}..{MAX_CELLS}, not {options.cells}")
        if options.time_scale < 0 or options.erase_time_s_per_sector < 0 or options.boot_time_s < 0:
            raise SimError("time scale, erase time and boot time must not be negative")
        try:
            options.geometry.validate()
        except ValueError as exc:
            raise SimError(f"invalid flash geometry: {exc}") from exc
        try:
            verifier = ImageVerifier(options.trusted_key)
        except ValueError as exc:
            raise SimError(str(exc)) from exc
        flash = Flash(
            options.geometry,
            state_file=options.state_file,
            erase_time_s_per_sector=options.erase_time_s_per_sector,
            seed=options.seed,
        )
        device = cls(options, flash, verifier)
        try:
            if flash_contents is not None:
                flash.load_snapshot(flash_contents)
            if flash.created:
                device._provision()
            device._build_pack()
            if powered:
                device.power_on()
        except BaseException:
            flash.close()
            raise
        return device

    def _provision(self) -> None:
        """Factory programming: the factory image, the boot state and the default configuration."""
        options = self._options
        g = options.geometry
        if not options.recovery:
            try:
                image = options.factory_image.read_bytes()
            except OSError as exc:
                raise SimError(
                    f"cannot read the factory image {options.factory_image}: {exc.strerror}"
                ) from exc
            try:
                info = parse_image(image)
            except ImageParseError as exc:
                raise SimError(
                    f"the factory image {options.factory_image} is not an MCUboot image: {exc}"
                ) from exc
            if info.total_size > g.slot_size:
                raise SimError(
                    f"the factory image ({info.total_size} bytes) does not fit a {g.slot_size}-byte slot"
                )
            unit = g.write_size
            padded = image[: info.total_size]
            padded += b"\xff" * (-len(padded) % unit)
            for start in range(0, len(padded), g.sector_size):
                self._flash.write(g.slot_offset(0) + start, padded[start : start + g.sector_size])
        self._boot.load()
        self._boot.save(BootState())
        serial = options.serial_number or options.default_serial()
        defaults = factory_defaults(options.chemistry, options.cells, serial, options.hardware_revision)
        self._configs.save(ConfigSnapshot(SCHEMA_VERSION, defaults))

    def _build_pack(self) -> None:
        stored = self._configs.load()
        cells = self._options.cells
        if stored is not None and isinstance(stored.parameters.get("cell_count"), int):
            cells = int(stored.parameters["cell_count"])
        o = self._options
        scenario = PackScenario(
            cells,
            o.chemistry,
            o.soc_pct,
            o.soh_pct,
            o.ambient_c,
            o.load_a,
            o.noise_mv,
            o.failed_sensor,
            o.weak_cell,
            o.seed,
        )
        try:
            self._pack = PackModel(scenario)
        except ValueError as exc:
            raise SimError(str(exc)) from exc

    def close(self) -> None:
        """Release the state file. The device object must not be used afterwards."""
        with self._lock:
            self._powered = False
            self._flash.close()

    def __enter__(self) -> VirtualBms:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def flash(self) -> Flash:
        """The flash, for fault injection (``flash.faults``) and inspection in tests."""
        return self._flash

    @property
    def options(self) -> SimOptions:
        return self._options

    @property
    def powered(self) -> bool:
        """False after a simulated power cut, until :meth:`power_on`."""
        return self._powered

    @property
    def boot_state(self) -> BootState:
        """The bootloader's persistent state (for tests and the diagnostics of the sim CLI)."""
        with self._lock:
            return self._boot.state

    @property
    def recovery_reason(self) -> str:
        """Why the bootloader stayed in recovery mode (empty otherwise)."""
        return self._recovery_reason

    def add_reset_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (from the resetting thread, outside the lock) after every reboot."""
        with self._lock:
            self._listeners.append(callback)

    def remove_reset_listener(self, callback: Callable[[], None]) -> None:
        """Stop calling a listener added with :meth:`add_reset_listener`."""
        with self._lock, contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    # --- power and reset ---------------------------------------------------------------------
    def power_on(self) -> None:
        """Supply power: the bootloader runs (a power-on reset). Does nothing if already on."""
        with self._lock:
            if self._powered:
                return
            self._powered = True
            self._boot_now(ResetReason.POWER_ON)
        self._notify()

    def power_off(self) -> None:
        """Remove power at once (between flash operations)."""
        with self._lock:
            self._powered = False
            self._upload = None

    def power_cycle(self) -> None:
        """Power off and on again."""
        self.power_off()
        self.power_on()

    def reset(self) -> None:
        """Reboot (ECUReset / SMP reset): the bootloader swaps, reverts or stays in recovery as needed."""
        with self._lock:
            self._require_power()
            self._boot_now(ResetReason.SOFTWARE)
        self._notify()

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            callback()

    def _boot_now(self, reason: ResetReason) -> None:
        self._upload = None
        self._forced_balancing.clear()
        self._running = None
        self._mode = DeviceMode.RECOVERY
        self._dtcs.new_operation_cycle()
        with self._flash_guard():
            outcome = self._bootloader.boot(reason)
        if outcome.reverted:
            self._dtcs.record_boot_failure(
                "Firmware failed to start or was not confirmed; previous image restored"
            )
        stored = self._configs.load()
        serial = self._options.serial_number or self._options.default_serial()
        defaults = factory_defaults(
            self._options.chemistry, self._options.cells, serial, self._options.hardware_revision
        )
        self._saved = dict(defaults)
        if stored is not None:
            self._saved.update({k: v for k, v in stored.parameters.items() if k in SCHEMA})
        self._staged = dict(self._saved)
        if outcome.running:
            self._running = self._inspector.inspect(0).info
            self._behaviour = parse_behaviour(self._running.behaviour if self._running else "healthy")
            self._mode = DeviceMode.APPLICATION
            self._recovery_reason = ""
        else:
            self._behaviour = parse_behaviour("healthy")
            self._recovery_reason = outcome.reason
        self._clock_real_s = time.monotonic()

    @contextlib.contextmanager
    def _flash_guard(self) -> Iterator[None]:
        """Turn a simulated power cut during flash work into 'the device is now off'."""
        try:
            yield
        except PowerCut as cut:
            self._powered = False
            self._upload = None
            raise SimPoweredOffError(f"the device lost power ({cut})") from cut

    def _require_power(self) -> None:
        if not self._powered:
            raise SimPoweredOffError("the device has no power")

    def _require_mode(self, *modes: DeviceMode, what: str) -> None:
        self._require_power()
        if self._mode not in modes:
            raise SimModeError(f"{what} is not available in {self._mode.value} mode")

    # --- identity ----------------------------------------------------------------------------
    @property
    def mode(self) -> DeviceMode:
        """What runs now: the application, the bootloader (programming session) or recovery."""
        with self._lock:
            self._require_power()
            return self._mode

    def enter_bootloader(self) -> None:
        """Switch to the bootloader with the application image kept (UDS programming session)."""
        with self._lock:
            self._require_mode(DeviceMode.APPLICATION, DeviceMode.BOOTLOADER, what="entering the bootloader")
            self._mode = DeviceMode.BOOTLOADER

    @property
    def behaviour(self) -> str:
        """The running firmware's sim behaviour text (``healthy`` in the bootloader or recovery)."""
        with self._lock:
            return self._behaviour.text if self._mode is DeviceMode.APPLICATION else "healthy"

    @property
    def serial_number(self) -> str:
        return str(self._saved.get("serial_number", ""))

    @property
    def security_secret(self) -> bytes:
        """Per-device secret of the UDS seed/key: HMAC-SHA256(master secret, serial number)."""
        return hmac.new(self._master_secret, self.serial_number.encode(), hashlib.sha256).digest()

    def identity(self) -> DeviceIdentity:
        """Model, serial, revisions, versions, mode, slot states and the stored security counter."""
        with self._lock:
            self._require_power()
            running = self._running if self._mode is not DeviceMode.RECOVERY else None
            return DeviceIdentity(
                model=f"VBMS-{self._saved.get('cell_count', self._options.cells)}",
                serial_number=self.serial_number,
                hardware_revision=str(self._saved.get("hardware_revision", "")),
                firmware_version=running.version if running else None,
                bootloader_version=FirmwareVersion.parse(BOOTLOADER_VERSION),
                mode=self._mode,
                slots=self._slot_states(),
                security_counter=self._boot.state.security_counter,
            )

    def slots(self) -> tuple[SlotState, ...]:
        """Slot 0 (primary) and slot 1 (secondary) with MCUboot image-state flags."""
        with self._lock:
            self._require_power()
            return self._slot_states()

    def _slot_states(self) -> tuple[SlotState, ...]:
        state = self._boot.state
        request = self._bootloader.pending_request(state)  # the secondary trailer's, else the log's
        result = []
        for slot in (0, 1):
            verdict = self._inspector.bootable(slot, state.security_counter)
            info = verdict.info
            active = slot == 0 and self._mode is not DeviceMode.RECOVERY
            if slot == 0:
                confirmed = verdict.valid and not state.primary_test
                pending = permanent = False
            else:
                confirmed = verdict.valid and state.primary_test  # the image a revert restores
                pending = request is not SwapRequest.NONE
                permanent = request is SwapRequest.PERMANENT
            result.append(
                SlotState(
                    slot=slot,
                    version=info.version if info else None,
                    image_hash=info.image_hash if info else b"",
                    bootable=verdict.valid,
                    pending=pending,
                    confirmed=confirmed,
                    active=active,
                    permanent=permanent,
                )
            )
        return tuple(result)

    def image_problem(self, slot: int) -> str | None:
        """Why the bootloader would refuse the image in ``slot`` (None when it would boot it)."""
        with self._lock:
            self._require_power()
            self._check_slot_number(slot)
            return self._inspector.bootable(slot, self._boot.state.security_counter).problem

    def image_bytes(self, slot: int) -> bytes:
        """The image in ``slot`` exactly as stored (empty when none parses): tests compare bytes."""
        with self._lock:
            self._check_slot_number(slot)
            return self._inspector.image_bytes(slot)

    # --- telemetry, configuration, DTCs, self-test -------------------------------------------
    def advance_time(self, seconds: float) -> None:
        """Move the pack's simulated time forward by ``seconds`` (deterministic tests use time_scale 0)."""
        with self._lock:
            self._advance(seconds)

    def set_load(self, load_a: float) -> None:
        """Change the load current (discharge positive, charge negative)."""
        with self._lock:
            self._sync_clock()
            self._pack_model().set_load(load_a)

    def set_ambient(self, ambient_c: float) -> None:
        """Change the ambient temperature the pack drifts towards."""
        with self._lock:
            self._sync_clock()
            self._pack_model().ambient_c = ambient_c

    def _pack_model(self) -> PackModel:
        if self._pack is None:
            raise SimError("the pack model is not built")
        return self._pack

    def _sync_clock(self) -> None:
        now = time.monotonic()
        elapsed = (now - self._clock_real_s) * self._options.time_scale
        self._clock_real_s = now
        self._advance(elapsed)

    def _advance(self, seconds: float) -> None:
        pack = self._pack_model()
        pack.advance(seconds)
        reading = pack.read()
        cells = monitor.measure_cells(reading, self._staged, self._behaviour)
        running = self._powered and self._mode is DeviceMode.APPLICATION
        self._balancing = (
            monitor.balancing_decision(cells, self._staged, self._forced_balancing)
            if running
            else (False,) * len(cells)
        )
        pack.bleeding = list(self._balancing)

    def telemetry(self) -> PackTelemetry:
        """Advance the pack to now and report it as the running firmware measures it."""
        with self._lock:
            self._require_mode(DeviceMode.APPLICATION, what="telemetry")
            self._sync_clock()
            reading = self._pack_model().read()
            sample = monitor.telemetry(reading, self._staged, self._behaviour, self._balancing)
            self._dtcs.update(sample.alarms)
            return sample

    def config(self) -> ConfigSnapshot:
        """The parameters in effect (saved plus staged changes) and the schema version."""
        with self._lock:
            self._require_mode(
                DeviceMode.APPLICATION, DeviceMode.BOOTLOADER, what="reading the configuration"
            )
            return ConfigSnapshot(SCHEMA_VERSION, MappingProxyType(dict(self._staged)))

    def saved_config(self) -> ConfigSnapshot:
        """The configuration as persisted in flash (what survives a reset)."""
        with self._lock:
            self._require_power()
            return ConfigSnapshot(SCHEMA_VERSION, MappingProxyType(dict(self._saved)))

    def config_schema(self) -> Mapping[str, ParameterSpec]:
        """Every parameter's type, unit, range and writability, in a stable order."""
        return SCHEMA

    def set_parameters(self, values: Mapping[str, ParameterValue]) -> None:
        """Validate all values, then stage them (nothing is staged if any one is invalid)."""
        with self._lock:
            self._require_mode(
                DeviceMode.APPLICATION, DeviceMode.BOOTLOADER, what="writing the configuration"
            )
            checked: dict[str, ParameterValue] = {}
            for name, value in values.items():
                spec = SCHEMA.get(name)
                if spec is None:
                    raise SimParameterError(name, f"there is no parameter '{name}'")
                checked[name] = spec.validate(value)
            merged = {**self._staged, **checked}
            if int(merged["cell_undervoltage_mv"]) >= int(merged["cell_overvoltage_mv"]):
                raise SimParameterError(
                    "cell_undervoltage_mv",
                    "parameter 'cell_undervoltage_mv' must be below 'cell_overvoltage_mv'",
                )
            self._staged = merged

    def save_config(self) -> None:
        """Persist the staged configuration atomically (A/B record; a cut keeps the old one whole)."""
        with self._lock:
            self._require_mode(DeviceMode.APPLICATION, DeviceMode.BOOTLOADER, what="saving the configuration")
            snapshot = ConfigSnapshot(SCHEMA_VERSION, dict(self._staged))
            with self._flash_guard():
                self._configs.save(snapshot)
            self._saved = dict(self._staged)

    def dtcs(self) -> list[Dtc]:
        """Stored diagnostic trouble codes (active alarms refresh them)."""
        with self._lock:
            self._require_mode(DeviceMode.APPLICATION, DeviceMode.BOOTLOADER, what="reading DTCs")
            if self._mode is DeviceMode.APPLICATION:
                self._sync_clock()
                reading = self._pack_model().read()
                cells = monitor.measure_cells(reading, self._staged, self._behaviour)
                self._dtcs.update(
                    monitor.alarms(cells, reading.temperatures_c, reading.current_a, self._staged)
                )
            return self._dtcs.list()

    def clear_dtcs(self) -> None:
        """Forget stored DTCs (codes of alarms still active come back at the next sample)."""
        with self._lock:
            self._require_mode(DeviceMode.APPLICATION, DeviceMode.BOOTLOADER, what="clearing DTCs")
            self._dtcs.clear()

    def set_balancing(self, cell: int, on: bool) -> None:
        """Force balancing of one cell on or off (a service check of the bleed circuit)."""
        with self._lock:
            self._require_mode(DeviceMode.APPLICATION, what="balancing control")
            cells = self._pack_model().cells
            if not 0 <= cell < cells:
                raise SimParameterError("cell", f"cell {cell} does not exist (cells 0..{cells - 1})")
            self._sync_clock()
            if on:
                self._forced_balancing.add(cell)
            else:
                self._forced_balancing.discard(cell)
            self._advance(0.0)

    def self_test(self) -> DeviceSelfTest:
        """Device-side checks after an update: calibration, sensors, balancing, firmware."""
        with self._lock:
            self._require_mode(DeviceMode.APPLICATION, what="the self-test")
            self._sync_clock()
            reading = self._pack_model().read()
            return _self_test(reading.pack_mv, self._staged, self._behaviour, reading, self._running)

    # --- images ------------------------------------------------------------------------------
    def upload_status(self) -> UploadStatus:
        """The upload in progress (slot -1 when none)."""
        with self._lock:
            session = self._upload
            if session is None:
                return UploadStatus(-1, 0, 0, b"")
            return UploadStatus(session.slot, session.offset, session.total, session.sha256)

    def _check_slot_number(self, slot: int) -> None:
        if slot not in (0, 1):
            raise SimUploadError(f"slot {slot} does not exist (slots 0 and 1)")

    def _check_writable_slot(self, slot: int) -> None:
        self._check_slot_number(slot)
        if slot == 0 and self._mode is DeviceMode.APPLICATION:
            raise SimModeError(
                "the primary slot holds the running image; write it only in the bootloader or recovery"
            )
        if slot == 1 and self._boot.state.primary_test and self._mode is not DeviceMode.RECOVERY:
            raise SimStateError(
                "the running image is still on test and slot 1 holds the image to revert to; "
                "confirm the running image or reset to revert first"
            )

    def upload_begin(self, total_size: int, image_sha256: bytes, slot: int = 1) -> int:
        """Start an upload, or resume the same image; returns the offset the device already holds.

        ``image_sha256`` names the upload (MCUmgr's ``sha``). The specification lets a client send
        a shortened hash or none at all: a shorter tag still resumes but the finished image is not
        checked against it; an empty one never resumes (every such upload starts afresh).
        """
        with self._lock:
            self._require_power()
            self._check_writable_slot(slot)
            slot_size = self._flash.geometry.slot_size
            if not 0 < total_size <= slot_size:
                raise SimUploadError(f"an image of {total_size} bytes does not fit the {slot_size}-byte slot")
            if len(image_sha256) > 32:
                raise SimUploadError("the image SHA-256 is at most 32 bytes")
            session = self._upload
            wanted = (slot, total_size, image_sha256)
            if (
                image_sha256
                and session is not None
                and (session.slot, session.total, session.sha256) == wanted
            ):
                return session.offset
            state = self._boot.state
            held = 0
            if image_sha256 and (state.upload_slot, state.upload_size, state.upload_sha256) == (
                slot,
                total_size,
                image_sha256,
            ):
                held = self._held_offset(slot, total_size, image_sha256)
            else:
                held = self._held_offset(slot, total_size, image_sha256, whole_only=True)
                new_state = replace(
                    state, upload_slot=slot, upload_size=total_size, upload_sha256=image_sha256
                )
                if slot == 1:
                    new_state = replace(new_state, request=SwapRequest.NONE)
                else:
                    new_state = replace(
                        new_state, primary_test=False, primary_confirmed=True, boot_failures=0
                    )
                with self._flash_guard():
                    if held == 0:
                        self._clear_for_upload(slot, total_size)
                    else:
                        self._erase_stale_trailer(slot, total_size)
                    self._boot.save(new_state)
            self._upload = _UploadSession(slot, total_size, image_sha256, held, b"")
            return held

    def _clear_for_upload(self, slot: int, total: int) -> None:
        """Forget the previous upload, then erase the new image's area (slow: proportional to size).

        Because the record of a new upload is written only after its area is erased, every byte
        in that area is later either erased or this image's data: the resume scan stays truthful.
        """
        state = self._boot.state
        if state.upload_slot != NO_UPLOAD or (slot == 1 and state.request is not SwapRequest.NONE):
            self._boot.save(replace(state, upload_slot=NO_UPLOAD, request=SwapRequest.NONE))
        self._erase_stale_trailer(slot, total)
        g = self._flash.geometry
        for start in range(0, total, g.sector_size):
            address = g.slot_offset(slot) + start
            if not self._flash.is_erased(address, g.sector_size):
                self._flash.erase_sector(address)

    def _erase_stale_trailer(self, slot: int, total: int) -> None:
        """Erase a secondary-slot trailer the new image will not overwrite (it would ask for a swap).

        A new upload cancels a pending request, and the trailer of an earlier padded image is one.
        An image that reaches the slot's last sector has that sector erased before it is written.
        """
        g = self._flash.geometry
        if slot == 1 and total <= g.slot_size - g.sector_size:
            erase_secondary_trailer(self._flash)

    def _held_offset(self, slot: int, total: int, sha: bytes, *, whole_only: bool = False) -> int:
        """How much of this image the slot holds: all of it, or the sectors before the last written.

        The area held only erased bytes when the upload record was written (see
        :meth:`_clear_for_upload`) and data arrives in order, so everything before the sector of
        the last programmed byte is this image's; that sector may hold a torn write and is redone.

        Args:
            slot: the slot.
            total: the image size.
            sha: the image's SHA-256.
            whole_only: the slot's content is not known to be this upload's (no upload record):
                only a byte-exact complete copy counts.
        """
        g = self._flash.geometry
        data = self._flash.read(g.slot_offset(slot), total)
        if hashlib.sha256(data).digest() == sha:
            return total
        if whole_only:
            return 0
        last = len(data.rstrip(b"\xff"))
        return (max(0, last - 1) // g.sector_size) * g.sector_size

    def upload_write(self, offset: int, data: bytes) -> int:
        """Write the next bytes of the upload; returns the new offset.

        Raises:
            SimUploadError: no upload in progress, ``offset`` is not the current offset, the data
                runs past the announced size, or the finished image does not match its SHA-256.
            SimPoweredOffError: a simulated power cut hit a flash operation.
        """
        with self._lock:
            self._require_power()
            session = self._upload
            if session is None:
                raise SimUploadError("no upload is in progress; begin one first")
            if offset != session.offset:
                raise SimUploadError(f"the device expects offset {session.offset}, not {offset}")
            if offset + len(data) > session.total:
                raise SimUploadError(f"the data runs past the announced image size of {session.total} bytes")
            g = self._flash.geometry
            buffer = session.pending + bytes(data)
            final = offset + len(data) == session.total
            if final:
                buffer += b"\xff" * (-len(buffer) % g.write_size)
                writable = len(buffer)
            else:
                writable = len(buffer) // g.write_size * g.write_size
            with self._flash_guard():
                self._program(g.slot_offset(session.slot) + session.flushed, buffer[:writable])
            session.flushed += writable
            session.pending = buffer[writable:]
            if final:
                session.flushed = session.total
                session.pending = b""
                stored = self._flash.read(g.slot_offset(session.slot), session.total)
                if len(session.sha256) == 32 and hashlib.sha256(stored).digest() != session.sha256:
                    self._upload = None
                    with self._flash_guard():  # never offer to resume this image
                        self._boot.save(replace(self._boot.state, upload_slot=NO_UPLOAD))
                    raise SimUploadError("the uploaded image does not match the SHA-256 announced for it")
            return session.offset

    def _program(self, address: int, data: bytes) -> None:
        """Program sequential upload data, erasing each sector as the data first enters it."""
        sector = self._flash.geometry.sector_size
        position = 0
        while position < len(data):
            here = address + position
            boundary = (here // sector + 1) * sector
            piece = data[position : position + min(boundary - here, _UPLOAD_PIECE_BYTES)]
            if here % sector == 0 and not self._flash.is_erased(here, sector):
                self._flash.erase_sector(here)
            self._flash.write(here, piece)
            position += len(piece)

    def erase_slot(self, slot: int) -> None:
        """Erase a whole slot (slow: proportional to its size)."""
        with self._lock:
            self._require_power()
            self._check_writable_slot(slot)
            g = self._flash.geometry
            with self._flash_guard():
                self._boot.save(replace(self._boot.state, request=SwapRequest.NONE, upload_slot=NO_UPLOAD))
                for index in range(g.slot_sectors):
                    address = g.slot_offset(slot) + index * g.sector_size
                    if not self._flash.is_erased(address, g.sector_size):
                        self._flash.erase_sector(address)
            if self._upload is not None and self._upload.slot == slot:
                self._upload = None

    def verify_slot(self, slot: int) -> bool:
        """The bootloader's verdict on ``slot``: hash, signature (trusted key) and security counter."""
        return self.image_problem(slot) is None

    def _bootable_secondary(self) -> SlotImage:
        verdict = self._inspector.bootable(1, self._boot.state.security_counter)
        if not verdict.valid:
            problem = verdict.problem or "slot 1 holds no image"
            if "anti-rollback" in problem:
                raise SimDowngradeError(f"the image was refused: {problem}")
            raise SimImageRejectedError(f"the image was refused: {problem}")
        return verdict

    def mark_pending(self, permanent: bool = False) -> None:
        """Ask the bootloader to boot the secondary image at the next reset (test, or permanent)."""
        with self._lock:
            self._require_mode(DeviceMode.APPLICATION, DeviceMode.BOOTLOADER, what="marking an image pending")
            self._bootable_secondary()
            request = SwapRequest.PERMANENT if permanent else SwapRequest.TEST
            with self._flash_guard():
                self._boot.save(replace(self._boot.state, request=request))

    def confirm(self) -> None:
        """Confirm the running image: it stays after resets; the stored security counter rises to its own."""
        with self._lock:
            self._require_mode(DeviceMode.APPLICATION, what="confirming the image")
            state = self._boot.state
            if not state.primary_test or self._running is None:
                return
            counter = max(state.security_counter, self._running.security_counter)
            with self._flash_guard():
                self._boot.save(
                    replace(state, primary_test=False, primary_confirmed=True, security_counter=counter)
                )

    def rollback(self) -> None:
        """Go back to the image in the other slot at the next reset (refused below the security counter)."""
        with self._lock:
            self._require_mode(DeviceMode.APPLICATION, DeviceMode.BOOTLOADER, what="rollback")
            state = self._boot.state
            if state.primary_test:
                return  # an unconfirmed test image is reverted by the next reset anyway
            self._bootable_secondary()
            with self._flash_guard():
                self._boot.save(replace(state, request=SwapRequest.PERMANENT))


def _read_master_secret(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
        secret = bytes.fromhex(text)
    except (OSError, ValueError) as exc:
        raise SimError(f"cannot read the security master secret {path} (expected hex text)") from exc
    if len(secret) < 16:
        raise SimError(f"the security master secret in {path} is shorter than 16 bytes")
    return secret


def _self_test(
    reference_pack_mv: float,
    config: Mapping[str, ParameterValue],
    behaviour: Behaviour,
    reading: object,
    running: ImageInfo | None,
) -> DeviceSelfTest:
    from bmsflasher.sim.device.pack import PackReading

    assert isinstance(reading, PackReading)
    cells = monitor.measure_cells(reading, config, behaviour)
    reported = sum(cells)
    error_pct = 100.0 * (reported - reference_pack_mv) / reference_pack_mv if reference_pack_mv else 100.0
    sensors_ok = all(t is not None and -40 <= t <= 125 for t in reading.temperatures_c)
    failing = behaviour.name == SELFTEST_FAIL
    checks = (
        SelfTestCheck(
            "voltage_calibration",
            abs(error_pct) <= CALIBRATION_TOLERANCE_PCT,
            f"{error_pct:+.2f} %",
            f"±{CALIBRATION_TOLERANCE_PCT} %",
            "sum of cell voltages against the independent pack-voltage measurement",
        ),
        SelfTestCheck(
            "temperature_sensors",
            sensors_ok,
            f"{sum(t is not None for t in reading.temperatures_c)}/{len(reading.temperatures_c)} reading",
            "all sensors reading -40..125 °C",
        ),
        SelfTestCheck(
            "balancing_circuit",
            not failing,
            "bleed current absent" if failing else "bleed current present",
            "bleed current present on a forced cell",
        ),
        SelfTestCheck(
            "firmware_integrity",
            running is not None,
            "image verified" if running is not None else "no image",
            "running image verified by the bootloader",
        ),
    )
    return DeviceSelfTest(checks)

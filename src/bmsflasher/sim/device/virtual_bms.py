"""The virtual BMS: one device object the protocol front-ends drive (see docs/design/sim-api.md).

It ties together the pack model (physics), the firmware logic (measurement, protection,
balancing, DTCs, self-test), the flash (images, boot state, configuration) and the bootloader
(MCUboot semantics). Every public method is thread-safe and raises only :mod:`bmsflasher.sim.errors`
exceptions; a simulated power cut turns the device off until :meth:`VirtualBms.power_on`.

This class owns the life cycle (power, reset, boot, mode) and the lock; each part of the work is
delegated to a module of its own: building a device (``provisioning``), the pack over time
(``pack_runtime``), the configuration in effect (``config``), the slots and image-state requests
(``slots``), uploads and slot writes (``uploads``), the self-test (``self_test``).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType, TracebackType
from typing import Final, Self

from bmsflasher.core.types import (
    ConfigSnapshot,
    DeviceIdentity,
    DeviceMode,
    DeviceSelfTest,
    Dtc,
    FirmwareVersion,
    PackTelemetry,
    ParameterValue,
    SlotState,
)
from bmsflasher.sim.device import provisioning
from bmsflasher.sim.device.config import SCHEMA, SCHEMA_VERSION, ConfigInEffect, ConfigStore, ParameterSpec
from bmsflasher.sim.device.dtcs import DtcMemory
from bmsflasher.sim.device.lifecycle import Lifecycle
from bmsflasher.sim.device.pack_runtime import Firmware, PackRuntime
from bmsflasher.sim.device.self_test import run_self_test
from bmsflasher.sim.device.slots import ImageSlots
from bmsflasher.sim.device.uploads import SlotUploads, UploadStatus
from bmsflasher.sim.flash.bootloader import Bootloader, SlotInspector
from bmsflasher.sim.flash.bootstate import BootState, BootStateStore
from bmsflasher.sim.flash.images import ImageVerifier
from bmsflasher.sim.flash.memory import Flash
from bmsflasher.sim.options import BOOTLOADER_VERSION, SimOptions

_APP: Final = (DeviceMode.APPLICATION,)
_APP_OR_BOOT: Final = (DeviceMode.APPLICATION, DeviceMode.BOOTLOADER)


class VirtualBms:
    """A simulated smart BMS with dual-bank flash and an MCUboot-style bootloader.

    Create it with :meth:`create`. The flash persists in ``options.state_file`` (if set), so a new
    process on the same file is the same device after a power cycle.
    """

    def __init__(self, options: SimOptions, flash: Flash, verifier: ImageVerifier) -> None:
        self._options = options
        self._flash = flash
        self._lock = threading.RLock()
        inspector = SlotInspector(flash, verifier)
        self._boot = BootStateStore(flash)
        self._configs = ConfigStore(flash)
        self._config = ConfigInEffect(self._configs)
        bootloader = Bootloader(flash, self._boot, inspector, boot_time_s=options.boot_time_s)
        self._slots = ImageSlots(inspector, self._boot, bootloader)
        self._uploads = SlotUploads(flash, self._boot)
        self._dtcs = DtcMemory()
        self._pack = PackRuntime(options.time_scale)
        parts = (self._slots, self._uploads, self._config, self._dtcs, self._pack)
        self._life = Lifecycle(self._lock, options, bootloader, parts)
        self._master_secret = provisioning.read_master_secret(options.security_master)
        self._trusted_key_hash = verifier.key_hash

    # --- life cycle --------------------------------------------------------------------------
    @classmethod
    def create(
        cls, options: SimOptions, *, flash_contents: bytes | None = None, powered: bool = True
    ) -> Self:
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
        provisioning.check_options(options)
        verifier = provisioning.image_verifier(options)
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
                provisioning.program_factory(flash, device._boot, device._configs, options)
            device._pack.install(provisioning.build_pack(options, device._configs))
            if powered:
                device.power_on()
        except BaseException:
            flash.close()
            raise
        return device

    def close(self) -> None:
        """Release the state file. The device object must not be used afterwards."""
        with self._lock:
            self._life.powered = False
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
        return self._life.powered

    @property
    def application_running(self) -> bool:
        """True while powered and running the application (lock-free: a bus thread polls it)."""
        return self._life.application_running

    @property
    def boot_state(self) -> BootState:
        """The bootloader's persistent state (for tests and the diagnostics of the sim CLI)."""
        with self._lock:
            return self._boot.state

    @property
    def recovery_reason(self) -> str:
        """Why the bootloader stayed in recovery mode (empty otherwise)."""
        return self._life.recovery_reason

    def add_reset_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (from the resetting thread, outside the lock) after every reboot."""
        self._life.add_listener(callback)

    def remove_reset_listener(self, callback: Callable[[], None]) -> None:
        """Stop calling a listener added with :meth:`add_reset_listener`."""
        self._life.remove_listener(callback)

    # --- power and reset ---------------------------------------------------------------------
    def power_on(self) -> None:
        """Supply power: the bootloader runs (a power-on reset). Does nothing if already on."""
        self._life.power_on()

    def power_off(self) -> None:
        """Remove power at once (between flash operations)."""
        self._life.power_off()

    def power_cycle(self) -> None:
        """Power off and on again."""
        self.power_off()
        self.power_on()

    def reset(self) -> None:
        """Reboot (ECUReset / SMP reset): the bootloader swaps, reverts or stays in recovery as needed."""
        self._life.reset()

    # --- identity ----------------------------------------------------------------------------
    @property
    def mode(self) -> DeviceMode:
        """What runs now: the application, the bootloader (programming session) or recovery."""
        with self._life.operation():
            return self._life.mode

    def enter_bootloader(self) -> None:
        """Switch to the bootloader with the application image kept (UDS programming session)."""
        self._life.enter_bootloader()

    @property
    def behaviour(self) -> str:
        """The running firmware's sim behaviour text (``healthy`` in the bootloader or recovery)."""
        with self._lock:
            life = self._life
            return life.behaviour.text if life.mode is DeviceMode.APPLICATION else "healthy"

    @property
    def serial_number(self) -> str:
        return str(self._config.saved.get("serial_number", ""))

    @property
    def security_secret(self) -> bytes:
        """Per-device secret of the UDS seed/key: HMAC-SHA256(master secret, serial number)."""
        return hmac.new(self._master_secret, self.serial_number.encode(), hashlib.sha256).digest()

    def trusted_key_hashes(self) -> tuple[bytes, ...] | None:
        """SHA-256 of each key the bootloader verifies images with; None when it cannot tell.

        Answered in every mode (the bootloader's knowledge, not the application's), so a tool can
        refuse an image signed by another key before transferring it.
        """
        with self._life.operation():
            if not self._options.reports_trusted_keys:
                return None
            return (self._trusted_key_hash,)

    def identity(self) -> DeviceIdentity:
        """Model, serial, revisions, versions, mode, slot states and the stored security counter."""
        with self._life.operation():
            life = self._life
            running = life.running if life.mode is not DeviceMode.RECOVERY else None
            saved = self._config.saved
            return DeviceIdentity(
                model=f"VBMS-{saved.get('cell_count', self._options.cells)}",
                serial_number=self.serial_number,
                hardware_revision=str(saved.get("hardware_revision", "")),
                firmware_version=running.version if running else None,
                bootloader_version=FirmwareVersion.parse(BOOTLOADER_VERSION),
                mode=life.mode,
                slots=self._slot_states(),
                security_counter=self._boot.state.security_counter,
            )

    def slots(self) -> tuple[SlotState, ...]:
        """Slot 0 (primary) and slot 1 (secondary) with MCUboot image-state flags."""
        with self._life.operation():
            return self._slot_states()

    def _slot_states(self) -> tuple[SlotState, ...]:
        return self._slots.states(primary_active=self._life.mode is not DeviceMode.RECOVERY)

    def image_problem(self, slot: int) -> str | None:
        """Why the bootloader would refuse the image in ``slot`` (None when it would boot it)."""
        with self._life.operation():
            return self._slots.problem(slot)

    def image_bytes(self, slot: int) -> bytes:
        """The image in ``slot`` exactly as stored (empty when none parses): tests compare bytes."""
        with self._lock:
            return self._slots.image_bytes(slot)

    # --- telemetry, configuration, DTCs, self-test -------------------------------------------
    def _firmware(self) -> Firmware:
        return Firmware(self._config.staged, self._life.behaviour, self._life.application_running)

    def advance_time(self, seconds: float) -> None:
        """Move the pack's simulated time forward by ``seconds`` (deterministic tests use time_scale 0)."""
        with self._lock:
            self._pack.advance(seconds, self._firmware())

    def set_load(self, load_a: float) -> None:
        """Change the load current (discharge positive, charge negative)."""
        with self._lock:
            pack = self._pack
            pack.sync(self._firmware())
            pack.model.set_load(load_a)

    def set_ambient(self, ambient_c: float) -> None:
        """Change the ambient temperature the pack drifts towards."""
        with self._lock:
            pack = self._pack
            pack.sync(self._firmware())
            pack.model.ambient_c = ambient_c

    def telemetry(self) -> PackTelemetry:
        """Advance the pack to now and report it as the running firmware measures it."""
        with self._life.operation(*_APP, what="telemetry"):
            sample = self._pack.telemetry(self._firmware())
            self._dtcs.update(sample.alarms)
            return sample

    def config(self) -> ConfigSnapshot:
        """The parameters in effect (saved plus staged changes) and the schema version."""
        with self._life.operation(*_APP_OR_BOOT, what="reading the configuration"):
            return ConfigSnapshot(SCHEMA_VERSION, MappingProxyType(dict(self._config.staged)))

    def saved_config(self) -> ConfigSnapshot:
        """The configuration as persisted in flash (what survives a reset)."""
        with self._life.operation():
            return ConfigSnapshot(SCHEMA_VERSION, MappingProxyType(dict(self._config.saved)))

    def config_schema(self) -> Mapping[str, ParameterSpec]:
        """Every parameter's type, unit, range and writability, in a stable order."""
        return SCHEMA

    def set_parameters(self, values: Mapping[str, ParameterValue]) -> None:
        """Validate all values, then stage them (nothing is staged if any one is invalid)."""
        with self._life.operation(*_APP_OR_BOOT, what="writing the configuration"):
            self._config.stage(values)

    def save_config(self) -> None:
        """Persist the staged configuration atomically (A/B record; a cut keeps the old one whole)."""
        with self._life.operation(*_APP_OR_BOOT, what="saving the configuration"):
            self._config.save()

    def dtcs(self) -> list[Dtc]:
        """Stored diagnostic trouble codes (active alarms refresh them)."""
        with self._life.operation(*_APP_OR_BOOT, what="reading DTCs"):
            if self._life.mode is DeviceMode.APPLICATION:
                self._dtcs.update(self._pack.alarms(self._firmware()))
            return self._dtcs.list()

    def clear_dtcs(self) -> None:
        """Forget stored DTCs (codes of alarms still active come back at the next sample)."""
        with self._life.operation(*_APP_OR_BOOT, what="clearing DTCs"):
            self._dtcs.clear()

    def set_balancing(self, cell: int, on: bool) -> None:
        """Force balancing of one cell on or off (a service check of the bleed circuit)."""
        with self._life.operation(*_APP, what="balancing control"):
            self._pack.force_balancing(cell, on, self._firmware())

    def self_test(self) -> DeviceSelfTest:
        """Device-side checks after an update: calibration, sensors, balancing, firmware."""
        with self._life.operation(*_APP, what="the self-test"):
            reading = self._pack.reading(self._firmware())
            life = self._life
            return run_self_test(reading.pack_mv, self._config.staged, life.behaviour, reading, life.running)

    # --- images ------------------------------------------------------------------------------
    def upload_status(self) -> UploadStatus:
        """The upload in progress (slot -1 when none)."""
        with self._lock:
            return self._uploads.status()

    def upload_begin(self, total_size: int, image_sha256: bytes, slot: int = 1) -> int:
        """Start an upload, or resume the same image; returns the offset the device already holds.

        ``image_sha256`` names the upload (MCUmgr's ``sha``). The specification lets a client send
        a shortened hash or none at all: a shorter tag still resumes but the finished image is not
        checked against it; an empty one never resumes (every such upload starts afresh).
        """
        with self._life.operation():
            self._uploads.check_writable(slot, self._life.mode)
            return self._uploads.begin(total_size, image_sha256, slot)

    def upload_write(self, offset: int, data: bytes) -> int:
        """Write the next bytes of the upload; returns the new offset.

        Raises:
            SimUploadError: no upload in progress, ``offset`` is not the current offset, the data
                runs past the announced size, or the finished image does not match its SHA-256.
            SimPoweredOffError: a simulated power cut hit a flash operation.
        """
        with self._life.operation():
            return self._uploads.write(offset, data)

    def erase_slot(self, slot: int) -> None:
        """Erase a whole slot (slow: proportional to its size)."""
        with self._life.operation():
            self._uploads.check_writable(slot, self._life.mode)
            self._uploads.erase_slot(slot)

    def verify_slot(self, slot: int) -> bool:
        """The bootloader's verdict on ``slot``: hash, signature (trusted key) and security counter."""
        return self.image_problem(slot) is None

    def mark_pending(self, permanent: bool = False) -> None:
        """Ask the bootloader to boot the secondary image at the next reset (test, or permanent)."""
        with self._life.operation(*_APP_OR_BOOT, what="marking an image pending"):
            self._slots.mark_pending(permanent=permanent)

    def confirm(self) -> None:
        """Confirm the running image: it stays after resets; the stored security counter rises to its own."""
        with self._life.operation(*_APP, what="confirming the image"):
            self._slots.confirm(self._life.running)

    def rollback(self) -> None:
        """Go back to the image in the other slot at the next reset (refused below the security counter)."""
        with self._life.operation(*_APP_OR_BOOT, what="rollback"):
            self._slots.rollback()

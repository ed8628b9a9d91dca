"""Power, reset and boot: what runs on the virtual BMS now, and in which mode.

A power-on or a reset runs the bootloader (swap, revert, recovery), reloads the configuration and
starts the image it chose with that image's sim behaviour; a power cut during any flash work turns
the device off (:meth:`Lifecycle.flash_guard`). Every other part of the device asks this state
machine before it acts (:meth:`Lifecycle.require_mode`). It shares the device's lock: reset
listeners run after a reboot, outside it, so a front-end may call back into the device.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from bmsflasher.core.types import DeviceMode
from bmsflasher.sim.device import provisioning
from bmsflasher.sim.device.behaviours import Behaviour, parse_behaviour
from bmsflasher.sim.device.config import ConfigInEffect
from bmsflasher.sim.device.dtcs import DtcMemory
from bmsflasher.sim.device.pack_runtime import PackRuntime
from bmsflasher.sim.device.slots import ImageSlots
from bmsflasher.sim.device.uploads import SlotUploads
from bmsflasher.sim.errors import SimModeError, SimPoweredOffError
from bmsflasher.sim.flash.bootloader import Bootloader, ResetReason
from bmsflasher.sim.flash.faults import PowerCut
from bmsflasher.sim.flash.images import ImageInfo
from bmsflasher.sim.options import SimOptions


class Lifecycle:
    """The device's power and boot state machine.

    Args:
        lock: the device's lock (reentrant), held around every state change.
        options: the device options (factory configuration defaults).
        bootloader: decides what runs at each boot.
        parts: what a boot resets: the slots, the upload, the configuration, the DTC memory and
            the pack runtime.
    """

    def __init__(
        self,
        lock: threading.RLock,
        options: SimOptions,
        bootloader: Bootloader,
        parts: tuple[ImageSlots, SlotUploads, ConfigInEffect, DtcMemory, PackRuntime],
    ) -> None:
        self._lock = lock
        self._options = options
        self._bootloader = bootloader
        self._slots, self._uploads, self._config, self._dtcs, self._pack = parts
        self._listeners: list[Callable[[], None]] = []
        self.powered = False
        self.mode = DeviceMode.RECOVERY
        self.recovery_reason = ""
        self.running: ImageInfo | None = None
        self.behaviour: Behaviour = parse_behaviour("healthy")

    def add_listener(self, callback: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    def power_on(self) -> None:
        """Supply power: the bootloader runs (a power-on reset). Does nothing if already on."""
        with self._lock:
            if self.powered:
                return
            self.powered = True
            self._boot(ResetReason.POWER_ON)
        self._notify()

    def power_off(self) -> None:
        """Remove power at once (between flash operations)."""
        with self._lock:
            self.powered = False
            self._uploads.forget()

    def reset(self) -> None:
        """Reboot (ECUReset / SMP reset)."""
        with self._lock:
            self.require_power()
            self._boot(ResetReason.SOFTWARE)
        self._notify()

    def enter_bootloader(self) -> None:
        """Switch to the bootloader with the application image kept (UDS programming session)."""
        with self._lock:
            self.require_mode(DeviceMode.APPLICATION, DeviceMode.BOOTLOADER, what="entering the bootloader")
            self.mode = DeviceMode.BOOTLOADER

    @property
    def application_running(self) -> bool:
        """True when the application runs (it measures, balances and serves telemetry)."""
        return self.powered and self.mode is DeviceMode.APPLICATION

    def require_power(self) -> None:
        if not self.powered:
            raise SimPoweredOffError("the device has no power")

    def require_mode(self, *modes: DeviceMode, what: str) -> None:
        """Refuse ``what`` without power or outside ``modes`` (a real firmware's mode refusal)."""
        self.require_power()
        if self.mode not in modes:
            raise SimModeError(f"{what} is not available in {self.mode.value} mode")

    @contextlib.contextmanager
    def operation(self, *modes: DeviceMode, what: str = "") -> Iterator[None]:
        """One call into the device: lock, power and mode checks, and power cuts turned into 'off'.

        The lock is held throughout; power is required, and one of ``modes`` when given (``what``
        names the refused operation); a power cut during the call's flash work turns the device off.
        Reads never cut power, so guarding a whole call costs nothing.
        """
        with self._lock:
            if modes:
                self.require_mode(*modes, what=what)
            else:
                self.require_power()
            with self.flash_guard():
                yield

    @contextlib.contextmanager
    def flash_guard(self) -> Iterator[None]:
        """Turn a simulated power cut during flash work into 'the device is now off'."""
        try:
            yield
        except PowerCut as cut:
            self.powered = False
            self._uploads.forget()
            raise SimPoweredOffError(f"the device lost power ({cut})") from cut

    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            callback()

    def _boot(self, reason: ResetReason) -> None:
        self._uploads.forget()
        self._pack.release_forced_balancing()
        self.running = None
        self.mode = DeviceMode.RECOVERY
        self._dtcs.new_operation_cycle()
        with self.flash_guard():
            outcome = self._bootloader.boot(reason)
        if outcome.reverted:
            self._dtcs.record_boot_failure(
                "Firmware failed to start or was not confirmed; previous image restored"
            )
        self._config.reload(provisioning.factory_parameters(self._options))
        if outcome.running:
            self.running = self._slots.running_image()
            self.behaviour = parse_behaviour(self.running.behaviour if self.running else "healthy")
            self.mode = DeviceMode.APPLICATION
            self.recovery_reason = ""
        else:
            self.behaviour = parse_behaviour("healthy")
            self.recovery_reason = outcome.reason
        self._pack.restart_clock()

"""Reboot handling: reset, wait for the device to come back, and say what came back.

After a test boot the device can come back running the new image (good), running the old image
(its bootloader reverted: the new image failed to start — a boot loop — or was not confirmed), in
its bootloader, or in recovery with nothing bootable. USB devices re-enumerate, CAN nodes fall
silent for a while; every wait here is bounded by the profile's limits.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import LinkError, NoResponseError, ProcedureError
from bmsflasher.core.i18n import t
from bmsflasher.core.target import Target
from bmsflasher.core.types import DeviceIdentity, DeviceMode, FirmwareVersion
from bmsflasher.procedure.package_facts import PackageFacts
from bmsflasher.procedure.profiles import RebootLimits
from bmsflasher.procedure.troubleshooting import FailureKind, advice

SETTLE_POLL_S: Final = 0.05
"""How often a device still in its bootloader is asked again: it is seen the moment it answers as the
application (a fixed 0.25 s sleep lost 0.125 s on average at every boot)."""


class BootOutcome(enum.Enum):
    """What the device runs after a reset."""

    NEW_IMAGE = "new_image"
    REVERTED = "reverted"
    RECOVERY = "recovery"
    OTHER_IMAGE = "other_image"


@dataclass(frozen=True, slots=True)
class BootReport:
    """The outcome of one reboot with the identity the device reported."""

    outcome: BootOutcome
    identity: DeviceIdentity
    waited_s: float

    def describe(self) -> str:
        """What came back, as a clause ("the device came back running 1.1.0 after 2.0 s")."""
        return self._text(sentence=False)

    def sentence(self) -> str:
        """What came back, as a sentence for the log ("The device came back running 1.1.0 after 2.0 s.")."""
        return self._text(sentence=True)

    def _text(self, *, sentence: bool) -> str:
        version = self.identity.firmware_version
        running = str(version) if version is not None else t("no firmware")
        waited = f"{self.waited_s:.1f}"
        # A clause and a sentence per outcome: capitalising a translated clause is not ours to do.
        if self.outcome is BootOutcome.NEW_IMAGE:
            if sentence:
                return t(
                    "The device came back running {version} after {waited} s.", version=running, waited=waited
                )
            return t(
                "the device came back running {version} after {waited} s", version=running, waited=waited
            )
        if self.outcome is BootOutcome.REVERTED:
            if sentence:
                return t(
                    "The device came back on the previous firmware {version}: its bootloader reverted the "
                    "new image (boot loop or failed start) after {waited} s.",
                    version=running,
                    waited=waited,
                )
            return t(
                "the device came back on the previous firmware {version}: its bootloader reverted the new "
                "image (boot loop or failed start) after {waited} s",
                version=running,
                waited=waited,
            )
        if self.outcome is BootOutcome.RECOVERY:
            if sentence:
                return t(
                    "The device came back in recovery mode with no bootable image after {waited} s.",
                    waited=waited,
                )
            return t(
                "the device came back in recovery mode with no bootable image after {waited} s", waited=waited
            )
        if sentence:
            return t(
                "The device came back running an unexpected firmware {version} after {waited} s.",
                version=running,
                waited=waited,
            )
        return t(
            "the device came back running an unexpected firmware {version} after {waited} s",
            version=running,
            waited=waited,
        )


def runs_package(identity: DeviceIdentity, package: PackageFacts) -> bool:
    """True when the running image is the package's image.

    The active slot's image hash is the MCUboot hash TLV, the strongest evidence; when the device
    does not report hashes, the version decides.
    """
    if identity.mode is not DeviceMode.APPLICATION:
        return False
    active = next((slot for slot in identity.slots if slot.active), None)
    if active is not None and active.image_hash and package.image_hash:
        return active.image_hash == package.image_hash
    return identity.firmware_version == package.version


def package_pending(identity: DeviceIdentity, package: PackageFacts) -> bool:
    """True when the package's image waits in a non-active slot, marked for its test boot."""
    for slot in identity.slots:
        if slot.active or not slot.pending:
            continue
        if slot.image_hash and package.image_hash:
            if slot.image_hash == package.image_hash:
                return True
        elif slot.version == package.version:
            return True
    return False


def running_confirmed(identity: DeviceIdentity) -> bool:
    """True when the active slot is confirmed (or the device does not report slot states)."""
    active = next((slot for slot in identity.slots if slot.active), None)
    return active is None or active.confirmed or active.permanent


def classify(
    identity: DeviceIdentity, package: PackageFacts, previous_version: FirmwareVersion | None
) -> BootOutcome:
    """Name what the device runs, relative to the package and the version that ran before."""
    if identity.mode is DeviceMode.RECOVERY:
        return BootOutcome.RECOVERY
    if runs_package(identity, package):
        return BootOutcome.NEW_IMAGE
    if previous_version is None or identity.firmware_version == previous_version:
        return BootOutcome.REVERTED
    return BootOutcome.OTHER_IMAGE


def wait_for_application(
    target: Target,
    limits: RebootLimits,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    not_reset_yet: Callable[[DeviceIdentity], bool] | None = None,
) -> DeviceIdentity:
    """Reconnect and wait (bounded) until the device leaves its bootloader.

    A device in recovery is given ``settle_timeout_s`` too — a bootloader that is still swapping
    may briefly answer as recovery — and is then reported as stuck. ``not_reset_yet`` tells an
    identity from before the reset (see :func:`reboot_and_classify`); such an identity is asked
    again within the same bound, never classified.
    """
    identity = target.reconnect(limits.reconnect_timeout_s)
    deadline = clock() + limits.settle_timeout_s

    def waiting(identity: DeviceIdentity) -> bool:
        if identity.mode is not DeviceMode.APPLICATION:
            return True
        return not_reset_yet is not None and not_reset_yet(identity)

    while waiting(identity) and clock() < deadline:
        sleep(SETTLE_POLL_S)
        try:
            identity = target.identify()
        except (LinkError, NoResponseError):
            identity = target.reconnect(max(deadline - clock(), 0.5))
    return identity


def reset_device(target: Target) -> None:
    """Send the reset; the link dropping while the device resets is expected, not a failure."""
    try:
        target.reset()
    except (LinkError, NoResponseError):
        return


def reboot_and_classify(
    target: Target,
    package: PackageFacts,
    previous_version: FirmwareVersion | None,
    limits: RebootLimits,
    clock: Callable[[], float] = time.monotonic,
) -> BootReport:
    """Reset the device, wait for it (bounded) and classify what came back.

    Raises:
        ProcedureError: the device stays in recovery mode (stuck), with the troubleshooting advice.
        LinkError / NoResponseError: it did not come back within the reconnect timeout.
    """
    started = clock()
    reset_device(target)
    # A device may answer for a while after its reset answer (Zephyr resets 250 ms later, its SMP
    # thread still serving): the package still waiting in its slot, marked for the test boot, is the
    # firmware that is about to go, not a revert. Every real boot consumes that mark.
    identity = wait_for_application(
        target, limits, clock, not_reset_yet=lambda seen: package_pending(seen, package)
    )
    report = BootReport(classify(identity, package, previous_version), identity, clock() - started)
    if report.outcome is BootOutcome.RECOVERY:
        raise ProcedureError(
            t("The device stayed in recovery mode after the reboot; no firmware on it starts."),
            hint=advice(FailureKind.STUCK_IN_RECOVERY).hint(),
        )
    return report

"""Emergency recovery: put a verified firmware onto a device that has no bootable image.

A device stuck in recovery mode (the seeds: "if the system slips into recovery mode, try flashing
back to the old firmware version locally") answers only its bootloader's subset: upload to the
primary slot and reset. There is no pack to measure and no configuration to back up, so this is not
the update procedure; it is the bench procedure that makes the battery updatable again. The package
is verified exactly like for an update, and the device's bootloader verifies the image again.
"""

from __future__ import annotations

from dataclasses import dataclass

from bmsflasher.core.errors import ProcedureError
from bmsflasher.core.events import (
    EventSink,
    LogLevel,
    LogLine,
    Progress,
    StepFinished,
    StepStarted,
    ThroughputMeter,
)
from bmsflasher.core.target import Target
from bmsflasher.core.types import DeviceIdentity, DeviceMode
from bmsflasher.procedure.package_loading import UpdatePackage
from bmsflasher.procedure.profiles import RebootLimits
from bmsflasher.procedure.reboot import reset_device, running_confirmed, wait_for_application
from bmsflasher.procedure.troubleshooting import FailureKind, advice


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """The device before and after a recovery."""

    before: DeviceIdentity
    after: DeviceIdentity


def recover(target: Target, package: UpdatePackage, limits: RebootLimits, sink: EventSink) -> RecoveryReport:
    """Upload ``package`` through the bootloader, reboot, and prove the application starts.

    Raises:
        ProcedureError: the device runs an application (use the update procedure), or it does not
            come up on the recovered firmware (with the troubleshooting advice).
    """
    before = target.identify()
    if before.mode is DeviceMode.APPLICATION:
        raise ProcedureError(
            f"the device runs firmware {before.firmware_version}; "
            "update it with 'flash', which checks the battery first"
        )
    meter = ThroughputMeter()

    def on_progress(done: int, total: int) -> None:
        rate, eta = meter.update(done, total)
        sink(Progress("transfer", done, total, rate, eta))

    sink(StepStarted("transfer", "Transfer the firmware"))
    target.upload_image(package.image, on_progress)
    sink(StepFinished("transfer", True))
    sink(StepStarted("reboot", "Reboot into the new firmware"))
    reset_device(target)
    after = wait_for_application(target, limits)
    if after.mode is not DeviceMode.APPLICATION or after.firmware_version != package.facts.version:
        sink(StepFinished("reboot", False, f"the device is in {after.mode.value} mode"))
        raise ProcedureError(
            f"the device did not start firmware {package.facts.version} after the recovery "
            f"(it is in {after.mode.value} mode)",
            hint=advice(FailureKind.STUCK_IN_RECOVERY).hint(),
        )
    if not running_confirmed(after):
        target.confirm()
        after = target.identify()
    sink(StepFinished("reboot", True, f"running {after.firmware_version}"))
    sink(LogLine(LogLevel.INFO, f"The device runs {after.firmware_version} again."))
    return RecoveryReport(before, after)

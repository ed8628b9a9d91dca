"""Emergency recovery: put a verified firmware onto a device that has no bootable image.

A device stuck in recovery mode (the seeds: "if the system slips into recovery mode, try flashing
back to the old firmware version locally") answers only its bootloader's subset: upload to the
primary slot and reset. There is no pack to measure and no configuration to back up, so this is not
the update procedure; it is the bench procedure that makes the battery updatable again. The package
is verified exactly like for an update, and the device's bootloader verifies the image again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bmsflasher.core.errors import BmsFlasherError, ProcedureError, UntrustedKeyError
from bmsflasher.core.events import (
    EventSink,
    LogLevel,
    LogLine,
    Progress,
    StepFinished,
    StepStarted,
    ThroughputMeter,
)
from bmsflasher.core.i18n import t
from bmsflasher.core.names import mode_name
from bmsflasher.core.target import Target
from bmsflasher.core.types import DeviceIdentity, DeviceMode
from bmsflasher.procedure.package_loading import UpdatePackage
from bmsflasher.procedure.preconditions import check_signing_key, refusal_sentence
from bmsflasher.procedure.profiles import RebootLimits, profile_for_model
from bmsflasher.procedure.reboot import reset_device, running_confirmed, wait_for_application
from bmsflasher.procedure.recovery_checks import DeclaredIdentity, check_recovery
from bmsflasher.procedure.troubleshooting import FailureKind, advice
from bmsflasher.procedure.unlock_records import record_unlocks
from bmsflasher.records import RecordsDb


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    """The device before and after a recovery."""

    before: DeviceIdentity
    after: DeviceIdentity


def recover(
    target: Target,
    package: UpdatePackage,
    limits: RebootLimits,
    sink: EventSink,
    *,
    before: DeviceIdentity | None = None,
    declared: DeclaredIdentity | None = None,
) -> RecoveryReport:
    """Upload ``package`` through the bootloader, reboot, and prove the application starts.

    Args:
        target: the open device (in bootloader or recovery mode).
        package: the verified package to flash.
        limits: how long the device may take to come back.
        sink: receives the transfer and reboot steps, progress and a closing log line.
        before: the device's identity if the caller has just read it (saves one round trip).
        declared: model and hardware revision the technician read from the unit's label, for
            facts a bootloader-only identity cannot report (see :mod:`procedure.recovery_checks`).

    Raises:
        ProcedureError: the device runs an application (use the update procedure), or it does not
            come up on the recovered firmware (with the troubleshooting advice).
    """
    if before is None:
        before = target.identify()
    if before.mode is DeviceMode.APPLICATION:
        raise ProcedureError(
            t(
                "the device runs firmware {version}, so it needs an update, not a recovery",
                version=before.firmware_version,
            ),
            hint=t("Update it with 'bmsflasher flash' or the update wizard: both check the battery first."),
        )
    fit = check_recovery(before, package.facts, declared)  # refuses before the first write
    for measurement in fit.checks:
        sink(measurement)
    if fit.device.security_counter is None:
        sink(
            LogLine(
                LogLevel.INFO,
                t(
                    "The device cannot report its security counter in recovery; its bootloader checks the "
                    "image's counter itself."
                ),
            )
        )
    _refuse_untrusted_signer(target, package)
    meter = ThroughputMeter()

    def on_progress(done: int, total: int) -> None:
        rate, eta = meter.update(done, total)
        sink(Progress("transfer", done, total, rate, eta))

    sink(StepStarted("transfer", t("Transfer the firmware")))
    target.upload_image(package.image, on_progress)
    # The target chose the slot: the primary one boots as it is (nothing to mark), an upload beside
    # an intact application (a UDS bootloader session) is test-booted and confirmed below.
    target.mark_for_test()
    sink(StepFinished("transfer", True))
    sink(StepStarted("reboot", t("Reboot into the new firmware")))
    reset_device(target)
    after = wait_for_application(target, limits)
    if after.mode is not DeviceMode.APPLICATION or after.firmware_version != package.facts.version:
        sink(
            StepFinished("reboot", False, t("the device is in {mode} mode", mode=mode_name(after.mode.value)))
        )
        raise ProcedureError(
            t(
                "the device did not start firmware {version} after the recovery (it is in {mode} mode)",
                version=package.facts.version,
                mode=mode_name(after.mode.value),
            ),
            hint=advice(FailureKind.STUCK_IN_RECOVERY).hint(),
        )
    if not running_confirmed(after):
        target.confirm()
        after = target.identify()
    sink(StepFinished("reboot", True, t("running {version}", version=after.firmware_version)))
    sink(
        LogLine(
            LogLevel.INFO,
            t(
                "The device runs {version} again.",
                version=after.firmware_version,
            ),
        )
    )
    return RecoveryReport(before, after)


def _refuse_untrusted_signer(target: Target, package: UpdatePackage) -> None:
    """Refuse, before the first write, an image the device's bootloader says it would not accept.

    Only when the device can tell which keys its bootloader trusts; otherwise the bootloader's own
    check after the transfer stays the judge, as before.

    Raises:
        UntrustedKeyError: the image's signer is none of the keys the bootloader trusts.
    """
    trusted = target.trusted_key_hashes()
    if trusted is None or not package.facts.image_key_hashes:
        return
    gate = check_signing_key(trusted, package.facts)
    if not gate.passed:
        raise UntrustedKeyError(
            t("Refused before anything was written: {gates}.", gates=refusal_sentence(gate)),
            hint=advice(FailureKind.AUTHENTICATION_REJECTION).hint(),
        )


def recover_recorded(
    target: Target,
    package: UpdatePackage,
    db: RecordsDb,
    sink: EventSink,
    *,
    operator: str = "",
    details: Mapping[str, Any] | None = None,
    before: DeviceIdentity | None = None,
    declared: DeclaredIdentity | None = None,
) -> RecoveryReport:
    """:func:`recover`, written to the service history as a ``recovery`` session.

    The one implementation behind ``bmsflasher recover`` and the GUI's recovery dialog, so both
    leave the same record: the session opens before the first byte is sent and always closes,
    ``recovered`` or ``failed`` with the reason.

    Args:
        target: the open device.
        package: the verified package to flash.
        db: the service history.
        sink: event receiver (see :func:`recover`).
        operator: who ran the recovery.
        details: extra context for the session (package file name, front end); the link is added.
        before: the device's identity if the caller has just read it.
        declared: what the technician read from the unit's label (recorded in the session).

    Raises:
        BmsFlasherError: whatever stopped the recovery (after the failure has been recorded).
    """
    if before is None:
        before = target.identify()
    session = db.start_session(
        before.serial_number or "unknown",
        "recovery",
        operator,
        package.facts.package_sha256,
        {"link": target.link.describe(), **(details or {}), **(declared or DeclaredIdentity()).as_details()},
    )
    limits = profile_for_model(package.facts.model).reboot
    stop_recording_unlocks = record_unlocks(target, db, session, sink)
    try:
        report = recover(target, package, limits, sink, before=before, declared=declared)
    except BmsFlasherError as exc:
        db.log_step(session, "recovery", False, exc.message)
        db.finish_session(session, "failed", None, None)
        raise
    finally:
        stop_recording_unlocks()
    db.upsert_device(report.after)
    db.log_step(session, "recovery", True, f"flashed {package.facts.version}")
    db.finish_session(session, "recovered", None, str(report.after.firmware_version))
    return report

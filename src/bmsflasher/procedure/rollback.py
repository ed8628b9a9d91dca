"""Rollback: return the device to the firmware in its other slot, and prove it runs.

Used automatically by the update procedure (self-test failed, confirm failed, the bootloader
reverted a boot-looping image) and by the technician (``bmsflasher rollback``, the GUI's Roll back
button). In every case success means the same thing: the device answers in application mode,
runs the expected version, and that image is confirmed — an unconfirmed image would be swapped
away again at the next reset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bmsflasher.core.errors import (
    BmsFlasherError,
    DeviceRejectedError,
    LinkError,
    NoResponseError,
    RollbackError,
    UnsupportedOperationError,
)
from bmsflasher.core.events import EventSink, LogLevel, LogLine, StepFinished, StepStarted, discard
from bmsflasher.core.i18n import t
from bmsflasher.core.names import mode_name
from bmsflasher.core.target import Target
from bmsflasher.core.types import DeviceIdentity, DeviceMode, FirmwareVersion, SlotState
from bmsflasher.procedure.journal import Journal
from bmsflasher.procedure.profiles import RebootLimits, profile_for_model
from bmsflasher.procedure.reboot import reset_device, running_confirmed, wait_for_application
from bmsflasher.procedure.troubleshooting import FailureKind, advice
from bmsflasher.procedure.unlock_records import record_unlocks
from bmsflasher.records import RecordsDb


@dataclass(frozen=True, slots=True)
class RollbackReport:
    """What a rollback did and what the device runs afterwards."""

    from_version: FirmwareVersion | None
    to_version: FirmwareVersion | None
    identity: DeviceIdentity
    actions: tuple[str, ...]


def current_identity(target: Target, limits: RebootLimits) -> DeviceIdentity:
    """Identify, reconnecting once (bounded) if the link dropped (e.g. a failed self-test reset it)."""
    try:
        return target.identify()
    except (LinkError, NoResponseError):
        return wait_for_application(target, limits)


def other_slot(identity: DeviceIdentity) -> SlotState | None:
    """The non-active slot holding a bootable image, if any."""
    for slot in identity.slots:
        if not slot.active and slot.version is not None and slot.bootable:
            return slot
    return None


RollbackBlockerKind = Literal["not_running", "no_image", "refused_by_bootloader", "newer"]


@dataclass(frozen=True, slots=True)
class RollbackBlocker:
    """Why the Roll back button cannot work on this battery now (read from its identity, nothing sent).

    Attributes:
        kind: ``not_running`` (no application runs), ``no_image`` (the other slot is empty),
            ``refused_by_bootloader`` (the other image is there but the bootloader would not start
            it: its security counter is below the battery's, or it is damaged), ``newer`` (the other
            slot holds a newer image that was never confirmed: a failed update).
        mode: the device's mode.
        other_version: the image in the other slot, if any.
        running_version: the firmware running now.
        device_counter: the battery's security counter.
    """

    kind: RollbackBlockerKind
    mode: DeviceMode = DeviceMode.APPLICATION
    other_version: FirmwareVersion | None = None
    running_version: FirmwareVersion | None = None
    device_counter: int = 0


def rollback_blocker(identity: DeviceIdentity | None) -> RollbackBlocker | None:
    """Why a manual rollback would be refused, or None when it can go ahead.

    The one decision behind :func:`manual_rollback`'s refusals and the GUI's Roll back button, which
    shows beforehand (greyed out, with the reason) what pressing it would say afterwards.
    """
    if identity is None:
        return RollbackBlocker("not_running", DeviceMode.RECOVERY)

    def blocked(kind: RollbackBlockerKind, other: FirmwareVersion | None = None) -> RollbackBlocker:
        return RollbackBlocker(
            kind, identity.mode, other, identity.firmware_version, identity.security_counter
        )

    if identity.mode is not DeviceMode.APPLICATION:
        return blocked("not_running")
    previous = other_slot(identity)
    if previous is None or previous.version is None:
        stored = next((s for s in identity.slots if not s.active and s.version is not None), None)
        return blocked("refused_by_bootloader", stored.version) if stored is not None else blocked("no_image")
    running = identity.firmware_version
    if running is not None and previous.version > running:
        return blocked("newer", previous.version)
    return None


def _stuck(identity: DeviceIdentity) -> RollbackError:
    return RollbackError(
        t(
            "the device is in {mode} mode after the rollback; no firmware on it starts",
            mode=mode_name(identity.mode.value),
        ),
        hint=advice(FailureKind.STUCK_IN_RECOVERY).hint(),
    )


def _confirm_if_needed(target: Target, identity: DeviceIdentity, actions: list[str]) -> DeviceIdentity:
    if running_confirmed(identity):
        return identity
    target.confirm()
    actions.append(t("Confirmed {version}.", version=identity.firmware_version))
    confirmed = target.identify()
    if not running_confirmed(confirmed):
        raise RollbackError(
            t(
                "the device did not confirm firmware {version}",
                version=confirmed.firmware_version,
            )
        )
    return confirmed


def ensure_running(target: Target, expected: FirmwareVersion, limits: RebootLimits) -> RollbackReport:
    """Make sure the device runs ``expected`` (the version from before an update), rolling back if not.

    If the bootloader already reverted (boot loop), nothing is written: the report says so. If the
    new image still runs in test mode, a rollback request (or, failing that, a reset — MCUboot
    reverts an unconfirmed image on reset) brings the old one back.

    Raises:
        RollbackError: the device cannot be brought back to ``expected`` (with advice).
    """
    actions: list[str] = []
    identity = current_identity(target, limits)
    start_version = identity.firmware_version
    if identity.mode is DeviceMode.APPLICATION and identity.firmware_version == expected:
        actions.append(t("The device already runs {version}.", version=expected))
        identity = _confirm_if_needed(target, identity, actions)
        return RollbackReport(start_version, identity.firmware_version, identity, tuple(actions))
    if identity.mode is not DeviceMode.RECOVERY:
        try:
            target.rollback()
        except (DeviceRejectedError, UnsupportedOperationError) as exc:
            raise RollbackError(
                t(
                    "the device refused to roll back from {running} to {expected}: {error}",
                    running=start_version,
                    expected=expected,
                    error=exc.message,
                ),
                hint=t(
                    "A device refuses images below its security counter (anti-rollback); install a newer "
                    "fixed release instead."
                ),
            ) from exc
        actions.append(
            t(
                "Asked the device to revert from {running} to {expected}.",
                running=start_version,
                expected=expected,
            )
        )
        identity = wait_for_application(target, limits)
        if identity.mode is DeviceMode.APPLICATION and identity.firmware_version != expected:
            # An unconfirmed test image reverts on reset even if the rollback request was ignored.
            reset_device(target)
            actions.append(t("Reset the device to let its bootloader revert the unconfirmed image."))
            identity = wait_for_application(target, limits)
    if identity.mode is not DeviceMode.APPLICATION:
        raise _stuck(identity)
    if identity.firmware_version != expected:
        raise RollbackError(
            t(
                "the device runs {running} after the rollback, not {expected}",
                running=identity.firmware_version,
                expected=expected,
            ),
            hint=advice(FailureKind.BOOT_LOOP).hint(),
        )
    identity = _confirm_if_needed(target, identity, actions)
    return RollbackReport(start_version, identity.firmware_version, identity, tuple(actions))


def _refusal(blocker: RollbackBlocker, identity: DeviceIdentity) -> RollbackError:
    """The error a manual rollback gives for a blocker (nothing has been written)."""
    if blocker.kind == "not_running":
        return _stuck(identity)
    if blocker.kind == "refused_by_bootloader":
        return RollbackError(
            t(
                "the device refused to roll back from {running} to {expected}: its bootloader "
                "would not boot that image",
                running=identity.firmware_version,
                expected=blocker.other_version,
            ),
            hint=t(
                "A device refuses images below its security counter (anti-rollback); install a newer "
                "fixed release instead."
            ),
        )
    if blocker.kind == "no_image":
        return RollbackError(t("the device holds no previous firmware to roll back to"))
    # After a failed update was rolled back, the other slot holds the rejected *newer* image.
    # "Rolling back" to it would boot and confirm exactly the firmware that failed, and raise
    # the security counter so the good firmware could never return.
    return RollbackError(
        t(
            "the other slot holds {version}, newer than the running {running} (most likely an update "
            "that failed and was rolled back); a rollback only returns to older firmware",
            version=blocker.other_version,
            running=identity.firmware_version,
        ),
        hint=t(
            "To install a newer release, run 'bmsflasher flash PKG': it is verified, self-tested and "
            "rolled back automatically if it fails."
        ),
    )


def manual_rollback(target: Target, limits: RebootLimits) -> RollbackReport:
    """Roll back to whatever the other slot holds (the technician's Roll back button / command).

    Raises:
        RollbackError: there is no bootable image in the other slot, or the device does not come
            back on it.
    """
    identity = current_identity(target, limits)
    blocker = rollback_blocker(identity)
    if blocker is not None:
        raise _refusal(blocker, identity)
    previous = other_slot(identity)
    if previous is None or previous.version is None:  # rollback_blocker has ruled this out
        raise _refusal(RollbackBlocker("no_image", identity.mode), identity)
    return ensure_running(target, previous.version, limits)


ROLLBACK_STEP = "rollback"


def manual_rollback_recorded(
    target: Target,
    db: RecordsDb,
    sink: EventSink = discard,
    *,
    operator: str = "",
    journal_folder: Path | None = None,
    details: Mapping[str, object] | None = None,
) -> RollbackReport:
    """:func:`manual_rollback`, written to the service history as a ``rollback`` session.

    The one implementation behind ``bmsflasher rollback``, the CLI's "keep this firmware?" question
    after ``flash`` and the GUI's Roll back button, so all of them leave the same record. The
    device's update journal is removed afterwards: an interrupted update it described no longer
    applies to firmware the technician chose to leave.

    Args:
        target: the open device, running an application.
        db: the service history.
        sink: receives the rollback step and one log line per action taken.
        operator: who asked for the rollback.
        journal_folder: where update journals live (None: the user's default folder).
        details: extra facts for the session (``rollback --all`` names the pack's session here).

    Raises:
        BmsFlasherError: the rollback failed (after the failure has been recorded); a
            RollbackError says why, with advice.
    """
    identity = target.identify()
    db.upsert_device(identity)
    session = db.start_session(
        identity.serial_number,
        "rollback",
        operator,
        None,
        {**(details or {}), "link": target.link.describe()},
    )
    sink(StepStarted(ROLLBACK_STEP, t("Roll back to the previous firmware")))
    stop_recording_unlocks = record_unlocks(target, db, session, sink)
    try:
        report = manual_rollback(target, profile_for_model(identity.model).reboot)
    except BmsFlasherError as exc:
        db.log_step(session, ROLLBACK_STEP, False, exc.message)
        db.finish_session(session, "failed", str(identity.firmware_version), None)
        sink(StepFinished(ROLLBACK_STEP, False, exc.message))
        raise
    finally:
        stop_recording_unlocks()
    for action in report.actions:
        sink(LogLine(LogLevel.INFO, action))
    db.log_step(session, ROLLBACK_STEP, True, " ".join(report.actions))
    db.finish_session(
        session,
        "rolled_back",
        str(report.from_version) if report.from_version else None,
        str(report.to_version) if report.to_version else None,
    )
    journal = Journal.load(identity.serial_number, journal_folder)
    if journal is not None:
        journal.remove()
    sink(StepFinished(ROLLBACK_STEP, True, t("now running {version}", version=report.to_version)))
    return report

"""Configuration backup, restore and edits as recorded service sessions, whichever front-end asks.

The first release recorded CLI backups and restores as sessions while the GUI called the same
primitives without one, so a backup made in the GUI never reached History. Every configuration
flow a technician starts now goes through here: it opens a session, logs each step, closes the
session with its outcome (also when it fails), and refuses a backup that belongs to another device
before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import BmsFlasherError, ConfigValidationError
from bmsflasher.core.i18n import t
from bmsflasher.core.target import Target
from bmsflasher.core.types import ConfigSnapshot, DeviceIdentity, ParameterValue
from bmsflasher.procedure.backup import (
    ConfigDiff,
    RestoreResult,
    diff_snapshots,
    restore_snapshot,
    take_backup,
)
from bmsflasher.procedure.unlock_records import record_unlocks
from bmsflasher.records import BackupRecord, RecordsDb

BACKUP_SESSION: Final = "backup"
RESTORE_SESSION: Final = "restore"
CONFIG_WRITE_SESSION: Final = "config_write"


def _version_text(identity: DeviceIdentity) -> str | None:
    return str(identity.firmware_version) if identity.firmware_version else None


@dataclass(frozen=True, slots=True)
class BackupOutcome:
    """A stored, verified backup and the session that recorded it."""

    record: BackupRecord
    session_id: int
    identity: DeviceIdentity


def backup_recorded(
    target: Target, db: RecordsDb, *, operator: str = "", front_end: str = "cli"
) -> BackupOutcome:
    """Read and store every parameter as a ``backup`` session (verified by a second read).

    Raises:
        ProcedureError / StorageError: the read was unstable or the stored copy differs; the session
            is closed as ``failed`` with the reason.
    """
    identity = target.identify()
    db.upsert_device(identity)
    session = db.start_session(
        identity.serial_number,
        BACKUP_SESSION,
        operator,
        None,
        {"link": target.link.describe(), "front_end": front_end},
    )
    version = _version_text(identity)
    try:
        record = take_backup(target, db, identity.serial_number, session)
    except BmsFlasherError as exc:
        db.log_step(session, "backup", False, exc.message)
        db.finish_session(session, "failed", version, version)
        raise
    db.log_step(session, "backup", True, f"backup {record.id} sha256 {record.sha256}")
    db.finish_session(session, "backed_up", version, version)
    return BackupOutcome(record, session, identity)


def choose_backup(db: RecordsDb, serial: str, backup_id: int | None) -> BackupRecord:
    """The backup to restore on device ``serial``: the named one (which must be this device's) or the latest.

    Raises:
        ConfigValidationError: the backup belongs to another device, or the device has none.
    """
    if backup_id is not None:
        record = db.get_backup(backup_id)
        if record.serial != serial:
            raise ConfigValidationError(
                t(
                    "backup {backup_id} belongs to device {device_serial}, not {serial}",
                    backup_id=backup_id,
                    device_serial=record.serial,
                    serial=serial,
                )
            )
        return record
    backups = db.list_backups(serial)
    if not backups:
        raise ConfigValidationError(
            t(
                "there is no configuration backup of device {serial}; back it up first",
                serial=serial,
            )
        )
    return backups[0]


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """What a restore would write, shown to the technician before they agree."""

    identity: DeviceIdentity
    record: BackupRecord
    diff: ConfigDiff
    """Backup against the device's current configuration."""


def plan_restore(target: Target, db: RecordsDb, backup_id: int | None) -> RestorePlan:
    """Pick the backup (this device's only) and diff it against the device; writes nothing."""
    identity = target.identify()
    record = choose_backup(db, identity.serial_number, backup_id)
    diff = diff_snapshots(record.snapshot, target.read_config(), t("backup {backup_id}", backup_id=record.id))
    return RestorePlan(identity, record, diff)


@dataclass(frozen=True, slots=True)
class RestoreOutcome:
    """What a recorded restore wrote, and the session that recorded it."""

    record: BackupRecord
    session_id: int
    result: RestoreResult


def restore_recorded(
    target: Target, db: RecordsDb, plan: RestorePlan, *, operator: str = "", front_end: str = "cli"
) -> RestoreOutcome:
    """Write the planned backup to the device as a ``restore`` session, verified by read-back.

    The device is identified again first: a plan made for one battery is never written to another
    (a port that re-enumerated to a different device between plan and confirmation).

    Raises:
        ConfigValidationError: the connected device is not the one the plan was made for.
        ProcedureError: the device did not take the values back (the session records the failure).
    """
    identity = target.identify()
    if identity.serial_number != plan.record.serial:
        raise ConfigValidationError(
            t(
                "backup {backup_id} belongs to device {device_serial}, not {serial}",
                backup_id=plan.record.id,
                device_serial=plan.record.serial,
                serial=identity.serial_number,
            )
        )
    session = db.start_session(
        identity.serial_number,
        RESTORE_SESSION,
        operator,
        None,
        {"backup_id": plan.record.id, "backup_sha256": plan.record.sha256, "front_end": front_end},
    )
    version = _version_text(identity)
    stop_recording_unlocks = record_unlocks(target, db, session)
    try:
        result = restore_snapshot(
            target, plan.record.snapshot, t("backup {backup_id}", backup_id=plan.record.id)
        )
    except BmsFlasherError as exc:
        db.log_step(session, "restore", False, exc.message)
        db.finish_session(session, "failed", version, version)
        raise
    finally:
        stop_recording_unlocks()
    db.log_step(session, "restore", True, f"wrote {', '.join(result.written) or 'nothing'}")
    db.finish_session(session, "restored", version, version)
    return RestoreOutcome(plan.record, session, result)


@dataclass(frozen=True, slots=True)
class ConfigWriteOutcome:
    """The device's configuration after an edit, and the session that recorded the edit."""

    after: ConfigSnapshot
    written: tuple[str, ...]
    session_id: int | None


def write_parameters_recorded(
    target: Target,
    db: RecordsDb,
    values: Mapping[str, ParameterValue],
    *,
    operator: str = "",
    front_end: str = "cli",
) -> ConfigWriteOutcome:
    """Write the changed ``values`` on top of the device's configuration, recorded, then read back.

    Values equal to what the device holds are not written (nothing is recorded when nothing changes).
    The target contract refuses a change to a read-only parameter before anything is written.
    """
    current = target.read_config()
    known = current.parameters
    changed = {n: v for n, v in values.items() if n not in known or known[n] != v}
    if not changed:
        return ConfigWriteOutcome(current, (), None)
    identity = target.identify()
    db.upsert_device(identity)
    session = db.start_session(
        identity.serial_number,
        CONFIG_WRITE_SESSION,
        operator,
        None,
        {"parameters": {n: changed[n] for n in sorted(changed)}, "front_end": front_end},
    )
    version = _version_text(identity)
    stop_recording_unlocks = record_unlocks(target, db, session)
    try:
        target.write_config(ConfigSnapshot(current.schema_version, changed))
        after = target.read_config()
    except BmsFlasherError as exc:
        db.log_step(session, "write_config", False, exc.message)
        db.finish_session(session, "failed", version, version)
        raise
    finally:
        stop_recording_unlocks()
    names = tuple(sorted(changed))
    db.log_step(session, "write_config", True, f"wrote {', '.join(names)}")
    db.finish_session(session, "config_written", version, version)
    return ConfigWriteOutcome(after, names, session)

"""Turn database rows into record dataclasses (the only place that knows column order)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Final

from bmsflasher.core.errors import RecordsTamperedError
from bmsflasher.core.i18n import t
from bmsflasher.records.codec import parse_time, snapshot_from_json, snapshot_sha256, telemetry_from_json
from bmsflasher.records.models import (
    BackupRecord,
    DeviceRecord,
    MeasurementRecord,
    SessionRecord,
    StepRecord,
    TelemetryRecord,
)

DEVICE_COLUMNS: Final = (
    "serial, model, hardware_revision, firmware_version, bootloader_version, first_seen, last_seen"
)
SESSION_COLUMNS: Final = (
    "id, serial, kind, operator, package_sha256, details, started, finished, outcome, "
    "from_version, to_version"
)
STEP_COLUMNS: Final = "id, session_id, at, step, ok, detail"
MEASUREMENT_COLUMNS: Final = "id, session_id, at, step, name, value, limit_text, passed, why, overridable"
TELEMETRY_COLUMNS: Final = "id, session_id, at, label, sample"
BACKUP_COLUMNS: Final = "id, serial, session_id, schema_version, sha256, created, snapshot"

Row = tuple[Any, ...] | sqlite3.Row


def device(row: Row) -> DeviceRecord:
    """A devices row."""
    return DeviceRecord(
        serial=row[0],
        model=row[1],
        hardware_revision=row[2],
        firmware_version=row[3],
        bootloader_version=row[4],
        first_seen=parse_time(row[5]),
        last_seen=parse_time(row[6]),
    )


def session(row: Row) -> SessionRecord:
    """A sessions row (details decoded from JSON)."""
    return SessionRecord(
        id=row[0],
        serial=row[1],
        kind=row[2],
        operator=row[3],
        package_sha256=row[4],
        details=json.loads(row[5]),
        started=parse_time(row[6]),
        finished=parse_time(row[7]) if row[7] else None,
        outcome=row[8],
        from_version=row[9],
        to_version=row[10],
    )


def step(row: Row) -> StepRecord:
    """A steps row."""
    return StepRecord(
        id=row[0],
        session_id=row[1],
        at=parse_time(row[2]),
        step=row[3],
        ok=None if row[4] is None else bool(row[4]),
        detail=row[5],
    )


def measurement(row: Row) -> MeasurementRecord:
    """A measurements row."""
    return MeasurementRecord(
        id=row[0],
        session_id=row[1],
        at=parse_time(row[2]),
        step=row[3],
        name=row[4],
        value=row[5],
        limit=row[6],
        passed=bool(row[7]),
        why=row[8],
        overridable=bool(row[9]),
    )


def telemetry(row: Row) -> TelemetryRecord:
    """A telemetry row (the pack snapshot decoded)."""
    return TelemetryRecord(
        id=row[0],
        session_id=row[1],
        at=parse_time(row[2]),
        label=row[3],
        telemetry=telemetry_from_json(json.loads(row[4])),
    )


def backup(row: Row) -> BackupRecord:
    """Decode a backup and check its checksum: a backup that was edited must never be restored."""
    try:
        snapshot = snapshot_from_json(json.loads(row[6]))
    except (ValueError, KeyError, TypeError) as exc:
        raise RecordsTamperedError(
            t("backup {backup_id} is unreadable, so it must not be restored", backup_id=row[0])
        ) from exc
    if snapshot_sha256(snapshot) != row[4] or snapshot.schema_version != row[3]:
        raise RecordsTamperedError(
            t(
                "backup {backup_id} of {serial} does not match its SHA-256, so it must not be restored",
                backup_id=row[0],
                serial=row[1],
            ),
            hint=t("Run 'bmsflasher history verify' to see what else was changed."),
        )
    return BackupRecord(
        id=row[0],
        serial=row[1],
        session_id=row[2],
        sha256=row[4],
        created=parse_time(row[5]),
        snapshot=snapshot,
    )

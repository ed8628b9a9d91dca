"""``backup`` and ``restore``: keep a battery's configuration safe in the service history.

A backup stores every parameter with its schema version and SHA-256 as a ``backup`` session; a
restore writes a backup of the same device back (the latest one unless ``--backup ID`` names
another), shows the differences and asks first, and is recorded as a ``restore`` session.
"""

from __future__ import annotations

import argparse

from bmsflasher.cli.render import ask, make_console, print_diff, print_json, require_interactive_or_yes
from bmsflasher.cli.target_args import (
    add_device_arguments,
    add_history_arguments,
    add_yes_argument,
    opened_records,
    opened_target,
)
from bmsflasher.core.errors import ConfigValidationError, ProcedureError
from bmsflasher.procedure.backup import diff_snapshots, restore_snapshot, take_backup
from bmsflasher.records import BackupRecord, RecordsDb

EXIT_OK = 0
EXIT_DECLINED = 1


def pick_backup(db: RecordsDb, serial: str, backup_id: int | None) -> BackupRecord:
    """The backup ``backup_id`` names (it must be this device's), or the device's latest one."""
    if backup_id is not None:
        record = db.get_backup(backup_id)
        if record.serial != serial:
            raise ConfigValidationError(f"backup {backup_id} belongs to device {record.serial}, not {serial}")
        return record
    backups = db.list_backups(serial)
    if not backups:
        raise ConfigValidationError(
            f"there is no configuration backup of device {serial}; run 'bmsflasher backup'"
        )
    return backups[0]


def _cmd_backup(args: argparse.Namespace) -> int:
    with opened_records(args) as db, opened_target(args) as target:
        identity = target.identify()
        db.upsert_device(identity)
        session = db.start_session(
            identity.serial_number, "backup", args.operator, None, {"link": target.link.describe()}
        )
        record = take_backup(target, db, identity.serial_number, session)
        db.log_step(session, "backup", True, f"backup {record.id} sha256 {record.sha256}")
        version = str(identity.firmware_version) if identity.firmware_version else None
        db.finish_session(session, "backed_up", version, version)
    if args.json:
        print_json(
            {
                "backup_id": record.id,
                "serial_number": record.serial,
                "sha256": record.sha256,
                "schema_version": record.snapshot.schema_version,
                "parameters": len(record.snapshot.parameters),
                "created": record.created.isoformat(),
            }
        )
    else:
        make_console().print(
            f"Backup {record.id} of {record.serial}: {len(record.snapshot.parameters)} parameters, "
            f"schema {record.snapshot.schema_version}, SHA-256 {record.sha256}",
            highlight=False,
        )
    return EXIT_OK


def _cmd_restore(args: argparse.Namespace) -> int:
    require_interactive_or_yes(args, "restore")
    with opened_records(args) as db, opened_target(args) as target:
        identity = target.identify()
        record = pick_backup(db, identity.serial_number, args.backup)
        before = diff_snapshots(record.snapshot, target.read_config(), f"backup {record.id}", "device")
        if not args.yes:
            print_diff(make_console(), before)
            if not ask(f"Write backup {record.id} to device {identity.serial_number}?"):
                return EXIT_DECLINED
        session = db.start_session(
            identity.serial_number, "restore", args.operator, None, {"backup_id": record.id}
        )
        try:
            result = restore_snapshot(target, record.snapshot, f"backup {record.id}")
        except ProcedureError as exc:
            db.log_step(session, "restore", False, exc.message)
            db.finish_session(session, "failed", None, None)
            raise
        db.log_step(session, "restore", True, f"wrote {', '.join(result.written) or 'nothing'}")
        version = str(identity.firmware_version) if identity.firmware_version else None
        db.finish_session(session, "restored", version, version)
    if args.json:
        print_json(
            {
                "backup_id": record.id,
                "written": list(result.written),
                "skipped": list(result.skipped),
                "diff_after": result.after.to_json(),
            }
        )
    else:
        make_console().print(
            f"Restored backup {record.id}: wrote {len(result.written)} parameters"
            + (f", skipped {', '.join(result.skipped)}" if result.skipped else "")
            + ".",
            highlight=False,
        )
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``backup`` and ``restore``."""
    backup = subparsers.add_parser("backup", help="back up every configuration parameter to the history")
    add_device_arguments(backup)
    add_history_arguments(backup)
    backup.set_defaults(func=_cmd_backup)

    restore = subparsers.add_parser("restore", help="write a configuration backup back to the device")
    add_device_arguments(restore)
    add_history_arguments(restore)
    restore.add_argument("--backup", type=int, metavar="ID", help="backup id (default: the device's latest)")
    add_yes_argument(restore)
    restore.set_defaults(func=_cmd_restore)

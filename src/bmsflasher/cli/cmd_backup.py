"""``backup`` and ``restore``: keep a battery's configuration safe in the service history.

A backup stores every parameter with its schema version and SHA-256 as a ``backup`` session; a
restore writes a backup of the same device back (the latest one unless ``--backup ID`` names
another), shows the differences and asks first, and is recorded as a ``restore`` session. Both
flows are :mod:`bmsflasher.procedure.config_service`'s (the GUI records them the same way); this
module only asks, prints and maps the outcome to an exit code.
"""

from __future__ import annotations

import argparse

from bmsflasher.cli.console import (
    ask,
    declined,
    make_console,
    print_json,
    require_interactive_or_yes,
    say,
)
from bmsflasher.cli.render import print_diff
from bmsflasher.cli.target_args import (
    add_device_arguments,
    add_history_arguments,
    add_yes_argument,
    opened_records,
    opened_target,
)
from bmsflasher.core.i18n import t
from bmsflasher.procedure.config_service import backup_recorded, plan_restore, restore_recorded

EXIT_OK = 0
EXIT_DECLINED = 1


def _cmd_backup(args: argparse.Namespace) -> int:
    with opened_records(args) as db, opened_target(args) as target:
        record = backup_recorded(target, db, operator=args.operator).record
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
        line = t(
            "Backup {backup_id} of {serial}: {count} parameters, schema {schema}, SHA-256 {sha256}",
            backup_id=record.id,
            serial=record.serial,
            count=len(record.snapshot.parameters),
            schema=record.snapshot.schema_version,
            sha256=record.sha256,
        )
        make_console().print(say(line), highlight=False, markup=False)
    return EXIT_OK


def _cmd_restore(args: argparse.Namespace) -> int:
    require_interactive_or_yes(args, "restore")
    with opened_records(args) as db, opened_target(args) as target:
        plan = plan_restore(target, db, args.backup)
        if not args.yes:
            print_diff(make_console(), plan.diff)
            question = t(
                "Write backup {backup_id} to device {serial}?",
                backup_id=plan.record.id,
                serial=plan.identity.serial_number,
            )
            if not ask(question):
                return declined(args, t("Restore cancelled: nothing was written."), EXIT_DECLINED)
        result = restore_recorded(target, db, plan, operator=args.operator).result
    if args.json:
        print_json(
            {
                "backup_id": plan.record.id,
                "written": list(result.written),
                "skipped": list(result.skipped),
                "diff_after": result.after.to_json(),
            }
        )
    else:
        if result.skipped:
            line = t(
                "Restored backup {backup_id}: wrote {count} parameters, skipped {skipped}.",
                backup_id=plan.record.id,
                count=len(result.written),
                skipped=", ".join(result.skipped),
            )
        else:
            line = t(
                "Restored backup {backup_id}: wrote {count} parameters.",
                backup_id=plan.record.id,
                count=len(result.written),
            )
        make_console().print(say(line), highlight=False, markup=False)
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``backup`` and ``restore``."""
    backup = subparsers.add_parser(
        "backup", help=say(t("back up every configuration parameter to the history"))
    )
    add_device_arguments(backup)
    add_history_arguments(backup)
    backup.set_defaults(func=_cmd_backup)

    restore = subparsers.add_parser("restore", help=say(t("write a configuration backup back to the device")))
    add_device_arguments(restore)
    add_history_arguments(restore)
    restore.add_argument(
        "--backup", type=int, metavar="ID", help=say(t("backup id (default: the device's latest)"))
    )
    add_yes_argument(restore)
    restore.set_defaults(func=_cmd_restore)

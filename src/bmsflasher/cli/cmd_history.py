"""``history``, ``history verify`` and ``report``: read the service history and export reports.

Thin over :mod:`bmsflasher.records`: parse arguments, open the history, print a rich table or JSON.
``history verify`` exits non-zero (the storage exit code) and names the first broken record when
the audit trail does not verify, so scripts and auditors can rely on the exit status.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from bmsflasher.cli.console import error_json, language, make_console, plain, print_json, say
from bmsflasher.cli.history_show import run_show
from bmsflasher.core.display_text import visible
from bmsflasher.core.errors import RecordsTamperedError, StorageError
from bmsflasher.core.i18n import t
from bmsflasher.records import BackupRecord, DeviceRecord, RecordsDb, SessionRecord
from bmsflasher.records.db import default_db_path
from bmsflasher.records.report_files import report_format_for

FORMATS: Final = ("html", "pdf")
"""Report formats (as ``records.reports.FORMATS``; the renderer and its PDF library load on use)."""
LANGUAGES: Final = ("en", "fr", "nl")

_OUTCOMES: Final = {
    "updated": t("updated"),
    "refused": t("refused"),
    "rolled_back": t("rolled back"),
    "failed": t("failed"),
    "cancelled": t("cancelled"),
    "recovered": t("recovered"),
    "backed_up": t("backed up"),
    "restored": t("restored"),
    "config_written": t("configuration written"),
    "untouched": t("untouched"),
}
"""A session's recorded outcome (a stable key) → its word in the table (JSON keeps the key)."""
_KINDS: Final = {
    "update": t("update"),
    "rollback": t("rollback"),
    "recovery": t("recovery"),
    "backup": t("backup"),
    "restore": t("restore"),
    "config_write": t("configuration change"),
    "campaign": t("pack campaign"),
    "pack_rollback": t("pack rollback"),
}
"""A session's kind → its word in the table."""

_DB_HELP: Final = t("service history file (default: history.sqlite3 in the user data folder)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``history`` (with ``verify``) and ``report``."""
    history = subparsers.add_parser(
        "history",
        help=say(t("list service sessions; 'history verify' checks the audit trail")),
        description=say(t("List the service sessions recorded on this computer, newest first.")),
    )
    history.add_argument("--serial", help=say(t("only sessions of the device with this serial number")))
    history.add_argument("--json", action="store_true", help=say(t("print JSON instead of a table")))
    history.add_argument("--db", type=Path, help=say(_DB_HELP))
    history.set_defaults(func=run_history)
    actions = history.add_subparsers(dest="history_action", metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        help=say(t("recompute the audit hash chain; exits non-zero when a record was changed")),
        description=say(t("Recompute the hash-chained audit trail and compare every record with it.")),
    )
    # SUPPRESS keeps "history --json verify" working: a sub-parser default would overwrite the flag.
    verify.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=say(t("print JSON")))
    verify.add_argument("--db", type=Path, default=argparse.SUPPRESS, help=say(_DB_HELP))
    verify.set_defaults(func=run_verify)
    show = actions.add_parser(
        "show",
        help=say(
            t("one session in full: its steps, the firmware's signers and the authenticated technician")
        ),
        description=say(
            t(
                "Show one session: its steps, who signed the firmware it installed (key id, certificate "
                "subject and fingerprint) and which technician certificate the device authenticated."
            )
        ),
    )
    show.add_argument(
        "session_id",
        type=_session_id_arg,
        metavar="SESSION_ID",
        help=say(t("the session's id in 'bmsflasher history'")),
    )
    show.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=say(t("print JSON")))
    show.add_argument("--db", type=Path, default=argparse.SUPPRESS, help=say(_DB_HELP))
    show.set_defaults(func=lambda args: run_show(args, session_json))

    report = subparsers.add_parser(
        "report",
        help=say(t("write the service report of a session as HTML or PDF")),
        description=say(t("Write the service report of one session (see 'bmsflasher history' for ids).")),
    )
    report.add_argument(
        "session_id",
        type=_session_id_arg,
        metavar="SESSION_ID",
        help=say(t("the session's id in 'bmsflasher history'")),
    )
    report.add_argument(
        "--format", choices=FORMATS, dest="fmt", help=say(t("html or pdf (default: from --out)"))
    )
    report.add_argument(
        "--out", type=Path, required=True, metavar="FILE", help=say(t("file to write (.html or .pdf)"))
    )
    report.add_argument(
        "--lang",
        choices=sorted(LANGUAGES),
        dest="language",
        default=argparse.SUPPRESS,
        help=say(
            t(
                "language of the report and the output (default: bmsflasher's --lang, else "
                "BMSFLASHER_LANG, then LANG)"
            )
        ),
    )
    report.add_argument("--db", type=Path, help=say(_DB_HELP))
    report.add_argument("--json", action="store_true", help=say(t("print the result as JSON on stdout")))
    report.set_defaults(func=run_report)


def _session_id_arg(text: str) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            say(t("'{text}' is not a session id (a whole number from 1)", text=text))
        )
    return value


def _existing_history(db_arg: Path | None) -> Path | None:
    """The history file these read-only commands use; None when the default one does not exist yet.

    Reading must never create: a mistyped ``--db`` would otherwise become a fresh, empty history
    that ``history verify`` calls intact.

    Raises:
        StorageError: ``--db`` names a file that does not exist.
    """
    path = default_db_path() if db_arg is None else Path(db_arg)
    if path.exists():
        return path
    if db_arg is not None:
        raise StorageError(
            t("the service history {path} does not exist", path=path), hint=t("Check the --db path.")
        )
    return None


# --- history ---------------------------------------------------------------------------------------
def run_history(args: argparse.Namespace) -> int:
    """List sessions (and, for one serial, the device and its backups)."""
    serial: str | None = args.serial
    path = _existing_history(args.db)
    if path is None:
        if args.json:
            empty: dict[str, Any] = {"sessions": []}
            if serial:
                empty.update(device=None, backups=[])
            print_json(empty)
        else:
            make_console().print(say(t("No service sessions are recorded yet.")))
        return 0
    with RecordsDb.open(path) as db:
        sessions = db.sessions(serial)
        device = db.device(serial) if serial else None
        backups = db.list_backups(serial) if serial else []
    if args.json:
        payload: dict[str, Any] = {"sessions": [session_json(s) for s in sessions]}
        if serial:
            payload["device"] = device_json(device) if device else None
            payload["backups"] = [backup_json(b) for b in backups]
        print_json(payload, ensure_ascii=False)
        return 0
    console = make_console()  # recorded text (operator names, device strings) is shown as is
    if serial and device is None and not sessions:
        console.print(
            escape(say(t("No device with serial number {serial} is in the service history.", serial=serial)))
        )
        return 0
    if device is not None:
        console.print(
            f"[bold]{escape(visible(device.serial))}[/] "
            + escape(
                say(
                    t(
                        "{model}, hardware {hardware}, firmware {firmware}, last seen {when}",
                        model=device.model,
                        hardware=device.hardware_revision,
                        firmware=device.firmware_version or "?",
                        when=_when(device.last_seen),
                    )
                )
            )
        )
    console.print(_sessions_table(sessions))
    if backups:
        console.print(_backups_table(backups))
    return 0


def _sessions_table(sessions: list[SessionRecord]) -> Table | str:
    if not sessions:
        return say(t("No service sessions are recorded yet."))
    table = Table(title=say(t("Service sessions")), title_justify="left")
    for column in (
        t("id"),
        t("started"),
        t("serial"),
        t("service"),
        t("operator"),
        t("outcome"),
        t("firmware"),
    ):
        table.add_column(say(column))
    for s, child in _grouped(sessions):
        versions = (
            f"{s.from_version or '?'} → {s.to_version or '?'}" if s.from_version or s.to_version else ""
        )
        outcome = (
            Text(say(_OUTCOMES.get(s.outcome, s.outcome)))
            if s.outcome
            else Text(say(t("interrupted")), style="yellow")
        )
        serial = f"└ {s.serial}" if child else s.serial
        cells = (str(s.id), _when(s.started), serial, say(_KINDS.get(s.kind, s.kind)), s.operator)
        # plain cells: a recorded "[/bold]" must print as itself, not break the table as markup, and
        # a recorded control character as an escape, not clear the technician's screen.
        table.add_row(*(plain(cell) for cell in cells), outcome, plain(versions))
    return table


def _grouped(sessions: list[SessionRecord]) -> list[tuple[SessionRecord, bool]]:
    """Newest first, with each pack session's node sessions right under it (oldest node first).

    A node session whose pack session is not listed (``--serial`` of one node) stands on its own.
    """
    listed = {s.id for s in sessions}
    children: dict[int, list[SessionRecord]] = {}
    for s in sessions:
        if s.parent_id is not None and s.parent_id in listed:
            children.setdefault(s.parent_id, []).append(s)
    ordered: list[tuple[SessionRecord, bool]] = []
    for s in sessions:
        if s.parent_id is not None and s.parent_id in listed:
            continue
        ordered.append((s, False))
        ordered.extend((child, True) for child in sorted(children.get(s.id, []), key=lambda c: c.id))
    return ordered


def _backups_table(backups: list[BackupRecord]) -> Table:
    table = Table(title=say(t("Configuration backups")), title_justify="left")
    for column in (t("id"), t("created"), t("schema"), t("parameters"), "sha256"):
        table.add_column(say(column))
    for b in backups:
        table.add_row(
            str(b.id),
            _when(b.created),
            str(b.schema_version),
            str(len(b.snapshot.parameters)),
            b.sha256,
        )
    return table


def _when(moment: datetime) -> str:
    """Local time to the minute, for narrow tables (JSON keeps full ISO 8601 UTC)."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def session_json(s: SessionRecord) -> dict[str, Any]:
    """A session as JSON (times in ISO 8601 UTC)."""
    return {
        "id": s.id,
        "serial": s.serial,
        "kind": s.kind,
        "operator": s.operator,
        "package_sha256": s.package_sha256,
        "details": dict(s.details),
        "started": s.started.isoformat(),
        "finished": s.finished.isoformat() if s.finished else None,
        "outcome": s.outcome,
        "from_version": s.from_version,
        "to_version": s.to_version,
        "parent_session": s.parent_id,
    }


def device_json(d: DeviceRecord) -> dict[str, Any]:
    """A device as JSON."""
    return {
        "serial_number": d.serial,
        "model": d.model,
        "hardware_revision": d.hardware_revision,
        "firmware_version": d.firmware_version,
        "bootloader_version": d.bootloader_version,
        "first_seen": d.first_seen.isoformat(),
        "last_seen": d.last_seen.isoformat(),
    }


def backup_json(b: BackupRecord) -> dict[str, Any]:
    """A backup's reference as JSON (not its parameters: 'backup' and 'restore' handle those)."""
    return {
        "id": b.id,
        "serial": b.serial,
        "session_id": b.session_id,
        "schema_version": b.schema_version,
        "parameters": len(b.snapshot.parameters),
        "sha256": b.sha256,
        "created": b.created.isoformat(),
    }


# --- history verify --------------------------------------------------------------------------------
def run_verify(args: argparse.Namespace) -> int:
    """Verify the audit chain; exit 0 when intact, the storage exit code when a record was changed."""
    path = _existing_history(getattr(args, "db", None))
    as_json = getattr(args, "json", False)
    if path is None:
        if as_json:
            print_json(
                {
                    "ok": True,
                    "rows_checked": 0,
                    "first_bad_row": None,
                    "record": None,
                    "reason": None,
                    "head_hash": None,
                    "database": None,
                }
            )
        else:
            print(
                say(
                    t("There is no service history at {path} yet; nothing to verify.", path=default_db_path())
                )
            )
        return 0
    with RecordsDb.open(path) as db:
        report = db.verify_chain()
        path = db.path
    where = (
        t("audit row {row}", row=report.first_bad_row) if report.first_bad_row is not None else report.record
    )
    broken = t(
        "The audit trail of {path} is broken at {where}: {reason}.",
        path=path,
        where=where,
        reason=report.reason,
    )
    if as_json:
        payload: dict[str, object] = {
            "ok": report.ok,
            "rows_checked": report.rows_checked,
            "first_bad_row": report.first_bad_row,
            "record": report.record,
            "reason": report.reason,
            "head_hash": report.head_hash,
            "seals": report.seals,
            "newest_seal": report.newest_seal,
            "unsealed_rows": report.unsealed_rows,
            "database": str(path),
        }
        if not report.ok:
            tampered = RecordsTamperedError.__name__
            payload = error_json(tampered, broken, None, RecordsTamperedError.exit_code, **payload)
        print_json(payload)
    elif report.ok:
        print(
            say(
                t(
                    "The audit trail of {path} is intact: {count} audit records verified.",
                    path=path,
                    count=report.rows_checked,
                )
            )
        )
        print(say(t("Head hash: {hash}", hash=report.head_hash)))
        if report.seals:
            print(
                say(
                    t(
                        "Sealed: {count} signed checkpoints, the newest {newest}; {unsealed} newer audit "
                        "records are not sealed yet.",
                        count=report.seals,
                        newest=report.newest_seal,
                        unsealed=report.unsealed_rows,
                    )
                )
            )
        else:
            print(
                say(
                    t(
                        "Not sealed: no technician certificate signed this trail, so a rewrite re-hashed "
                        "from the start would verify as well."
                    )
                )
            )
    else:
        print(say(broken), file=sys.stderr)
    return 0 if report.ok else RecordsTamperedError.exit_code


# --- report ----------------------------------------------------------------------------------------
def run_report(args: argparse.Namespace) -> int:
    """Write one session's report."""
    out: Path = args.out
    fmt = report_format_for(out, args.fmt)  # "x.docx" is refused, not written as HTML
    path = _existing_history(args.db)
    if path is None:
        raise StorageError(t("there is no service history at {path} yet", path=default_db_path()))
    from bmsflasher.records.reports import render_report  # fpdf and its font machinery: ~1 s to import

    with RecordsDb.open(path) as db:
        written = render_report(db, args.session_id, fmt, out, language())
    if args.json:
        print_json({"session_id": args.session_id, "format": fmt, "path": str(written)})
        return 0
    print(
        say(
            t(
                "Wrote the {format} report of session {session} to {path}.",
                format=fmt.upper(),
                session=args.session_id,
                path=written,
            )
        )
    )
    return 0

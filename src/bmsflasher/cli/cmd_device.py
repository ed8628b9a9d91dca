"""Device commands: info, monitor, flash, recover, backup, restore, rollback, dtc, config (show, diff).

Thin over the procedure engine: each command opens the target the shared options name, calls one
engine function, renders its events with rich (or prints JSON with ``--json``) and returns an exit
code. ``flash`` exit codes: 0 updated, 2 refused by a precondition, 10 rolled back, 3 package
rejected, 4 link failure, 5 protocol failure, 6 other procedure failure, 1 cancelled.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shlex
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from bmsflasher.cli.target_args import (
    add_target_arguments,
    add_trust_argument,
    keyring_from_args,
    open_from_args,
)
from bmsflasher.core.errors import ConfigValidationError, ProcedureError
from bmsflasher.core.events import (
    Event,
    LogLevel,
    LogLine,
    Measurement,
    StepFinished,
    StepStarted,
)
from bmsflasher.core.events import Progress as ProgressEvent
from bmsflasher.core.target import Target
from bmsflasher.core.types import ConfigSnapshot, DeviceIdentity, Dtc, PackTelemetry
from bmsflasher.procedure.backup import ConfigDiff, diff_snapshots, restore_snapshot, take_backup
from bmsflasher.procedure.engine import REPORT_STEP, Approval, UpdateOptions, UpdateProcedure
from bmsflasher.procedure.package_loading import load_package, package_loader
from bmsflasher.procedure.preconditions import PreconditionReport
from bmsflasher.procedure.recovery import recover_recorded
from bmsflasher.procedure.results import EXIT_ROLLED_BACK, UpdateResult
from bmsflasher.procedure.rollback import RollbackReport, manual_rollback_recorded, other_slot
from bmsflasher.procedure.states import WRITES_DEVICE, State
from bmsflasher.records import BackupRecord, RecordsDb

EXIT_OK: Final = 0
_LEVEL_STYLE: Final = {
    LogLevel.DEBUG: "dim",
    LogLevel.INFO: "",
    LogLevel.WARNING: "yellow",
    LogLevel.ERROR: "bold red",
}


# --- JSON shapes ----------------------------------------------------------------------------------------
def identity_json(identity: DeviceIdentity) -> dict[str, Any]:
    """``info --json``: model, serial_number, hardware_revision, versions, mode and slot states."""

    def text(value: object | None) -> str | None:
        return None if value is None else str(value)

    return {
        "model": identity.model,
        "serial_number": identity.serial_number,
        "hardware_revision": identity.hardware_revision,
        "firmware_version": text(identity.firmware_version),
        "bootloader_version": text(identity.bootloader_version),
        "mode": identity.mode.value,
        "security_counter": identity.security_counter,
        "slots": [
            {
                "slot": slot.slot,
                "version": text(slot.version),
                "hash": slot.image_hash.hex(),
                "bootable": slot.bootable,
                "pending": slot.pending,
                "confirmed": slot.confirmed,
                "active": slot.active,
                "permanent": slot.permanent,
            }
            for slot in identity.slots
        ],
    }


def telemetry_json(t: PackTelemetry) -> dict[str, Any]:
    """One telemetry sample as JSON (units in the key names)."""
    return {
        "timestamp_s": t.timestamp_s,
        "cell_voltages_mv": list(t.cell_voltages_mv),
        "balancing": list(t.balancing),
        "temperatures_c": list(t.temperatures_c),
        "pack_voltage_mv": t.pack_voltage_mv,
        "current_ma": t.current_ma,
        "soc_pct": t.soc_pct,
        "soh_pct": t.soh_pct,
        "alarms": sorted(a.value for a in t.alarms),
    }


def dtc_json(dtc: Dtc) -> dict[str, Any]:
    """One trouble code as JSON (code as 6 hex digits, as workshop tools print it)."""
    return {
        "code": dtc.code_text,
        "status": dtc.status,
        "severity": dtc.severity.value,
        "description": dtc.description,
    }


def _print_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=False) + "\n")


# --- event rendering -------------------------------------------------------------------------------------
class EventRenderer:
    """Renders procedure events on a rich console: step lines, measurements, a transfer bar.

    The bar refreshes on each progress event (no background refresh thread), so nothing outlives
    the command.
    """

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self._console = console
        self._quiet = quiet
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._said: list[str] = []
        """Warning and error sentences already shown: a failure is told once, not once per layer."""
        self._reporting = False
        self._held: list[LogLine] = []

    def _already_said(self, text: str) -> bool:
        return bool(text) and any(text in said for said in self._said)

    def __call__(self, event: Event) -> None:
        if self._quiet:
            return
        if isinstance(event, ProgressEvent):
            self._show_progress(event)
            return
        self._stop_progress()
        if isinstance(event, StepStarted):
            self._reporting = event.step == REPORT_STEP
            self._console.print(f"[bold]▶ {escape(event.title)}[/bold]")
        elif isinstance(event, StepFinished):
            if event.step == REPORT_STEP:
                # The command prints the result line itself: show only what the report step adds.
                for line in self._held:
                    if line.message != event.detail and not self._already_said(line.message):
                        self._print_log(line)
                self._held.clear()
                self._reporting = False
            elif not event.ok and not self._already_said(event.detail):
                detail = f": {event.detail}" if event.detail else ""
                self._console.print(
                    f"✗ {event.step.replace('_', ' ')}{detail}",
                    style="red",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
                self._said.append(event.detail)
        elif isinstance(event, Measurement):
            mark = "[green]✓[/green]" if event.passed else "[red]✗[/red]"
            self._console.print(
                f"  {mark} {escape(event.name.replace('_', ' '))}: {escape(str(event.value))} "
                f"[dim](limit {escape(str(event.limit))})[/dim]",
                highlight=False,
                soft_wrap=True,
            )
        elif isinstance(event, LogLine):
            if self._reporting:
                self._held.append(event)
            else:
                self._print_log(event)

    def _print_log(self, event: LogLine) -> None:
        style = _LEVEL_STYLE[event.level]
        # soft_wrap: a sentence is one line in a log file or a pipe, not broken at column 80.
        self._console.print(
            f"  {event.message}", style=style or None, highlight=False, markup=False, soft_wrap=True
        )
        if event.level in (LogLevel.WARNING, LogLevel.ERROR):
            self._said.append(event.message)

    def _show_progress(self, event: ProgressEvent) -> None:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("  transfer"),
                BarColumn(),
                DownloadColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("{task.fields[eta]}"),
                console=self._console,
                auto_refresh=False,
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task("transfer", total=event.total, rate="", eta="")
        assert self._task is not None
        rate = f"{event.throughput_bps / 1024:.1f} KiB/s" if event.throughput_bps else ""
        eta = f"ETA {event.eta_s:.0f} s" if event.eta_s is not None else ""
        self._progress.update(self._task, completed=event.done, total=event.total, rate=rate, eta=eta)
        self._progress.refresh()

    def _stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None

    def close(self) -> None:
        """Stop the bar if one is showing."""
        self._stop_progress()


# --- shared helpers ----------------------------------------------------------------------------------------
def _add_common(parser: argparse.ArgumentParser, *, json_help: str = "print JSON instead of text") -> None:
    add_target_arguments(parser)
    parser.add_argument("--json", action="store_true", help=json_help)


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", type=Path, metavar="FILE", help="service history database (default: user data folder)"
    )
    parser.add_argument("--operator", default="", help="technician's name for the service record")


@contextlib.contextmanager
def _target(args: argparse.Namespace) -> Iterator[Target]:
    target = open_from_args(args)
    try:
        yield target
    finally:
        target.close()


@contextlib.contextmanager
def _records(args: argparse.Namespace) -> Iterator[RecordsDb]:
    db = RecordsDb.open(args.db)
    try:
        yield db
    finally:
        db.close()


def _console() -> Console:
    # emoji=False: device and user text (":x:", "[/b]") is shown as is; tables get Text cells.
    return Console(highlight=False, emoji=False)


def _ask(question: str) -> bool:
    """Ask a yes/no question on the terminal; anything but y/yes is no.

    The question goes to stderr, so ``--json`` output on stdout stays one clean JSON document.
    """
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _require_interactive_or_yes(args: argparse.Namespace, what: str) -> None:
    if not args.yes and not sys.stdin.isatty():
        raise ConfigValidationError(f"{what} asks for confirmation; pass --yes to run without a terminal")


# --- info / monitor / dtc ---------------------------------------------------------------------------------
def _cmd_info(args: argparse.Namespace) -> int:
    with _target(args) as target:
        identity = target.identify()
        link = target.link.describe()
        protocol = target.protocol
    if args.json:
        _print_json({**identity_json(identity), "protocol": protocol, "link": link})
        return EXIT_OK
    console = _console()
    table = Table(show_header=False, box=None)
    for key, value in identity_json(identity).items():
        if key != "slots":
            table.add_row(key.replace("_", " "), Text("-" if value in (None, "") else str(value)))
    table.add_row("link", Text(f"{link} ({protocol})"))
    console.print(table)
    slots = Table("slot", "version", "hash", "flags")
    for slot in identity.slots:
        flags = [n for n in ("active", "confirmed", "pending", "bootable", "permanent") if getattr(slot, n)]
        slots.add_row(
            str(slot.slot), Text(str(slot.version or "-")), slot.image_hash.hex()[:16], ", ".join(flags)
        )
    console.print(slots)
    return EXIT_OK


def _telemetry_line(t: PackTelemetry) -> str:
    temps = ", ".join("fail" if c is None else f"{c:.1f}" for c in t.temperatures_c)
    balancing = [str(i + 1) for i, on in enumerate(t.balancing) if on]
    alarms = ", ".join(sorted(a.value for a in t.alarms)) or "none"
    return (
        f"{t.pack_voltage_mv / 1000:.3f} V  {t.current_ma / 1000:+.2f} A  SOC {t.soc_pct:.1f} %  "
        f"cells {t.min_cell_mv}–{t.max_cell_mv} mV (Δ {t.delta_cell_mv} mV)  T [{temps}] °C  "
        f"balancing [{', '.join(balancing) or '-'}]  alarms {alarms}"
    )


MAX_MONITOR_INTERVAL_S: Final = 3600.0


def _check_monitor_bounds(args: argparse.Namespace) -> float | None:
    """Validate --interval/--count/--duration; returns the duration in seconds (None: no limit)."""
    if not (0 < args.interval <= MAX_MONITOR_INTERVAL_S):  # also false for NaN
        raise ConfigValidationError(
            f"--interval must be between 0 and {MAX_MONITOR_INTERVAL_S:g} s, not {args.interval}"
        )
    if args.count < 0:
        raise ConfigValidationError(f"--count must be 0 (no limit) or more, not {args.count}")
    if args.duration is None:
        return None
    if not (0 < args.duration < math.inf):
        raise ConfigValidationError(f"--duration must be a positive number of seconds, not {args.duration}")
    duration_s: float = args.duration
    return duration_s


def _cmd_monitor(args: argparse.Namespace) -> int:
    duration_s = _check_monitor_bounds(args)
    console = _console()
    with _target(args) as target:
        deadline = None if duration_s is None else time.monotonic() + duration_s  # from the connection
        shown = 0
        while args.count == 0 or shown < args.count:
            if shown:
                pause_s = args.interval
                if deadline is not None:
                    pause_s = min(pause_s, deadline - time.monotonic())
                    if pause_s < 0:
                        break
                time.sleep(pause_s)
                if deadline is not None and time.monotonic() >= deadline:
                    break
            sample = target.read_telemetry()
            shown += 1
            if args.json:
                sys.stdout.write(json.dumps(telemetry_json(sample)) + "\n")
                sys.stdout.flush()
            else:
                console.print(_telemetry_line(sample), highlight=False, soft_wrap=True)
    return EXIT_OK


def _cmd_dtc(args: argparse.Namespace) -> int:
    with _target(args) as target:
        dtcs = target.read_dtcs()
        cleared = False
        if args.clear:
            target.clear_dtcs()
            cleared = True
            remaining = target.read_dtcs()
        else:
            remaining = dtcs
    if args.json:
        _print_json(
            {
                "dtcs": [dtc_json(d) for d in dtcs],
                "cleared": cleared,
                "remaining": [dtc_json(d) for d in remaining],
            }
        )
        return EXIT_OK
    console = _console()
    if not dtcs:
        console.print("No stored trouble codes.")
    else:
        table = Table("code", "severity", "status", "description")
        for d in dtcs:
            table.add_row(d.code_text, d.severity.value, f"0x{d.status:02X}", Text(d.description))
        console.print(table)
    if cleared:
        console.print(f"Cleared; {len(remaining)} codes remain.")
    return EXIT_OK


# --- flash ------------------------------------------------------------------------------------------------
def _parse_overrides(items: list[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in items:
        name, sep, reason = item.partition("=")
        if not sep or not name.strip():
            raise ConfigValidationError(f"--override takes GATE=REASON, not '{item}'")
        overrides[name.strip()] = reason.strip()
    return overrides


def _approval(console: Console) -> Approval:
    def approve(report: PreconditionReport) -> bool:
        overridden = f" ({len(report.overrides)} overridden)" if report.overrides else ""
        console.print(f"All preconditions passed{overridden}.")
        return _ask("Write the new firmware to the device now?")

    return approve


def _print_result(console: Console, result: UpdateResult) -> None:
    style = "bold green" if result.outcome is State.UPDATED else "bold red"
    title = result.outcome.title
    if result.reason.lower().startswith(title.lower()):  # "Refused before ...", not "Refused: Refused ..."
        console.print(f"[{style}]{escape(result.reason)}[/{style}]", highlight=False)
    else:
        console.print(f"[{style}]{title}[/{style}]: {escape(result.reason)}", highlight=False)
    if result.advice is not None:
        console.print(f"  What to check: {result.advice.diagnostic}", highlight=False)
        console.print(f"  What to do: {result.advice.resolution}", highlight=False)
    elif result.error is not None and result.error.hint:
        console.print(f"  hint: {escape(result.error.hint)}", highlight=False)
    elif result.outcome is State.REFUSED and result.failed_step is State.PRECONDITIONS:
        console.print(
            "  hint: This package does not fit this device (model, hardware, bootloader or "
            "anti-rollback counter); use a release built for it — 'bmsflasher info' shows the device.",
            highlight=False,
        )
    if result.session_id is not None:
        console.print(
            f"  Service record: session {result.session_id} "
            f"(bmsflasher report {result.session_id} --out report-{result.session_id}.html)",
            highlight=False,
        )


def _offer_rollback(
    console: Console, args: argparse.Namespace, db: RecordsDb, target: Target, result: UpdateResult
) -> RollbackReport | None:
    if not _ask(f"Keep firmware {result.to_version}? Answer 'n' to roll back now."):
        return _rollback_with_records(console, args, db, target)
    return None


def _cmd_flash(args: argparse.Namespace) -> int:
    package_path: Path = args.package
    keyring = keyring_from_args(args)
    overrides = _parse_overrides(args.override)
    if args.reference_mv is not None and args.reference_mv <= 0:
        raise ConfigValidationError(f"--reference-mv must be positive, not {args.reference_mv}")
    _require_interactive_or_yes(args, "flash")
    # With --json the progress goes to stderr, so stdout carries nothing but the result object.
    console = _console() if not args.json else Console(stderr=True, highlight=False, emoji=False)
    renderer = EventRenderer(console)
    opened: list[Target] = []

    def connect() -> Target:
        target = open_from_args(args)
        opened.append(target)
        return target

    options = UpdateOptions(
        operator=args.operator,
        overrides=overrides,
        reference_mv=args.reference_mv,
        approve=None if args.yes else _approval(console),
        details={"package_file": package_path.name},
    )
    manual: RollbackReport | None = None
    steps: list[str] = []

    def sink(event: Event) -> None:
        if isinstance(event, StepStarted):
            steps.append(event.step)
        renderer(event)

    with _records(args) as db:
        try:
            result = UpdateProcedure(package_loader(package_path, keyring), connect, db, sink, options).run()
            renderer.close()
            if result.outcome is State.UPDATED and not args.yes and not args.json and opened:
                manual = _offer_rollback(console, args, db, opened[0], result)
        except KeyboardInterrupt:
            renderer.close()
            for target in opened:
                target.close()
            return _report_interrupt(console, args, steps[-1] if steps else None)
        finally:
            renderer.close()
            for target in opened:
                target.close()
    if args.json:
        payload = result.to_json()
        if manual is not None:
            payload["manual_rollback"] = {
                "to_version": str(manual.to_version),
                "actions": list(manual.actions),
            }
        _print_json(payload)
    else:
        _print_result(console, result)
    if manual is not None:
        return EXIT_ROLLED_BACK
    return result.exit_code


EXIT_INTERRUPTED: Final = 130
"""Ctrl-C (SIGINT), as shells report it: 128 + signal 2."""


def _rerun_command(args: argparse.Namespace) -> str:
    """The flash command to run again: package, device and trusted keys (other options as before)."""
    words = ["bmsflasher", "flash", str(args.package)]
    if args.port:
        words += ["--port", args.port, "--baud", str(args.baud)]
    elif args.interface:
        words += ["--interface", args.interface, "--channel", str(args.channel)]
        words += ["--bitrate", str(args.bitrate)]
        if getattr(args, "addressing", "11bit") == "29bit":
            words += ["--addressing", "29bit", "--node", f"0x{args.node:02X}"]
            words += ["--tester-address", f"0x{args.tester_address:02X}"]
        else:
            words += ["--node", str(args.node)]
        if getattr(args, "fd", False):
            words += ["--fd"]
            if args.data_bitrate:
                words += ["--data-bitrate", str(args.data_bitrate)]
    for key in args.trust:
        words += ["--trust", str(key)]
    return shlex.join(words)


def _report_interrupt(console: Console, args: argparse.Namespace, step: str | None) -> int:
    """Say where Ctrl-C stopped the update, what state the device is in, and how to go on."""
    state = State(step) if step in {s.value for s in State} else None
    rerun = _rerun_command(args)
    if state is None or state not in WRITES_DEVICE:
        where = f"during '{state.title}'" if state else "before the update started"
        reason = f"Interrupted {where}; nothing was written to the device, its firmware is unchanged."
        resume = f"Run it again to start over: {rerun}"
    elif state is State.TRANSFER:
        reason = (
            "Interrupted during the transfer; the device still runs its previous firmware (the new "
            "image goes to its spare slot) and will return to normal operation by itself."
        )
        resume = f"Run the same command again to resume the transfer where it stopped: {rerun}"
    else:
        reason = (
            f"Interrupted during '{state.title}'; the device's bootloader keeps a bootable "
            "firmware (a new image that is not confirmed is reverted at its next reset)."
        )
        resume = (
            f"Run the same command again to finish from the journal: {rerun} — or return to the "
            "previous firmware with 'bmsflasher rollback' and the same device options."
        )
    if args.json:
        _print_json(
            {
                "outcome": "interrupted",
                "exit_code": EXIT_INTERRUPTED,
                "step": step,
                "reason": reason,
                "resume": resume,
            }
        )
    else:
        err = Console(stderr=True, highlight=False)
        err.print(f"[bold red]✗[/bold red] {escape(reason)}", highlight=False, soft_wrap=True)
        err.print(f"  {resume}", highlight=False, markup=False, soft_wrap=True)
    return EXIT_INTERRUPTED


# --- recover ----------------------------------------------------------------------------------------------
def _cmd_recover(args: argparse.Namespace) -> int:
    package_path: Path = args.package
    keyring = keyring_from_args(args)
    update = load_package(package_path, keyring)  # verified before the device is touched
    _require_interactive_or_yes(args, "recover")
    console = _console() if not args.json else Console(stderr=True, highlight=False, emoji=False)
    renderer = EventRenderer(console)  # with --json on stderr: stdout carries only the result
    with _records(args) as db, _target(args) as target:
        before = target.identify()
        if not args.yes and not _ask(
            f"Flash {update.facts.version} into the device in {before.mode.value} mode?"
        ):
            return 1
        try:
            report = recover_recorded(target, update, db, renderer, operator=args.operator, before=before)
        finally:
            renderer.close()
    if args.json:
        _print_json({"recovered": True, "device": identity_json(report.after)})
    else:
        console.print(f"Recovered: the device runs {report.after.firmware_version}.", highlight=False)
    return EXIT_OK


# --- rollback ---------------------------------------------------------------------------------------------
def _rollback_with_records(
    console: Console, args: argparse.Namespace, db: RecordsDb, target: Target
) -> RollbackReport:
    report = manual_rollback_recorded(target, db, operator=args.operator)
    if not args.json:
        console.print(f"Rolled back from {report.from_version} to {report.to_version}.", highlight=False)
    return report


def _cmd_rollback(args: argparse.Namespace) -> int:
    _require_interactive_or_yes(args, "rollback")
    console = _console()
    with _records(args) as db, _target(args) as target:
        if not args.yes:
            identity = target.identify()
            previous = other_slot(identity)
            to = f" to {previous.version}" if previous is not None and previous.version else ""
            if not _ask(f"Roll device {identity.serial_number} back from {identity.firmware_version}{to}?"):
                console.print("Rollback cancelled.")
                return 1
        report = _rollback_with_records(console, args, db, target)
    if args.json:
        _print_json(
            {
                "from_version": str(report.from_version),
                "to_version": str(report.to_version),
                "actions": list(report.actions),
                "device": identity_json(report.identity),
            }
        )
    return EXIT_OK


# --- backup / restore / config ---------------------------------------------------------------------------
def _cmd_backup(args: argparse.Namespace) -> int:
    with _records(args) as db, _target(args) as target:
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
        _print_json(
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
        _console().print(
            f"Backup {record.id} of {record.serial}: {len(record.snapshot.parameters)} parameters, "
            f"schema {record.snapshot.schema_version}, SHA-256 {record.sha256}",
            highlight=False,
        )
    return EXIT_OK


def _pick_backup(db: RecordsDb, serial: str, backup_id: int | None) -> BackupRecord:
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


def _print_diff(diff: ConfigDiff, as_json: bool) -> None:
    if as_json:
        _print_json(diff.to_json())
        return
    console = _console()
    for line in diff.lines():
        console.print(line, highlight=False, markup=False)


def _cmd_restore(args: argparse.Namespace) -> int:
    _require_interactive_or_yes(args, "restore")
    with _records(args) as db, _target(args) as target:
        identity = target.identify()
        record = _pick_backup(db, identity.serial_number, args.backup)
        before = diff_snapshots(record.snapshot, target.read_config(), f"backup {record.id}", "device")
        if not args.yes:
            _print_diff(before, False)
            if not _ask(f"Write backup {record.id} to device {identity.serial_number}?"):
                return 1
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
        _print_json(
            {
                "backup_id": record.id,
                "written": list(result.written),
                "skipped": list(result.skipped),
                "diff_after": result.after.to_json(),
            }
        )
    else:
        console = _console()
        console.print(
            f"Restored backup {record.id}: wrote {len(result.written)} parameters"
            + (f", skipped {', '.join(result.skipped)}" if result.skipped else "")
            + ".",
            highlight=False,
        )
    return EXIT_OK


def _cmd_config_diff(args: argparse.Namespace) -> int:
    with _records(args) as db:
        if args.against is not None:
            if args.backup is None:
                raise ConfigValidationError("--against needs --backup: the diff compares two backups")
            old = db.get_backup(args.backup)
            new = db.get_backup(args.against)
            diff = diff_snapshots(old.snapshot, new.snapshot, f"backup {old.id}", f"backup {new.id}")
        else:
            with _target(args) as target:
                identity = target.identify()
                record = _pick_backup(db, identity.serial_number, args.backup)
                diff = diff_snapshots(record.snapshot, target.read_config(), f"backup {record.id}", "device")
    _print_diff(diff, args.json)
    return EXIT_OK


def _cmd_config_show(args: argparse.Namespace) -> int:
    with _target(args) as target:
        snapshot: ConfigSnapshot = target.read_config()
    if args.json:
        _print_json({"schema_version": snapshot.schema_version, "parameters": dict(snapshot.parameters)})
        return EXIT_OK
    console = _console()
    console.print(f"schema version {snapshot.schema_version}")
    for name in sorted(snapshot.parameters):
        console.print(f"{name} = {snapshot.parameters[name]!r}", highlight=False, markup=False)
    return EXIT_OK


# --- registration ------------------------------------------------------------------------------------------
def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the device commands."""
    info = subparsers.add_parser("info", help="identify a device: model, serial, versions, slots")
    _add_common(info)
    info.set_defaults(func=_cmd_info)

    monitor = subparsers.add_parser("monitor", help="show live pack telemetry")
    _add_common(monitor, json_help="print one JSON object per sample")
    monitor.add_argument("--interval", type=float, default=1.0, metavar="S", help="seconds between samples")
    monitor.add_argument(
        "--count", type=int, default=0, metavar="N", help="stop after N samples (0: no limit)"
    )
    monitor.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="stop after S seconds (default: run until --count samples or Ctrl-C)",
    )
    monitor.set_defaults(func=_cmd_monitor)

    flash = subparsers.add_parser(
        "flash",
        help="update a device's firmware safely (exit 0 updated, 2 refused, 10 rolled back)",
        description="Verify the package, check the preconditions, back up the configuration, transfer, "
        "test-boot, self-test and confirm, or roll back automatically. Exit codes: 0 updated, "
        "2 refused by a precondition, 10 rolled back, 3 package rejected, 4 link failure, "
        "5 protocol failure, 6 procedure failure, 1 cancelled.",
    )
    flash.add_argument("package", type=Path, metavar="PKG", help="the .bmspkg release package")
    _add_common(flash, json_help="print the result as JSON on stdout (progress goes to stderr)")
    add_trust_argument(flash)
    _add_db(flash)
    flash.add_argument("--yes", action="store_true", help="run without prompts")
    flash.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="GATE=REASON",
        help="accept a failed overridable precondition (link_quality, supply_stability, "
        "cell_voltage_stability) with a recorded reason",
    )
    flash.add_argument("--reference-mv", type=int, metavar="MV", help="pack voltage measured with a meter")
    flash.set_defaults(func=_cmd_flash)

    recover_cmd = subparsers.add_parser(
        "recover", help="emergency recovery: flash a device that is stuck in its bootloader or recovery mode"
    )
    recover_cmd.add_argument("package", type=Path, metavar="PKG", help="the .bmspkg release package")
    _add_common(recover_cmd)
    add_trust_argument(recover_cmd)
    _add_db(recover_cmd)
    recover_cmd.add_argument("--yes", action="store_true", help="run without prompts")
    recover_cmd.set_defaults(func=_cmd_recover)

    backup = subparsers.add_parser("backup", help="back up every configuration parameter to the history")
    _add_common(backup)
    _add_db(backup)
    backup.set_defaults(func=_cmd_backup)

    restore = subparsers.add_parser("restore", help="write a configuration backup back to the device")
    _add_common(restore)
    _add_db(restore)
    restore.add_argument("--backup", type=int, metavar="ID", help="backup id (default: the device's latest)")
    restore.add_argument("--yes", action="store_true", help="run without prompts")
    restore.set_defaults(func=_cmd_restore)

    rollback = subparsers.add_parser("rollback", help="return to the firmware in the other slot")
    _add_common(rollback)
    _add_db(rollback)
    rollback.add_argument("--yes", action="store_true", help="run without prompts")
    rollback.set_defaults(func=_cmd_rollback)

    dtc = subparsers.add_parser("dtc", help="read (and optionally clear) diagnostic trouble codes")
    _add_common(dtc)
    dtc.add_argument("--clear", action="store_true", help="clear the stored codes after reading them")
    dtc.set_defaults(func=_cmd_dtc)

    config = subparsers.add_parser("config", help="show the configuration or diff it against a backup")
    actions = config.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    diff = actions.add_parser("diff", help="differences between a backup and the device, or two backups")
    _add_common(diff)
    _add_db(diff)
    diff.add_argument("--backup", type=int, metavar="ID", help="backup id (default: the device's latest)")
    diff.add_argument(
        "--against", type=int, metavar="ID", help="compare with this backup instead of the device"
    )
    diff.set_defaults(func=_cmd_config_diff)
    show = actions.add_parser("show", help="print every configuration parameter")
    _add_common(show)
    show.set_defaults(func=_cmd_config_show)

"""How the device commands show a battery and a procedure: events, identity, DTCs, telemetry, results.

The procedure's events look the same in ``flash``, ``recover``, ``verify`` and ``demo``; device text
is shown as plain text (a serial number "[/b]" or a DTC text ":x:" is printed as is, never read as
rich markup). Consoles, JSON and questions are :mod:`bmsflasher.cli.console` (commands that never
touch a device, such as ``history`` and ``scan``, use only that and do not load the procedure).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from bmsflasher.core.events import Event, LogLevel, LogLine, Measurement, StepFinished, StepStarted
from bmsflasher.core.events import Progress as ProgressEvent
from bmsflasher.core.serialise import identity_to_json
from bmsflasher.core.types import ConfigSnapshot, DeviceIdentity, Dtc, PackTelemetry
from bmsflasher.procedure.backup import ConfigDiff
from bmsflasher.procedure.engine import REPORT_STEP
from bmsflasher.procedure.results import UpdateResult
from bmsflasher.procedure.states import State

identity_json = identity_to_json
"""``info --json``'s device part (kept under this name for the commands that print it)."""

_LEVEL_STYLE: Final = {
    LogLevel.DEBUG: "dim",
    LogLevel.INFO: "",
    LogLevel.WARNING: "yellow",
    LogLevel.ERROR: "bold red",
}
_SLOT_FLAGS: Final = ("active", "confirmed", "pending", "bootable", "permanent")


# --- procedure events -------------------------------------------------------------------------------------
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
            self._step_finished(event)
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

    def _step_finished(self, event: StepFinished) -> None:
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


# --- what a device reports --------------------------------------------------------------------------------
def print_identity(console: Console, identity: DeviceIdentity, link: str, protocol: str) -> None:
    """The device's identity as a two-column table, then its image slots."""
    table = Table(show_header=False, box=None)
    for key, value in identity_to_json(identity).items():
        if key != "slots":
            table.add_row(key.replace("_", " "), Text("-" if value in (None, "") else str(value)))
    table.add_row("link", Text(f"{link} ({protocol})"))
    console.print(table)
    slots = Table("slot", "version", "hash", "flags")
    for slot in identity.slots:
        flags = [name for name in _SLOT_FLAGS if getattr(slot, name)]
        slots.add_row(
            str(slot.slot), Text(str(slot.version or "-")), slot.image_hash.hex()[:16], ", ".join(flags)
        )
    console.print(slots)


def telemetry_line(t: PackTelemetry) -> str:
    """One telemetry sample on one line: pack, current, SOC, cell spread, temperatures, balancing, alarms."""
    temps = ", ".join("fail" if c is None else f"{c:.1f}" for c in t.temperatures_c)
    balancing = [str(i + 1) for i, on in enumerate(t.balancing) if on]
    alarms = ", ".join(sorted(a.value for a in t.alarms)) or "none"
    return (
        f"{t.pack_voltage_mv / 1000:.3f} V  {t.current_ma / 1000:+.2f} A  SOC {t.soc_pct:.1f} %  "
        f"cells {t.min_cell_mv}–{t.max_cell_mv} mV (Δ {t.delta_cell_mv} mV)  T [{temps}] °C  "
        f"balancing [{', '.join(balancing) or '-'}]  alarms {alarms}"
    )


def print_dtcs(console: Console, dtcs: Sequence[Dtc]) -> None:
    """The stored trouble codes as a table (or one sentence when there are none)."""
    if not dtcs:
        console.print("No stored trouble codes.")
        return
    table = Table("code", "severity", "status", "description")
    for d in dtcs:
        table.add_row(d.code_text, d.severity.value, f"0x{d.status:02X}", Text(d.description))
    console.print(table)


def print_config(console: Console, snapshot: ConfigSnapshot) -> None:
    """Every configuration parameter, one ``name = value`` line each, sorted by name."""
    console.print(f"schema version {snapshot.schema_version}")
    for name in sorted(snapshot.parameters):
        console.print(f"{name} = {snapshot.parameters[name]!r}", highlight=False, markup=False)


def print_diff(console: Console, diff: ConfigDiff) -> None:
    """A configuration diff, one line per change (as :meth:`ConfigDiff.lines` words it)."""
    for line in diff.lines():
        console.print(line, highlight=False, markup=False)


# --- an update's end --------------------------------------------------------------------------------------
def print_update_result(console: Console, result: UpdateResult) -> None:
    """The outcome line of an update, what to check and do next, and where its service record is."""
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

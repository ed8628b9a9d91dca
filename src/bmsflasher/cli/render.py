"""How the device commands show a battery and a procedure: events, identity, DTCs, telemetry, results.

The procedure's events look the same in ``flash``, ``recover``, ``verify`` and ``demo``; device text
is shown as plain text (a serial number "[/b]" or a DTC text ":x:" is printed as is, never read as
rich markup, and a control character in it as an escape: :func:`~bmsflasher.cli.console.plain`).
Consoles, JSON and questions are :mod:`bmsflasher.cli.console` (commands that never
touch a device, such as ``history`` and ``scan``, use only that and do not load the procedure).
Every sentence goes through :func:`~bmsflasher.cli.console.say`: the engine's sentences and this
module's own words are printed in the technician's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn
from rich.table import Table

from bmsflasher.cli.console import plain, say
from bmsflasher.core.display_text import format_number
from bmsflasher.core.events import Event, LogLevel, LogLine, Measurement, StepFinished, StepStarted
from bmsflasher.core.events import Progress as ProgressEvent
from bmsflasher.core.i18n import t
from bmsflasher.core.names import check_name, field_name, mode_name, severity_name, step_name
from bmsflasher.core.serialise import identity_to_json
from bmsflasher.core.types import ConfigSnapshot, DeviceIdentity, Dtc, PackTelemetry
from bmsflasher.procedure.backup import ConfigDiff
from bmsflasher.procedure.engine import REPORT_STEP
from bmsflasher.procedure.results import UpdateResult
from bmsflasher.procedure.states import State
from bmsflasher.procedure.troubleshooting import Advice

identity_json = identity_to_json
"""``info --json``'s device part (kept under this name for the commands that print it)."""

_LEVEL_STYLE: Final = {
    LogLevel.DEBUG: "dim",
    LogLevel.INFO: "",
    LogLevel.WARNING: "yellow",
    LogLevel.ERROR: "bold red",
}
_SLOT_FLAGS: Final = {
    "active": t("active"),
    "confirmed": t("confirmed"),
    "pending": t("pending"),
    "bootable": t("bootable"),
    "permanent": t("permanent"),
}


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
        shown = say(text)
        return bool(shown) and any(shown in said for said in self._said)

    def __call__(self, event: Event) -> None:
        if self._quiet:
            return
        if isinstance(event, ProgressEvent):
            self._show_progress(event)
            return
        self._stop_progress()
        if isinstance(event, StepStarted):
            self._reporting = event.step == REPORT_STEP
            self._console.print(f"[bold]▶ {escape(say(event.title))}[/bold]")
        elif isinstance(event, StepFinished):
            self._step_finished(event)
        elif isinstance(event, Measurement):
            mark = "[green]✓[/green]" if event.passed else "[red]✗[/red]"
            checked = say(t("{check}: {value}", check=check_name(event.name), value=event.value))
            limit = say(t("limit {limit}", limit=event.limit))
            self._console.print(
                f"  {mark} {escape(checked)} [dim]({escape(limit)})[/dim]", highlight=False, soft_wrap=True
            )
        elif isinstance(event, LogLine):
            if self._reporting:
                self._held.append(event)
            else:
                self._print_log(event)

    def _step_finished(self, event: StepFinished) -> None:
        if event.step == REPORT_STEP:
            # The command prints the result line itself: show only what the report step adds.
            for held in self._held:
                if say(held.message) != say(event.detail) and not self._already_said(held.message):
                    self._print_log(held)
            self._held.clear()
            self._reporting = False
        elif not event.ok and not self._already_said(event.detail):
            step = say(step_name(event.step))
            line = say(t("{step}: {detail}", step=step, detail=event.detail)) if event.detail else step
            self._console.print(
                f"✗ {line}",
                style="red",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
            self._said.append(say(event.detail))

    def _print_log(self, event: LogLine) -> None:
        style = _LEVEL_STYLE[event.level]
        # soft_wrap: a sentence is one line in a log file or a pipe, not broken at column 80.
        message = say(event.message)
        self._console.print(
            f"  {message}", style=style or None, highlight=False, markup=False, soft_wrap=True
        )
        if event.level in (LogLevel.WARNING, LogLevel.ERROR):
            self._said.append(message)

    def _show_progress(self, event: ProgressEvent) -> None:
        if self._progress is None:
            self._progress = Progress(
                TextColumn(f"  {say(t('transfer'))}"),
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
        eta = say(t("ETA {seconds:.0f} s", seconds=event.eta_s)) if event.eta_s is not None else ""
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
        shown = say(mode_name(str(value))) if key == "mode" else value
        if key != "slots":
            table.add_row(say(field_name(key)), plain("-" if shown in (None, "") else shown))
    table.add_row(say(field_name("link")), plain(f"{link} ({protocol})"))
    console.print(table)
    slots = Table(*(say(heading) for heading in (t("slot"), t("version"), t("hash"), t("flags"))))
    for slot in identity.slots:
        flags = [say(word) for name, word in _SLOT_FLAGS.items() if getattr(slot, name)]
        slots.add_row(
            str(slot.slot), plain(slot.version or "-"), slot.image_hash.hex()[:16], ", ".join(flags)
        )
    console.print(slots)


def telemetry_line(sample: PackTelemetry) -> str:
    """One telemetry sample on one line: pack, current, SOC, cell spread, temperatures, balancing, alarms."""
    failed = say(t("fail"))
    temps = ", ".join(failed if c is None else format_number(c, ".1f") for c in sample.temperatures_c)
    balancing = [str(i + 1) for i, on in enumerate(sample.balancing) if on]
    alarms = ", ".join(sorted(a.value for a in sample.alarms)) or say(t("none"))
    return say(
        t(
            "{pack_v:.3f} V  {current_a:+.2f} A  SOC {soc:.1f} %  cells {low}–{high} mV (Δ {delta} mV)  "
            "T [{temperatures}] °C  balancing [{balancing}]  alarms {alarms}",
            pack_v=sample.pack_voltage_mv / 1000,
            current_a=sample.current_ma / 1000,
            soc=sample.soc_pct,
            low=sample.min_cell_mv,
            high=sample.max_cell_mv,
            delta=sample.delta_cell_mv,
            temperatures=temps,
            balancing=", ".join(balancing) or "-",
            alarms=alarms,
        )
    )


def print_dtcs(console: Console, dtcs: Sequence[Dtc]) -> None:
    """The stored trouble codes as a table (or one sentence when there are none)."""
    if not dtcs:
        console.print(say(t("No stored trouble codes.")))
        return
    table = Table(*(say(heading) for heading in (t("code"), t("severity"), t("status"), t("description"))))
    for d in dtcs:
        table.add_row(
            d.code_text, say(severity_name(d.severity.value)), f"0x{d.status:02X}", plain(d.description)
        )
    console.print(table)


def print_config(console: Console, snapshot: ConfigSnapshot) -> None:
    """Every configuration parameter, one ``name = value`` line each, sorted by name."""
    console.print(say(t("schema version {version}", version=snapshot.schema_version)))
    for name in sorted(snapshot.parameters):
        console.print(plain(f"{name} = {snapshot.parameters[name]!r}"), highlight=False)


def print_diff(console: Console, diff: ConfigDiff) -> None:
    """A configuration diff, one line per change (as :meth:`ConfigDiff.lines` words it)."""
    for line in diff.lines():
        console.print(say(line), highlight=False, markup=False)


# --- an update's end --------------------------------------------------------------------------------------
def print_update_result(console: Console, result: UpdateResult) -> None:
    """The outcome line of an update, what to check and do next, and where its service record is."""
    print_outcome(console, result)
    print_advice(console, result.advice)
    if result.advice is None and result.error is not None and result.error.hint:
        console.print(escape("  " + say(t("hint: {hint}", hint=result.error.hint))), highlight=False)
    elif (
        result.advice is None
        and result.outcome is State.REFUSED
        and result.failed_step is State.PRECONDITIONS
    ):
        hint = t(
            "This package does not fit this device (model, hardware, bootloader or anti-rollback "
            "counter); use a release built for it — 'bmsflasher info' shows the device."
        )
        console.print(escape("  " + say(t("hint: {hint}", hint=hint))), highlight=False)
    if result.session_id is not None:
        record = t(
            "Service record: session {session} (bmsflasher report {session} --out report-{session}.html)",
            session=result.session_id,
        )
        console.print(escape("  " + say(record)), highlight=False)


def print_outcome(console: Console, result: UpdateResult) -> None:
    """The outcome line: "Updated: The device was updated from …" (green), or why it was not (red)."""
    style = "bold green" if result.outcome is State.UPDATED else "bold red"
    title = say(result.outcome.title)
    reason = say(result.reason)
    if reason.lower().startswith(title.lower()):  # "Refused before ...", not "Refused: Refused ..."
        line = reason
    else:
        line = say(t("{title}: {reason}", title=title, reason=reason))
    console.print(line, style=style, highlight=False, markup=False)


def print_advice(console: Console, advice: Advice | None) -> None:
    """The troubleshooting row under a failed result: what to check, what to do."""
    if advice is None:
        return
    console.print(
        escape("  " + say(t("What to check: {diagnostic}", diagnostic=advice.diagnostic))), highlight=False
    )
    console.print(
        escape("  " + say(t("What to do: {resolution}", resolution=advice.resolution))), highlight=False
    )

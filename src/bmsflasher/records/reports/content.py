"""What a service report says, independent of how it is drawn.

The HTML and PDF renderers both draw a :class:`ReportContent`, so the two formats can never tell a
different story about the same session: every value is formatted and translated once, here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from bmsflasher.core.types import PackTelemetry
from bmsflasher.records.codec import utc_now
from bmsflasher.records.models import SessionDetail, TelemetryRecord
from bmsflasher.records.reports.labels import Labels
from bmsflasher.records.signers import SIGNERS_DETAIL, recorded_signers
from bmsflasher.records.technicians import recorded_technicians

GOOD_OUTCOMES: Final = frozenset({"updated", "completed", "ok", "restored", "backed_up", "config_written"})
"""Outcomes shown as a success; every other recorded outcome is shown as a problem."""

GOOD_FOR_KIND: Final = {"rollback": frozenset({"rolled_back"}), "pack_rollback": frozenset({"rolled_back"})}
"""Outcomes that are a success only for one kind of session (a rollback asked for, not forced)."""


def outcome_is_good(kind: str, outcome: str | None) -> bool | None:
    """True for a success, False for a problem, None when the session never finished."""
    if outcome is None:
        return None
    return outcome in GOOD_OUTCOMES or outcome in GOOD_FOR_KIND.get(kind, frozenset())


_LABEL_ORDER: Final = ("before", "after")

_PackField = Callable[[PackTelemetry, Labels], str]
"""Formats one pack quantity of one snapshot."""


@dataclass(frozen=True, slots=True)
class Table:
    """A titled table of already formatted text; ``row_ok`` colours rows (None: neutral)."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_ok: tuple[bool | None, ...] = ()
    note: str = ""

    def ok_of(self, index: int) -> bool | None:
        """The pass/fail state of row ``index`` (None when the table does not colour rows)."""
        return self.row_ok[index] if index < len(self.row_ok) else None


@dataclass(frozen=True, slots=True)
class ChartSeries:
    """One line of the cell-voltage chart."""

    label: str
    values_mv: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    """Cell voltages per cell number, one series per telemetry label."""

    title: str
    x_label: str
    y_label: str
    series: tuple[ChartSeries, ...]


@dataclass(frozen=True, slots=True)
class ReportContent:
    """The whole report as translated, formatted text plus the chart's numbers."""

    lang: str
    title: str
    heading: str
    outcome: str
    outcome_ok: bool | None
    summary: tuple[tuple[str, str], ...]
    chart: Chart | None
    chart_missing: str
    tables: tuple[Table, ...]
    audit_title: str
    audit_text: str
    audit_hash: str
    generated: str
    author: str = ""


def build_content(detail: SessionDetail, labels: Labels, *, now: datetime | None = None) -> ReportContent:
    """Turn a session's records into report content in the language of ``labels``."""
    session = detail.session
    samples = _ordered_samples(detail)
    chart = _chart(samples, labels)
    tables: list[Table] = []
    if chart is not None:
        tables.append(_cell_table(chart, labels))
        tables.append(_pack_table(samples, labels))
    tables.extend(_measurement_tables(detail, labels))
    if detail.children:
        tables.append(_nodes_table(detail, labels))
    if detail.steps:
        tables.append(_steps_table(detail, labels))
    tables.extend(_trust_tables(detail, labels))
    tables.append(_backups_table(detail, labels))
    shown = {SIGNERS_DETAIL}  # drawn by the trust table, not dumped as JSON
    details_rows = tuple(
        (str(k), _detail_text(v)) for k, v in sorted(session.details.items()) if k not in shown
    )
    if details_rows:
        tables.append(Table(labels["details"], ("", ""), details_rows))
    return ReportContent(
        lang=labels.code,
        title=f"{labels['title']} — {session.serial}",
        heading=f"{labels['session']} {session.id} · {labels.kind(session.kind)}",
        outcome=labels.outcome(session.outcome),
        outcome_ok=outcome_is_good(session.kind, session.outcome),
        summary=_summary(detail, labels),
        chart=chart,
        chart_missing=labels["chart_missing"],
        tables=tuple(tables),
        audit_title=labels["audit"],
        audit_text=labels["audit_text"],
        audit_hash=detail.audit_head,
        generated=f"{labels['generated']}: {format_moment(now or utc_now())}",
        author=session.operator,
    )


def format_moment(moment: datetime) -> str:
    """Local time with its UTC offset, to the second: unambiguous for a reader in another zone."""
    return moment.astimezone().isoformat(sep=" ", timespec="seconds")


def _summary(detail: SessionDetail, labels: Labels) -> tuple[tuple[str, str], ...]:
    session, device = detail.session, detail.device
    missing = labels["not_recorded"]
    rows: list[tuple[str, str]] = [
        (labels["serial"], session.serial),
        (labels["model"], device.model if device else missing),
        (labels["hardware_revision"], device.hardware_revision if device else missing),
        (labels["bootloader_version"], (device.bootloader_version if device else None) or missing),
        (labels["kind"], labels.kind(session.kind)),
        (labels["operator"], session.operator or missing),
        (labels["started"], format_moment(session.started)),
        (labels["finished"], format_moment(session.finished) if session.finished else missing),
    ]
    if session.finished:
        seconds = (session.finished - session.started).total_seconds()
        rows.append((labels["duration"], f"{seconds:.1f} {labels['seconds']}"))
    rows += [
        (labels["outcome"], labels.outcome(session.outcome)),
        (labels["version_before"], session.from_version or missing),
        (labels["version_after"], session.to_version or missing),
        (labels["package_sha256"], session.package_sha256 or missing),
    ]
    if detail.backups:
        latest = detail.backups[-1]
        rows.append((labels["backup_id"], f"#{latest.id} · SHA-256 {latest.sha256}"))
    return tuple(rows)


def _ordered_samples(detail: SessionDetail) -> list[tuple[str, TelemetryRecord]]:
    """Last sample per label, ``before`` then ``after`` then any other label as first recorded."""
    latest = detail.telemetry_by_label()
    order: list[str] = [label for label in _LABEL_ORDER if label in latest]
    order += [label for label in latest if label not in _LABEL_ORDER]
    return [(label, latest[label]) for label in order]


def _series_label(label: str, labels: Labels) -> str:
    return labels[label] if label in _LABEL_ORDER else label


def _chart(samples: Sequence[tuple[str, TelemetryRecord]], labels: Labels) -> Chart | None:
    series = tuple(
        ChartSeries(_series_label(label, labels), record.telemetry.cell_voltages_mv)
        for label, record in samples
        if record.telemetry.cell_voltages_mv
    )
    if not series:
        return None
    return Chart(labels["chart_title"], labels["cell"], labels["cell_voltage_mv"], series)


def _cell_table(chart: Chart, labels: Labels) -> Table:
    """The chart's numbers as a table: readable without the picture and checkable by a machine."""
    cells = max(len(s.values_mv) for s in chart.series)
    two = len(chart.series) == 2
    headers = (labels["cell"], *(f"{s.label} (mV)" for s in chart.series))
    if two:
        headers += (labels["difference_mv"],)
    rows: list[tuple[str, ...]] = []
    for index in range(cells):
        values = [s.values_mv[index] if index < len(s.values_mv) else None for s in chart.series]
        row = [str(index + 1), *("" if v is None else str(v) for v in values)]
        if two:
            first, second = values
            row.append("" if first is None or second is None else f"{second - first:+d}")
        rows.append(tuple(row))
    return Table(labels["cell_voltage_mv"], headers, tuple(rows))


def _pack_table(samples: Sequence[tuple[str, TelemetryRecord]], labels: Labels) -> Table:
    headers = ("", *(_series_label(label, labels) for label, _ in samples))
    packs = [record.telemetry for _, record in samples]

    def line(key: str, value: _PackField) -> tuple[str, ...]:
        return (labels[key], *(value(t, labels) for t in packs))

    rows = (
        line("pack_voltage_mv", lambda t, _l: str(t.pack_voltage_mv)),
        line("cell_sum_mv", lambda t, _l: str(t.cell_sum_mv)),
        line("cell_delta_mv", lambda t, _l: str(t.delta_cell_mv)),
        line("current_ma", lambda t, _l: str(t.current_ma)),
        line("soc_pct", lambda t, _l: f"{t.soc_pct:.1f}"),
        line("temperatures_c", _temperatures),
    )
    return Table(labels["pack"], headers, rows)


def _temperatures(t: PackTelemetry, labels: Labels) -> str:
    return ", ".join(labels["sensor_failed"] if v is None else f"{v:.1f}" for v in t.temperatures_c)


def _measurement_tables(detail: SessionDetail, labels: Labels) -> list[Table]:
    """One table per step that took measurements (preconditions, self-test, ...), in step order."""
    groups: dict[str, list[int]] = {}
    for index, m in enumerate(detail.measurements):
        groups.setdefault(m.step, []).append(index)
    tables = []
    headers = (labels["check"], labels["measured"], labels["limit"], labels["result"], labels["why"])
    for step, indexes in groups.items():
        chosen = [detail.measurements[i] for i in indexes]
        rows = tuple(
            (
                labels.measurement(m.name),
                m.value,
                m.limit,
                labels["pass"] if m.passed else labels["fail"],
                m.why + (f" ({labels['overridable']})" if m.overridable else ""),
            )
            for m in chosen
        )
        title = labels.step(step) if step else labels["measurements"]
        tables.append(Table(title, headers, rows, tuple(m.passed for m in chosen)))
    return tables


def _nodes_table(detail: SessionDetail, labels: Labels) -> Table:
    """A pack session's nodes: each node's own session (its report has the node's measurements)."""
    rows = tuple(
        (
            str(child.id),
            child.serial,
            str(child.details.get("tier", "")).upper(),
            f"{child.from_version or '?'} → {child.to_version or '?'}",
            labels.outcome(child.outcome),
        )
        for child in detail.children
    )
    return Table(
        labels["nodes"],
        (labels["session"], labels["serial"], labels["tier"], labels["firmware"], labels["result"]),
        rows,
        tuple(outcome_is_good(child.kind, child.outcome) for child in detail.children),
    )


def _steps_table(detail: SessionDetail, labels: Labels) -> Table:
    def state(ok: bool | None) -> str:
        if ok is None:
            return labels["started_state"]
        return labels["ok_state"] if ok else labels["failed_state"]

    rows = tuple((format_moment(s.at), labels.step(s.step), state(s.ok), s.detail) for s in detail.steps)
    headers = (labels["time"], labels["step"], labels["result"], labels["detail"])
    return Table(labels["steps"], headers, rows, tuple(None if s.ok is None else s.ok for s in detail.steps))


def _trust_tables(detail: SessionDetail, labels: Labels) -> list[Table]:
    """Who signed the installed firmware and which technician certificate the device authenticated.

    A reader of the report (the owner, an insurer) sees the release's signers by key id and, for
    certificate chains, by certificate subject and SHA-256 fingerprint, and the technician whose
    certificate the device checked before it allowed the writes. Empty when neither was recorded.
    """
    rows: list[tuple[str, ...]] = [
        (
            labels.signer(signer.role),
            signer.key_id,
            signer.certificate_subject or labels["plain_key"],
            signer.certificate_fingerprint or "",
        )
        for signer in recorded_signers(detail.session)
    ]
    rows += [
        (labels["technician"], "", technician.subject, technician.fingerprint)
        for technician in recorded_technicians(detail.steps)
    ]
    if not rows:
        return []
    headers = (labels["trust_who"], labels["key_id"], labels["certificate"], labels["fingerprint"])
    return [Table(labels["trust"], headers, tuple(rows))]


def _backups_table(detail: SessionDetail, labels: Labels) -> Table:
    headers = (
        labels["backup_id"],
        labels["created"],
        labels["schema_version"],
        labels["parameters"],
        labels["sha256"],
    )
    rows = tuple(
        (
            f"#{b.id}",
            format_moment(b.created),
            str(b.schema_version),
            str(len(b.snapshot.parameters)),
            b.sha256,
        )
        for b in detail.backups
    )
    return Table(labels["backups"], headers, rows, note="" if rows else labels["no_backup"])


def _detail_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)

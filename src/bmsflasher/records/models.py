"""Immutable records read back from the service history.

They are plain frozen dataclasses so the GUI can hand them between threads and the report renderer
can format them without touching the database again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from bmsflasher.core.types import ConfigSnapshot, PackTelemetry

PARENT_SESSION_DETAIL: Final = "campaign_session"
"""The detail by which a node's session names the pack session it belongs to (a campaign's child).

Kept in the session's details rather than in a new column: a column would change the recorded shape
of every old session row (and so its audit hash), and a new table would make every older history
unreadable read-only until upgraded. Old histories simply have no children.
"""


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A battery as first and last seen, keyed by its serial number (never by port)."""

    serial: str
    model: str
    hardware_revision: str
    firmware_version: str | None
    bootloader_version: str | None
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One service session (update, rollback, backup, restore, diagnosis) on one device.

    ``outcome`` is None while the session is still running or when the tool died before it could
    finish it; the history shows such sessions as interrupted.
    """

    id: int
    serial: str
    kind: str
    operator: str
    package_sha256: str | None
    details: Mapping[str, Any]
    started: datetime
    finished: datetime | None
    outcome: str | None
    from_version: str | None
    to_version: str | None

    @property
    def interrupted(self) -> bool:
        """True when the session never recorded an outcome."""
        return self.outcome is None

    @property
    def parent_id(self) -> int | None:
        """The pack session (campaign, pack rollback) this node session belongs to, if any."""
        parent = self.details.get(PARENT_SESSION_DETAIL)
        return parent if isinstance(parent, int) and not isinstance(parent, bool) else None


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One procedure step line: ``ok`` None means the step started, True/False how it ended."""

    id: int
    session_id: int
    at: datetime
    step: str
    ok: bool | None
    detail: str


@dataclass(frozen=True, slots=True)
class MeasurementRecord:
    """A measured value against its limit, filed under the step that was running when it was taken."""

    id: int
    session_id: int
    at: datetime
    step: str
    name: str
    value: str
    limit: str
    passed: bool
    why: str
    overridable: bool


@dataclass(frozen=True, slots=True)
class TelemetryRecord:
    """A pack snapshot with a label such as ``"before"`` or ``"after"`` (for the report's chart)."""

    id: int
    session_id: int
    at: datetime
    label: str
    telemetry: PackTelemetry


@dataclass(frozen=True, slots=True)
class BackupRecord:
    """A stored configuration backup; ``sha256`` covers the canonical JSON of the snapshot."""

    id: int
    serial: str
    sha256: str
    created: datetime
    snapshot: ConfigSnapshot
    session_id: int | None = None

    @property
    def schema_version(self) -> int:
        return self.snapshot.schema_version


@dataclass(frozen=True, slots=True)
class SessionDetail:
    """Everything recorded about one session: what a service report is made from."""

    session: SessionRecord
    device: DeviceRecord | None
    steps: tuple[StepRecord, ...] = ()
    measurements: tuple[MeasurementRecord, ...] = ()
    telemetry: tuple[TelemetryRecord, ...] = ()
    backups: tuple[BackupRecord, ...] = ()
    audit_head: str = ""
    children: tuple[SessionRecord, ...] = ()
    """A pack session's node sessions (one per node of a campaign), oldest first."""

    def telemetry_by_label(self) -> dict[str, TelemetryRecord]:
        """The last sample recorded under each label, in the order labels first appeared."""
        latest: dict[str, TelemetryRecord] = {}
        for sample in self.telemetry:
            latest[sample.label] = sample
        return latest


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of recomputing the audit hash chain and comparing it with every record.

    Attributes:
        ok: True when every audit row chains and every record matches its latest audit entry.
        rows_checked: audit rows recomputed.
        first_bad_row: id of the first audit row that fails (None when ok, or when the first
            problem is a record with no audit entry at all).
        reason: one sentence naming the broken record, empty when ok.
        record: ``"table row id"`` of the broken data record, when one is involved.
        head_hash: hash of the last audit row; write it down to detect later truncation.
        seals: signed checkpoints checked (``records/audit_seals.py``); 0 for an unsealed file.
        newest_seal: ``"seal N at audit row R by SUBJECT (certificate SHA-256 …)"``, or empty.
        unsealed_rows: audit rows newer than the newest seal (not yet protected by a signature).
    """

    ok: bool
    rows_checked: int
    first_bad_row: int | None = None
    reason: str = ""
    record: str | None = None
    head_hash: str = ""
    tables_checked: tuple[str, ...] = field(default=())
    seals: int = 0
    newest_seal: str = ""
    unsealed_rows: int = 0

"""Configuration backup, restore and diff.

A firmware update must not cost the battery its calibration or its protection thresholds. Before
the transfer every parameter is read, stored in the service history with its schema version and
SHA-256 (the records layer reads it back and re-checks the checksum), and read from the device a
second time to prove the read was stable. After the update — or after a rollback — the device is
compared with that backup and any parameter that changed is written back, then verified.

Only parameters whose value differs are written: fewer flash writes, and read-only parameters
(serial number, hardware revision) are never touched unless they really differ, in which case the
device's refusal is the right answer.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from bmsflasher.core.errors import ProcedureError, StorageError
from bmsflasher.core.i18n import t
from bmsflasher.core.target import Target
from bmsflasher.core.types import ConfigSnapshot, ParameterValue
from bmsflasher.records import BackupRecord, RecordsDb


class ChangeKind(enum.Enum):
    """How one parameter differs between two snapshots."""

    CHANGED = "changed"
    ONLY_IN_OLD = "only_in_old"
    ONLY_IN_NEW = "only_in_new"


@dataclass(frozen=True, slots=True)
class ParameterChange:
    """One line of a diff."""

    name: str
    kind: ChangeKind
    old: ParameterValue | None
    new: ParameterValue | None


@dataclass(frozen=True, slots=True)
class ConfigDiff:
    """A readable difference between two configuration snapshots (``old`` → ``new``)."""

    old_label: str
    new_label: str
    old_schema: int
    new_schema: int
    changes: tuple[ParameterChange, ...]

    @property
    def empty(self) -> bool:
        return not self.changes and self.old_schema == self.new_schema

    def lines(self) -> list[str]:
        """The diff as lines a technician reads (``name: old → new``)."""
        # t(): the labels are sentences of their own ("backup 3", "device"), translated with the line
        out: list[str] = [t("--- {label}", label=self.old_label), t("+++ {label}", label=self.new_label)]
        if self.old_schema != self.new_schema:
            out.append(t("schema version: {old} → {new}", old=self.old_schema, new=self.new_schema))
        for change in self.changes:
            if change.kind is ChangeKind.CHANGED:
                out.append(f"~ {change.name}: {change.old!r} → {change.new!r}")
            elif change.kind is ChangeKind.ONLY_IN_OLD:
                out.append(f"- {change.name}: {change.old!r}")
            else:
                out.append(f"+ {change.name}: {change.new!r}")
        if self.empty:
            out.append(t("no differences"))
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "old": self.old_label,
            "new": self.new_label,
            "old_schema_version": self.old_schema,
            "new_schema_version": self.new_schema,
            "empty": self.empty,
            "changes": [
                {"name": c.name, "kind": c.kind.value, "old": c.old, "new": c.new} for c in self.changes
            ],
        }


def diff_snapshots(
    old: ConfigSnapshot, new: ConfigSnapshot, old_label: str = "", new_label: str = ""
) -> ConfigDiff:
    """Every parameter that differs between ``old`` and ``new``, sorted by name."""
    changes: list[ParameterChange] = []
    for name, (before, after) in old.diff(new).items():
        if name not in new.parameters:
            kind = ChangeKind.ONLY_IN_OLD
        elif name not in old.parameters:
            kind = ChangeKind.ONLY_IN_NEW
        else:
            kind = ChangeKind.CHANGED
        changes.append(ParameterChange(name, kind, before, after))
    return ConfigDiff(
        old_label or t("backup"),
        new_label or t("device"),
        old.schema_version,
        new.schema_version,
        tuple(changes),
    )


def take_backup(
    target: Target,
    db: RecordsDb,
    serial: str,
    session_id: int | None = None,
    reads: tuple[ConfigSnapshot, ConfigSnapshot] | None = None,
) -> BackupRecord:
    """Read every parameter, store it, and verify both the stored copy and a second device read.

    ``reads`` are the two device reads when the caller already made them (the update engine reads
    them in the gaps of the precondition sampling); the checks are the same.

    Raises:
        ProcedureError: the device's configuration changed between two reads (unstable read).
        StorageError: the stored backup does not match what was read.
    """
    snapshot = target.read_config() if reads is None else reads[0]
    record = db.store_backup(serial, snapshot, session_id=session_id)
    if not diff_snapshots(record.snapshot, snapshot).empty:
        raise StorageError(
            t(
                "backup {backup_id} of {serial} was not stored exactly as read; it cannot be trusted",
                backup_id=record.id,
                serial=serial,
            )
        )
    second = target.read_config() if reads is None else reads[1]
    unstable = diff_snapshots(snapshot, second, t("first read"), t("second read"))
    if not unstable.empty:
        names = ", ".join(c.name for c in unstable.changes) or t("schema version")
        raise ProcedureError(
            t(
                "the device's configuration changed while it was backed up ({names})",
                names=names,
            )
        )
    return record


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What a restore wrote and what it had to leave out."""

    written: tuple[str, ...]
    skipped: tuple[str, ...]
    after: ConfigDiff


def _restorable(
    backup: ConfigSnapshot, device: ConfigSnapshot
) -> tuple[dict[str, ParameterValue], list[str]]:
    to_write: dict[str, ParameterValue] = {}
    skipped: list[str] = []
    for name, value in backup.parameters.items():
        if name not in device.parameters:
            skipped.append(name)  # the running firmware no longer knows it
        elif device.parameters[name] != value:
            to_write[name] = value
    return to_write, skipped


def restore_snapshot(target: Target, backup: ConfigSnapshot, label: str = "") -> RestoreResult:
    """Write back every backed-up parameter that differs on the device, then verify by reading.

    When nothing differs, the first read is the check: reading an unchanged device again proved
    nothing more and cost the config check a whole second read (about 0.1 s over SMP).

    A backup from another schema version restores the parameters both schemas share; parameters
    the device no longer knows are reported as skipped, never invented.

    Raises:
        ProcedureError: after writing, the device still differs from the backup.
    """
    label = label or t("backup")
    device = target.read_config()
    to_write, skipped = _restorable(backup, device)
    after = device
    if to_write:
        target.write_config(ConfigSnapshot(device.schema_version, to_write))
        after = target.read_config()  # what the device took, read back; no write, nothing to re-read
    remaining = [c for c in diff_snapshots(backup, after, label).changes if c.kind is ChangeKind.CHANGED]
    if remaining:
        names = ", ".join(c.name for c in remaining)
        raise ProcedureError(
            t(
                "the device did not take back these parameters from the {label}: {names}",
                label=label,
                names=names,
            )
        )
    return RestoreResult(
        tuple(sorted(to_write)), tuple(sorted(skipped)), diff_snapshots(backup, after, label)
    )


def changed_names(diff: ConfigDiff) -> Iterable[str]:
    """Names of parameters present on both sides with different values."""
    return (c.name for c in diff.changes if c.kind is ChangeKind.CHANGED)

"""A resumed update must prove its journal belongs to this history, this device and this package.

The journal names a service session and a configuration backup by their row ids — numbers that
mean something only in the history database they were written to. Resuming with another ``--db``
(or the GUI and the CLI on different databases) once restored *another battery's* configuration
(cell overvoltage 3650 → 4250 mV, over-temperature 55 → 90 °C) onto the device and appended its
steps to the other battery's session. So before a journal is trusted, every row it names is
looked up and compared with what the journal recorded when it was written: the database file,
the device (serial, model), the package (SHA-256), the backup (serial, schema, SHA-256).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from bmsflasher.core.errors import JournalError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import DeviceIdentity
from bmsflasher.procedure.journal import Journal, JournalState
from bmsflasher.records import BackupRecord, RecordsDb
from bmsflasher.records.errors import RecordNotFoundError

HISTORY_KEY: Final = "history_db"
MODEL_KEY: Final = "model"
BACKUP_SCHEMA_KEY: Final = "backup_schema_version"


def history_identity(db: RecordsDb) -> str:
    """How a journal names the history it writes to: the database file's absolute path."""
    return str(Path(db.path).resolve())


def binding_data(db: RecordsDb, identity: DeviceIdentity) -> dict[str, object]:
    """What a new journal records about where it belongs (stored in its ``data``)."""
    return {HISTORY_KEY: history_identity(db), MODEL_KEY: identity.model}


def record_backup(journal: Journal, record: BackupRecord) -> None:
    """Remember the backup taken before the transfer, with the facts that prove it is this device's."""
    journal.set_backup(record.id, record.sha256)
    journal.set_data(BACKUP_SCHEMA_KEY, record.snapshot.schema_version)


def _refuse(reason: object, history: object) -> JournalError:
    return JournalError(
        t("the journal of this update cannot be trusted: {reason}", reason=reason),
        hint=t(
            "Resume with the service history the update was started with (--db {history}), or roll the "
            "device back and start the update again.",
            history=history,
        ),
    )


def check_binding(state: JournalState, db: RecordsDb, identity: DeviceIdentity, package_sha256: str) -> None:
    """Refuse a journal that does not belong to ``db``, the device ``identity`` or the package.

    Journals written before this check existed carry no history or model: their rows are still
    verified against the database (serial, package, backup checksum).

    Raises:
        JournalError: one sentence naming the first mismatch, and where to resume instead.
    """
    recorded_history = state.data.get(HISTORY_KEY)
    history = recorded_history or history_identity(db)
    if recorded_history is not None and recorded_history != history_identity(db):
        raise _refuse(
            t(
                "it was written with the service history {recorded}, not {current}",
                recorded=recorded_history,
                current=history_identity(db),
            ),
            history,
        )
    model = state.data.get(MODEL_KEY)
    if model is not None and model != identity.model:
        raise _refuse(
            t("it was written for a {model}, not a {actual}", model=model, actual=identity.model), history
        )
    if state.package_sha256 != package_sha256:
        raise _refuse(t("it was written for another package"), history)
    if state.session_id is not None:
        _check_session(state, db, identity, history)
    if state.backup_id is not None:
        check_backup(state, db, identity.serial_number, history)


def _check_session(state: JournalState, db: RecordsDb, identity: DeviceIdentity, history: object) -> None:
    assert state.session_id is not None
    try:
        session = db.session_detail(state.session_id).session
    except RecordNotFoundError:
        raise _refuse(
            t("its session {session_id} is not in this service history", session_id=state.session_id), history
        ) from None
    if session.serial != identity.serial_number or session.package_sha256 != state.package_sha256:
        raise _refuse(
            t(
                "its session {session_id} in this history belongs to device {serial} and another update",
                session_id=state.session_id,
                serial=session.serial,
            ),
            history,
        )


def check_backup(state: JournalState, db: RecordsDb, serial: str, history: object = "") -> BackupRecord:
    """The journal's backup, proven to be this device's (serial, schema and SHA-256 as recorded).

    Raises:
        JournalError: the backup is missing, belongs to another device, or differs from the one
            the journal recorded (another history, or a rewritten row).
    """
    assert state.backup_id is not None
    shown = history or state.data.get(HISTORY_KEY) or history_identity(db)
    try:
        record = db.get_backup(state.backup_id)
    except RecordNotFoundError:
        raise _refuse(
            t("its backup {backup_id} is not in this service history", backup_id=state.backup_id), shown
        ) from None
    if record.serial != serial:
        raise _refuse(
            t(
                "its backup {backup_id} in this history belongs to device {owner}, not {serial}",
                backup_id=record.id,
                owner=record.serial,
                serial=serial,
            ),
            shown,
        )
    if record.sha256 != state.backup_sha256:
        raise _refuse(
            t("its backup {backup_id} differs from the one taken before the transfer", backup_id=record.id),
            shown,
        )
    schema = state.data.get(BACKUP_SCHEMA_KEY)
    if schema is not None and schema != record.snapshot.schema_version:
        raise _refuse(
            t("its backup {backup_id} has another configuration schema than recorded", backup_id=record.id),
            shown,
        )
    return record

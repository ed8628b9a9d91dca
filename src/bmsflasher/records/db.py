"""The service history: one SQLite file per user, written by the procedure, read by GUI, CLI, reports.

Design choices, and why:

* Every write is one ``BEGIN IMMEDIATE`` transaction that also appends its audit row, so a full
  disk, a killed process or a pulled USB stick leaves either the whole record or none of it, and
  the audit chain never misses a record that exists.
* WAL journaling with ``synchronous=FULL``: readers (the GUI's history page, ``bmsflasher history``
  in another terminal) never block the writer, and a committed record survives a power cut.
* One connection guarded by a re-entrant lock: the GUI reads while a worker thread writes, and
  SQLite connections must not be used by two threads at once.
* Records are append-only. The only update is finishing a session (and refreshing a device's
  last-seen data); both are audited like inserts.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import platformdirs

from bmsflasher.core.errors import StorageError
from bmsflasher.core.events import Measurement
from bmsflasher.core.i18n import t
from bmsflasher.core.types import ConfigSnapshot, DeviceIdentity, PackTelemetry
from bmsflasher.records import audit, audit_seals, rows
from bmsflasher.records.codec import (
    canonical_json,
    format_time,
    snapshot_sha256,
    snapshot_to_json,
    telemetry_to_json,
    utc_now,
)
from bmsflasher.records.errors import RecordNotFoundError, translate
from bmsflasher.records.models import (
    PARENT_SESSION_DETAIL,
    BackupRecord,
    ChainReport,
    DeviceRecord,
    SessionDetail,
    SessionRecord,
)
from bmsflasher.records.schema import MIGRATIONS, SCHEMA_VERSION

DB_FILENAME: Final = "history.sqlite3"
BUSY_TIMEOUT_S: Final = 5.0
"""How long to wait for another process's write to finish before reporting the file as locked."""


def default_db_path() -> Path:
    """Where the history lives unless told otherwise: the user's data directory."""
    return Path(platformdirs.user_data_dir("bmsflasher")) / DB_FILENAME


class RecordsDb:
    """The service history database. Open with :meth:`open`; safe to share between threads."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, read_only: bool) -> None:
        """Wrap an open, migrated connection; use :meth:`open` instead of calling this."""
        self._conn = conn
        self._path = path
        self._read_only = read_only
        self._lock = threading.RLock()
        self._closed = False
        self._sealer: audit_seals.AuditSigner | None = None
        self._sealer_loaded = False
        self._witness_file: Path = audit_seals.default_witness_file()

    def use_sealer(self, sealer: audit_seals.AuditSigner | None, witness_file: Path | None = None) -> None:
        """Seal closed sessions with ``sealer`` (None: never seal) and keep the witness in ``witness_file``.

        Without a call, the technician's own credentials (``firmware/certificates_technician``) seal,
        when they are configured; the witness lives in the user's state folder.
        """
        self._sealer, self._sealer_loaded = sealer, True
        if witness_file is not None:
            self._witness_file = witness_file

    def _current_sealer(self) -> audit_seals.AuditSigner | None:
        if not self._sealer_loaded:
            self._sealer, self._sealer_loaded = audit_seals.technician_signer(), True
        return self._sealer

    def seal(self) -> bool:
        """Sign the chain's current head with the sealer (see :mod:`.audit_seals`); False without one."""
        sealer = self._current_sealer()
        if sealer is None:
            return False
        with self._write(t("sealing the audit trail")) as conn:
            newest = audit_seals.seal(conn, sealer)
        if newest is not None:
            # An unwritable witness leaves the seal standing: only a cut of the newest records
            # goes unnoticed until the next seal.
            with suppress(OSError):
                audit_seals.write_witness(self._witness_file, self._path, newest)
        return True

    # --- life cycle ----------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | None = None, *, read_only: bool = False) -> RecordsDb:
        """Open (creating and migrating if needed) the history at ``path`` or the default place.

        Args:
            path: the database file; None means :func:`default_db_path`.
            read_only: open without any right to write (auditors' copies, read-only media). The file
                must exist and already be at the current schema version.

        Raises:
            StorageError: the folder cannot be created, the file is not a bmsflasher history, is
                corrupt, is from a newer bmsflasher, or the disk refuses it.
        """
        path = default_db_path() if path is None else Path(path)
        conn = _connect(path, read_only=read_only)
        try:
            _prepare(conn, path, read_only=read_only)
        except BaseException:
            conn.close()
            raise
        return cls(conn, path, read_only=read_only)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def close(self) -> None:
        """Close the connection (idempotent); WAL content is checkpointed into the main file."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- writing -------------------------------------------------------------------------------
    def upsert_device(self, identity: DeviceIdentity) -> None:
        """Record a device by serial, refreshing model, hardware and versions when seen again."""
        serial = _require_text(identity.serial_number, t("a device's serial number"))
        now = format_time(utc_now())
        values = (
            identity.model,
            identity.hardware_revision,
            _version_text(identity.firmware_version),
            _version_text(identity.bootloader_version),
            now,
        )
        with self._write(t("recording device {serial}", serial=serial)) as conn:
            found = conn.execute("SELECT id FROM devices WHERE serial = ?", (serial,)).fetchone()
            if found is None:
                cursor = conn.execute(
                    "INSERT INTO devices (serial, model, hardware_revision, firmware_version, "
                    "bootloader_version, last_seen, first_seen) VALUES (?,?,?,?,?,?,?)",
                    (serial, *values, now),
                )
                audit.append(conn, "devices", _rowid(cursor), "insert")
            else:
                conn.execute(
                    "UPDATE devices SET model = ?, hardware_revision = ?, firmware_version = ?, "
                    "bootloader_version = ?, last_seen = ? WHERE id = ?",
                    (*values, found[0]),
                )
                audit.append(conn, "devices", int(found[0]), "update")

    def start_session(
        self,
        serial: str,
        kind: str,
        operator: str,
        package_sha256: str | None,
        details: Mapping[str, Any],
    ) -> int:
        """Open a session (update, rollback, backup, ...) and return its id.

        ``details`` is any JSON-able context worth keeping (link, package name, overrides with reasons).
        """
        serial = _require_text(serial, t("a session's device serial number"))
        kind = _require_text(kind, t("a session's kind"))
        # Values JSON cannot hold (paths, enums, versions) are kept as their text: deterministic,
        # and a session is never lost over the type of a detail.
        details_json = canonical_json(json.loads(json.dumps(dict(details), default=str))).decode("utf-8")
        with self._write(t("starting a {kind} session for {serial}", kind=kind, serial=serial)) as conn:
            cursor = conn.execute(
                "INSERT INTO sessions (serial, kind, operator, package_sha256, details, started) "
                "VALUES (?,?,?,?,?,?)",
                (serial, kind, operator, package_sha256, details_json, format_time(utc_now())),
            )
            session_id = _rowid(cursor)
            audit.append(conn, "sessions", session_id, "insert")
        return session_id

    def log_step(self, session_id: int, step: str, ok: bool | None, detail: str) -> None:
        """Record a step line: ``ok`` None when it starts, True/False when it ends."""
        with self._write(
            t("logging step {step} of session {session_id}", step=step, session_id=session_id)
        ) as conn:
            _require_session(conn, session_id)
            cursor = conn.execute(
                "INSERT INTO steps (session_id, at, step, ok, detail) VALUES (?,?,?,?,?)",
                (session_id, format_time(utc_now()), step, None if ok is None else int(ok), detail),
            )
            audit.append(conn, "steps", _rowid(cursor), "insert")

    def log_measurement(self, session_id: int, m: Measurement, *, step: str | None = None) -> None:
        """Record a measured value against its limit.

        Args:
            session_id: the session it belongs to.
            m: the measurement as the procedure emitted it.
            step: the step to file it under; by default the step most recently started in this
                session, which is how the report groups preconditions apart from self-test checks.
        """
        with self._write(
            t(
                "logging measurement {name} of session {session_id}",
                name=m.name,
                session_id=session_id,
            )
        ) as conn:
            _require_session(conn, session_id)
            if step is None:
                found = conn.execute(
                    "SELECT step FROM steps WHERE session_id = ? AND ok IS NULL ORDER BY id DESC LIMIT 1",
                    (session_id,),
                ).fetchone()
                step = str(found[0]) if found else ""
            cursor = conn.execute(
                "INSERT INTO measurements (session_id, at, step, name, value, limit_text, passed, why, "
                "overridable) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    session_id,
                    format_time(utc_now()),
                    step,
                    m.name,
                    m.value,
                    m.limit,
                    int(m.passed),
                    m.why,
                    int(m.overridable),
                ),
            )
            audit.append(conn, "measurements", _rowid(cursor), "insert")

    def log_telemetry(self, session_id: int, label: str, telemetry: PackTelemetry) -> None:
        """Record a pack snapshot under ``label`` (``"before"``/``"after"`` feed the report's chart)."""
        sample = canonical_json(telemetry_to_json(telemetry)).decode("utf-8")
        with self._write(
            t(
                "logging {label} telemetry of session {session_id}",
                label=label,
                session_id=session_id,
            )
        ) as conn:
            _require_session(conn, session_id)
            cursor = conn.execute(
                "INSERT INTO telemetry (session_id, at, label, sample) VALUES (?,?,?,?)",
                (session_id, format_time(utc_now()), label, sample),
            )
            audit.append(conn, "telemetry", _rowid(cursor), "insert")

    def finish_session(
        self, session_id: int, outcome: str, from_version: str | None, to_version: str | None
    ) -> None:
        """Close a session with its outcome (e.g. ``updated``, ``refused``, ``rolled_back``, ``failed``)."""
        outcome = _require_text(outcome, t("a session's outcome"))
        with self._write(t("finishing session {session_id}", session_id=session_id)) as conn:
            _require_session(conn, session_id)
            conn.execute(
                "UPDATE sessions SET finished = ?, outcome = ?, from_version = ?, to_version = ? "
                "WHERE id = ?",
                (format_time(utc_now()), outcome, from_version, to_version, session_id),
            )
            audit.append(conn, "sessions", session_id, "update")
        self.seal()  # each closed session is a signed checkpoint of the chain

    def store_backup(
        self, serial: str, snapshot: ConfigSnapshot, *, session_id: int | None = None
    ) -> BackupRecord:
        """Keep a configuration backup for ``serial``; returns it as stored (id, SHA-256, time).

        The snapshot is read back from the database and its checksum recomputed before returning,
        so a caller that gets a record knows the backup on disk is whole.
        """
        serial = _require_text(serial, t("a backup's device serial number"))
        body = canonical_json(snapshot_to_json(snapshot)).decode("utf-8")
        digest = snapshot_sha256(snapshot)
        with self._write(t("storing a configuration backup of {serial}", serial=serial)) as conn:
            if session_id is not None:
                _require_session(conn, session_id)
            cursor = conn.execute(
                "INSERT INTO backups (serial, session_id, schema_version, sha256, created, snapshot) "
                "VALUES (?,?,?,?,?,?)",
                (serial, session_id, snapshot.schema_version, digest, format_time(utc_now()), body),
            )
            backup_id = _rowid(cursor)
            audit.append(conn, "backups", backup_id, "insert")
        return self.get_backup(backup_id)

    # --- reading -------------------------------------------------------------------------------
    def get_backup(self, backup_id: int) -> BackupRecord:
        """One backup by id, checksum verified.

        Raises:
            RecordNotFoundError: no such backup.
            RecordsTamperedError: the stored snapshot no longer matches its SHA-256.
        """
        with self._read(t("reading backup {backup_id}", backup_id=backup_id)) as conn:
            row = conn.execute(
                f"SELECT {rows.BACKUP_COLUMNS} FROM backups WHERE id = ?",  # noqa: S608 (fixed names)
                (backup_id,),
            ).fetchone()
        if row is None:
            raise RecordNotFoundError(
                t("there is no backup {backup_id} in the service history", backup_id=backup_id)
            )
        return rows.backup(row)

    def list_backups(self, serial: str) -> list[BackupRecord]:
        """Every backup of ``serial``, newest first, checksums verified."""
        with self._read(t("listing backups of {serial}", serial=serial)) as conn:
            found = conn.execute(
                f"SELECT {rows.BACKUP_COLUMNS} FROM backups WHERE serial = ? ORDER BY id DESC",  # noqa: S608
                (serial,),
            ).fetchall()
        return [rows.backup(row) for row in found]

    def devices(self) -> list[DeviceRecord]:
        """Every device ever recorded, most recently seen first."""
        with self._read(t("listing devices")) as conn:
            found = conn.execute(
                f"SELECT {rows.DEVICE_COLUMNS} FROM devices ORDER BY last_seen DESC, id DESC"  # noqa: S608
            ).fetchall()
        return [rows.device(row) for row in found]

    def device(self, serial: str) -> DeviceRecord | None:
        """The device with this serial, or None if it was never recorded."""
        with self._read(t("reading device {serial}", serial=serial)) as conn:
            row = conn.execute(
                f"SELECT {rows.DEVICE_COLUMNS} FROM devices WHERE serial = ?",  # noqa: S608
                (serial,),
            ).fetchone()
        return rows.device(row) if row else None

    def sessions(self, serial: str | None = None) -> list[SessionRecord]:
        """Sessions of one device, or of all devices, newest first."""
        query = f"SELECT {rows.SESSION_COLUMNS} FROM sessions"  # noqa: S608 (fixed names)
        args: tuple[str, ...] = ()
        if serial is not None:
            query += " WHERE serial = ?"
            args = (serial,)
        with self._read(t("listing sessions")) as conn:
            found = conn.execute(query + " ORDER BY id DESC", args).fetchall()
        return [rows.session(row) for row in found]

    def child_sessions(self, parent_id: int) -> list[SessionRecord]:
        """The node sessions of a pack session (a campaign's one per node), oldest first."""
        query = (
            f"SELECT {rows.SESSION_COLUMNS} FROM sessions "  # noqa: S608 (fixed names)
            f"WHERE json_extract(details, '$.{PARENT_SESSION_DETAIL}') = ? ORDER BY id"
        )
        with self._read(t("listing the node sessions of session {session_id}", session_id=parent_id)) as conn:
            found = conn.execute(query, (parent_id,)).fetchall()
        return [rows.session(row) for row in found]

    def session_detail(self, session_id: int) -> SessionDetail:
        """Everything recorded about one session, read as one consistent snapshot.

        Backups listed are those stored with this session's id, plus the one its details name as
        ``backup_id`` (a restore session restores an older backup).

        Raises:
            RecordNotFoundError: no such session.
        """
        with self._read(t("reading session {session_id}", session_id=session_id), snapshot=True) as conn:
            head = conn.execute(
                f"SELECT {rows.SESSION_COLUMNS} FROM sessions WHERE id = ?",  # noqa: S608
                (session_id,),
            ).fetchone()
            if head is None:
                raise RecordNotFoundError(
                    t("there is no session {session_id} in the service history", session_id=session_id)
                )
            session = rows.session(head)
            device = conn.execute(
                f"SELECT {rows.DEVICE_COLUMNS} FROM devices WHERE serial = ?",  # noqa: S608
                (session.serial,),
            ).fetchone()
            by_session = (session_id,)
            steps = conn.execute(
                f"SELECT {rows.STEP_COLUMNS} FROM steps WHERE session_id = ? ORDER BY id",  # noqa: S608
                by_session,
            ).fetchall()
            measurements = conn.execute(
                f"SELECT {rows.MEASUREMENT_COLUMNS} FROM measurements WHERE session_id = ? ORDER BY id",  # noqa: S608
                by_session,
            ).fetchall()
            samples = conn.execute(
                f"SELECT {rows.TELEMETRY_COLUMNS} FROM telemetry WHERE session_id = ? ORDER BY id",  # noqa: S608
                by_session,
            ).fetchall()
            referenced = session.details.get("backup_id")
            backups = conn.execute(
                f"SELECT {rows.BACKUP_COLUMNS} FROM backups WHERE session_id = ? OR id = ? ORDER BY id",  # noqa: S608
                (session_id, referenced if isinstance(referenced, int) else -1),
            ).fetchall()
            head_hash = audit.head_hash(conn)
            children = conn.execute(
                f"SELECT {rows.SESSION_COLUMNS} FROM sessions "  # noqa: S608 (fixed names)
                f"WHERE json_extract(details, '$.{PARENT_SESSION_DETAIL}') = ? ORDER BY id",
                by_session,
            ).fetchall()
        return SessionDetail(
            session=session,
            device=rows.device(device) if device else None,
            steps=tuple(rows.step(r) for r in steps),
            measurements=tuple(rows.measurement(r) for r in measurements),
            telemetry=tuple(rows.telemetry(r) for r in samples),
            backups=tuple(rows.backup(r) for r in backups),
            audit_head=head_hash,
            children=tuple(rows.session(r) for r in children),
        )

    def verify_chain(self) -> ChainReport:
        """Recompute the audit hash chain and compare it with every record (see :mod:`.audit`).

        SQLite's own ``quick_check`` runs first, so a file damaged below the records (a bad disk)
        is reported as corrupt rather than as tampering.
        """
        with self._read(t("verifying the audit trail"), snapshot=True) as conn:
            problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise StorageError(
                    t(
                        "the service history {path} is corrupt: {problem}",
                        path=self._path,
                        problem=problems[0],
                    )
                )
            report = audit.verify(conn)
            if not report.ok:
                return report
            sealed = audit_seals.check(conn, audit_seals.read_witness(self._witness_file, self._path))
            if sealed.problem:
                return replace(report, ok=False, first_bad_row=sealed.first_bad_row, reason=sealed.problem)
            return replace(
                report, seals=sealed.seals, newest_seal=sealed.newest, unsealed_rows=sealed.unsealed_rows
            )

    # --- transactions --------------------------------------------------------------------------
    @contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One all-or-nothing write transaction; sqlite3 errors become StorageError."""
        if self._read_only:
            raise StorageError(
                t(
                    "the service history {path} was opened read-only, so {doing} was refused",
                    path=self._path,
                    doing=doing,
                )
            )
        with self._lock:
            self._require_open()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise translate(exc, self._path, doing) from exc
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(self._conn)
                raise translate(exc, self._path, doing) from exc
            except BaseException:
                _rollback(self._conn)
                raise

    @contextmanager
    def _read(self, doing: str, *, snapshot: bool = False) -> Iterator[sqlite3.Connection]:
        """Reads under the lock; ``snapshot`` wraps them in one transaction for a consistent view."""
        with self._lock:
            self._require_open()
            try:
                if snapshot:
                    self._conn.execute("BEGIN")
                try:
                    yield self._conn
                finally:
                    if snapshot:
                        self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise translate(exc, self._path, doing) from exc

    def _require_open(self) -> None:
        if self._closed:
            raise StorageError(t("the service history {path} is already closed", path=self._path))


# --- helpers ---------------------------------------------------------------------------------------
PRIVATE_FILE_MODE: Final = 0o600
"""A new history is readable by its owner only: it names batteries, sites, technicians and their
configurations, which other accounts on a shared workshop laptop have no business reading. SQLite
gives its -wal and -shm files the database file's permissions."""
PRIVATE_FOLDER_MODE: Final = 0o700


def _create_private(path: Path) -> None:
    """Create an empty database file that only its owner can read (an existing file is left as it is)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)


def _connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    """Open the SQLite connection in autocommit mode (transactions are explicit)."""
    try:
        if read_only:
            if not path.is_file():
                raise StorageError(t("the service history {path} does not exist", path=path))
            return sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
        if path.exists() and not path.is_file():
            # SQLite would happily open /dev/null and litter its folder with a "-journal" file.
            raise StorageError(
                t("the service history {path} is not a regular file", path=path),
                hint=t("Give --db a file name."),
            )
        path.parent.mkdir(mode=PRIVATE_FOLDER_MODE, parents=True, exist_ok=True)
        _create_private(path)
        return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    except OSError as exc:
        raise StorageError(
            t(
                "the folder for the service history {path} cannot be created: {reason}",
                path=path,
                reason=exc.strerror,
            )
        ) from exc
    except sqlite3.Error as exc:
        raise translate(exc, path, "opening it") from exc


def _prepare(conn: sqlite3.Connection, path: Path, *, read_only: bool) -> None:
    """Set pragmas, check the file is ours and bring its schema up to date."""
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            raise StorageError(t("{path} is an SQLite file but not a bmsflasher service history", path=path))
        if version > SCHEMA_VERSION:
            raise StorageError(
                t(
                    "the service history {path} was written by a newer bmsflasher (schema {version}, this "
                    "one knows up to {known})",
                    path=path,
                    version=version,
                    known=SCHEMA_VERSION,
                ),
                hint=t("Update bmsflasher to read this history."),
            )
        conn.execute("PRAGMA foreign_keys = ON")
        if read_only:
            if version < SCHEMA_VERSION:
                raise StorageError(
                    t(
                        "the service history {path} uses an older schema and cannot be upgraded read-only",
                        path=path,
                    ),
                    hint=t("Open it once without read-only so bmsflasher can upgrade it."),
                )
            return
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        _migrate(conn)
    except sqlite3.Error as exc:
        raise translate(exc, path, "opening it") from exc


def _migrate(conn: sqlite3.Connection) -> None:
    """Apply pending migrations, one transaction each.

    The version is re-read under the write lock so two processes opening an old file at once do
    not both upgrade it.
    """
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version >= SCHEMA_VERSION:
                conn.execute("COMMIT")
                return
            for statement in MIGRATIONS[version].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back if a transaction is open; a failed rollback must not hide the original error."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            # SQLite rolls back by itself after some errors (e.g. SQLITE_FULL); nothing left to undo.
            return


def _require_session(conn: sqlite3.Connection, session_id: int) -> None:
    if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
        raise RecordNotFoundError(
            t("there is no session {session_id} in the service history", session_id=session_id)
        )


def _require_text(value: str, what: str) -> str:
    if not value or not value.strip():
        raise StorageError(t("{what} is empty, so it cannot be recorded", what=what))
    return value


def _rowid(cursor: sqlite3.Cursor) -> int:
    row_id = cursor.lastrowid
    if row_id is None:
        raise StorageError(t("SQLite did not report the id of the record it just wrote"))
    return row_id


def _version_text(version: object | None) -> str | None:
    return None if version is None else str(version)

"""The database schema and its migrations.

The schema version lives in SQLite's ``PRAGMA user_version``. Migrations are applied in order, each
in its own transaction, so an old history file is upgraded in place and an interrupted upgrade
leaves the previous version intact. A file written by a newer bmsflasher is refused rather than
guessed at.
"""

from __future__ import annotations

from typing import Final

AUDITED_TABLES: Final = (
    "devices",
    "sessions",
    "steps",
    "measurements",
    "telemetry",
    "backups",
    "audit_seals",
)
"""Tables whose every insert and update appends an audit row in the same transaction."""

_V1: Final = """
CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    serial TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL,
    hardware_revision TEXT NOT NULL,
    firmware_version TEXT,
    bootloader_version TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    serial TEXT NOT NULL,
    kind TEXT NOT NULL,
    operator TEXT NOT NULL,
    package_sha256 TEXT,
    details TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    outcome TEXT,
    from_version TEXT,
    to_version TEXT
);
CREATE INDEX sessions_by_serial ON sessions (serial, id);
CREATE TABLE steps (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    at TEXT NOT NULL,
    step TEXT NOT NULL,
    ok INTEGER,
    detail TEXT NOT NULL
);
CREATE INDEX steps_by_session ON steps (session_id, id);
CREATE TABLE measurements (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    at TEXT NOT NULL,
    step TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    limit_text TEXT NOT NULL,
    passed INTEGER NOT NULL,
    why TEXT NOT NULL,
    overridable INTEGER NOT NULL
);
CREATE INDEX measurements_by_session ON measurements (session_id, id);
CREATE TABLE telemetry (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions (id),
    at TEXT NOT NULL,
    label TEXT NOT NULL,
    sample TEXT NOT NULL
);
CREATE INDEX telemetry_by_session ON telemetry (session_id, id);
CREATE TABLE backups (
    id INTEGER PRIMARY KEY,
    serial TEXT NOT NULL,
    session_id INTEGER REFERENCES sessions (id),
    schema_version INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created TEXT NOT NULL,
    snapshot TEXT NOT NULL
);
CREATE INDEX backups_by_serial ON backups (serial, id);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    table_name TEXT NOT NULL,
    row_id INTEGER NOT NULL,
    action TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_by_record ON audit (table_name, row_id, id);
"""

_V2: Final = """
CREATE TABLE audit_seals (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    audit_id INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    prev_seal TEXT NOT NULL,
    signer_subject TEXT NOT NULL,
    signer_sha256 TEXT NOT NULL,
    certificate TEXT NOT NULL,
    signature TEXT NOT NULL
);
"""
"""Signed checkpoints of the audit chain (``records/audit_seals.py``); version 1 files gain an
empty table, so they stay readable and verify as before (unsealed)."""

MIGRATIONS: Final[tuple[str, ...]] = (_V1, _V2)
"""``MIGRATIONS[n]`` upgrades a database from version ``n`` to ``n + 1``."""

SCHEMA_VERSION: Final = len(MIGRATIONS)
"""The version this build writes."""

"""The hash-chained audit trail.

Every insert into or update of an audited table appends one audit row in the same transaction. The
row's ``payload`` is the canonical JSON of the event::

    {"action": "insert"|"update", "at": ISO-8601, "row": {every column of the record}, "row_id": N,
     "table": NAME}

and its ``hash`` is ``sha256(bytes.fromhex(prev_hash) || payload_utf8)`` in lower-case hex, with
``prev_hash`` of the first row being 64 zeros. Editing a record, an audit payload or a hash, or
deleting a row in the middle, breaks either the chain or the match between a record and its latest
audit entry. Truncating the tail of both is only visible against a head hash noted elsewhere, which
is why reports print the head hash.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from bmsflasher.records.codec import canonical_json, format_time, sha256_hex, utc_now
from bmsflasher.records.models import ChainReport
from bmsflasher.records.schema import AUDITED_TABLES

GENESIS_HASH: Final = "0" * 64
"""The ``prev_hash`` of the first audit row."""


def chain_hash(prev_hash: str, payload: str) -> str:
    """The hash an audit row must carry, given the previous row's hash and its own payload."""
    return sha256_hex(bytes.fromhex(prev_hash) + payload.encode("utf-8"))


def row_as_dict(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    """Map a fetched row to ``{column: value}`` using the cursor's description."""
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


def head_hash(conn: sqlite3.Connection) -> str:
    """Hash of the newest audit row (the genesis hash on an empty trail)."""
    row = conn.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    return str(row[0]) if row else GENESIS_HASH


def append(conn: sqlite3.Connection, table: str, row_id: int, action: str) -> str:
    """Append the audit row for ``table``/``row_id`` as it is now; call inside the write transaction.

    Returns:
        The new head hash.
    """
    if table not in AUDITED_TABLES:
        raise ValueError(f"{table} is not an audited table")
    cursor = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,))  # noqa: S608 (fixed names)
    fetched = cursor.fetchone()
    if fetched is None:
        raise ValueError(f"{table} row {row_id} vanished inside its own transaction")
    at = format_time(utc_now())
    event = {
        "action": action,
        "at": at,
        "row": row_as_dict(cursor, fetched),
        "row_id": row_id,
        "table": table,
    }
    payload = canonical_json(event).decode("utf-8")
    prev = head_hash(conn)
    digest = chain_hash(prev, payload)
    conn.execute(
        "INSERT INTO audit (at, table_name, row_id, action, payload, prev_hash, hash) VALUES (?,?,?,?,?,?,?)",
        (at, table, row_id, action, payload, prev, digest),
    )
    return digest


class _AuditRow(NamedTuple):
    id: int
    table: str
    row_id: int
    action: str
    payload: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class _Problem:
    audit_id: int | None
    record: str | None
    reason: str

    def sort_key(self) -> tuple[int, str]:
        return (self.audit_id if self.audit_id is not None else 1 << 62, self.record or "")


def verify(conn: sqlite3.Connection) -> ChainReport:
    """Recompute the chain and compare every audited record with its latest audit entry.

    Reads inside one transaction so a writer in another thread or process cannot make a consistent
    file look broken half-way through.
    """
    latest: dict[tuple[str, int], tuple[int, str]] = {}
    prev = GENESIS_HASH
    checked = 0
    chain_problem: _Problem | None = None
    for fetched in conn.execute(
        "SELECT id, table_name, row_id, action, payload, prev_hash, hash FROM audit ORDER BY id"
    ):
        entry = _AuditRow(*fetched)
        checked += 1
        chain_problem = _check_link(entry, prev)
        if chain_problem is not None:
            break
        prev = entry.hash
        row = json.loads(entry.payload)["row"]
        latest[(entry.table, entry.row_id)] = (entry.id, sha256_hex(canonical_json(row)))
    if chain_problem is not None:
        return ChainReport(
            ok=False,
            rows_checked=checked,
            first_bad_row=chain_problem.audit_id,
            reason=chain_problem.reason,
            record=chain_problem.record,
            head_hash=prev,
            tables_checked=AUDITED_TABLES,
        )
    problems = _check_records(conn, latest)
    if not problems:
        return ChainReport(ok=True, rows_checked=checked, head_hash=prev, tables_checked=AUDITED_TABLES)
    first = min(problems, key=_Problem.sort_key)
    return ChainReport(
        ok=False,
        rows_checked=checked,
        first_bad_row=first.audit_id,
        reason=first.reason,
        record=first.record,
        head_hash=prev,
        tables_checked=AUDITED_TABLES,
    )


def _check_link(entry: _AuditRow, expected_prev: str) -> _Problem | None:
    """Check one audit row against the chain; None when it is sound."""
    audit_id, table, row_id, action = entry.id, entry.table, entry.row_id, entry.action
    payload, stored_prev, stored_hash = entry.payload, entry.prev_hash, entry.hash
    record = f"{table} row {row_id}"
    if stored_prev != expected_prev:
        return _Problem(
            audit_id,
            record,
            f"audit row {audit_id} ({record}) does not follow the row before it: "
            "an audit row was removed, inserted or edited",
        )
    try:
        recomputed = chain_hash(stored_prev, str(payload))
        event = json.loads(payload)
    except (ValueError, TypeError):
        return _Problem(audit_id, record, f"audit row {audit_id} ({record}) is unreadable: it was edited")
    if recomputed != stored_hash:
        return _Problem(
            audit_id, record, f"audit row {audit_id} ({record}) does not match its hash: it was edited"
        )
    named = (
        (event.get("table"), event.get("row_id"), event.get("action")) if isinstance(event, dict) else None
    )
    if named != (table, row_id, action) or not isinstance(event.get("row"), dict):
        return _Problem(
            audit_id, record, f"audit row {audit_id} ({record}) names another record than it hashes"
        )
    return None


def _check_records(
    conn: sqlite3.Connection, latest: dict[tuple[str, int], tuple[int, str]]
) -> list[_Problem]:
    """Compare every audited record with its latest audit entry; list every mismatch."""
    problems: list[_Problem] = []
    seen: set[tuple[str, int]] = set()
    for table in AUDITED_TABLES:
        cursor = conn.execute(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608 (fixed names)
        for fetched in cursor:
            values = row_as_dict(cursor, fetched)
            row_id = int(values["id"])
            key = (table, row_id)
            seen.add(key)
            record = f"{table} row {row_id}"
            entry = latest.get(key)
            if entry is None:
                problems.append(
                    _Problem(
                        None, record, f"{record} has no audit entry: it was added behind the tool's back"
                    )
                )
            elif entry[1] != sha256_hex(canonical_json(values)):
                problems.append(
                    _Problem(
                        entry[0], record, f"{record} differs from its audit entry {entry[0]}: it was edited"
                    )
                )
    for key, (audit_id, _digest) in latest.items():
        if key not in seen:
            record = f"{key[0]} row {key[1]}"
            problems.append(
                _Problem(audit_id, record, f"{record} is missing although audit row {audit_id} records it")
            )
    return problems

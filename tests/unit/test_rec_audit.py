"""The hash-chained audit trail: tampering with any row, through raw sqlite3, is named by verify."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from rec_support import SERIAL, SNAPSHOT, populated_db

from bmsflasher.core.errors import RecordsTamperedError
from bmsflasher.records import RecordsDb


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One recorded session, written once per module through the real API (fsyncs are slow)."""
    path = tmp_path_factory.mktemp("rec-audit") / "h.db"
    db, _sid = populated_db(path)
    db.close()  # checkpoints the WAL: the main file alone is the whole history
    return path


@pytest.fixture
def history(template: Path, tmp_path: Path) -> Path:
    """A private copy of the template for a test to tamper with."""
    return Path(shutil.copy(template, tmp_path / "h.db"))


def _tamper(path: Path, sql: str, *args: object) -> None:
    raw = sqlite3.connect(path)
    try:
        changed = raw.execute(sql, args).rowcount
        raw.commit()
    finally:
        raw.close()
    assert changed >= 1, "the tampering statement changed nothing"


def _verify(path: Path) -> tuple[bool, int | None, str | None, str]:
    with RecordsDb.open(path) as db:
        report = db.verify_chain()
    return report.ok, report.first_bad_row, report.record, report.reason


def _audit_id_of(path: Path, table: str, row_id: int) -> int:
    raw = sqlite3.connect(path)
    try:
        row = raw.execute(
            "SELECT max(id) FROM audit WHERE table_name = ? AND row_id = ?", (table, row_id)
        ).fetchone()
    finally:
        raw.close()
    return int(row[0])


def test_untouched_history_verifies(history: Path) -> None:
    with RecordsDb.open(history) as db:
        report = db.verify_chain()
    assert report.ok
    assert report.reason == ""
    assert report.first_bad_row is None
    assert report.rows_checked == 17  # one audit row per insert or update in rec_support
    assert len(report.head_hash) == 64


def test_chain_follows_the_documented_formula(history: Path) -> None:
    """An independent verifier using only hashlib and docs/records.md reaches the same head."""
    raw = sqlite3.connect(history)
    try:
        rows = raw.execute("SELECT payload, prev_hash, hash FROM audit ORDER BY id").fetchall()
    finally:
        raw.close()
    prev = "0" * 64
    for payload, stored_prev, stored_hash in rows:
        assert stored_prev == prev
        assert stored_hash == hashlib.sha256(bytes.fromhex(prev) + payload.encode("utf-8")).hexdigest()
        event = json.loads(payload)
        assert payload == json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert set(event) == {"action", "at", "row", "row_id", "table"}
        prev = stored_hash
    with RecordsDb.open(history) as db:
        assert db.verify_chain().head_hash == prev


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("devices", "firmware_version", "9.9.9"),
        ("sessions", "outcome", "rolled_back"),
        ("sessions", "operator", "someone else"),
        ("steps", "ok", 0),
        ("measurements", "value", "15.0 %"),
        ("measurements", "passed", 1),
        ("telemetry", "label", "after"),
        ("backups", "sha256", "0" * 64),
    ],
)
def test_edited_record_is_named(history: Path, table: str, column: str, value: object) -> None:
    raw = sqlite3.connect(history)
    row_id = raw.execute(f"SELECT min(id) FROM {table} WHERE {column} IS NOT ?", (value,)).fetchone()[0]
    raw.close()
    _tamper(history, f"UPDATE {table} SET {column} = ? WHERE id = ?", value, row_id)
    ok, first_bad, record, reason = _verify(history)
    assert not ok
    assert record == f"{table} row {row_id}"
    assert first_bad == _audit_id_of(history, table, row_id)
    assert f"{table} row {row_id}" in reason
    assert "edited" in reason


def test_edited_audit_payload_breaks_its_hash(history: Path) -> None:
    _tamper(history, "UPDATE audit SET payload = replace(payload, '55.0 %', '15.0 %') WHERE id = 4")
    ok, first_bad, _record, reason = _verify(history)
    assert not ok
    assert first_bad == 4
    assert "does not match its hash" in reason


def test_rehashed_audit_row_breaks_the_next_link(history: Path) -> None:
    """Forging a row's payload and its own hash still breaks the following row's prev_hash."""
    raw = sqlite3.connect(history)
    payload, prev = raw.execute("SELECT payload, prev_hash FROM audit WHERE id = 4").fetchone()
    raw.close()
    forged = payload.replace("55.0 %", "15.0 %")
    digest = hashlib.sha256(bytes.fromhex(prev) + forged.encode()).hexdigest()
    _tamper(history, "UPDATE audit SET payload = ?, hash = ? WHERE id = 4", forged, digest)
    ok, first_bad, _record, reason = _verify(history)
    assert not ok
    assert first_bad == 5
    assert "does not follow" in reason


def test_deleted_audit_row_is_detected(history: Path) -> None:
    _tamper(history, "DELETE FROM audit WHERE id = 6")
    ok, first_bad, _record, _reason = _verify(history)
    assert not ok
    assert first_bad == 7


def test_deleted_record_is_detected(history: Path) -> None:
    _tamper(history, "DELETE FROM steps WHERE id = 2")
    ok, _first_bad, record, reason = _verify(history)
    assert not ok
    assert record == "steps row 2"
    assert "missing" in reason


def test_record_added_behind_the_tools_back_is_detected(history: Path) -> None:
    _tamper(history, "INSERT INTO steps (session_id, at, step, ok, detail) VALUES (1, 'x', 'forged', 1, '')")
    ok, first_bad, record, reason = _verify(history)
    assert not ok
    assert first_bad is None
    assert record is not None
    assert record.startswith("steps row")
    assert "no audit entry" in reason


def test_audit_row_pointing_elsewhere_is_detected(history: Path) -> None:
    _tamper(history, "UPDATE audit SET row_id = 99 WHERE id = 3")
    ok, first_bad, _record, reason = _verify(history)
    assert not ok
    assert first_bad == 3
    assert "names another record" in reason


def test_first_broken_record_is_reported_when_several_are(history: Path) -> None:
    _tamper(history, "UPDATE measurements SET value = 'x' WHERE id = 3")
    _tamper(history, "UPDATE steps SET detail = 'x' WHERE id = 1")
    ok, first_bad, record, _reason = _verify(history)
    assert not ok
    assert record == "steps row 1"  # its audit row comes before the measurement's
    assert first_bad == _audit_id_of(history, "steps", 1)


def test_tampered_backup_is_never_handed_out(history: Path) -> None:
    _tamper(history, "UPDATE backups SET snapshot = replace(snapshot, '3650', '4200')")
    with RecordsDb.open(history) as db:
        with pytest.raises(RecordsTamperedError, match="does not match its SHA-256"):
            db.get_backup(1)
        with pytest.raises(RecordsTamperedError):
            db.list_backups(SERIAL)
        assert not db.verify_chain().ok


def test_untampered_backup_is_returned(history: Path) -> None:
    with RecordsDb.open(history) as db:
        assert db.get_backup(1).snapshot == SNAPSHOT


def test_new_writes_after_verify_keep_the_chain(history: Path) -> None:
    with RecordsDb.open(history) as db:
        head = db.verify_chain().head_hash
        sid = db.start_session(SERIAL, "rollback", "op", None, {})
        db.finish_session(sid, "rolled_back", "1.3.0", "1.2.0")
        report = db.verify_chain()
    assert report.ok
    assert report.rows_checked == 19
    raw = sqlite3.connect(history)
    assert raw.execute("SELECT prev_hash FROM audit WHERE id = 18").fetchone()[0] == head
    raw.close()

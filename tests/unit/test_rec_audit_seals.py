"""Sealed audit trail: a rewrite re-hashed as before, or a cut tail, no longer verifies as intact.

Before seals, anyone with write access to the history could edit a record, recompute every hash
after it (the chain's formula is public, docs/records.md) and ``history verify`` said "intact".
Each closed session is now sealed: the technician's certificate key signs the chain's head, and
the newest seal is kept in a witness file outside the database.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from rec_support import write_update_session

from bmsflasher.records import RecordsDb
from bmsflasher.records.audit import GENESIS_HASH, chain_hash, verify
from bmsflasher.records.audit_seals import CertificateSigner
from bmsflasher.records.codec import canonical_json
from bmsflasher.records.schema import AUDITED_TABLES


def technician() -> CertificateSigner:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test technician")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return CertificateSigner((cert,), key)


def sealed_history(tmp_path: Path, sessions: int = 2) -> tuple[Path, Path]:
    path, witness = tmp_path / "history.sqlite3", tmp_path / "state" / "witness.json"
    with RecordsDb.open(path) as db:
        db.use_sealer(technician(), witness)
        for _ in range(sessions):
            write_update_session(db)
    return path, witness


def verified(path: Path, witness: Path):  # type: ignore[no-untyped-def]
    with RecordsDb.open(path) as db:
        db.use_sealer(None, witness)
        return db.verify_chain()


def rewrite_and_rehash(path: Path, detail: str) -> None:
    """The attack of old: edit a step, update its audit payload, recompute every hash after it."""
    with sqlite3.connect(path) as conn:
        step_id = conn.execute("SELECT id FROM steps WHERE detail = '81920 bytes' ORDER BY id").fetchone()[0]
        conn.execute("UPDATE steps SET detail = ? WHERE id = ?", (detail, step_id))
        cursor = conn.execute("SELECT * FROM steps WHERE id = ?", (step_id,))
        row = {column[0]: value for column, value in zip(cursor.description, cursor.fetchone(), strict=True)}

        audit_id, payload = conn.execute(
            "SELECT id, payload FROM audit WHERE table_name = 'steps' AND row_id = ? ORDER BY id DESC",
            (step_id,),
        ).fetchone()
        event = json.loads(payload)
        event["row"] = row
        conn.execute(
            "UPDATE audit SET payload = ? WHERE id = ?", (canonical_json(event).decode("utf-8"), audit_id)
        )
        prev = GENESIS_HASH
        for row_id, text in conn.execute("SELECT id, payload FROM audit ORDER BY id").fetchall():
            digest = chain_hash(prev, text)
            conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, digest, row_id))
            prev = digest


def test_a_sealed_history_verifies_and_names_its_newest_seal(tmp_path: Path) -> None:
    path, witness = sealed_history(tmp_path)
    report = verified(path, witness)
    assert report.ok, report.reason
    assert report.seals == 2
    assert "by CN=Test technician (certificate SHA-256" in report.newest_seal
    assert report.unsealed_rows == 0


def test_a_rewritten_record_rehashed_as_before_is_detected(tmp_path: Path) -> None:
    path, witness = sealed_history(tmp_path)
    rewrite_and_rehash(path, "0 bytes")
    with sqlite3.connect(path) as conn:
        assert verify(conn).ok  # the plain hash chain is fooled: that was the hole
    report = verified(path, witness)
    assert not report.ok
    assert "signed a chain head this file no longer holds" in report.reason


def cut_tail(path: Path) -> None:
    """Cut the newest session with its seal, leaving a file whose chain and seals all verify."""
    with sqlite3.connect(path) as conn:
        last = conn.execute("SELECT MAX(id) FROM sessions").fetchone()[0]
        first_cut = conn.execute(
            "SELECT MIN(id) FROM audit WHERE table_name = 'sessions' AND row_id = ?", (last,)
        ).fetchone()[0]
        conn.execute("DELETE FROM audit WHERE id >= ?", (first_cut,))
        for table in reversed(AUDITED_TABLES):  # every record back to its newest remaining entry
            latest: dict[int, dict[str, object]] = {}
            for row_id, payload in conn.execute(
                "SELECT row_id, payload FROM audit WHERE table_name = ? ORDER BY id", (table,)
            ):
                latest[row_id] = json.loads(payload)["row"]
            for (row_id,) in conn.execute(f"SELECT id FROM {table}").fetchall():
                if row_id not in latest:
                    conn.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
                else:
                    values = latest[row_id]
                    assignments = ", ".join(f"{column} = ?" for column in values)
                    conn.execute(
                        f"UPDATE {table} SET {assignments} WHERE id = ?",
                        (*values.values(), row_id),
                    )


def test_a_cut_tail_with_its_seals_is_detected_by_the_witness(tmp_path: Path) -> None:
    path, witness = sealed_history(tmp_path, sessions=2)
    cut_tail(path)
    with RecordsDb.open(path) as db:
        db.use_sealer(None, tmp_path / "no-witness.json")
        assert db.verify_chain().ok  # without the witness the shorter file looks whole
    report = verified(path, witness)
    assert not report.ok
    assert "the witness names seal" in report.reason


def test_a_version_1_history_is_upgraded_and_still_verifies(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with RecordsDb.open(path) as db:
        db.use_sealer(None)
        write_update_session(db)
    with sqlite3.connect(path) as conn:  # what version 1 of bmsflasher wrote
        conn.execute("DROP TABLE audit_seals")
        conn.execute("PRAGMA user_version = 1")
    report = verified(path, tmp_path / "witness.json")
    assert report.ok, report.reason
    assert report.seals == 0
    assert report.unsealed_rows > 0

"""The service history database: round trips, schema, thread safety, bad files."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from pathlib import Path

import pytest
from rec_support import (
    CELLS_AFTER,
    CELLS_BEFORE,
    OPERATOR,
    SERIAL,
    SNAPSHOT,
    identity,
    populated_db,
    telemetry,
    write_update_session,
)

from bmsflasher.core.errors import StorageError
from bmsflasher.core.events import Measurement
from bmsflasher.core.types import Alarm, ConfigSnapshot
from bmsflasher.records import SCHEMA_VERSION, RecordNotFoundError, RecordsDb, default_db_path


def test_default_path_is_in_the_user_data_dir(data_home: Path) -> None:
    with RecordsDb.open() as db:
        assert db.path == default_db_path()
        assert db.path.is_relative_to(data_home / "xdg_data_home")
        assert db.path.is_file()


def test_new_file_gets_current_schema_and_wal(tmp_path: Path) -> None:
    RecordsDb.open(tmp_path / "h.db").close()
    raw = sqlite3.connect(tmp_path / "h.db")
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        raw.close()
    assert {"devices", "sessions", "steps", "measurements", "telemetry", "backups", "audit"} <= tables


def test_full_session_round_trips(tmp_path: Path) -> None:
    db, session_id = populated_db(tmp_path / "h.db")
    with db:
        detail = db.session_detail(session_id)
    session = detail.session
    assert (session.serial, session.kind, session.operator) == (SERIAL, "update", OPERATOR)
    assert (session.outcome, session.from_version, session.to_version) == ("updated", "1.2.0", "1.3.0")
    assert session.details == {"link": "/dev/ttyUSB0 @ 115200 baud"}
    assert session.finished is not None
    assert session.finished >= session.started
    assert detail.device is not None
    assert detail.device.firmware_version == "1.3.0"
    assert detail.device.first_seen <= detail.device.last_seen
    assert [(s.step, s.ok) for s in detail.steps] == [
        ("preconditions", None),
        ("preconditions", True),
        ("transfer", None),
        ("transfer", True),
        ("self_test", None),
        ("self_test", True),
    ]
    # measurements are filed under the step that was running
    assert [(m.step, m.name, m.passed) for m in detail.measurements] == [
        ("preconditions", "state_of_charge", True),
        ("preconditions", "temperature", True),
        ("preconditions", "link_quality", False),
        ("self_test", "voltage_calibration", True),
    ]
    assert detail.measurements[2].overridable is True
    samples = detail.telemetry_by_label()
    assert samples["before"].telemetry == telemetry(CELLS_BEFORE)
    assert samples["after"].telemetry.cell_voltages_mv == CELLS_AFTER
    assert samples["after"].telemetry.temperatures_c == (24.8, None)
    assert [b.snapshot for b in detail.backups] == [SNAPSHOT]
    assert len(detail.audit_head) == 64


def test_measurement_step_can_be_given_explicitly(tmp_path: Path) -> None:
    with RecordsDb.open(tmp_path / "h.db") as db:
        sid = db.start_session(SERIAL, "diagnose", "op", None, {})
        db.log_measurement(sid, Measurement("x", "1", "2", True))
        db.log_measurement(sid, Measurement("y", "1", "2", True), step="manual")
        assert [m.step for m in db.session_detail(sid).measurements] == ["", "manual"]


def test_telemetry_with_alarms_round_trips(tmp_path: Path) -> None:
    sample = dataclasses.replace(telemetry((3000, 3700)), alarms=frozenset(Alarm))
    with RecordsDb.open(tmp_path / "h.db") as db:
        sid = db.start_session(SERIAL, "diagnose", "op", None, {})
        db.log_telemetry(sid, "now", sample)
        assert db.session_detail(sid).telemetry[0].telemetry == sample


def test_backups_keep_types_and_checksums(tmp_path: Path) -> None:
    with RecordsDb.open(tmp_path / "h.db") as db:
        first = db.store_backup(SERIAL, SNAPSHOT)
        second = db.store_backup(SERIAL, ConfigSnapshot(3, {"cell_ovp_mv": 3600}))
        db.store_backup("OTHER", ConfigSnapshot(1, {}))
        got = db.get_backup(first.id)
        assert got.snapshot == SNAPSHOT
        assert isinstance(got.snapshot.parameters["fan"], bool)
        assert isinstance(got.snapshot.parameters["cell_ovp_mv"], int)
        assert got.sha256 == first.sha256
        assert len(got.sha256) == 64
        assert got.schema_version == 3
        assert [b.id for b in db.list_backups(SERIAL)] == [second.id, first.id]  # newest first
        assert db.list_backups("NOBODY") == []
        with pytest.raises(RecordNotFoundError, match="no backup 999"):
            db.get_backup(999)


def test_same_content_gives_same_checksum(tmp_path: Path) -> None:
    reordered = ConfigSnapshot(3, dict(reversed(list(SNAPSHOT.parameters.items()))))
    with RecordsDb.open(tmp_path / "h.db") as db:
        assert db.store_backup(SERIAL, SNAPSHOT).sha256 == db.store_backup(SERIAL, reordered).sha256


def test_non_finite_parameter_is_refused(tmp_path: Path) -> None:
    with RecordsDb.open(tmp_path / "h.db") as db:
        with pytest.raises(StorageError, match="non-finite"):
            db.store_backup(SERIAL, ConfigSnapshot(1, {"gain": float("nan")}))
        assert db.list_backups(SERIAL) == []


def test_sessions_listing_and_filter(tmp_path: Path) -> None:
    with RecordsDb.open(tmp_path / "h.db") as db:
        a = write_update_session(db)
        b = db.start_session("OTHER-1", "backup", "op", None, {})
        assert [s.id for s in db.sessions()] == [b, a]
        assert [s.id for s in db.sessions(SERIAL)] == [a]
        assert db.sessions("missing") == []
        assert db.sessions()[0].interrupted
        assert not db.sessions()[1].interrupted


def test_device_upsert_keeps_first_seen(tmp_path: Path) -> None:
    with RecordsDb.open(tmp_path / "h.db") as db:
        db.upsert_device(identity("1.0.0"))
        first = db.device(SERIAL)
        db.upsert_device(identity("2.0.0"))
        again = db.device(SERIAL)
        assert first is not None
        assert again is not None
        assert again.first_seen == first.first_seen
        assert again.firmware_version == "2.0.0"
        assert [d.serial for d in db.devices()] == [SERIAL]
        assert db.device("nope") is None


def test_unknown_session_is_a_clear_error(tmp_path: Path) -> None:
    with RecordsDb.open(tmp_path / "h.db") as db:
        with pytest.raises(RecordNotFoundError, match="no session 7"):
            db.log_step(7, "x", None, "")
        with pytest.raises(RecordNotFoundError, match="no session 7"):
            db.session_detail(7)
        with pytest.raises(RecordNotFoundError):
            db.finish_session(7, "updated", None, None)
        assert db.verify_chain().rows_checked == 0


def test_empty_serial_is_refused(tmp_path: Path) -> None:
    with RecordsDb.open(tmp_path / "h.db") as db:
        with pytest.raises(StorageError, match="serial number is empty"):
            db.start_session("  ", "update", "op", None, {})


def test_data_survives_reopen(tmp_path: Path) -> None:
    db, sid = populated_db(tmp_path / "h.db")
    db.close()
    db.close()  # idempotent
    with RecordsDb.open(tmp_path / "h.db") as again:
        assert again.session_detail(sid).session.outcome == "updated"
        assert again.verify_chain().ok


def test_closed_db_refuses_use(tmp_path: Path) -> None:
    db = RecordsDb.open(tmp_path / "h.db")
    db.close()
    with pytest.raises(StorageError, match="already closed"):
        db.sessions()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    RecordsDb.open(tmp_path / "h.db").close()
    raw = sqlite3.connect(tmp_path / "h.db")
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(StorageError, match="newer bmsflasher"):
        RecordsDb.open(tmp_path / "h.db")


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    raw = sqlite3.connect(tmp_path / "other.db")
    raw.execute("CREATE TABLE notes (x)")
    raw.commit()
    raw.close()
    with pytest.raises(StorageError, match="not a bmsflasher service history"):
        RecordsDb.open(tmp_path / "other.db")


def test_garbage_file_is_reported_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    path.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(StorageError, match="corrupt or not a bmsflasher database") as caught:
        RecordsDb.open(path)
    assert caught.value.hint
    assert path.read_bytes().startswith(b"this is not")  # never overwritten


def test_unwritable_folder_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="cannot be created"):
        RecordsDb.open(blocker / "sub" / "h.db")


def test_read_only_open_reads_but_refuses_writes(tmp_path: Path) -> None:
    db, sid = populated_db(tmp_path / "h.db")
    db.close()
    with RecordsDb.open(tmp_path / "h.db", read_only=True) as ro:
        assert ro.session_detail(sid).session.outcome == "updated"
        assert ro.verify_chain().ok
        with pytest.raises(StorageError, match="read-only"):
            ro.log_step(sid, "x", None, "")
    with pytest.raises(StorageError, match="does not exist"):
        RecordsDb.open(tmp_path / "missing.db", read_only=True)


def test_sqlite_level_read_only_is_translated(tmp_path: Path) -> None:
    """A file SQLite itself refuses to write (here: opened with mode=ro) gives the read-only sentence."""
    RecordsDb.open(tmp_path / "h.db").close()
    conn = sqlite3.connect(f"{(tmp_path / 'h.db').as_uri()}?mode=ro", uri=True, isolation_level=None)
    from bmsflasher.records.db import RecordsDb as Db

    db = Db(conn, tmp_path / "h.db", read_only=False)  # pretend we did not know
    with db, pytest.raises(StorageError, match="is read-only"):
        db.start_session(SERIAL, "update", "op", None, {})


def test_concurrent_writer_and_reader_threads(tmp_path: Path) -> None:
    """The GUI reads history while a worker writes: no errors, nothing lost, chain intact."""
    errors: list[BaseException] = []
    with RecordsDb.open(tmp_path / "h.db") as db:
        sid = db.start_session(SERIAL, "update", "op", None, {})
        stop = threading.Event()

        def writer() -> None:
            try:
                for i in range(150):
                    db.log_step(sid, f"s{i}", i % 2 == 0, "")
            except BaseException as exc:
                errors.append(exc)
            finally:
                stop.set()

        def reader() -> None:
            try:
                while not stop.is_set():
                    detail = db.session_detail(sid)
                    assert [s.step for s in detail.steps] == [f"s{i}" for i in range(len(detail.steps))]
                    db.sessions()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert errors == []
        assert len(db.session_detail(sid).steps) == 150
        assert db.verify_chain().ok


def test_two_handles_on_one_file_keep_one_chain(tmp_path: Path) -> None:
    """Two processes (here two connections) appending alternately must not fork the chain."""
    with RecordsDb.open(tmp_path / "h.db") as a, RecordsDb.open(tmp_path / "h.db") as b:
        sa = a.start_session(SERIAL, "update", "op", None, {})
        sb = b.start_session("OTHER", "update", "op", None, {})
        for i in range(10):
            a.log_step(sa, f"a{i}", True, "")
            b.log_step(sb, f"b{i}", True, "")
        report = a.verify_chain()
    assert report.ok, report.reason
    assert report.rows_checked == 22


def test_details_that_json_cannot_hold_are_kept_as_text(tmp_path: Path) -> None:
    with RecordsDb.open(tmp_path / "h.db") as db:
        sid = db.start_session(SERIAL, "update", "op", None, {"package": tmp_path / "fw.bmspkg", "n": 3})
        details = db.session_detail(sid).session.details
    assert details == {"package": str(tmp_path / "fw.bmspkg"), "n": 3}

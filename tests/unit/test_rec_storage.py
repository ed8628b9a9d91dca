"""Storage failures: a full disk mid-write leaves the history exactly as it was, with a clear sentence."""

from __future__ import annotations

from pathlib import Path

import pytest
from rec_support import SERIAL, SNAPSHOT, populated_db

from bmsflasher.core.errors import StorageError
from bmsflasher.core.types import ConfigSnapshot
from bmsflasher.records import RecordsDb
from bmsflasher.records.reports import render_report


def _fill_disk(db: RecordsDb) -> None:
    """Simulate a full disk: SQLite may not grow the file by a single page from now on."""
    conn = db._conn  # the test reaches in on purpose: max_page_count is per connection
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")


def test_disk_full_is_a_storage_error_and_nothing_is_half_written(tmp_path: Path) -> None:
    db, sid = populated_db(tmp_path / "h.db")
    with db:
        before = db.session_detail(sid)
        audit_rows = db.verify_chain().rows_checked
        _fill_disk(db)
        big = ConfigSnapshot(1, {f"p{i}": "x" * 200 for i in range(200)})  # needs new pages
        with pytest.raises(StorageError, match="is full") as caught:
            db.store_backup(SERIAL, big, session_id=sid)
        assert "nothing was half-written" in (caught.value.hint or "")
        assert isinstance(caught.value.__cause__, Exception)  # the sqlite3 cause is chained
        # previous data intact, the failed write left no record and no audit row
        assert db.session_detail(sid) == before
        assert [b.snapshot for b in db.list_backups(SERIAL)] == [SNAPSHOT]
        report = db.verify_chain()
        assert report.ok
        assert report.rows_checked == audit_rows
        # once space is back, writing works again and the chain continues
        db._conn.execute("PRAGMA max_page_count = 1073741823")
        db.store_backup(SERIAL, big, session_id=sid)
        assert db.verify_chain().ok
    with RecordsDb.open(tmp_path / "h.db") as again:
        assert len(again.list_backups(SERIAL)) == 2


def test_disk_full_during_many_small_writes_keeps_every_committed_one(tmp_path: Path) -> None:
    with RecordsDb.open(tmp_path / "h.db") as db:
        sid = db.start_session(SERIAL, "update", "op", None, {})
        _fill_disk(db)
        written: list[int] = []

        def write_until_full() -> None:
            for i in range(10_000):
                db.log_step(sid, f"step-{i}", True, "d" * 100)
                written.append(i)

        with pytest.raises(StorageError, match="is full"):
            write_until_full()
        assert written  # some fitted in the free space of existing pages
        steps = db.session_detail(sid).steps
        assert [s.step for s in steps] == [f"step-{i}" for i in written]
        assert db.verify_chain().ok


def test_report_to_missing_folder_is_a_storage_error(tmp_path: Path) -> None:
    db, sid = populated_db(tmp_path / "h.db")
    with db, pytest.raises(StorageError, match="does not exist"):
        render_report(db, sid, "html", tmp_path / "nope" / "r.html")


def test_report_over_a_folder_is_a_storage_error_and_leaves_no_temp_file(tmp_path: Path) -> None:
    db, sid = populated_db(tmp_path / "h.db")
    target = tmp_path / "out"
    target.mkdir()
    (target / "r.html").mkdir()  # a folder where the file should go: the rename fails
    with db, pytest.raises(StorageError, match="cannot write the report"):
        render_report(db, sid, "html", target / "r.html")
    assert [p.name for p in target.iterdir()] == ["r.html"]

"""Per-device files cannot collide or be read by other accounts (issue 14).

``A/B`` and ``A_B`` used to share one journal file, a 300-character serial crashed the update with
a traceback, and the service history was created world-readable.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bmsflasher.core.types import ConfigSnapshot
from bmsflasher.procedure.journal import Journal, JournalState, journal_name, journal_path
from bmsflasher.records import RecordsDb


def make_journal(folder: Path, serial: str) -> Journal:
    return Journal.create(JournalState(serial=serial, package_sha256="ab" * 32, state="transfer"), folder)


def test_journal_names_of_look_alike_serials_do_not_collide(tmp_path: Path) -> None:
    serials = ["A/B", "A_B", "A:B", "a_b", ".hidden", "A_B~x"]
    names = {serial: journal_name(serial) for serial in serials}
    assert len(set(names.values())) == len(serials), names
    for serial in serials:
        make_journal(tmp_path, serial)
    for serial in serials:
        loaded = Journal.load(serial, tmp_path)
        assert loaded is not None
        assert loaded.state.serial == serial
        assert journal_path(serial, tmp_path).parent == tmp_path


def test_a_safe_serial_keeps_the_name_earlier_versions_used(tmp_path: Path) -> None:
    assert journal_name("VB2400007") == "VB2400007.json"


@pytest.mark.parametrize("length", [65, 300, 5000])
def test_a_very_long_serial_gets_a_journal_any_file_system_accepts(tmp_path: Path, length: int) -> None:
    serial = "S" * length
    name = journal_name(serial)
    assert len(name.encode()) <= 100
    make_journal(tmp_path, serial)
    loaded = Journal.load(serial, tmp_path)
    assert loaded is not None
    assert loaded.state.serial == serial
    assert Journal.load("S" * (length + 1), tmp_path) is None


def test_the_history_database_is_created_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new-folder" / "history.sqlite3"
    old_umask = os.umask(0o022)  # the usual default: without care the file would be 0644
    try:
        with RecordsDb.open(path) as db:
            db.store_backup("SN1", ConfigSnapshot(1, {"x": 1}))
            wal = path.with_name(path.name + "-wal")
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            if wal.exists():
                assert stat.S_IMODE(wal.stat().st_mode) & 0o077 == 0
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0


def test_an_existing_history_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    with RecordsDb.open(path):
        pass
    path.chmod(0o640)  # a workshop that shares its history with a group on purpose
    with RecordsDb.open(path):
        pass
    assert stat.S_IMODE(path.stat().st_mode) == 0o640

"""A resumed update must not trust row ids from another history (issue 14).

Reproduces the report: an update is interrupted mid-transfer; the technician resumes it with a
different ``--db`` whose backup 1 and session 1 belong to *another battery* with dangerous limits.
Before the fix the resume restored that battery's configuration onto this one and appended its
steps to the other battery's session. Real virtual BMS on a pty, real SQLite files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from proc_support import DEMO_PUB, HEALTHY, fast_profile, package, smp_bench

from bmsflasher.core.events import Event, Progress
from bmsflasher.core.types import ConfigSnapshot
from bmsflasher.procedure import State, UpdateOptions, UpdateProcedure, build_keyring, package_loader
from bmsflasher.procedure.journal import Journal
from bmsflasher.records import RecordsDb


class Interrupted(KeyboardInterrupt):
    """The technician's Ctrl-C, in the middle of the transfer."""


def interrupt_mid_transfer(event: Event) -> None:
    if isinstance(event, Progress) and event.done > 0:
        raise Interrupted


def run(bench, db: RecordsDb, journal_dir: Path, sink=lambda _e: None):  # type: ignore[no-untyped-def]
    keyring = build_keyring([DEMO_PUB], folder=journal_dir / "no-user-keys")
    options = UpdateOptions(journal_dir=journal_dir, profile=fast_profile(), operator="pytest")
    try:
        return UpdateProcedure(
            package_loader(package(HEALTHY), keyring), bench.connect, db, sink, options
        ).run()
    finally:
        bench.close_targets()


def other_battery_history(path: Path, schema_version: int, parameters: dict[str, object]) -> RecordsDb:
    """A history whose session 1 and backup 1 belong to another battery with dangerous limits."""
    db = RecordsDb.open(path)
    dangerous = dict(parameters)
    dangerous["cell_overvoltage_mv"] = 4250
    db.start_session("OTHER-BATTERY", "update", "someone", "ab" * 32, {})
    db.store_backup("OTHER-BATTERY", ConfigSnapshot(schema_version, dangerous))  # type: ignore[arg-type]
    return db


def test_resume_with_another_history_is_refused_and_touches_nothing(tmp_path: Path) -> None:
    journal_dir = tmp_path / "journal"
    with smp_bench(tmp_path) as bench:
        original = bench.device.config()
        with pytest.raises(Interrupted):
            run(bench, bench.db, journal_dir, interrupt_mid_transfer)
        serial = bench.device.identity().serial_number
        journal = Journal.load(serial, journal_dir)
        assert journal is not None
        assert (journal.state.session_id, journal.state.backup_id) == (1, 1)  # the same ids exist elsewhere

        with other_battery_history(
            tmp_path / "other.sqlite3", original.schema_version, dict(original.parameters)
        ) as other:
            steps_before = len(other.session_detail(1).steps)
            refused = run(bench, other, journal_dir)
            assert refused.outcome is State.FAILED
            assert "cannot be trusted" in refused.reason
            assert str(bench.db.path.resolve()) in refused.reason + (
                refused.error.hint or ""
            )  # where to resume
            assert bench.device.config().parameters == original.parameters  # not the other battery's limits
            assert len(other.session_detail(1).steps) == steps_before  # nothing appended to its session
            assert not [s for s in other.sessions() if s.serial == serial]

        resumed = run(bench, bench.db, journal_dir)  # the right history finishes the update
        assert resumed.outcome is State.UPDATED, resumed.reason
        assert resumed.session_id == 1


def test_a_journal_whose_backup_row_was_rewritten_is_refused(tmp_path: Path) -> None:
    """Same history file, but the backup the journal names is not the one taken (sha differs)."""
    journal_dir = tmp_path / "journal"
    with smp_bench(tmp_path) as bench:
        with pytest.raises(Interrupted):
            run(bench, bench.db, journal_dir, interrupt_mid_transfer)
        serial = bench.device.identity().serial_number
        journal = Journal.load(serial, journal_dir)
        assert journal is not None
        journal.set_backup(journal.state.backup_id, "00" * 32)  # the backup recorded is not the stored one
        refused = run(bench, bench.db, journal_dir)
        assert refused.outcome is State.FAILED
        assert "differs from the one taken before the transfer" in refused.reason


def test_a_journal_written_for_another_model_is_refused(tmp_path: Path) -> None:
    journal_dir = tmp_path / "journal"
    with smp_bench(tmp_path) as bench:
        with pytest.raises(Interrupted):
            run(bench, bench.db, journal_dir, interrupt_mid_transfer)
        serial = bench.device.identity().serial_number
        journal = Journal.load(serial, journal_dir)
        assert journal is not None
        journal.set_data("model", "VBMS-32")
        refused = run(bench, bench.db, journal_dir)
        assert refused.outcome is State.FAILED
        assert "VBMS-32" in refused.reason


def test_gui_and_cli_restore_refuse_a_backup_of_another_battery(tmp_path: Path) -> None:
    """The GUI engine used to write any backup id it was given; both front-ends use config_service now."""
    from bmsflasher.core.errors import ConfigValidationError
    from bmsflasher.procedure import config_service

    with smp_bench(tmp_path) as bench:
        target = bench.connect()
        current = target.read_config()
        foreign = bench.db.store_backup("OTHER-BATTERY", dataclasses.replace(current))
        with pytest.raises(ConfigValidationError, match="belongs to device OTHER-BATTERY"):
            config_service.plan_restore(target, bench.db, foreign.id)
        assert target.read_config() == current

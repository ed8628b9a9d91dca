"""Configuration flows recorded as service sessions, whichever front-end calls them (issue 13).

The GUI used to back up and restore without a session, so its backups never reached History. These
tests drive :mod:`bmsflasher.procedure.config_service` against the virtual BMS over a real pty (SMP)
and an emulated slcan adapter (UDS), and read the sessions back from the SQLite history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from proc_support import Bench, smp_bench, uds_bench

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.procedure import config_service as svc
from bmsflasher.records import RecordsDb

BENCHES: dict[str, Callable[[Path], AbstractContextManager[Bench]]] = {"smp": smp_bench, "uds": uds_bench}


@pytest.fixture(params=sorted(BENCHES))
def bench(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bench]:
    with BENCHES[request.param](tmp_path) as opened:
        yield opened


def test_backup_is_a_recorded_session_with_its_backup(bench: Bench) -> None:
    target = bench.connect()
    outcome = svc.backup_recorded(target, bench.db, operator="ana", front_end="gui")
    session = bench.db.session_detail(outcome.session_id)
    assert session.session.kind == "backup"
    assert session.session.outcome == "backed_up"
    assert session.session.operator == "ana"
    assert session.session.details["front_end"] == "gui"
    assert [b.id for b in session.backups] == [outcome.record.id]
    assert outcome.record.snapshot == target.read_config()
    assert [s.step for s in session.steps] == ["backup"]


def test_restore_writes_back_and_records_the_session(bench: Bench) -> None:
    target = bench.connect()
    backup = svc.backup_recorded(target, bench.db).record
    original = backup.snapshot.parameters["cell_overvoltage_mv"]
    edited = svc.write_parameters_recorded(target, bench.db, {"cell_overvoltage_mv": int(original) - 50})
    assert edited.written == ("cell_overvoltage_mv",)
    assert edited.session_id is not None
    assert bench.db.session_detail(edited.session_id).session.kind == "config_write"
    plan = svc.plan_restore(target, bench.db, None)
    assert plan.record.id == backup.id
    assert [c.name for c in plan.diff.changes] == ["cell_overvoltage_mv"]
    restored = svc.restore_recorded(target, bench.db, plan, operator="ana")
    assert restored.result.written == ("cell_overvoltage_mv",)
    assert target.read_config().parameters["cell_overvoltage_mv"] == original
    session = bench.db.session_detail(restored.session_id).session
    assert (session.kind, session.outcome) == ("restore", "restored")
    assert session.details["backup_sha256"] == backup.sha256


def test_unchanged_values_write_nothing_and_record_nothing(bench: Bench) -> None:
    target = bench.connect()
    current = target.read_config().parameters["cell_overvoltage_mv"]
    before = len(bench.db.sessions())
    outcome = svc.write_parameters_recorded(target, bench.db, {"cell_overvoltage_mv": current})
    assert outcome.written == ()
    assert outcome.session_id is None
    assert len(bench.db.sessions()) == before


def test_a_backup_of_another_device_is_refused_before_anything_is_written(bench: Bench) -> None:
    target = bench.connect()
    foreign = target.read_config()
    tampered = dict(foreign.parameters)
    tampered["cell_overvoltage_mv"] = 4000
    from bmsflasher.core.types import ConfigSnapshot

    other = bench.db.store_backup("ANOTHER-BATTERY", ConfigSnapshot(foreign.schema_version, tampered))
    with pytest.raises(ConfigValidationError, match="belongs to device ANOTHER-BATTERY"):
        svc.plan_restore(target, bench.db, other.id)
    assert target.read_config() == foreign
    assert not [s for s in bench.db.sessions() if s.kind == "restore"]


def test_a_plan_for_one_battery_is_not_written_to_another(bench: Bench, tmp_path: Path) -> None:
    target = bench.connect()
    svc.backup_recorded(target, bench.db)
    plan = svc.plan_restore(target, bench.db, None)
    import dataclasses

    swapped = dataclasses.replace(plan, record=dataclasses.replace(plan.record, serial="SOMEONE-ELSE"))
    with pytest.raises(ConfigValidationError, match="not " + plan.identity.serial_number):
        svc.restore_recorded(target, bench.db, swapped)


def test_a_failed_write_closes_its_session_as_failed(bench: Bench) -> None:
    target = bench.connect()
    with pytest.raises(Exception) as caught:
        svc.write_parameters_recorded(target, bench.db, {"cell_overvoltage_mv": 99_999})
    assert "cell_overvoltage_mv" in str(caught.value)
    sessions = [s for s in bench.db.sessions() if s.kind == "config_write"]
    assert len(sessions) == 1
    assert sessions[0].outcome == "failed"


def test_history_is_shared_by_cli_and_service_layer(tmp_path: Path, bench: Bench) -> None:
    """A second handle on the same database file sees the session (the GUI's History page does this)."""
    target = bench.connect()
    outcome = svc.backup_recorded(target, bench.db, front_end="gui")
    with RecordsDb.open(bench.workdir / "history.sqlite3") as again:
        assert outcome.session_id in [s.id for s in again.sessions()]

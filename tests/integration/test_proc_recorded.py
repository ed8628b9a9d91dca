"""Recovery and manual rollback with their service records: the one implementation CLI and GUI share.

``recover_recorded`` and ``manual_rollback_recorded`` are called by ``bmsflasher recover`` /
``bmsflasher rollback`` and by the GUI's engine; these tests pin what every front end gets: the
session kind, outcome and details, the failure recorded before the error propagates, the events,
and the stale update journal removed after a rollback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from proc_support import DEMO_PUB, HEALTHY, package, smp_bench

from bmsflasher.core.errors import ProcedureError, RollbackError
from bmsflasher.core.events import LogLine, Progress, StepFinished, StepStarted
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import DeviceMode, FirmwareVersion
from bmsflasher.firmware.demo_assets import DEMO_EXPIRES, DemoRelease, build_demo_image
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.package import PackageSpec, build_package
from bmsflasher.procedure import (
    Journal,
    UpdatePackage,
    build_keyring,
    load_package,
    manual_rollback_recorded,
    recover_recorded,
)
from bmsflasher.procedure.journal import JournalState
from bmsflasher.procedure.recovery_checks import DeclaredIdentity


def _healthy(tmp_path: Path) -> UpdatePackage:
    return load_package(package(HEALTHY), build_keyring([DEMO_PUB], folder=tmp_path / "no-user-keys"))


def _same_counter_fix(tmp_path: Path) -> Path:
    """1.0.1 with the factory's security counter, so going back to 1.0.0 stays allowed."""
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    image = build_demo_image(key, DemoRelease("1.0.1", 1, "healthy", "test release"))
    spec = PackageSpec(
        model="VBMS-16",
        hardware_revisions=("C",),
        version=FirmwareVersion.parse("1.0.1"),
        security_counter=1,
        expires=DEMO_EXPIRES,
    )
    path = tmp_path / "VBMS-16-1.0.1.bmspkg"
    path.write_bytes(build_package(spec, image, key))
    return path


def test_recover_recorded_flashes_and_writes_one_recovery_session(tmp_path: Path, data_home: Path) -> None:
    update = _healthy(tmp_path)
    with smp_bench(tmp_path, recovery=True) as bench:
        target = bench.connect()
        report = recover_recorded(
            target,
            update,
            bench.db,
            bench.sink,
            operator="pytest",
            details={"front_end": "test"},
            declared=DeclaredIdentity("VBMS-16", "C"),  # serial recovery cannot tell them
        )
        (session,) = bench.db.sessions()
        detail = bench.db.session_detail(session.id)
    assert report.before.mode is DeviceMode.RECOVERY
    assert report.after.mode is DeviceMode.APPLICATION
    assert report.after.firmware_version == FirmwareVersion.parse("1.1.0")
    assert (session.kind, session.outcome, session.to_version) == ("recovery", "recovered", "1.1.0")
    assert session.operator == "pytest"
    assert session.package_sha256 == update.facts.package_sha256
    assert detail.session.details["front_end"] == "test"
    assert detail.session.details["declared_model"] == "VBMS-16"  # the technician's declaration is recorded
    assert bench.link.port in detail.session.details["link"]
    assert [(s.step, s.ok) for s in detail.steps] == [("recovery", True)]
    assert [(e.step, e.ok) for e in bench.events if isinstance(e, StepFinished)] == [
        ("transfer", True),
        ("reboot", True),
    ]
    progress = [e for e in bench.events if isinstance(e, Progress)]
    assert progress
    assert progress[-1].done == progress[-1].total


def test_recover_recorded_refuses_a_running_application_and_records_why(
    tmp_path: Path, data_home: Path
) -> None:
    update = _healthy(tmp_path)
    with smp_bench(tmp_path) as bench:
        target = bench.connect()
        with pytest.raises(ProcedureError, match="needs an update, not a recovery") as refused:
            recover_recorded(target, update, bench.db, bench.sink)
        (session,) = bench.db.sessions()
        detail = bench.db.session_detail(session.id)
        running = bench.device.identity().firmware_version
    assert (session.kind, session.outcome) == ("recovery", "failed")
    assert detail.steps[-1].ok is False
    assert "needs an update, not a recovery" in detail.steps[-1].detail
    assert "update wizard" in (refused.value.hint or "")
    assert running == FirmwareVersion.parse("1.0.0")  # nothing was written
    assert not any(isinstance(e, Progress) for e in bench.events)


def test_manual_rollback_recorded_reverts_records_and_drops_the_stale_journal(
    tmp_path: Path, data_home: Path
) -> None:
    journals = tmp_path / "journal"
    with smp_bench(tmp_path) as bench:
        result = bench.flash(_same_counter_fix(tmp_path))
        assert result.to_version == FirmwareVersion.parse("1.0.1"), result.reason
        serial = bench.device.identity().serial_number
        stale = Journal.create(
            JournalState(serial=serial, package_sha256="00" * 32, state="transfer"), journals
        )
        assert stale.path.is_file()
        bench.events.clear()
        target = bench.connect()
        report = manual_rollback_recorded(
            target, bench.db, bench.sink, operator="pytest", journal_folder=journals
        )
        running = bench.device.identity()
        session = bench.db.sessions()[0]
    assert (report.from_version, report.to_version) == (
        FirmwareVersion.parse("1.0.1"),
        FirmwareVersion.parse("1.0.0"),
    )
    assert running.firmware_version == FirmwareVersion.parse("1.0.0")
    assert (session.kind, session.outcome, session.operator) == ("rollback", "rolled_back", "pytest")
    assert (session.from_version, session.to_version) == ("1.0.1", "1.0.0")
    assert not stale.path.exists()
    assert isinstance(bench.events[0], StepStarted)
    assert bench.events[0].step == "rollback"
    assert [e.message for e in bench.events if isinstance(e, LogLine)] == list(report.actions)
    last = bench.events[-1]
    assert isinstance(last, StepFinished)
    assert last.ok
    assert "1.0.0" in last.detail


def test_manual_rollback_recorded_records_a_refusal_before_raising(tmp_path: Path, data_home: Path) -> None:
    with smp_bench(tmp_path) as bench:
        target = bench.connect()
        with pytest.raises(RollbackError, match="no previous firmware"):
            manual_rollback_recorded(target, bench.db, bench.sink, journal_folder=tmp_path / "journal")
        (session,) = bench.db.sessions()
    assert (session.kind, session.outcome, session.from_version) == ("rollback", "failed", "1.0.0")
    last = bench.events[-1]
    assert isinstance(last, StepFinished)
    assert not last.ok
    assert "no previous firmware" in last.detail

"""Journal durability and format, the transition table, profiles, troubleshooting, diff, boot outcomes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bmsflasher.core.errors import (
    JournalError,
    LinkTimeoutError,
    PreconditionError,
    SignatureError,
)
from bmsflasher.core.types import (
    ConfigSnapshot,
    DeviceIdentity,
    DeviceMode,
    FirmwareVersion,
    SlotState,
)
from bmsflasher.procedure import profiles
from bmsflasher.procedure.backup import ChangeKind, diff_snapshots
from bmsflasher.procedure.journal import Journal, JournalState, journal_path
from bmsflasher.procedure.package_facts import PackageFacts
from bmsflasher.procedure.reboot import BootOutcome, classify, package_pending, running_confirmed
from bmsflasher.procedure.states import (
    ON_ERROR,
    SUCCESS,
    TERMINAL,
    TRANSITIONS,
    WRITES_DEVICE,
    State,
    check_transition,
)
from bmsflasher.procedure.troubleshooting import FailureKind, advice, all_advice, kind_for_error

V = FirmwareVersion.parse


# --- journal -------------------------------------------------------------------------------------------
def new_journal(folder: Path, serial: str = "SN-1") -> Journal:
    return Journal.create(JournalState(serial=serial, package_sha256="aa" * 32, state="identify"), folder)


def test_journal_round_trips_every_field(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    journal.step_started("transfer", "transfer")
    journal.set_backup(7, "ff" * 32)
    journal.set_session(3)
    journal.set_data("dtcs_before", [{"code": 1}])
    journal.step_finished("transfer", False, "cable pulled", "failed")
    loaded = Journal.load("SN-1", tmp_path)
    assert loaded is not None
    state = loaded.state
    assert (state.backup_id, state.session_id, state.state) == (7, 3, "failed")
    assert state.data["dtcs_before"] == [{"code": 1}]
    assert state.last_started() == "transfer"
    assert not state.finished("transfer")
    assert [e.ok for e in state.history] == [None, False]


def test_journal_is_per_serial_and_serial_is_made_path_safe(tmp_path: Path) -> None:
    new_journal(tmp_path, "../../etc/passwd")
    path = journal_path("../../etc/passwd", tmp_path)
    assert path.parent == tmp_path
    assert path.exists()
    assert Journal.load("other", tmp_path) is None


def test_journal_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    journal = new_journal(tmp_path)
    for i in range(20):
        journal.set_data("n", i)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SN-1.json"]
    journal.remove()
    assert list(tmp_path.iterdir()) == []
    journal.remove()  # twice is fine


def test_damaged_journal_is_a_clear_error(tmp_path: Path) -> None:
    journal_path("SN-1", tmp_path).write_text("{not json", encoding="utf-8")
    with pytest.raises(JournalError, match="not valid JSON"):
        Journal.load("SN-1", tmp_path)
    journal_path("SN-1", tmp_path).write_text(json.dumps({"format": 99}), encoding="utf-8")
    with pytest.raises(JournalError, match="format"):
        Journal.load("SN-1", tmp_path)
    journal_path("SN-1", tmp_path).write_text(json.dumps({"format": 1, "serial": "SN-1"}), encoding="utf-8")
    with pytest.raises(JournalError, match="damaged"):
        Journal.load("SN-1", tmp_path)


def test_journal_of_another_serial_is_refused(tmp_path: Path) -> None:
    new_journal(tmp_path, "SN-2")
    journal_path("SN-2", tmp_path).rename(journal_path("SN-1", tmp_path))
    with pytest.raises(JournalError, match="belongs to device SN-2"):
        Journal.load("SN-1", tmp_path)


def test_journal_survives_sigkill_between_writes(tmp_path: Path) -> None:
    """A process killed in the middle of rewriting the journal leaves a whole, parseable file."""
    script = (
        "import sys, os, signal\n"
        "from pathlib import Path\n"
        "from bmsflasher.procedure.journal import Journal, JournalState\n"
        "s = JournalState(serial='SN', package_sha256='a'*64, state='identify')\n"
        "j = Journal.create(s, Path(sys.argv[1]))\n"
        "for i in range(400):\n"
        "    j.set_data('i', i)\n"
        "    if i == 150: os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False, timeout=60)
    assert proc.returncode == -9
    loaded = Journal.load("SN", tmp_path)
    assert loaded is not None
    assert loaded.state.data["i"] == 150


_KILLED_INSIDE_WRITE_PRELUDE = """
import os, resource, signal, sys
from pathlib import Path
from bmsflasher.procedure.journal import Journal, JournalState
old = JournalState(serial='SN', package_sha256='a' * 64, state='transfer', data={'generation': 'old'})
journal = Journal.create(old, Path(sys.argv[1]))
"""

_NEW_STATE = "journal.set_data('generation', 'new' + 'x' * 2_000_000)\nprint('survived', flush=True)\n"


def _run_killed_writer(folder: Path, arm: str) -> subprocess.CompletedProcess[str]:
    script = _KILLED_INSIDE_WRITE_PRELUDE + arm + _NEW_STATE
    return subprocess.run(
        [sys.executable, "-c", script, str(folder)], capture_output=True, text=True, check=False, timeout=60
    )


def _assert_old_state_whole(folder: Path) -> None:
    loaded = Journal.load("SN", folder)  # a torn file raises JournalError ("not valid JSON")
    assert loaded is not None
    assert loaded.state.data == {"generation": "old"}
    assert loaded.state.state == "transfer"


def test_journal_killed_inside_the_write_keeps_the_old_state_whole(tmp_path: Path) -> None:
    """The kernel kills the writer halfway through the bytes of a large new state (no hook involved).

    RLIMIT_FSIZE lets the old journal fit but not the new 2 MB one; with SIGXFSZ at its default
    action the write that crosses the limit kills the process, leaving whatever reached the disk.
    An atomic write leaves that in a temporary file; a plain ``write_bytes`` tears the journal.
    """
    arm = (
        "limit = journal.path.stat().st_size + 64 * 1024\n"
        "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_DFL)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))\n"
    )
    proc = _run_killed_writer(tmp_path, arm)
    assert proc.returncode == -signal.SIGXFSZ, proc.stdout + proc.stderr
    assert "survived" not in proc.stdout
    _assert_old_state_whole(tmp_path)
    leftovers = [p for p in tmp_path.iterdir() if p.name != "SN.json"]
    assert leftovers  # the new state was being written to a temporary file when the kill came
    assert all(p.stat().st_size > 64 * 1024 for p in leftovers)
    journal = Journal.load("SN", tmp_path)
    assert journal is not None
    journal.set_data("generation", "after")  # the next run writes over the debris
    loaded = Journal.load("SN", tmp_path)
    assert loaded is not None
    assert loaded.state.data["generation"] == "after"


def test_journal_killed_between_temp_file_and_rename_keeps_the_old_state(tmp_path: Path) -> None:
    """SIGKILL the moment the new content is about to take the journal's name: the old state stays."""
    arm = (
        "def kill_instead(*args, **kwargs):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "os.replace = kill_instead\n"
        "os.rename = kill_instead\n"
    )
    proc = _run_killed_writer(tmp_path, arm)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    assert "survived" not in proc.stdout
    _assert_old_state_whole(tmp_path)


def test_journal_default_folder_is_the_user_state_dir(data_home: Path) -> None:
    path = journal_path("SN-9")
    assert str(path).startswith(os.environ["XDG_STATE_HOME"])


# --- the transition table --------------------------------------------------------------------------------
def test_every_non_terminal_state_has_handler_transitions_and_error_exit() -> None:
    for state in State:
        if state.terminal:
            assert state not in TRANSITIONS
        else:
            assert TRANSITIONS[state], state
            assert ON_ERROR[state] in TRANSITIONS[state]
            assert SUCCESS[state] <= TRANSITIONS[state]


def test_every_state_reaches_an_end() -> None:
    for start in TRANSITIONS:
        seen, frontier = set(), {start}
        while frontier:
            seen |= frontier
            frontier = {n for s in frontier for n in TRANSITIONS.get(s, frozenset())} - seen
        assert seen & TERMINAL, start


def test_after_the_transfer_started_no_path_ends_refused_or_cancelled() -> None:
    """Once the device was written, the procedure ends updated, rolled back or failed (journal kept)."""
    seen, frontier = set(), {State.TRANSFER}
    while frontier:
        seen |= frontier
        frontier = {n for s in frontier for n in TRANSITIONS.get(s, frozenset())} - seen
    assert seen & TERMINAL == {State.UPDATED, State.ROLLED_BACK, State.FAILED}
    assert State.TRANSFER in WRITES_DEVICE


def test_a_failed_self_test_can_only_lead_to_rollback() -> None:
    assert TRANSITIONS[State.SELF_TEST] == {State.CONFIRM, State.ROLLBACK}
    assert ON_ERROR[State.SELF_TEST] is State.ROLLBACK
    with pytest.raises(ValueError, match="cannot go from self_test to updated"):
        check_transition(State.SELF_TEST, State.UPDATED)


def test_preconditions_come_before_any_device_write() -> None:
    assert State.PRECONDITIONS not in WRITES_DEVICE
    assert State.REFUSED in TRANSITIONS[State.PRECONDITIONS]
    for state in (State.VERIFY_PACKAGE, State.BACKUP, State.TRANSFER):
        assert State.REFUSED not in TRANSITIONS[state]
    assert State.IDENTIFY not in WRITES_DEVICE  # a device in recovery is refused there, unwritten


# --- profiles --------------------------------------------------------------------------------------------
def test_shipped_default_profile_has_the_seeds_figures() -> None:
    profile = profiles.profile_for_model("anything")
    limits = profile.preconditions
    assert (limits.soc_pct.min, limits.soc_pct.max) == (20.0, 80.0)
    assert (limits.temperature_c.min, limits.temperature_c.max) == (0.0, 45.0)
    assert profile.self_test.calibration_tolerance_pct == 0.5
    assert profile.reboot.max_boot_attempts == 3
    assert limits.stability.samples >= 2


def test_user_profile_takes_precedence_for_its_model(tmp_path: Path) -> None:
    shipped = json.loads((profiles.resource_path("profiles", "default.json")).read_text(encoding="utf-8"))
    shipped["name"] = "cold-lfp"
    shipped["models"] = ["LFP-COLD"]
    shipped["preconditions"]["temperature_c"] = {"min": -10, "max": 45}
    (tmp_path / "cold.json").write_text(json.dumps(shipped), encoding="utf-8")
    dirs = [tmp_path, profiles.resource_path("profiles")]
    assert profiles.profile_for_model("LFP-COLD", dirs).preconditions.temperature_c.min == -10
    assert profiles.profile_for_model("OTHER", dirs).name == "default"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format=2), "format"),
        (lambda d: d["preconditions"].update(soc_pct={"min": 90, "max": 10}), "min 90 above max 10"),
        (lambda d: d["preconditions"]["stability"].update(samples=1), "at least 2"),
        (lambda d: d["self_test"].update(round_trips="many"), "whole number"),
        (lambda d: d.pop("reboot"), "reboot"),
    ],
)
def test_bad_profiles_name_the_mistake(mutate: object, message: str) -> None:
    data = json.loads(profiles.resource_path("profiles", "default.json").read_text(encoding="utf-8"))
    mutate(data)  # type: ignore[operator]
    with pytest.raises(profiles.ProfileError, match=message):
        profiles.parse_profile(data, "test.json")


# --- troubleshooting ---------------------------------------------------------------------------------------
def test_troubleshooting_table_holds_the_seed_rows() -> None:
    assert advice(FailureKind.AUTHENTICATION_REJECTION).diagnostic.startswith(
        "Verify the digital certificate chain"
    )
    assert "trusted source" in advice(FailureKind.AUTHENTICATION_REJECTION).resolution
    assert "hardware compatibility" in advice(FailureKind.BOOT_LOOP).diagnostic
    assert "Roll back to the last stable version" in advice(FailureKind.BOOT_LOOP).resolution
    assert "baud rate alignment" in advice(FailureKind.TRANSFER_TIMEOUT).diagnostic
    assert "cables" in advice(FailureKind.TRANSFER_TIMEOUT).resolution
    assert len(all_advice()) == len(FailureKind)


def test_errors_map_to_rows() -> None:
    assert kind_for_error(SignatureError("x")) is FailureKind.AUTHENTICATION_REJECTION
    assert kind_for_error(LinkTimeoutError("x")) is FailureKind.TRANSFER_TIMEOUT
    assert kind_for_error(PreconditionError("x")) is FailureKind.PRECONDITION_REFUSED
    assert kind_for_error(ValueError("x")) is None


# --- config diff ------------------------------------------------------------------------------------------
def test_diff_names_changed_added_and_removed_parameters() -> None:
    old = ConfigSnapshot(3, {"ov_mv": 3650, "uv_mv": 2500, "gone": True})
    new = ConfigSnapshot(4, {"ov_mv": 3600, "uv_mv": 2500, "added": "x"})
    diff = diff_snapshots(old, new, "backup 1", "device")
    kinds = {c.name: c.kind for c in diff.changes}
    assert kinds == {
        "ov_mv": ChangeKind.CHANGED,
        "gone": ChangeKind.ONLY_IN_OLD,
        "added": ChangeKind.ONLY_IN_NEW,
    }
    text = "\n".join(diff.lines())
    assert "~ ov_mv: 3650 → 3600" in text
    assert "schema version: 3 → 4" in text
    assert not diff.empty
    same = diff_snapshots(old, old)
    assert same.empty
    assert same.lines()[-1] == "no differences"


# --- boot classification ------------------------------------------------------------------------------------
FACTS = PackageFacts("M", ("A",), V("1.1.0"), 2, None, "aa" * 32, "bb" * 32, 10, image_hash=b"\x11" * 32)
OLD_SLOT = SlotState(0, V("1.0.0"), b"\x22" * 32, bootable=True, confirmed=True, active=True)
NEW_SLOT = SlotState(1, V("1.1.0"), b"\x11" * 32, bootable=True, pending=True)


def ident(
    version: str | None, slots: tuple[SlotState, ...] = (), mode: DeviceMode = DeviceMode.APPLICATION
) -> DeviceIdentity:
    return DeviceIdentity("M", "S", "A", V(version) if version else None, V("1.0.0"), mode, slots)


def test_classify_boot_outcomes() -> None:
    running_new = ident("1.1.0", (SlotState(0, V("1.1.0"), b"\x11" * 32, bootable=True, active=True),))
    assert classify(running_new, FACTS, V("1.0.0")) is BootOutcome.NEW_IMAGE
    assert not running_confirmed(running_new)
    assert classify(ident("1.0.0", (OLD_SLOT,)), FACTS, V("1.0.0")) is BootOutcome.REVERTED
    assert classify(ident(None, (), DeviceMode.RECOVERY), FACTS, V("1.0.0")) is BootOutcome.RECOVERY
    assert classify(ident("0.9.0"), FACTS, V("1.0.0")) is BootOutcome.OTHER_IMAGE


def test_same_version_different_hash_is_not_the_package() -> None:
    impostor = ident("1.1.0", (SlotState(0, V("1.1.0"), b"\x99" * 32, bootable=True, active=True),))
    assert classify(impostor, FACTS, V("1.0.0")) is not BootOutcome.NEW_IMAGE


def test_package_pending_in_secondary_slot() -> None:
    assert package_pending(ident("1.0.0", (OLD_SLOT, NEW_SLOT)), FACTS)
    assert not package_pending(ident("1.0.0", (OLD_SLOT,)), FACTS)

"""Power cut and torn write at every flash operation of a whole update, through the tool and protocol.

Not the flash model alone (tests/reliability/test_sim_power_cut.py proves that): here the real
update procedure drives the virtual BMS over a real pty (SMP) or an emulated slcan adapter
(UDS). A clean run first counts the N flash operations the device performs for the whole update
(upload, mark, swap at reboot, confirm, configuration check). Then, for every k in 1..N, a fresh
device loses power just before operation k (or in the middle of it: a torn write); 0.4 s later
power returns, the device restarts from its state file and its port enumerates again, and the
tool — still running — resumes by itself or is rerun, as a technician would.

Claims, checked on the device's own flash: it boots a valid image after every power return
(0 unbootable), the configuration saved in flash is the technician's (0 lost), no slot the
bootloader accepts holds bytes other than the two released images (0 corrupted images accepted),
and the update completes (new image running, confirmed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from rel_figures import record
from rel_support import Release, Verdict, make_rig, small_release, verdict

from bmsflasher.procedure import State

PROTOCOLS = ("smp", "uds")


@dataclass(frozen=True)
class CaseOutcome:
    op: int
    torn: bool
    powered_off: bool
    boot_ok: bool
    outcomes: tuple[State, ...]
    verdict: Verdict

    @property
    def resumed_in_run(self) -> bool:
        return self.powered_off and self.outcomes[0] is State.UPDATED

    @property
    def problems(self) -> list[str]:
        found: list[str] = []
        if not self.boot_ok:
            found.append("unbootable after power returned")
        if not self.verdict.config_intact:
            found.append("configuration lost")
        if self.verdict.corrupt_accepted:
            found.append("corrupted image accepted")
        if not self.verdict.completed:
            found.append(
                f"update not completed (running {self.verdict.running}, confirmed {self.verdict.confirmed}, "
                f"mode {self.verdict.mode.value}, runs {[o.value for o in self.outcomes]})"
            )
        return found


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    return small_release(tmp_path_factory.mktemp("release"))


def clean_op_count(workdir: Path, protocol: str, release: Release) -> int:
    """Flash operations of one uninterrupted update through the tool (the sweep's N)."""
    with make_rig(workdir, protocol, release) as rig:
        rig.customise()
        before = rig.ops()
        result = rig.flash(release.package)
        assert result.outcome is State.UPDATED, result.reason
        return rig.ops() - before


def run_case(workdir: Path, protocol: str, release: Release, op: int, *, torn: bool) -> CaseOutcome:
    with make_rig(workdir, protocol, release) as rig:
        config = rig.customise()
        rig.arm_power_cut(op, torn=torn)
        first = rig.flash(release.package)
        rig.disarm()
        outcomes = [first.outcome]
        if first.outcome is not State.UPDATED:
            outcomes += [r.outcome for r in rig.flash_until_settled(release.package)]
        seen = verdict(rig.dev, release, config)
        return CaseOutcome(op, torn, rig.restarts > 0, all(rig.boot_checks), tuple(outcomes), seen)


def sweep(tmp_path: Path, protocol: str, release: Release, ops: list[int], torn: bool) -> list[CaseOutcome]:
    return [run_case(tmp_path / f"{protocol}-{op}-{torn}", protocol, release, op, torn=torn) for op in ops]


def report(figure: str, outcomes: list[CaseOutcome], total_ops: int, started: float) -> list[str]:
    failures = [
        f"op {c.op}{' torn' if c.torn else ''}: {', '.join(c.problems)}" for c in outcomes if c.problems
    ]
    cut = sum(c.powered_off for c in outcomes)
    record(
        figure,
        cases=len(outcomes),
        failures=len(failures),
        claim="device boots a valid image after power returns, configuration kept, "
        "no corrupted image accepted, the rerun/resumed update completes",
        detail=f"{total_ops} flash operations per update; power actually lost in {cut} cases; "
        f"unbootable {sum(not c.boot_ok for c in outcomes)}, "
        f"lost configurations {sum(not c.verdict.config_intact for c in outcomes)}, "
        f"corrupted images accepted {sum(c.verdict.corrupt_accepted for c in outcomes)}, "
        f"resumed within the same run {sum(c.resumed_in_run for c in outcomes)}",
        elapsed_s=time.monotonic() - started,
        extra={"unbootable": sum(not c.boot_ok for c in outcomes)},
    )
    return failures


# --- fast subset (CI) ----------------------------------------------------------------------------------
FAST = [("smp", 0.2, False), ("smp", 0.75, True), ("uds", 0.5, False)]


@pytest.mark.parametrize(("protocol", "where", "torn"), FAST, ids=[f"{p}-{w}-{t}" for p, w, t in FAST])
def test_power_cut_fast_subset(
    tmp_path: Path, release: Release, protocol: str, where: float, torn: bool
) -> None:
    total = clean_op_count(tmp_path / "clean", protocol, release)
    op = max(1, round(total * where))
    case = run_case(tmp_path / "cut", protocol, release, op, torn=torn)
    assert case.powered_off, f"op {op} of {total} never ran"
    assert not case.problems, case.problems


# --- every operation (make reliability) -----------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("torn", [False, True], ids=["cut-before-op", "torn-op"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_power_cut_at_every_flash_operation(
    tmp_path: Path, release: Release, protocol: str, torn: bool
) -> None:
    started = time.monotonic()
    total = clean_op_count(tmp_path / "clean", protocol, release)
    outcomes = sweep(tmp_path, protocol, release, list(range(1, total + 1)), torn)
    kind = "torn write during" if torn else "power cut before"
    failures = report(f"{protocol.upper()}: {kind} every flash operation", outcomes, total, started)
    assert all(c.powered_off for c in outcomes), "some operations of the clean count never ran"
    assert not failures, failures

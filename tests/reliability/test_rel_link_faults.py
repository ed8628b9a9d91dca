"""Link faults through the whole tool: bit errors on serial, dropped CAN frames, cable pulls.

Each case runs the real update procedure against a virtual BMS whose link misbehaves, reruns it
when it fails (as a technician would, at most three runs), then reads the device's own flash.
Claims: every update either completes (new image running, confirmed) or leaves the device on its
old image, confirmed (rolled back or never switched); no slot the bootloader would accept holds
bytes other than the two released images (0 corrupted images accepted); the configuration saved
in flash is kept; every run returns (bounded by the tool's own timeouts).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from rel_figures import record
from rel_support import Release, Verdict, make_rig, small_release, verdict

from bmsflasher.core.events import Event, LogLevel, LogLine, Progress
from bmsflasher.procedure import State

BIT_ERROR_RATES = (1e-5, 1e-4, 1e-3)
CAN_DROP_RATE = 0.01
CABLE_PULLS = 100
REPLUG_AFTER_S = 0.5


@dataclass(frozen=True)
class Case:
    label: str
    outcomes: tuple[State, ...]
    verdict: Verdict
    elapsed_s: float
    pulls: int = 0
    pulled_mid_run: bool = False
    tool_noticed: bool = False

    @property
    def problems(self) -> list[str]:
        found: list[str] = []
        if not (self.verdict.completed or self.verdict.unchanged):
            found.append(
                f"neither completed nor rolled back (running {self.verdict.running}, "
                f"confirmed {self.verdict.confirmed}, mode {self.verdict.mode.value})"
            )
        if self.verdict.corrupt_accepted:
            found.append("corrupted image accepted")
        if not self.verdict.config_intact:
            found.append("configuration lost")
        return found


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    return small_release(tmp_path_factory.mktemp("release"))


def faulty_update(workdir: Path, protocol: str, release: Release, label: str, **front: object) -> Case:
    started = time.monotonic()
    with make_rig(workdir, protocol, release, **front) as rig:
        config = rig.customise()
        results = rig.flash_until_settled(release.package)
        seen = verdict(rig.dev, release, config)
    return Case(label, tuple(r.outcome for r in results), seen, time.monotonic() - started)


def pulled_update(
    workdir: Path,
    protocol: str,
    release: Release,
    delay_s: float | None = None,
    *,
    mid_transfer: bool = False,
) -> Case:
    """One update with one cable pull: ``delay_s`` after the run starts, or during the transfer.

    The case records whether the pull reached the device's link while the first run was going,
    and whether the tool noticed (a warning or error logged, or the run failed): a pull that
    landed after the update ended, or was lost, proves nothing about surviving one.
    """
    started = time.monotonic()
    with make_rig(workdir, protocol, release) as rig:
        config = rig.customise()
        sink = None
        if mid_transfer:

            def sink(event: Event) -> None:
                rig.events.append(event)
                if isinstance(event, Progress) and not rig.pulls and 0 < event.done < event.total:
                    rig.pull_cable(REPLUG_AFTER_S)  # synchronously, from inside the transfer

        else:
            assert delay_s is not None
            rig.pull_cable_later(delay_s, REPLUG_AFTER_S)
        run_started = time.monotonic()
        first = rig.flash(release.package, sink)
        run_ended = time.monotonic()
        rig.join_timers()
        pulled_mid_run = any(run_started <= at <= run_ended for at in rig.pulls)
        noticed = first.error is not None or any(
            isinstance(e, LogLine) and e.level in (LogLevel.WARNING, LogLevel.ERROR) for e in rig.events
        )
        if rig.pulls:
            rig.wait_for_port()  # the cable is back in before the technician retries
        outcomes = [first.outcome]
        if first.outcome not in (State.UPDATED, State.ROLLED_BACK):
            outcomes += [r.outcome for r in rig.flash_until_settled(release.package)]
        seen = verdict(rig.dev, release, config)
    label = "pull during the transfer" if mid_transfer else f"pull at {delay_s:.2f} s"
    return Case(
        label, tuple(outcomes), seen, time.monotonic() - started, len(rig.pulls), pulled_mid_run, noticed
    )


def clean_duration_s(workdir: Path, protocol: str, release: Release) -> float:
    started = time.monotonic()
    with make_rig(workdir, protocol, release) as rig:
        result = rig.flash(release.package)
    assert result.outcome is State.UPDATED, result.reason
    return time.monotonic() - started


def publish(figure: str, claim: str, cases: list[Case], started: float) -> list[str]:
    failures = [f"{c.label}: {', '.join(c.problems)}" for c in cases if c.problems]
    completed = sum(c.verdict.completed for c in cases)
    first_run = sum(c.outcomes[0] is State.UPDATED for c in cases)
    record(
        figure,
        cases=len(cases),
        failures=len(failures),
        claim=claim,
        detail=f"completed {completed}, left on the old image {sum(c.verdict.unchanged for c in cases)}, "
        f"completed in the first run {first_run}, "
        f"corrupted images accepted {sum(c.verdict.corrupt_accepted for c in cases)}, "
        f"configurations lost {sum(not c.verdict.config_intact for c in cases)}, "
        f"longest case {max((c.elapsed_s for c in cases), default=0):.1f} s"
        + (
            f", pulls that landed while a run was going {sum(c.pulled_mid_run for c in cases)}, "
            f"noticed by the tool {sum(c.tool_noticed for c in cases)}"
            if any(c.pulls for c in cases)
            else ""
        ),
        elapsed_s=time.monotonic() - started,
    )
    return failures


CLAIM = "every update completes or leaves the old image running; 0 corrupted images accepted; config kept"


# --- fast subset ---------------------------------------------------------------------------------------
def test_serial_bit_errors_fast(tmp_path: Path, release: Release) -> None:
    case = faulty_update(tmp_path, "smp", release, "BER 1e-3", bit_error_rate=1e-3, seed=7)
    assert not case.problems, (case.outcomes, case.problems)


def test_cable_pull_mid_update_fast(tmp_path: Path, release: Release) -> None:
    case = pulled_update(tmp_path, "smp", release, mid_transfer=True)
    assert case.pulls == 1, "the cable was never pulled"
    assert case.pulled_mid_run, "the pull did not land while the update ran"
    assert case.tool_noticed, "the tool never saw the link break: was the cable really pulled?"
    assert not case.problems, (case.outcomes, case.problems)


# --- sweeps (make reliability) ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("ber", BIT_ERROR_RATES, ids=[f"ber-{b:g}" for b in BIT_ERROR_RATES])
def test_serial_bit_error_rates(tmp_path: Path, release: Release, ber: float) -> None:
    started = time.monotonic()
    cases = [
        faulty_update(tmp_path / f"seed{seed}", "smp", release, f"seed {seed}", bit_error_rate=ber, seed=seed)
        for seed in range(1, 6)
    ]
    failures = publish(f"SMP over serial, bit error rate {ber:g} (5 seeds)", CLAIM, cases, started)
    assert not failures, failures


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_can_one_percent_dropped_frames(tmp_path: Path, release: Release) -> None:
    started = time.monotonic()
    cases = [
        faulty_update(
            tmp_path / f"seed{seed}", "uds", release, f"seed {seed}", drop_rate=CAN_DROP_RATE, seed=seed
        )
        for seed in range(1, 11)
    ]
    failures = publish("UDS over CAN (slcan), 1 % of frames dropped (10 seeds)", CLAIM, cases, started)
    assert not failures, failures


@pytest.mark.slow
@pytest.mark.timeout(7200)
@pytest.mark.parametrize("protocol", ["smp", "uds"])
def test_cable_pulls(tmp_path: Path, release: Release, protocol: str) -> None:
    started = time.monotonic()
    span_s = clean_duration_s(tmp_path / "clean", protocol, release)
    rng = random.Random(f"pulls-{protocol}")
    cases = [
        pulled_update(tmp_path / f"pull{i}", protocol, release, rng.uniform(0.05, span_s))
        for i in range(CABLE_PULLS // 2)
    ]
    name = "SMP over USB serial" if protocol == "smp" else "UDS over an slcan USB-CAN adapter"
    failures = publish(
        f"{name}: {len(cases)} cable pulls at random points of an update, replugged {REPLUG_AFTER_S} s later",
        CLAIM,
        cases,
        started,
    )
    assert not failures, failures

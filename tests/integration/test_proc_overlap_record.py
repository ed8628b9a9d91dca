"""A guarded update that overlaps its waiting still runs, records and reports every check.

The procedure reads the link round trips, trouble codes and the configuration backup in the gaps of
the stability window, and the self-test's round trips while it waits for the balancing flag
(procedure/idle_work.py). This pins what that overlap must never lose: every device read each step
made before, the spacing of the stability samples, and every check in the service record and the
progress log, in one stable order. Real virtual BMS over a pty; the target is the real SMP client,
wrapped only to note which operations ran in which step.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from proc_support import HEALTHY, Bench, fast_profile, smp_bench

from bmsflasher.core.events import LogLine, Measurement, StepStarted
from bmsflasher.core.target import Target
from bmsflasher.procedure import open_target
from bmsflasher.procedure.states import State

PRECONDITION_CHECKS = [
    "model",
    "hardware_revision",
    "device_mode",
    "bootloader_version",
    "anti_rollback",
    "signing_key",
    "state_of_charge",
    "temperature",
    "load_current",
    "cell_voltage_stability",
    "supply_stability",
    "critical_dtcs",
    "link_quality",
]
SELF_TEST_CHECKS = [
    "voltage_calibration",
    "temperature_sensors",
    "communication_speed",
    "balancing",
    "new_dtcs",
]
STEPS = [
    "verify_package",
    "identify",
    "preconditions",
    "backup",
    "transfer",
    "reboot",
    "self_test",
    "confirm",
]
WATCHED = frozenset(
    {"identify", "ping", "trusted_key_hashes", "read_telemetry", "read_dtcs", "read_config", "set_balancing"}
    | {"run_self_test"}
)


class NotingTarget:
    """The real target; every watched call is noted with the step it ran in and when it started."""

    def __init__(self, inner: Target, step: Callable[[], str], calls: list[tuple[str, str, float]]) -> None:
        self._inner = inner
        self._step = step
        self._calls = calls

    def __getattr__(self, name: str) -> object:
        attr = getattr(self._inner, name)
        if name not in WATCHED:
            return attr

        def noted(*args: object, **kwargs: object) -> object:
            self._calls.append((self._step(), name, time.monotonic()))
            return attr(*args, **kwargs)

        return noted


def _current_step(bench: Bench) -> str:
    return next((e.step for e in reversed(bench.events) if isinstance(e, StepStarted)), "")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Bench, list[tuple[str, str, float]]]]:
    """One guarded update of the healthy demo package, shared by the module's tests."""
    calls: list[tuple[str, str, float]] = []
    with smp_bench(tmp_path_factory.mktemp("overlap")) as bench:

        def connect() -> Target:
            target = open_target(bench.link, timeout_s=10.0)
            bench.opened.append(target)
            return NotingTarget(target, lambda: _current_step(bench), calls)  # type: ignore[return-value]

        bench.connect = connect  # type: ignore[method-assign]
        result = bench.flash(HEALTHY)
        assert result.outcome is State.UPDATED, result.reason
        yield bench, calls


def _in_step(calls: list[tuple[str, str, float]], step: str) -> Counter[str]:
    return Counter(name for in_step, name, _at in calls if in_step == step)


Run = tuple[Bench, list[tuple[str, str, float]]]


def test_every_precondition_and_backup_read_still_runs(run: Run) -> None:
    _bench, calls = run
    limits = fast_profile().preconditions
    assert _in_step(calls, "preconditions") == Counter(
        identify=1,
        ping=limits.link.round_trips,
        trusted_key_hashes=1,
        read_telemetry=limits.stability.samples,
        read_dtcs=1,
        read_config=2,  # the backup's two reads, made in the window's gaps
    )
    assert _in_step(calls, "backup")["read_config"] == 0  # ... and not made a second time


def test_stability_samples_keep_their_spacing(run: tuple[Bench, list[tuple[str, str, float]]]) -> None:
    _bench, calls = run
    stability = fast_profile().preconditions.stability
    starts = [at for step, name, at in calls if step == "preconditions" and name == "read_telemetry"]
    assert len(starts) == stability.samples
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert min(gaps) >= stability.interval_s  # work in the gaps never brings a sample forward


def test_every_self_test_read_still_runs(run: tuple[Bench, list[tuple[str, str, float]]]) -> None:
    _bench, calls = run
    limits = fast_profile().self_test
    seen = _in_step(calls, "self_test")
    assert seen["ping"] == limits.round_trips
    assert seen["set_balancing"] == 2
    assert seen["read_telemetry"] >= 3  # the snapshot, then at least one poll for "on" and one for "off"
    assert (seen["read_dtcs"], seen["run_self_test"]) == (1, 1)
    order = [name for step, name, _at in calls if step == "self_test" and name != "ping"]
    assert order[-2:] == ["read_dtcs", "run_self_test"]  # after balancing is off again, as before


def test_record_and_log_list_every_check_in_a_stable_order(
    run: tuple[Bench, list[tuple[str, str, float]]],
) -> None:
    bench, _calls = run
    session = bench.db.sessions()[-1]
    detail = bench.db.session_detail(session.id)
    recorded = [m.name for m in detail.measurements]
    logged = [e.name for e in bench.events if isinstance(e, Measurement)]
    device_own = recorded[len(PRECONDITION_CHECKS) + len(SELF_TEST_CHECKS) :]  # the device's own checks
    assert device_own, "the device's own self-test results are recorded"
    assert all(name.startswith("device_") for name in device_own)
    expected = PRECONDITION_CHECKS + SELF_TEST_CHECKS + device_own
    assert recorded == expected
    assert logged == expected
    finished = [s.step for s in detail.steps if s.ok is not None]
    assert finished[: len(STEPS)] == STEPS
    assert all(s.ok for s in detail.steps if s.ok is not None and s.step in STEPS)


def test_config_check_reads_an_unchanged_device_once_and_still_checks_it(run: Run) -> None:
    bench, calls = run
    # The read is the check: a second read of a device that needed no write proved nothing more.
    assert _in_step(calls, "config_check")["read_config"] == 1
    detail = bench.db.session_detail(bench.db.sessions()[-1].id)
    check = next(s for s in detail.steps if s.step == "config_check" and s.ok is not None)
    assert check.ok
    logged = [e.message for e in bench.events if isinstance(e, LogLine)]
    assert any(message.startswith("The configuration matches backup") for message in logged)

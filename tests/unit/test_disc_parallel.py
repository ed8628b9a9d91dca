"""The bounded parallel executor: parallel, ordered, deadline-bound, never hangs."""

from __future__ import annotations

import threading
import time

import pytest

from bmsflasher.core.errors import PortBusyError
from bmsflasher.discovery.parallel import ProbeContext, run_parallel


def _sleeper(seconds: float, value: int):  # type: ignore[no-untyped-def]
    def job(context: ProbeContext) -> int:
        time.sleep(seconds)
        return value

    return job


def test_jobs_run_in_parallel_and_keep_their_order() -> None:
    # Parallelism is proven by a barrier all six must reach together, not by a wall-clock bound
    # (a loaded 2-core CI machine stretches any time): one after another, the first would wait in
    # vain and the barrier would break.
    together = threading.Barrier(6, timeout=8.0)

    def job(n: int):  # type: ignore[no-untyped-def]
        def run(context: ProbeContext) -> int:
            together.wait()
            time.sleep(0.5)
            return n

        return run

    outcomes = run_parallel([job(n) for n in range(6)], budget_s=10.0)
    assert [outcome.error for outcome in outcomes] == [None] * 6, "the jobs did not all run at once"
    assert [outcome.result for outcome in outcomes] == list(range(6))
    assert all(outcome.elapsed_s > 0.45 for outcome in outcomes)  # each job's own time is measured


def test_max_workers_caps_parallelism() -> None:
    active = 0
    peak = 0
    lock = threading.Lock()

    def job(context: ProbeContext) -> int:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.05)
        with lock:
            active -= 1
        return 0

    run_parallel([job] * 8, budget_s=5.0, max_workers=2)
    assert peak == 2


def test_errors_are_handed_back_not_swallowed() -> None:
    def failing(context: ProbeContext) -> int:
        raise PortBusyError("port held")

    outcomes = run_parallel([failing, _sleeper(0.0, 7)], budget_s=2.0)
    assert isinstance(outcomes[0].error, PortBusyError)
    assert outcomes[0].result is None
    assert not outcomes[0].abandoned
    assert outcomes[1].result == 7


def test_cooperative_jobs_stop_at_the_deadline() -> None:
    def looping(context: ProbeContext) -> int:
        rounds = 0
        while not context.cancelled:
            time.sleep(context.bounded(0.05))
            rounds += 1
        return rounds

    started = time.monotonic()
    outcomes = run_parallel([looping, looping], budget_s=0.4)
    assert time.monotonic() - started < 5.0  # they stop; never running on is what the results show
    assert all(outcome.result is not None and outcome.result > 2 for outcome in outcomes)


def test_a_job_that_ignores_the_deadline_is_abandoned_not_waited_on() -> None:
    release = threading.Event()

    def stuck(context: ProbeContext) -> int:
        release.wait(60.0)
        return 1

    started = time.monotonic()
    outcomes = run_parallel([stuck, _sleeper(0.0, 2)], budget_s=0.2, grace_s=0.2)
    elapsed = time.monotonic() - started
    release.set()  # let the abandoned thread end so the test leaks nothing
    assert elapsed < 10.0  # far below the 60 s the stuck job would have been waited on
    assert outcomes[0].abandoned
    assert outcomes[1].result == 2


def test_caller_cancel_stops_jobs_and_is_not_set_by_the_executor() -> None:
    cancel = threading.Event()
    seen: list[bool] = []

    def job(context: ProbeContext) -> int:
        time.sleep(0.1)
        seen.append(context.cancelled)
        return 0

    run_parallel([job], budget_s=5.0, cancel=cancel)
    assert seen == [False]
    assert not cancel.is_set()
    cancel.set()
    run_parallel([job], budget_s=5.0, cancel=cancel)
    assert seen == [False, True]


def test_on_done_sees_every_outcome() -> None:
    done: list[int] = []
    lock = threading.Lock()

    def collect(outcome) -> None:  # type: ignore[no-untyped-def]
        with lock:
            done.append(outcome.index)

    run_parallel([_sleeper(0.01 * n, n) for n in range(5)], budget_s=2.0, on_done=collect)
    assert sorted(done) == list(range(5))


@pytest.mark.parametrize("timeout_s", [0.0, 0.005])
def test_bounded_never_returns_less_than_ten_ms(timeout_s: float) -> None:
    context = ProbeContext(time.monotonic() - 1.0)
    assert context.cancelled
    assert context.bounded(timeout_s) == pytest.approx(0.01)
    assert context.remaining_s() == 0.0

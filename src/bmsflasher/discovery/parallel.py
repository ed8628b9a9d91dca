"""Run one probe job per adapter in parallel threads, all bounded by one deadline.

Probes are blocking (pyserial, python-can, udsoncan are), so each adapter gets a thread. A job
receives a :class:`ProbeContext` whose ``cancelled`` flag rises at the deadline; jobs check it
between attempts, and every attempt is itself bounded, so a job ends at most one attempt after the
deadline. A job that still has not ended after the grace period is reported as timed out and its
(daemon) thread is abandoned rather than waited on: the scan never hangs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

ResultT = TypeVar("ResultT")


class ProbeContext:
    """What a running job can see: its deadline and whether it should stop."""

    def __init__(self, deadline_s: float, *events: threading.Event) -> None:
        self._deadline_s = deadline_s
        self._events = events

    @property
    def cancelled(self) -> bool:
        """True once the scan's deadline passed or the caller cancelled the scan."""
        return time.monotonic() >= self._deadline_s or any(event.is_set() for event in self._events)

    def remaining_s(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self._deadline_s - time.monotonic())

    def bounded(self, timeout_s: float) -> float:
        """``timeout_s`` shortened so an attempt started now ends by the deadline (at least 10 ms)."""
        return max(0.01, min(timeout_s, self.remaining_s()))


@dataclass(frozen=True, slots=True)
class JobOutcome(Generic[ResultT]):
    """How one job ended: ``result`` when it returned, ``error`` when it raised, neither when abandoned."""

    index: int
    result: ResultT | None = None
    error: BaseException | None = None
    elapsed_s: float = 0.0

    @property
    def abandoned(self) -> bool:
        """True when the job did not finish within the deadline plus the grace period."""
        return self.result is None and self.error is None


Job = Callable[[ProbeContext], ResultT]


def run_parallel(
    jobs: Sequence[Job[ResultT]],
    *,
    budget_s: float,
    grace_s: float = 1.0,
    max_workers: int = 16,
    cancel: threading.Event | None = None,
    on_done: Callable[[JobOutcome[ResultT]], None] | None = None,
    thread_name: str = "disc-probe",
) -> list[JobOutcome[ResultT]]:
    """Run ``jobs`` at most ``max_workers`` at a time; return one outcome per job, in job order.

    Args:
        jobs: callables taking a :class:`ProbeContext`.
        budget_s: time after which every job's context reports ``cancelled``.
        grace_s: how long after the budget to wait for jobs to notice before abandoning them.
        max_workers: parallelism cap (a USB hub with 16 adapters does not need 16 threads at once).
        cancel: optional event the caller sets to stop the scan early.
        on_done: called from the worker thread as each job ends (progress display).
        thread_name: prefix of worker thread names.
    """
    stop = threading.Event()
    deadline = time.monotonic() + max(0.0, budget_s)
    context = ProbeContext(deadline, stop, *([cancel] if cancel is not None else []))
    outcomes: list[JobOutcome[ResultT] | None] = [None] * len(jobs)
    slots = threading.BoundedSemaphore(max(1, max_workers))
    lock = threading.Lock()

    def worker(index: int, job: Job[ResultT]) -> None:
        with slots:
            started = time.monotonic()
            try:
                outcome: JobOutcome[ResultT] = JobOutcome(index, result=job(context))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, never swallowed
                outcome = JobOutcome(index, error=exc)
            outcome = JobOutcome(index, outcome.result, outcome.error, time.monotonic() - started)
        with lock:
            outcomes[index] = outcome
        if on_done is not None:
            on_done(outcome)

    threads = [
        threading.Thread(target=worker, args=(index, job), name=f"{thread_name}-{index}", daemon=True)
        for index, job in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline + grace_s - time.monotonic()))
    stop.set()  # abandoned jobs see it at their next check
    with lock:
        return [
            outcome if outcome is not None else JobOutcome(index) for index, outcome in enumerate(outcomes)
        ]

"""IdleWork: jobs fill a wait without shortening it, in order, and none is lost (fake clock, no sleeping)."""

from __future__ import annotations

from bmsflasher.procedure.idle_work import IdleWork


class FakeTime:
    """A clock that only moves when a job takes time or the code sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _job(fake: FakeTime, ran: list[str], name: str, takes_s: float):  # type: ignore[no-untyped-def]
    def job() -> None:
        ran.append(name)
        fake.now += takes_s

    return job


def test_jobs_run_in_the_wait_which_lasts_as_long_as_asked() -> None:
    fake, ran = FakeTime(), []
    idle = IdleWork(
        [_job(fake, ran, "a", 0.05), _job(fake, ran, "b", 0.05)], clock=fake.clock, sleep=fake.sleep
    )
    idle.wait(0.2)
    assert ran == ["a", "b"]
    assert fake.now == 0.2  # not shorter because work was done, not longer either
    assert fake.slept == [0.1]


def test_a_job_that_overruns_delays_but_never_shortens_and_the_rest_waits_for_the_next_gap() -> None:
    fake, ran = FakeTime(), []
    jobs = [_job(fake, ran, "slow", 0.3), _job(fake, ran, "next", 0.01)]
    idle = IdleWork(jobs, clock=fake.clock, sleep=fake.sleep)
    idle.wait(0.2)
    assert ran == ["slow"]
    assert fake.now == 0.3
    assert fake.slept == []
    assert idle.pending == 1
    idle.finish()
    assert ran == ["slow", "next"]
    assert idle.pending == 0

"""Read-only work done while a timed measurement waits, instead of after it.

The stability gate needs telemetry samples ``interval_s`` apart (5 × 0.2 s by default) and the
balancing check polls telemetry until a flag shows; between those reads the link sat idle for most
of a second. The link round trips, the trouble-code read and the configuration backup's reads do not
depend on that waiting, so they run in the gaps: the waiting still lasts as long as it did (a sample
is never taken earlier than ``interval_s`` after the previous one), the other work simply no longer
adds its own seconds after it.

Everything stays on the caller's thread and link, one request at a time, so no protocol client
needs to be thread-safe. A job that is still running when the wait would have ended delays the next
sample: spacing only grows, which makes a drift limit stricter, never weaker.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable

Job = Callable[[], object]


class IdleWork:
    """A queue of jobs run, in order, while :meth:`wait` waits; :meth:`finish` runs what is left.

    Pass :meth:`wait` wherever a measuring loop takes a ``sleep`` function.
    """

    def __init__(
        self,
        jobs: Iterable[Job] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._jobs: deque[Job] = deque(jobs)
        self._clock = clock
        self._sleep = sleep

    @property
    def pending(self) -> int:
        """Jobs not run yet."""
        return len(self._jobs)

    def wait(self, seconds: float) -> None:
        """Let at least ``seconds`` pass, running queued jobs while the time lasts."""
        deadline = self._clock() + seconds
        while self._jobs and self._clock() < deadline:
            self._jobs.popleft()()
        remaining = deadline - self._clock()
        if remaining > 0:
            self._sleep(remaining)

    def finish(self) -> None:
        """Run every job still queued (the waiting ended before they all fitted in)."""
        while self._jobs:
            self._jobs.popleft()()

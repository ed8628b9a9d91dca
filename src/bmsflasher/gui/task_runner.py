"""Short background tasks that need no connected device (scan, package checks, history queries).

Each task gets its own named thread; the runner remembers them so the application can join them on
exit instead of leaving a scan half-way through a serial port. Like :mod:`device_worker`, no Qt here:
results come back through callbacks the ``AppModel`` turns into queued signals.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

ResultCallback = Callable[[Any], None]
ErrorCallback = Callable[[BaseException], None]


class TaskRunner:
    """Start tasks in threads and join them all on shutdown."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(
        self, name: str, task: Callable[[], Any], on_done: ResultCallback, on_error: ErrorCallback
    ) -> None:
        """Run ``task()`` in a new thread; exactly one callback runs afterwards, in that thread."""

        def run() -> None:
            try:
                result = task()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller with its type and cause
                on_error(exc)
            else:
                on_done(result)

        thread = threading.Thread(target=run, name=f"bmsflasher-{name}", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def running(self) -> int:
        """Tasks still running."""
        with self._lock:
            return sum(1 for t in self._threads if t.is_alive())

    def join(self, timeout_s: float) -> bool:
        """Wait for every task, at most ``timeout_s`` in total; True if all ended."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return all(not t.is_alive() for t in threads)

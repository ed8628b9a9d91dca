"""The one thread that talks to a connected device.

Protocol clients are blocking and not re-entrant, so every request to a connected :class:`Target`
(telemetry polls, config reads, the whole update procedure) runs in this single thread, one after
another. The GUI thread only queues jobs and receives results through callbacks that the
``AppModel`` turns into queued Qt signals; it never waits on the device.

This module deliberately has no Qt in it: it can be tested and reasoned about as plain threading.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from bmsflasher.core.errors import BmsFlasherError, LinkLostError
from bmsflasher.core.target import Target
from bmsflasher.core.types import PackTelemetry
from bmsflasher.gui.csv_recorder import CsvRecorder

POLL_INTERVAL_S: Final = 0.1
"""10 Hz: the live view's refresh rate."""

STOP_TIMEOUT_S: Final = 10.0
"""How long closing the device may take before we give up on the thread (it is a daemon)."""

_FAILURES_BEFORE_LOST: Final = 5

Job = Callable[[Target], Any]
ResultCallback = Callable[[Any], None]
ErrorCallback = Callable[[BaseException], None]


@dataclass(frozen=True, slots=True)
class _QueuedJob:
    name: str
    job: Job
    on_done: ResultCallback
    on_error: ErrorCallback


class DeviceWorker:
    """Run jobs against one target in one thread, and poll telemetry while idle.

    Args:
        target: the connected device; the worker closes it when it stops.
        on_telemetry: called (in the worker thread) with every telemetry sample.
        on_poll_error: called (in the worker thread) when a poll fails; the error says why.
        poll_interval_s: time between telemetry polls while no job is queued.
    """

    def __init__(
        self,
        target: Target,
        on_telemetry: Callable[[PackTelemetry], None],
        on_poll_error: Callable[[BmsFlasherError], None],
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self.target = target
        self._on_telemetry = on_telemetry
        self._on_poll_error = on_poll_error
        self._poll_interval_s = poll_interval_s
        self._jobs: queue.Queue[_QueuedJob | None] = queue.Queue()
        self._stop = threading.Event()
        self._polling = threading.Event()
        self._polling.set()
        self._recorder_lock = threading.Lock()
        self._recorder: CsvRecorder | None = None
        self._busy_job = ""
        self._thread = threading.Thread(target=self._run, name="bmsflasher-device", daemon=True)
        self._thread.start()

    # --- control (any thread) ------------------------------------------------------------------
    @property
    def busy_job(self) -> str:
        """Name of the job running now ("" when idle): the GUI shows it and refuses a second update."""
        return self._busy_job

    def submit(self, name: str, job: Job, on_done: ResultCallback, on_error: ErrorCallback) -> None:
        """Queue ``job(target)``; exactly one of the callbacks runs afterwards, in the worker thread."""
        if self._stop.is_set():
            on_error(LinkLostError("the device is disconnected"))
            return
        self._jobs.put(_QueuedJob(name, job, on_done, on_error))

    def set_polling(self, enabled: bool) -> None:
        """Pause or resume telemetry polls (paused while the update procedure owns the device)."""
        if enabled:
            self._polling.set()
        else:
            self._polling.clear()

    @property
    def alive(self) -> bool:
        """The thread is still running (it may be closing the device)."""
        return self._thread.is_alive()

    @property
    def polling(self) -> bool:
        return self._polling.is_set()

    def set_recorder(self, recorder: CsvRecorder | None) -> CsvRecorder | None:
        """Attach a CSV recorder fed with every sample (None detaches); returns the previous one."""
        with self._recorder_lock:
            previous, self._recorder = self._recorder, recorder
        return previous

    def request_stop(self) -> None:
        """Ask the thread to finish its running job, drop queued ones and close the device (no wait)."""
        self._stop.set()
        self._jobs.put(None)

    def join(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Wait for the thread to end after :meth:`request_stop`; True if it did."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """:meth:`request_stop` then :meth:`join`; True if the thread ended."""
        self.request_stop()
        return self.join(timeout_s)

    # --- the worker thread --------------------------------------------------------------------
    def _run(self) -> None:
        failures = 0
        next_poll = time.monotonic()
        try:
            while not self._stop.is_set():
                timeout = max(0.0, next_poll - time.monotonic()) if self._polling.is_set() else 0.5
                try:
                    item = self._jobs.get(timeout=timeout)
                except queue.Empty:
                    item = None
                    if self._polling.is_set() and not self._stop.is_set():
                        failures = self._poll(failures)
                        next_poll = time.monotonic() + self._poll_interval_s
                    continue
                if item is None:
                    continue
                self._execute(item)
        finally:
            self._drain()
            self._close()

    def _poll(self, failures: int) -> int:
        try:
            sample = self.target.read_telemetry()
        except BmsFlasherError as exc:
            failures += 1
            self._on_poll_error(exc)
            if failures >= _FAILURES_BEFORE_LOST:
                self._polling.clear()
            return failures
        with self._recorder_lock:
            recorder = self._recorder
        if recorder is not None:
            try:
                recorder.write(sample)
            except BmsFlasherError as exc:
                self.set_recorder(None)
                recorder.close()
                self._on_poll_error(exc)
        self._on_telemetry(sample)
        return 0

    def _execute(self, item: _QueuedJob) -> None:
        self._busy_job = item.name
        try:
            result = item.job(self.target)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller with its type and cause
            item.on_error(exc)
        else:
            item.on_done(result)
        finally:
            self._busy_job = ""

    def _drain(self) -> None:
        while True:
            try:
                item = self._jobs.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                item.on_error(LinkLostError("the device was disconnected before this request ran"))

    def _close(self) -> None:
        with self._recorder_lock:
            recorder, self._recorder = self._recorder, None
        if recorder is not None:
            recorder.close()
        try:
            self.target.close()
        except BmsFlasherError as exc:
            self._on_poll_error(exc)

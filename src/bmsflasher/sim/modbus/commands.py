"""The command register's worker and the status block it reports through.

A command is accepted at once (the write is answered) and runs on the module's own worker thread,
as a module's firmware runs an erase in the background: meanwhile the module answers only the status
block (everything else gets exception 06, SERVER DEVICE BUSY). The outcome — done, or failed with an
error code and one sentence — is what the status block shows until the next command.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from bmsflasher.sim.errors import SimError, SimPoweredOffError
from bmsflasher.sim.modbus.vendor_map import (
    ERROR_TEXT_BYTES,
    CommandState,
    Error,
    text_registers,
    u32_registers,
)

_STOP: Final = object()


class CommandFailed(Exception):  # noqa: N818 - a result, reported in the status block
    """A command that could not be carried out: the status block's error code and text."""

    def __init__(self, error: Error, text: str) -> None:
        super().__init__(text)
        self.error = error
        self.text = text


@dataclass(slots=True)
class Status:
    """What the status block reports (upload fields are filled in by the caller)."""

    last_command: int = 0
    state: CommandState = CommandState.DONE
    error: Error = Error.NONE
    text: str = ""

    def fail(self, error: Error, text: str) -> None:
        self.error = error
        self.text = text

    def registers(self, upload_state: int, total: int, held: int, bytes_held: int) -> list[int]:
        """The 40 registers of the status block."""
        return [
            self.last_command,
            self.state,
            self.error,
            upload_state,
            total,
            held,
            *u32_registers(bytes_held),
            *text_registers(self.text, ERROR_TEXT_BYTES // 2),
        ]


class CommandWorker:
    """Runs one command at a time on a thread of its own, reporting into ``status``.

    Args:
        status: the status block to update.
        lock: the module's lock, held while the status changes.
    """

    def __init__(self, status: Status, lock: threading.RLock) -> None:
        self._status = status
        self._lock = lock
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        with self._lock:
            return self._status.state is CommandState.RUNNING

    def submit(self, code: int, action: Callable[[], bool]) -> None:
        """Mark ``code`` running and run ``action`` in the background.

        ``action`` returns False when it reported its own outcome (a reset clears the status) and
        raises :class:`CommandFailed` for a refusal.
        """
        with self._lock:
            self._status.last_command = code
            self._status.state = CommandState.RUNNING
            self._status.error = Error.NONE
            self._status.text = ""
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="modbus-module-commands", daemon=True)
                self._thread.start()
        self._queue.put(action)

    def _run(self) -> None:
        while True:
            action = self._queue.get()
            if action is _STOP:
                return
            assert callable(action)
            self._execute(action)

    def _execute(self, action: Callable[[], bool]) -> None:
        try:
            report = action()
        except CommandFailed as failure:
            with self._lock:
                self._status.state = CommandState.FAILED
                self._status.fail(failure.error, failure.text)
            return
        except SimPoweredOffError:
            return  # the module is off; power-on starts from a clean status
        except SimError as exc:  # a refusal the command did not foresee: still a refusal, not a hang
            with self._lock:
                self._status.state = CommandState.FAILED
                self._status.fail(Error.STATE, str(exc))
            return
        if report:
            with self._lock:
                self._status.state = CommandState.DONE

    def stop(self) -> None:
        """End the worker thread (after the command it runs, if any)."""
        thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(5.0)
            self._thread = None

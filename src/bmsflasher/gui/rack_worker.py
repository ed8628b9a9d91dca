"""The one thread that polls every module of a rack in turn, for the live page's rack view.

A rack's modules share one RS485 pair (or one gateway socket), so they are asked one after another
over one open line: a sweep asks each module once, then the worker rests for ``sweep_pause_s``.
A module that does not answer is reported as silent (with the client's sentence), never as a sample
of zeros, and is asked again on the next sweep: a module that comes back is shown again at once.

Like :mod:`bmsflasher.gui.device_worker`, this module has no Qt in it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final, Protocol

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.types import PackTelemetry

SWEEP_PAUSE_S: Final = 0.1
"""Rest between sweeps: the live view's refresh interval (a sweep of a big rack is slower anyway)."""
STOP_TIMEOUT_S: Final = 10.0


class RackLine(Protocol):
    """What the worker needs of the open line (the engine's ``RackLink``)."""

    @property
    def addresses(self) -> tuple[int, ...]: ...

    def telemetry(self, address: int) -> PackTelemetry: ...

    def close(self) -> None: ...


class RackWorker:
    """Poll every module of ``rack`` in a background thread until :meth:`stop`.

    Args:
        rack: the open line; the worker closes it when it stops.
        on_sample: called (in the worker thread) with a module's address and its sample.
        on_silent: called (in the worker thread) with a module's address and why it gave none.
    """

    def __init__(
        self,
        rack: RackLine,
        on_sample: Callable[[int, PackTelemetry], None],
        on_silent: Callable[[int, BmsFlasherError], None],
        sweep_pause_s: float = SWEEP_PAUSE_S,
    ) -> None:
        self.rack = rack
        self._on_sample = on_sample
        self._on_silent = on_silent
        self._sweep_pause_s = sweep_pause_s
        self._stop = threading.Event()
        self.sweeps = 0
        self._thread = threading.Thread(target=self._run, name="bmsflasher-rack", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end after the module it is asking now (it closes the line)."""
        self._stop.set()

    def join(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Wait until the line is closed, so the port can be opened again; True if it is."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        """The thread is still running (it may be closing the line)."""
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for address in self.rack.addresses:
                    if self._stop.is_set():
                        break
                    try:
                        sample = self.rack.telemetry(address)
                    except BmsFlasherError as error:
                        self._on_silent(address, error)
                    else:
                        self._on_sample(address, sample)
                self.sweeps += 1
                self._stop.wait(self._sweep_pause_s)
        finally:
            self.rack.close()

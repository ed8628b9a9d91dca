"""How the UDS service handlers call the virtual device: power, mode refusals and slow operations.

A real ECU that loses power says nothing, refuses a request its current mode cannot serve with
NRC 0x22, and keeps the tester waiting on a long flash operation by repeating NRC 0x78
(requestCorrectlyReceived-ResponsePending) until it has the real answer (ISO 14229-1, P2*).
Doing that in one place keeps every service handler to its own parameters and records.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.types import DeviceMode
from bmsflasher.sim.uds.nrc import NRC_CONDITIONS_NOT_CORRECT, NegativeResponse
from bmsflasher.sim.uds.server_config import UdsDevice

#: Delay before the first 0x78 (well inside P2server) and between repeats (well inside P2*server).
_PENDING_FIRST_S: Final = 0.025
_PENDING_REPEAT_S: Final = 1.0


class DeviceSilent(Exception):  # noqa: N818 -- control flow: the request gets no answer at all
    """The device has no power: nothing answers."""


class DeviceCalls:
    """The device as the service handlers see it.

    Args:
        device: the virtual BMS this node serves.
        send_pending: sends ``0x7F SID 0x78`` for the service identifier given and waits until
            it left the bus (the server owns the transport and the S3 timer it restarts).
    """

    def __init__(self, device: UdsDevice, send_pending: Callable[[int], None]) -> None:
        self.device = device
        self._send_pending = send_pending

    def call(self, fn: Callable[[], Any]) -> Any:
        """Call the device, mapping "no power" to silence and a refused mode to 0x22."""
        try:
            return fn()
        except BmsFlasherError as exc:
            name = type(exc).__name__
            if name == "SimPoweredOffError":
                raise DeviceSilent from exc
            if name in ("SimModeError", "SimStateError"):
                raise NegativeResponse(NRC_CONDITIONS_NOT_CORRECT) from exc
            raise

    def slow(self, sid: int, fn: Callable[[], Any]) -> Any:
        """Run a long device operation, answering 0x78 (response pending) until it finishes."""
        result: list[Any] = []
        error: list[BaseException] = []

        def work() -> None:
            try:
                result.append(self.call(fn))
            except BaseException as exc:  # noqa: BLE001 -- re-raised on the serving thread below
                error.append(exc)

        worker = threading.Thread(target=work, name="sim-uds-slow", daemon=True)
        worker.start()
        worker.join(_PENDING_FIRST_S)
        while worker.is_alive():
            self._send_pending(sid)
            worker.join(_PENDING_REPEAT_S)
        if error:
            raise error[0]
        return result[0] if result else None

    def mode(self) -> DeviceMode:
        """The device's mode (application, bootloader, recovery), through :meth:`call`."""
        mode: DeviceMode = self.call(lambda: self.device.mode)
        return mode

    @property
    def bootloader_only(self) -> bool:
        """True when the bootloader (or recovery) answers: only the programming subset is served."""
        return self.mode() is not DeviceMode.APPLICATION

"""The ISO-TP (ISO 15765-2) endpoint of one virtual UDS node on the simulated CAN bus.

It turns the frames of the bus timeline into complete UDS requests and responses into frames,
with can-isotp's own segmentation logic, after screening each received frame against the
standard's receive rules (``sim/uds/isotp_frames.py``). It knows the node's identifiers (11-bit
normal or 29-bit normal fixed addressing, classic CAN or CAN-FD) and nothing about services.

It reaches the bus through :class:`CanMedium`, the little it needs of one (attach a node, send a
frame, leave), so the UDS layer does not import the wire that sits above it in the sim's layers:
:class:`~bmsflasher.sim.wire.can_bus.CanBusTimeline` satisfies it, and so would a test double.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Final, Protocol

import can
import isotp

from bmsflasher.sim.uds.isotp_frames import screen_frame, single_frame_payload
from bmsflasher.sim.uds.server_config import UdsServerConfig, server_ids

_log = logging.getLogger(__name__)
_ISOTP_LOGGER: Final = "bmsflasher.sim.isotp"
# A lossy bus makes can-isotp warn about every broken reception; the error handler already
# records them. Left on, the warnings would flood stderr (and block the device on a full pipe).
logging.getLogger(_ISOTP_LOGGER).setLevel(logging.CRITICAL)
#: Bound on sending one response. ISO-TP's own timers end a transfer whose flow control is lost
#: (N_Bs = 1 s); only a tester that keeps answering FC.WAIT (up to _MAX_WAIT_FRAMES of them,
#: each restarting N_Bs) or a very slow bus takes longer.
_ISOTP_SEND_WAIT_S: Final = 40.0
#: FC.WAIT frames in a row the device accepts as a sender before it aborts the transmission.
#: ISO 15765-2 bounds them on the receiver's side (N_WFTmax); this bound only stops a tester
#: that would keep the device waiting forever.
_MAX_WAIT_FRAMES: Final = 32


class CanNodePort(Protocol):
    """One node's attachment to the bus: a transmit queue and a way to leave."""

    def send(self, message: can.Message, timeout_s: float = ...) -> bool:
        """Queue one frame; False if the transmit queue stayed full for ``timeout_s``."""
        ...

    def detach(self) -> None:
        """Leave the bus (node powered off); queued frames are discarded."""
        ...


class CanMedium(Protocol):
    """The shared CAN bus a node attaches to (the wire's ``CanBusTimeline``)."""

    def attach(self, name: str, on_frame: Callable[[can.Message], None]) -> CanNodePort:
        """Join the bus as ``name``; ``on_frame`` receives every frame other nodes send."""
        ...


class BusTransport:
    """can-isotp's transport logic wired to one port of the bus timeline, run by the server thread.

    The single-threaded :class:`isotp.TransportLayerLogic` (driven by :meth:`pump`) rather than
    the threaded ``TransportLayer``: one thread per node instead of three, and no queue hand-offs
    per frame, which keeps the emulation ahead of a 1 Mbit/s bus.
    """

    def __init__(
        self, bus: CanMedium, config: UdsServerConfig, on_functional: Callable[[bytes], None]
    ) -> None:
        self.ids = server_ids(config.addressing, config.node, config.tester_address)
        self.request_id, self.response_id = self.ids.request_id, self.ids.response_id
        self._frames: queue.Queue[can.Message] = queue.Queue()
        self._on_functional = on_functional
        self._block_next = False
        self.port: CanNodePort = bus.attach(f"uds-node-{config.node}", self._on_frame)
        address = (
            isotp.Address(
                isotp.AddressingMode.NormalFixed_29bits,
                target_address=config.tester_address,
                source_address=config.node,
            )
            if self.ids.extended_id
            else isotp.Address(
                isotp.AddressingMode.Normal_11bits, txid=self.response_id, rxid=self.request_id
            )
        )
        params = {
            "stmin": config.stmin,
            "blocksize": config.block_size,
            "tx_data_length": 64 if config.fd else 8,
            "tx_padding": 0xCC,
            # CAN FD: frames of up to 8 bytes are padded to 8 as on classic CAN, longer ones to the
            # next valid CAN FD length (ISO 15765-2 frame padding); both are valid under every reading.
            "tx_data_min_length": 8 if config.fd else None,
            "can_fd": config.fd,
            "bitrate_switch": config.fd and config.brs,
            "max_frame_size": config.max_block_length,
            "rx_flowcontrol_timeout": 1000,
            "rx_consecutive_frame_timeout": 1000,
            "wftmax": _MAX_WAIT_FRAMES,
            "logger_name": _ISOTP_LOGGER,
        }
        self.stack = isotp.TransportLayerLogic(
            rxfn=self._rxfn,
            txfn=self._txfn,
            address=address,
            error_handler=self._on_isotp_error,
            params=params,
        )

    def _on_frame(self, message: can.Message) -> None:
        if message.is_extended_id != self.ids.extended_id:
            return  # the other identifier format: 0x7E0 and 0x000007E0 are different frames
        if message.arbitration_id == self.request_id:
            self._frames.put_nowait(message)
        elif message.arbitration_id == self.ids.functional_id:
            # Functional addressing carries single frames only (ISO 15765-2); anything
            # else on the functional ID, or a malformed single frame, is ignored.
            payload = single_frame_payload(bytes(message.data))
            if payload:
                self._on_functional(payload)
                self._frames.put_nowait(_WAKE_UP)

    def _rxfn(self, timeout: float) -> isotp.CanMessage | None:
        # Block only on the first read of a pump() round; later reads drain what is queued.
        block, self._block_next = self._block_next, False
        try:
            message = (
                self._frames.get(timeout=timeout) if block and timeout > 0 else self._frames.get_nowait()
            )
        except queue.Empty:
            return None
        if message is _WAKE_UP:
            return None
        data = screen_frame(bytes(message.data))
        if data is None:
            return None  # ISO 15765-2 says to ignore this frame
        if block and message.data and message.data[0] >> 4 == 2 and self._frames.qsize() < _CF_BATCH:
            # A consecutive frame mid-stream: let a few more arrive and handle them in one pass.
            # Waking once per frame at 1 Mbit/s (8600 frames/s) costs more CPU than the ISO-TP work.
            time.sleep(_CF_BATCH_WAIT_S)
        return isotp.CanMessage(
            arbitration_id=message.arbitration_id,
            dlc=message.dlc,
            data=data,
            extended_id=message.is_extended_id,
            is_fd=message.is_fd,
            bitrate_switch=message.bitrate_switch,
        )

    def _txfn(self, message: isotp.CanMessage) -> None:
        self.port.send(
            can.Message(
                arbitration_id=message.arbitration_id,
                data=bytes(message.data),
                is_extended_id=message.is_extended_id,
                is_fd=message.is_fd,
                bitrate_switch=message.bitrate_switch,
            ),
            timeout_s=1.0,
        )

    @staticmethod
    def _on_isotp_error(error: Exception) -> None:
        _log.debug("ISO-TP: %s", error)

    def pump(self, wait_s: float) -> bytes | None:
        """Process received frames (waiting up to ``wait_s`` for the first); a complete request or None."""
        if not self.stack.available():  # a request may have completed while a response went out
            self._block_next = True
            self.stack.process(rx_timeout=wait_s)
        payload = self.stack.recv()
        return bytes(payload) if payload is not None else None

    def send_and_wait(self, payload: bytes, stop: threading.Event) -> None:
        """Send a response and keep the transport running until its last frame left (bounded)."""
        self.stack.send(payload)
        deadline = time.monotonic() + _ISOTP_SEND_WAIT_S
        while self.stack.transmitting() and time.monotonic() < deadline and not stop.is_set():
            delay = self.stack.next_cf_delay()
            if delay:
                time.sleep(delay)
            self._block_next = delay is None  # waiting for a flow control: block briefly on it
            self.stack.process(rx_timeout=0.005)

    def drop_pending(self) -> None:
        """Forget queued frames and any partial reception (the device rebooted)."""
        while True:
            try:
                self._frames.get_nowait()
            except queue.Empty:
                break
        self.stack.reset()

    def close(self) -> None:
        self.port.detach()


_WAKE_UP: Final = can.Message(arbitration_id=0, data=b"")
_CF_BATCH: Final = 4
_CF_BATCH_WAIT_S: Final = 0.0005

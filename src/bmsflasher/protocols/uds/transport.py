"""ISO-TP (ISO 15765-2) over an open CAN link, as a udsoncan connection.

can-isotp's threaded :class:`isotp.TransportLayer` does the segmentation; this module feeds it
from a :class:`~bmsflasher.links.can.CanLink` through small rx/tx functions that never raise
into can-isotp's threads (an exception there would silently kill the stack): a vanished adapter
is recorded and re-raised as :class:`LinkLostError` on the caller's thread.

Parameters are negotiated, not assumed: block size and STmin come from the device's flow-control
frames (can-isotp obeys them), the frame data length (classic 8 or CAN-FD 64) from the device's
transport-capability DID 0xFD03 via :meth:`IsoTpTransport.use_fd`, and the download block length
from the RequestDownload response.

Addressing is the node's: 11-bit normal (0x7E0+n-1 / 0x7E8+n-1) or 29-bit normal fixed (ISO 15765-2
§10.3.6: 0x18DA<TA><SA> out, 0x18DA<SA><TA> in), through can-isotp's own address classes; frames
in the other identifier format are never taken for the node's.

Received frames pass :func:`screen_frame` first, which applies the ISO 15765-2 receive rules
can-isotp 2.0 does not: a flow control with a reserved STmin means the longest STmin (127 ms), a
reserved FlowStatus aborts the transmission, and malformed single/first frames or reserved N_PCI
types are ignored instead of aborting a reception in progress.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from typing import Any, Final

import can
import isotp
from udsoncan.connections import BaseConnection
from udsoncan.exceptions import TimeoutException

from bmsflasher.core.errors import ConfigValidationError, LinkError, LinkLostError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import DEFAULT_TESTER_ADDRESS, CanAddressing
from bmsflasher.links.can import CanLink
from bmsflasher.protocols.uds.ids import NodeAddress, node_address

#: Padding byte of classic CAN frames (ISO 15765-2 recommends padding to 8 bytes; 0xCC is common).
PADDING: Final = 0xCC
#: N_Bs: how long the tool waits for the device's flow control. ISO 15765-2 sets 1000 ms and lets a
#: device take up to 0.9 × N_Bs (N_Br + N_Ar) to send it, so a shorter wait would abort transfers
#: to conforming devices that answer slowly (e.g. while their flash is busy).
FLOW_CONTROL_TIMEOUT_MS: Final = 1000
#: N_Cr: gap allowed between consecutive frames the device sends (ISO 15765-2: 1000 ms).
CONSECUTIVE_FRAME_TIMEOUT_MS: Final = 1000
#: FC.WAIT frames in a row the tool accepts before giving up a request. ISO 15765-2 limits them on
#: the device's side (N_WFTmax, device-specific); each one restarts N_Bs, so this bounds the wait
#: for a device that never sends "continue to send" to about 32 s.
MAX_WAIT_FRAMES: Final = 32
#: The longest STmin (127 ms): what a reserved STmin value in a flow control means.
STMIN_LONGEST: Final = 0x7F
#: Largest message the tool accepts (ISO 15765-2:2016 allows 32-bit lengths).
MAX_RX_MESSAGE: Final = 0x10000
_SEND_TIMEOUT_S: Final = 1.0


class _Skipped(enum.Enum):
    """What :meth:`IsoTpTransport._receive` returns for a frame that is not this node's answer."""

    OTHER_TRAFFIC = "other traffic"


#: can-isotp's warnings (every broken reception on a lossy bus) are counted, not printed.
ISOTP_LOGGER: Final = "bmsflasher.uds.isotp"
logging.getLogger(ISOTP_LOGGER).setLevel(logging.ERROR)


#: Bytes after the SID that a positive response echoes from its request (ISO 14229-1): the
#: sub-function, the data identifier, the routine control type and identifier, or the block
#: sequence counter. Services without an echo (0x34, 0x37, 0x14) match on the SID alone.
_ECHO_BYTES: Final[dict[int, int]] = {
    0x10: 1,
    0x11: 1,
    0x19: 1,
    0x27: 1,
    0x28: 1,
    0x3E: 1,
    0x85: 1,
    0x22: 2,
    0x2E: 2,
    0x2F: 2,
    0x31: 3,
    0x36: 1,
}
#: Services whose first request byte is a sub-function with the suppress-positive-response bit,
#: which the response does not echo.
_SUBFUNCTION_SERVICES: Final = frozenset({0x10, 0x11, 0x19, 0x27, 0x28, 0x31, 0x3E, 0x85})


def answers_request(request: bytes, frame: bytes) -> bool:
    """Is ``frame`` the device's answer to ``request``, not a late answer to an earlier one?

    A positive response must carry the request's SID + 0x40 and echo what identifies the request
    (data identifier, routine control type and identifier, block sequence counter, sub-function);
    a negative response must name the request's SID. Anything else is a stale or foreign answer,
    which real testers discard and keep waiting for the right one.
    """
    if not request:
        return True  # nothing pending: udsoncan reports whatever this is as unexpected
    if not frame:
        return False
    sid = request[0]
    if frame[0] == 0x7F:
        return len(frame) >= 3 and frame[1] == sid
    if frame[0] != (sid + 0x40) & 0xFF:
        return False
    echo = _ECHO_BYTES.get(sid, 0)
    if echo == 0 or len(request) <= echo:
        return True
    expected = bytearray(request[1 : 1 + echo])
    if sid in _SUBFUNCTION_SERVICES:
        expected[0] &= 0x7F  # the suppress-positive-response bit is not echoed
    return frame[1 : 1 + echo] == bytes(expected)


class IsoTpConnection(BaseConnection):
    """udsoncan connection over a threaded can-isotp layer that ignores stale answers.

    On a lossy bus a request can time out and its answer arrive late, during the next request.
    udsoncan would take that late answer for the new one and fail; real testers discard any
    answer whose service does not match the pending request, and so does this connection.
    """

    def __init__(self, layer: isotp.TransportLayer, name: str) -> None:
        super().__init__(name)
        self._layer = layer
        self._opened = False
        self._request = b""
        self.stale_answers = 0

    def open(self) -> IsoTpConnection:
        self._layer.start()
        self._opened = True
        return self

    def close(self) -> None:
        if self._opened:
            self._layer.stop()
            self._opened = False

    def is_open(self) -> bool:
        return self._opened

    def specific_send(self, payload: bytes, timeout: float | None = None) -> None:
        self._request = bytes(payload)
        self._layer.send(payload, send_timeout=timeout)

    def _matches(self, frame: bytes) -> bool:
        """Does ``frame`` answer the pending request? See :func:`answers_request`."""
        return answers_request(self._request, frame)

    def specific_wait_frame(self, timeout: float | None = None) -> bytes | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            frame = self._layer.recv(block=True, timeout=remaining)
            if frame is None:
                raise TimeoutException(  # type: ignore[no-untyped-call]
                    f"Did not receive an ISO-TP frame in time (timeout={timeout} s)"
                )
            if self._matches(bytes(frame)):
                return bytes(frame)
            self.stale_answers += 1

    def empty_rxqueue(self) -> None:
        self._layer.stop_receiving()
        self._layer.clear_rx_queue()

    def empty_txqueue(self) -> None:
        self._layer.stop_sending()
        self._layer.clear_tx_queue()


class IsoTpTransport:
    """One ISO-TP channel to one node, usable as a udsoncan connection via :attr:`connection`."""

    def __init__(
        self,
        link: CanLink,
        node: int,
        *,
        addressing: CanAddressing = CanAddressing.NORMAL_11BIT,
        tester_address: int = DEFAULT_TESTER_ADDRESS,
    ) -> None:
        self._link = link
        self.node = node
        #: The node's identifiers: 11-bit 0x7E0+n-1/0x7E8+n-1 or 29-bit 0x18DA<TA><SA>/0x18DA<SA><TA>.
        try:
            self.address: NodeAddress = node_address(node, addressing, tester_address)
        except ValueError as exc:
            reason = exc.args[0] if exc.args else str(exc)  # a translatable sentence from ids
            raise ConfigValidationError(
                t("The UDS node cannot be addressed: {reason}.", reason=reason)
            ) from exc
        self.request_id, self.response_id = self.address.request_id, self.address.response_id
        #: Where functional (all-nodes) requests go: 0x7DF, or 0x18DB33<SA> with 29-bit addressing.
        self.functional_id = self.address.functional_id
        self._lost: LinkLostError | None = None
        self._lost_lock = threading.Lock()
        self.frames_sent = 0
        self.frames_received = 0
        self.frames_ignored = 0
        #: Set when the device answered a request's first frame with FC.OVFLW (request too long).
        self.overflowed = False
        self.stack = isotp.TransportLayer(
            rxfn=self._rxfn,
            txfn=self._txfn,
            address=isotp_address(self.address),
            error_handler=self._on_error,
            params=self._params(fd=False),
            read_timeout=0.02,
        )
        self.connection = IsoTpConnection(self.stack, name=f"uds-node-{node}")
        self.isotp_errors = 0

    @staticmethod
    def _params(fd: bool, bitrate_switch: bool = False) -> dict[str, Any]:
        return {
            "stmin": 0,
            "blocksize": 0,
            "tx_data_length": 64 if fd else 8,
            "tx_padding": PADDING,
            # CAN FD: short frames padded to 8 like classic ones, longer ones to a valid FD length.
            "tx_data_min_length": 8 if fd else None,
            "can_fd": fd,
            "bitrate_switch": fd and bitrate_switch,
            "max_frame_size": MAX_RX_MESSAGE,
            "rx_flowcontrol_timeout": FLOW_CONTROL_TIMEOUT_MS,
            "rx_consecutive_frame_timeout": CONSECUTIVE_FRAME_TIMEOUT_MS,
            "blocking_send": True,
            "wftmax": MAX_WAIT_FRAMES,
            "logger_name": ISOTP_LOGGER,
        }

    @property
    def link(self) -> CanLink:
        return self._link

    @property
    def lost(self) -> LinkLostError | None:
        """Set once the adapter went away; every later request fails fast with it."""
        return self._lost

    def _mark_lost(self, exc: LinkError) -> None:
        with self._lost_lock:
            if self._lost is None:
                self._lost = (
                    exc
                    if isinstance(exc, LinkLostError)
                    else LinkLostError(
                        t(
                            "The CAN adapter {adapter} failed: {reason}",
                            adapter=self._link.config.describe(),
                            reason=exc.message,
                        )
                    )
                )

    def _rxfn(self, timeout: float) -> isotp.CanMessage | None:
        """The next frame of this node, waiting at most ``timeout``; other traffic is skipped.

        A frame meant for someone else (another node, a BMS's cyclic broadcasts) must not end the
        wait: can-isotp's relay thread takes an early None as "nothing came" and sleeps up to
        ``read_timeout`` before asking again, which on a bus with broadcasts cost every block tens
        of milliseconds (about a quarter of the throughput at 500 kbit/s).
        """
        deadline = time.monotonic() + timeout
        while True:
            frame = self._receive(max(0.0, deadline - time.monotonic()))
            if not isinstance(frame, _Skipped):
                return frame
            if time.monotonic() >= deadline:
                return None

    def _receive(self, timeout: float) -> isotp.CanMessage | _Skipped | None:
        """One frame from the link: this node's, None (nothing, or the link is gone) or other traffic."""
        if self._lost is not None:
            time.sleep(timeout)
            return None
        try:
            message = self._link.recv(timeout)
        except LinkError as exc:
            self._mark_lost(exc)
            return None
        if message is None:
            return None
        if message.is_error_frame or message.is_remote_frame:
            return _Skipped.OTHER_TRAFFIC
        if message.arbitration_id != self.response_id or message.is_extended_id != self.address.extended_id:
            return _Skipped.OTHER_TRAFFIC  # another node, or the same number in the other identifier format
        data = screen_frame(bytes(message.data))
        if data is None:
            self.frames_ignored += 1
            return _Skipped.OTHER_TRAFFIC
        self.frames_received += 1
        return isotp.CanMessage(
            arbitration_id=message.arbitration_id,
            dlc=message.dlc,
            data=data,
            extended_id=message.is_extended_id,
            is_fd=message.is_fd,
            bitrate_switch=message.bitrate_switch,
        )

    def _txfn(self, message: isotp.CanMessage) -> None:
        if self._lost is not None:
            return
        frame = can.Message(
            arbitration_id=message.arbitration_id,
            data=bytes(message.data),
            is_extended_id=message.is_extended_id,
            is_fd=message.is_fd,
            bitrate_switch=message.bitrate_switch,
        )
        try:
            self._link.send(frame, timeout_s=_SEND_TIMEOUT_S)
        except LinkError as exc:
            self._mark_lost(exc)
            return
        self.frames_sent += 1

    def _on_error(self, error: Exception) -> None:
        self.isotp_errors += 1
        if isinstance(error, isotp.errors.OverflowError):
            self.overflowed = True

    def open(self) -> None:
        """Start can-isotp's threads."""
        self.connection.open()

    def use_fd(self, enabled: bool, bitrate_switch: bool = True) -> None:
        """Switch between classic 8-byte and CAN-FD 64-byte frames (after reading DID 0xFD03)."""
        was_open = self.connection.is_open()
        if was_open:
            self.connection.close()
        for key, value in self._params(enabled, bitrate_switch).items():
            self.stack.params.set(key, value, validate=False)
        self.stack.params.validate()
        self.stack.load_params()
        if was_open:
            self.connection.open()

    @property
    def fd(self) -> bool:
        return bool(self.stack.params.can_fd)

    def close(self) -> None:
        """Stop can-isotp's threads (the CAN link is closed by its owner)."""
        if self.connection.is_open():
            self.connection.close()


def isotp_address(address: NodeAddress) -> isotp.Address:
    """can-isotp's view of a node's addressing, from the tester's side.

    29-bit normal fixed uses can-isotp's ``NormalFixed_29bits`` with N_TA = the node and N_SA = the
    tester, which yields exactly 0x18DA<TA><SA> out and 0x18DA<SA><TA> in (ISO 15765-2 §10.3.6).
    """
    if address.extended_id:
        return isotp.Address(
            isotp.AddressingMode.NormalFixed_29bits,
            target_address=address.node,
            source_address=address.tester_address,
        )
    return isotp.Address(
        isotp.AddressingMode.Normal_11bits, txid=address.request_id, rxid=address.response_id
    )


def _single_frame_is_valid(data: bytes) -> bool:
    """Is this a single frame ISO 15765-2 lets a receiver accept?

    SF_DL 1..CAN_DL-1 in the low nibble on frames of up to 8 bytes; on longer (CAN FD) frames
    the low nibble is 0 and SF_DL (1..CAN_DL-2) is byte #1.
    """
    low = data[0] & 0x0F
    if len(data) <= 8:
        return 0 < low < len(data)
    return low == 0 and 0 < data[1] <= len(data) - 2


def _first_frame_is_valid(data: bytes) -> bool:
    """Is this a first frame ISO 15765-2 lets a receiver accept?

    A first frame fills a whole frame of at least 8 bytes; FF_DL is at least FF_DLmin (8, or
    CAN_DL - 1 on CAN FD) and the 32-bit escape form is only for FF_DL > 4095.
    """
    if len(data) < 8:
        return False
    length = int.from_bytes(data[0:2], "big") & 0x0FFF
    if length == 0:
        return int.from_bytes(data[2:6], "big") > 0x0FFF
    return length >= (8 if len(data) == 8 else len(data) - 1)


def screen_frame(data: bytes) -> bytes | None:
    """A received frame as can-isotp should see it, or None when ISO 15765-2 says to ignore it.

    A flow control with a reserved FlowStatus (3-15) becomes an overflow (can-isotp then aborts
    the transmission at once, as the standard asks), a reserved STmin (0x80-0xF0, 0xFA-0xFF)
    becomes 0x7F (the standard's "use the longest STmin").
    """
    if not data:
        return None
    pci = data[0] >> 4
    if pci == 0x0:
        return data if _single_frame_is_valid(data) else None
    if pci == 0x1:
        return data if _first_frame_is_valid(data) else None
    if pci == 0x2:
        return data
    if pci != 0x3 or len(data) < 3:
        return None
    status, stmin = min(data[0] & 0x0F, 0x2), data[2]
    if not (stmin <= 0x7F or 0xF1 <= stmin <= 0xF9):
        stmin = STMIN_LONGEST
    return bytes([0x30 | status, data[1], stmin]) + data[3:]

"""The virtual BMS's UDS server (ISO 14229-1) on ISO-TP (ISO 15765-2), one per CAN node.

It is the device's diagnostic stack: sessions with P2/P2* timing and the S3 timeout, seed/key
security access with attempt limiting, identification/telemetry/configuration data identifiers,
DTCs, routines for the programming sequence, and the download services. Transport is can-isotp's
own :class:`isotp.TransportLayer` attached to the shared bus timeline; service parsing and
negative response codes are written from the standard, not from the tool's client (the client
and this server must agree only because both follow ``docs/protocols/uds.md``).

Recovery (and bootloader) mode answers the programming subset only, like a real bootloader.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import queue
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import can
import isotp

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.types import (
    CanAddressing,
    ConfigSnapshot,
    DeviceIdentity,
    DeviceMode,
    DeviceSelfTest,
    Dtc,
    PackTelemetry,
    ParameterValue,
    SlotState,
)
from bmsflasher.sim import uds_codec as codec
from bmsflasher.sim.can_bus import BusPort, CanBusTimeline
from bmsflasher.sim.isotp_frames import screen_frame, single_frame_payload
from bmsflasher.sim.uds_rules import APPLICATION_RULES, BOOTLOADER_RULES
from bmsflasher.sim.uds_transfer import (
    SLOT_BASE_ADDRESS,
    SUPPORTED_COMPRESSION,
    ActiveDownload,
    DownloadDescriptor,
    TransferRefused,
    slot_of_address,
)

_log = logging.getLogger(__name__)
_ISOTP_LOGGER: Final = "bmsflasher.sim.isotp"
# A lossy bus makes can-isotp warn about every broken reception; the error handler already
# records them. Left on, the warnings would flood stderr (and block the device on a full pipe).
logging.getLogger(_ISOTP_LOGGER).setLevel(logging.CRITICAL)

FUNCTIONAL_REQUEST_ID: Final = 0x7DF
PHYSICAL_REQUEST_BASE: Final = 0x7E0
PHYSICAL_RESPONSE_BASE: Final = 0x7E8
MAX_NODES: Final = 8
# 29-bit normal fixed addressing (ISO 15765-2 §10.3.6): 0x18DA<TA><SA> physical, 0x18DB<TA><SA>
# functional, where functional requests carry N_TA 0x33 (ISO 15765-4's "all ECUs").
NORMAL_FIXED_PHYSICAL: Final = 0x18DA0000
NORMAL_FIXED_FUNCTIONAL: Final = 0x18DB0000
FUNCTIONAL_ADDRESS_29BIT: Final = 0x33
DEFAULT_TESTER_ADDRESS_29BIT: Final = 0xF1
#: One-byte addresses a node may take; 0xFE (null) and 0xFF (global) are reserved (SAE J1939-81).
MAX_ADDRESS_29BIT: Final = 0xFD

SESSION_DEFAULT: Final = 0x01
SESSION_PROGRAMMING: Final = 0x02
SESSION_EXTENDED: Final = 0x03

# Negative response codes (ISO 14229-1 Annex A).
NRC_SERVICE_NOT_SUPPORTED: Final = 0x11
NRC_SUBFUNCTION_NOT_SUPPORTED: Final = 0x12
NRC_INCORRECT_LENGTH: Final = 0x13
NRC_CONDITIONS_NOT_CORRECT: Final = 0x22
NRC_REQUEST_SEQUENCE_ERROR: Final = 0x24
NRC_REQUEST_OUT_OF_RANGE: Final = 0x31
NRC_SECURITY_ACCESS_DENIED: Final = 0x33
NRC_INVALID_KEY: Final = 0x35
NRC_EXCEEDED_ATTEMPTS: Final = 0x36
NRC_TIME_DELAY_NOT_EXPIRED: Final = 0x37
NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED: Final = 0x70
NRC_RESPONSE_PENDING: Final = 0x78
NRC_SUBFUNCTION_NOT_IN_SESSION: Final = 0x7E
NRC_SERVICE_NOT_IN_SESSION: Final = 0x7F
#: NRCs a server suppresses for functionally addressed requests (ISO 14229-1).
_FUNCTIONAL_SUPPRESSED: Final = frozenset({0x11, 0x12, 0x31, 0x7E, 0x7F})

# Routine identifiers (docs/protocols/uds.md).
RID_CHECK_MEMORY: Final = 0x0202
RID_CHECK_PRECONDITIONS: Final = 0x0203
RID_ERASE_MEMORY: Final = 0xFF00
RID_CHECK_DEPENDENCIES: Final = 0xFF01
RID_PREPARE_DOWNLOAD: Final = 0xF000
RID_MARK_FOR_TEST: Final = 0xF001
RID_CONFIRM: Final = 0xF002
RID_ROLLBACK: Final = 0xF003
RID_SELF_TEST: Final = 0xF004
RID_SET_BALANCING: Final = 0xF005
RID_SAVE_CONFIG: Final = 0xF006

SECURITY_LEVEL_SEED: Final = 0x01
SECURITY_LEVEL_KEY: Final = 0x02
SEED_LENGTH: Final = 16
KEY_LENGTH: Final = 16
MAX_KEY_ATTEMPTS: Final = 3
_BOOTLOADER_ROUTINES: Final = frozenset(
    {
        RID_CHECK_MEMORY,
        RID_CHECK_PRECONDITIONS,
        RID_ERASE_MEMORY,
        RID_CHECK_DEPENDENCIES,
        RID_PREPARE_DOWNLOAD,
        RID_MARK_FOR_TEST,
        RID_ROLLBACK,
    }
)
_BOOTLOADER_DIDS: Final = frozenset(
    {
        codec.DID_BOOT_SOFTWARE_ID,
        codec.DID_ACTIVE_SESSION,
        codec.DID_SPARE_PART_NUMBER,
        codec.DID_SUPPLIER_ID,
        codec.DID_SERIAL_NUMBER,
        codec.DID_SOFTWARE_VERSION,
        codec.DID_HARDWARE_NUMBER,
        codec.DID_SUPPLIER_HARDWARE_VERSION,
        codec.DID_SUPPLIER_SOFTWARE_VERSION,
        codec.DID_SYSTEM_NAME,
        codec.DID_DEVICE_MODE,
        codec.DID_SECURITY_COUNTER,
        codec.DID_SLOTS,
        codec.DID_TRANSPORT,
        codec.DID_COMPRESSION,
        codec.DID_UPLOAD_STATUS,
    }
)
_PENDING_REPEAT_S: Final = 1.0
_PENDING_FIRST_S: Final = 0.025
#: Bound on sending one response. ISO-TP's own timers end a transfer whose flow control is lost
#: (N_Bs = 1 s); only a tester that keeps answering FC.WAIT (up to _MAX_WAIT_FRAMES of them,
#: each restarting N_Bs) or a very slow bus takes longer.
_ISOTP_SEND_WAIT_S: Final = 40.0
#: FC.WAIT frames in a row the device accepts as a sender before it aborts the transmission.
#: ISO 15765-2 bounds them on the receiver's side (N_WFTmax); this bound only stops a tester
#: that would keep the device waiting forever.
_MAX_WAIT_FRAMES: Final = 32
# Device-side programming preconditions reported by routine 0x0203.
PRECONDITION_SOC_LOW: Final = 0x01
PRECONDITION_SOC_HIGH: Final = 0x02
PRECONDITION_TEMPERATURE: Final = 0x03
PRECONDITION_LOAD: Final = 0x04
# Rejection reasons in routine status records (status byte 0x01 followed by one of these).
REASON_SIGNATURE: Final = 0x01
REASON_DOWNGRADE: Final = 0x02
REASON_STATE: Final = 0x03
REASON_MODE: Final = 0x04


def node_ids(node: int) -> tuple[int, int]:
    """(request ID, response ID) of node 1..8: 0x7E0/0x7E8 for node 1, 0x7E7/0x7EF for node 8."""
    if not 1 <= node <= MAX_NODES:
        raise ValueError(f"UDS node {node} is outside 1..{MAX_NODES}")
    return PHYSICAL_REQUEST_BASE + node - 1, PHYSICAL_RESPONSE_BASE + node - 1


@dataclass(frozen=True, slots=True)
class ServerIds:
    """The CAN identifiers one node listens and answers on.

    Attributes:
        extended_id: 29-bit identifiers (normal fixed addressing).
        request_id: physical requests to this node.
        response_id: this node's responses.
        functional_id: functional requests this node obeys as well.
    """

    extended_id: bool
    request_id: int
    response_id: int
    functional_id: int


def server_ids(addressing: CanAddressing, node: int, tester_address: int) -> ServerIds:
    """The identifiers of a node: ``node`` is 1..8 (11-bit) or the node's own address (29-bit).

    Raises:
        ValueError: the node or tester address is outside what the addressing mode allows.
    """
    if addressing is CanAddressing.NORMAL_11BIT:
        request_id, response_id = node_ids(node)
        return ServerIds(False, request_id, response_id, FUNCTIONAL_REQUEST_ID)
    for what, value in (("node address", node), ("tester address", tester_address)):
        if not 0 <= value <= MAX_ADDRESS_29BIT:
            raise ValueError(f"the 29-bit {what} 0x{value:X} is outside 0x00..0x{MAX_ADDRESS_29BIT:02X}")
    if node == tester_address:
        raise ValueError(f"the node address 0x{node:02X} is the tester's address")
    return ServerIds(
        True,
        request_id=NORMAL_FIXED_PHYSICAL | (node << 8) | tester_address,
        response_id=NORMAL_FIXED_PHYSICAL | (tester_address << 8) | node,
        functional_id=NORMAL_FIXED_FUNCTIONAL | (FUNCTIONAL_ADDRESS_29BIT << 8) | tester_address,
    )


class UploadStatusLike(Protocol):
    """What ``VirtualBms.upload_status()`` returns."""

    slot: int
    offset: int
    total: int
    image_sha256: bytes


class UdsDevice(Protocol):
    """The part of ``sim.device.VirtualBms`` (docs/design/sim-api.md) this server drives."""

    @property
    def mode(self) -> DeviceMode: ...

    @property
    def security_secret(self) -> bytes: ...

    def identity(self) -> DeviceIdentity: ...
    def telemetry(self) -> PackTelemetry: ...
    def config(self) -> ConfigSnapshot: ...
    def config_schema(self) -> Mapping[str, Any]: ...
    def set_parameters(self, values: Mapping[str, ParameterValue]) -> None: ...
    def save_config(self) -> None: ...
    def dtcs(self) -> list[Dtc]: ...
    def clear_dtcs(self) -> None: ...
    def slots(self) -> tuple[SlotState, ...]: ...
    def upload_begin(self, total_size: int, image_sha256: bytes, slot: int = 1) -> int: ...
    def upload_write(self, offset: int, data: bytes) -> int: ...
    def upload_status(self) -> Any: ...
    def erase_slot(self, slot: int) -> None: ...
    def verify_slot(self, slot: int) -> bool: ...
    def mark_pending(self, permanent: bool = False) -> None: ...
    def confirm(self) -> None: ...
    def rollback(self) -> None: ...
    def reset(self) -> None: ...
    def enter_bootloader(self) -> None: ...
    def add_reset_listener(self, cb: Callable[[], None]) -> None: ...
    def self_test(self) -> DeviceSelfTest: ...
    def set_balancing(self, cell: int, on: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class UdsServerConfig:
    """Timing and transport parameters of one node's server.

    Attributes:
        node: node number 1..8 with 11-bit addressing, or the node's own one-byte address
            (0x00..0xFD) with 29-bit normal fixed addressing; decides the CAN identifiers.
        addressing: 11-bit normal (0x7E0+n-1 / 0x7E8+n-1, functional 0x7DF) or 29-bit normal
            fixed (0x18DA<node><tester> / 0x18DA<tester><node>, functional 0x18DB33<tester>).
        tester_address: the tester's one-byte address (29-bit only).
        fd: CAN-FD transport (64-byte frames, bit-rate switch when ``brs``).
        brs: use the bit-rate switch on FD frames.
        max_block_length: maxNumberOfBlockLength announced by RequestDownload (incl. SID+counter).
        block_size: ISO-TP block size the receiver announces in its flow control (0 = no limit).
        stmin: ISO-TP STmin byte the receiver announces (0 = back-to-back).
        p2_ms: P2server_max sent in the session response.
        p2_star_ms: P2*server_max sent in the session response.
        s3_timeout_s: non-default session falls back to default after this long without requests.
        lockout_delay_s: delay after the attempt limit before a new seed is given.
        response_delay_s: extra delay before each response (a slow device or gateway).
    """

    node: int = 1
    addressing: CanAddressing = CanAddressing.NORMAL_11BIT
    tester_address: int = DEFAULT_TESTER_ADDRESS_29BIT
    fd: bool = False
    brs: bool = True
    max_block_length: int = 4095
    block_size: int = 0
    stmin: int = 0
    p2_ms: int = 50
    p2_star_ms: int = 5000
    s3_timeout_s: float = 5.0
    lockout_delay_s: float = 10.0
    response_delay_s: float = 0.0


class NegativeResponse(Exception):  # noqa: N818 -- control flow carrying an NRC, not a failure
    """Raised by a handler to answer ``0x7F SID NRC``."""

    def __init__(self, nrc: int) -> None:
        super().__init__(f"NRC 0x{nrc:02X}")
        self.nrc = nrc


class _Silent(Exception):  # noqa: N818
    """The device has no power: nothing answers."""


class _BusTransport:
    """can-isotp's transport logic wired to one port of the bus timeline, run by the server thread.

    The single-threaded :class:`isotp.TransportLayerLogic` (driven by :meth:`pump`) rather than
    the threaded ``TransportLayer``: one thread per node instead of three, and no queue hand-offs
    per frame, which keeps the emulation ahead of a 1 Mbit/s bus.
    """

    def __init__(
        self, bus: CanBusTimeline, config: UdsServerConfig, on_functional: Callable[[bytes], None]
    ) -> None:
        self.ids = server_ids(config.addressing, config.node, config.tester_address)
        self.request_id, self.response_id = self.ids.request_id, self.ids.response_id
        self._frames: queue.Queue[can.Message] = queue.Queue()
        self._on_functional = on_functional
        self._block_next = False
        self.port: BusPort = bus.attach(f"uds-node-{config.node}", self._on_frame)
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


@dataclass(frozen=True, slots=True)
class _Routine:
    """A routine: the sessions it runs in, whether it needs security access, its start action.

    Every routine of this device runs to completion within its startRoutine request (answering
    0x78 while it takes long), so stopRoutine and requestRoutineResults are answered from the
    status record of the last start; before a start they are a request sequence error.
    """

    sessions: frozenset[int]
    secured: bool
    start: Callable[[bytes], bytes]


class UdsServer:
    """One node's diagnostic server: a thread serving requests from the bus until closed."""

    def __init__(self, device: UdsDevice, bus: CanBusTimeline, config: UdsServerConfig) -> None:
        self.device = device
        self.config = config
        self._lock = threading.RLock()
        self._functional: queue.Queue[bytes] = queue.Queue()
        self._transport = _BusTransport(bus, config, self._functional.put_nowait)
        self._stop = threading.Event()
        self._session = SESSION_DEFAULT
        self._unlocked = False
        self._seed: bytes | None = None
        self._failed_keys = 0
        self._locked_until = 0.0
        self._last_request = time.monotonic()
        self._descriptor: DownloadDescriptor | None = None
        self._download: ActiveDownload | None = None
        self._download_request = b""
        self._self_test: DeviceSelfTest | None = None
        self._routine_results: dict[int, bytes] = {}
        self._pending_reset = False
        self.requests_served = 0
        self.pending_responses_sent = 0
        self._routines = self._routine_table()
        self._services: dict[int, Callable[[bytes], bytes]] = {
            0x10: self._session_control,
            0x11: self._ecu_reset,
            0x14: self._clear_dtcs,
            0x19: self._read_dtcs,
            0x22: self._read_dids,
            0x27: self._security_access,
            0x2E: self._write_did,
            0x31: self._routine_control,
            0x34: self._request_download,
            0x36: self._transfer_data,
            0x37: self._transfer_exit,
            0x3E: self._tester_present,
        }
        device.add_reset_listener(self._on_device_reset)
        self._thread = threading.Thread(target=self._serve_loop, name=f"sim-uds-{config.node}", daemon=True)
        self._thread.start()

    @property
    def request_id(self) -> int:
        return self._transport.request_id

    @property
    def response_id(self) -> int:
        return self._transport.response_id

    @property
    def ids(self) -> ServerIds:
        """Every identifier this node uses (format, physical, functional)."""
        return self._transport.ids

    @property
    def session(self) -> int:
        return self._session

    def close(self) -> None:
        """Stop serving and leave the bus."""
        self._stop.set()
        self._thread.join(timeout=3.0)
        self._transport.close()

    # --- state ---------------------------------------------------------------------------------
    def _enter_session(self, session: int) -> None:
        if session != self._session or session != SESSION_DEFAULT:
            self._unlocked = False
            self._seed = None
        self._session = session
        self._download = None
        if session == SESSION_DEFAULT:
            self._descriptor = None

    def _on_device_reset(self) -> None:
        """A reboot (ours or another front-end's) ends sessions, security and transfers."""
        with self._lock:
            self._enter_session(SESSION_DEFAULT)
            self._self_test = None
            self._routine_results.clear()

    def _check_s3(self) -> None:
        with self._lock:
            if (
                self._session != SESSION_DEFAULT
                and time.monotonic() - self._last_request > self.config.s3_timeout_s
            ):
                _log.info("S3 timeout: back to the default session")
                self._enter_session(SESSION_DEFAULT)
                try:
                    in_bootloader = self.device.mode is DeviceMode.BOOTLOADER
                except BmsFlasherError:
                    in_bootloader = False
                if in_bootloader:
                    self._pending_reset = True

    @property
    def _bootloader_only(self) -> bool:
        return self._call(lambda: self.device.mode) is not DeviceMode.APPLICATION

    # --- the serving loop ---------------------------------------------------------------------
    def _serve_loop(self) -> None:
        while not self._stop.is_set():
            payload = self._transport.pump(0.05)
            if payload is not None:
                self._serve_one(payload, False)
            try:
                while True:
                    self._serve_one(self._functional.get_nowait(), True)
            except queue.Empty:
                pass
            self._check_s3()
            if self._pending_reset:
                self._pending_reset = False
                self._do_reset()

    def _serve_one(self, request: bytes, functional: bool) -> None:
        if not request:
            return
        self._check_s3()
        sid = request[0]
        with self._lock:
            self._last_request = time.monotonic()
            try:
                response: bytes | None = self._dispatch(sid, request)
            except NegativeResponse as exc:
                if functional and exc.nrc in _FUNCTIONAL_SUPPRESSED:
                    return
                response = bytes([0x7F, sid, exc.nrc])
            except _Silent:
                return
            self.requests_served += 1
        if response is None:
            return
        if self.config.response_delay_s:
            time.sleep(self.config.response_delay_s)
        self._transport.send_and_wait(response, self._stop)
        # S3 runs from the end of the response (ISO 14229-2), not from the request.
        self._last_request = time.monotonic()
        if self._pending_reset:
            self._pending_reset = False
            self._do_reset()

    def _dispatch(self, sid: int, request: bytes) -> bytes | None:
        """General checks in the standard's order (sim/uds_rules.py), then the service handler.

        The suppressPosRspMsgIndicationBit suppresses positive responses only, and not even those
        once a 0x78 response-pending was sent for the request (ISO 14229-1).
        """
        rules = BOOTLOADER_RULES if self._bootloader_only else APPLICATION_RULES
        rule = rules.get(sid)
        handler = self._services.get(sid)
        if rule is None or handler is None:
            raise NegativeResponse(NRC_SERVICE_NOT_SUPPORTED)
        nrc = rule.check(request, self._session, self._unlocked)
        if nrc:
            raise NegativeResponse(nrc)
        pending_before = self.pending_responses_sent
        response = handler(request)
        if rule.suppresses_positive_response(request) and self.pending_responses_sent == pending_before:
            return None
        return response

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Call the device, mapping "no power" to silence and a refused mode to 0x22."""
        try:
            return fn()
        except BmsFlasherError as exc:
            name = type(exc).__name__
            if name == "SimPoweredOffError":
                raise _Silent from exc
            if name in ("SimModeError", "SimStateError"):
                raise NegativeResponse(NRC_CONDITIONS_NOT_CORRECT) from exc
            raise

    def _slow(self, sid: int, fn: Callable[[], Any]) -> Any:
        """Run a long device operation, answering 0x78 (response pending) until it finishes."""
        result: list[Any] = []
        error: list[BaseException] = []

        def work() -> None:
            try:
                result.append(self._call(fn))
            except BaseException as exc:  # noqa: BLE001 -- re-raised on the serving thread below
                error.append(exc)

        worker = threading.Thread(target=work, name="sim-uds-slow", daemon=True)
        worker.start()
        worker.join(_PENDING_FIRST_S)
        while worker.is_alive():
            self._transport.send_and_wait(bytes([0x7F, sid, NRC_RESPONSE_PENDING]), self._stop)
            self.pending_responses_sent += 1
            self._last_request = time.monotonic()
            worker.join(_PENDING_REPEAT_S)
        if error:
            raise error[0]
        return result[0] if result else None

    def _do_reset(self) -> None:
        try:
            self._call(self.device.reset)
        except (_Silent, NegativeResponse):
            return
        with self._lock:
            self._enter_session(SESSION_DEFAULT)
        # Requests that arrived while the device was rebooting were never seen by it.
        self._transport.drop_pending()
        while True:
            try:
                self._functional.get_nowait()
            except queue.Empty:
                break

    # --- helpers -------------------------------------------------------------------------------
    @staticmethod
    def _need_length(request: bytes, exact: int | None = None, minimum: int | None = None) -> None:
        if exact is not None and len(request) != exact:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        if minimum is not None and len(request) < minimum:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)

    def _need_unlocked(self) -> None:
        if not self._unlocked:
            raise NegativeResponse(NRC_SECURITY_ACCESS_DENIED)

    # --- 0x10 DiagnosticSessionControl ---------------------------------------------------------
    def _session_control(self, request: bytes) -> bytes:
        # Sub-function support per mode and session (0x12/0x7E) is checked by the rules table.
        self._need_length(request, exact=2)
        session = request[1] & 0x7F
        mode = self._call(lambda: self.device.mode)
        in_bootloader = mode is not DeviceMode.APPLICATION
        if session == SESSION_PROGRAMMING and not in_bootloader:
            self._call(self.device.enter_bootloader)  # the application hands over to the bootloader
        if session == SESSION_DEFAULT and mode is DeviceMode.BOOTLOADER:
            # Leaving the programming session restarts the ECU into its application (after the answer).
            self._pending_reset = True
        self._enter_session(session)
        return bytes([0x50, session]) + struct.pack(">HH", self.config.p2_ms, self.config.p2_star_ms // 10)

    # --- 0x11 ECUReset -------------------------------------------------------------------------
    def _ecu_reset(self, request: bytes) -> bytes:
        self._need_length(request, exact=2)
        kind = request[1] & 0x7F
        self._pending_reset = True  # after the response has left
        return bytes([0x51, kind])

    # --- 0x27 SecurityAccess -------------------------------------------------------------------
    def _security_access(self, request: bytes) -> bytes:
        # Session (0x7F), minimum length and the levels offered (0x12) are checked by the rules.
        kind = request[1] & 0x7F
        if kind == SECURITY_LEVEL_SEED:
            self._need_length(request, exact=2)
            if time.monotonic() < self._locked_until:
                raise NegativeResponse(NRC_TIME_DELAY_NOT_EXPIRED)
            if self._unlocked:
                return bytes([0x67, kind]) + bytes(SEED_LENGTH)
            self._seed = os.urandom(SEED_LENGTH)
            return bytes([0x67, kind]) + self._seed
        if kind == SECURITY_LEVEL_KEY:
            self._need_length(request, exact=2 + KEY_LENGTH)
            if self._seed is None:
                raise NegativeResponse(NRC_REQUEST_SEQUENCE_ERROR)
            seed, self._seed = self._seed, None
            secret = self._call(lambda: self.device.security_secret)
            expected = hmac.new(secret, seed, hashlib.sha256).digest()[:KEY_LENGTH]
            if hmac.compare_digest(expected, request[2:]):
                self._unlocked = True
                self._failed_keys = 0
                return bytes([0x67, kind])
            self._failed_keys += 1
            if self._failed_keys >= MAX_KEY_ATTEMPTS:
                self._failed_keys = 0
                self._locked_until = time.monotonic() + self.config.lockout_delay_s
                raise NegativeResponse(NRC_EXCEEDED_ATTEMPTS)
            raise NegativeResponse(NRC_INVALID_KEY)
        raise NegativeResponse(NRC_SUBFUNCTION_NOT_SUPPORTED)

    # --- 0x3E TesterPresent --------------------------------------------------------------------
    def _tester_present(self, request: bytes) -> bytes:
        self._need_length(request, exact=2)
        return bytes([0x7E, 0x00])

    # --- 0x22 / 0x2E data identifiers ----------------------------------------------------------
    def _read_dids(self, request: bytes) -> bytes:
        """ReadDataByIdentifier of one or more DIDs.

        ISO 14229-1: DIDs the server does not support (in this session or mode) are left out
        of the answer; NRC 0x31 only when none of the requested DIDs is supported.
        """
        if len(request) < 3 or (len(request) - 1) % 2:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        out = bytearray([0x62])
        supported = 0
        for index in range(1, len(request), 2):
            did = (request[index] << 8) | request[index + 1]
            try:
                record = self._read_did(did)
            except NegativeResponse as exc:
                if exc.nrc != NRC_REQUEST_OUT_OF_RANGE:
                    raise
                continue
            supported += 1
            out += did.to_bytes(2, "big") + record
        if not supported:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        if len(out) > self.config.max_block_length:
            raise NegativeResponse(0x14)  # responseTooLong
        return bytes(out)

    def _read_did(self, did: int) -> bytes:
        if self._bootloader_only and did not in _BOOTLOADER_DIDS:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        device = self.device
        if 0xF180 <= did <= 0xF19F:
            return self._identity_did(did)
        simple: dict[int, Callable[[], bytes]] = {
            codec.DID_DEVICE_MODE: lambda: bytes([codec.MODE_CODES[device.mode]]),
            codec.DID_SECURITY_COUNTER: lambda: struct.pack(">I", device.identity().security_counter),
            codec.DID_SLOTS: lambda: codec.encode_slots(device.slots()),
            codec.DID_TRANSPORT: self._transport_caps,
            codec.DID_COMPRESSION: lambda: bytes([sum(1 << m for m in SUPPORTED_COMPRESSION)]),
            codec.DID_UPLOAD_STATUS: self._upload_status,
            codec.DID_PACK: lambda: codec.encode_pack(device.telemetry()),
            codec.DID_CELLS: lambda: codec.encode_cells(device.telemetry()),
            codec.DID_TEMPERATURES: lambda: codec.encode_temperatures(device.telemetry()),
            codec.DID_BALANCING: lambda: codec.encode_balancing(device.telemetry()),
            codec.DID_ALARMS: lambda: codec.encode_alarms(device.telemetry()),
            codec.DID_CONFIG_SCHEMA: self._config_schema,
            codec.DID_DTC_TEXTS: lambda: codec.encode_dtc_texts(device.dtcs()),
            codec.DID_SELF_TEST: self._last_self_test,
        }
        if did in simple:
            return bytes(self._call(simple[did]))
        if codec.DID_CONFIG_BASE <= did < codec.DID_CONFIG_BASE + codec.CONFIG_DID_LIMIT:
            name, kind = self._config_param(did)
            value = self._call(device.config).parameters[name]
            return codec.encode_param(kind, value)
        raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)

    def _identity_did(self, did: int) -> bytes:
        if did == codec.DID_ACTIVE_SESSION:
            return bytes([self._session])
        ident: DeviceIdentity = self._call(self.device.identity)
        firmware = str(ident.firmware_version) if ident.firmware_version else ""
        bootloader = str(ident.bootloader_version) if ident.bootloader_version else ""
        table = {
            codec.DID_BOOT_SOFTWARE_ID: bootloader,
            codec.DID_SPARE_PART_NUMBER: ident.model,
            codec.DID_SUPPLIER_ID: codec.SUPPLIER_NAME,
            codec.DID_SERIAL_NUMBER: ident.serial_number,
            codec.DID_SOFTWARE_VERSION: firmware,
            codec.DID_HARDWARE_NUMBER: ident.hardware_revision,
            codec.DID_SUPPLIER_HARDWARE_VERSION: ident.hardware_revision,
            codec.DID_SUPPLIER_SOFTWARE_VERSION: firmware,
            codec.DID_SYSTEM_NAME: ident.model,
        }
        if did not in table:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        return codec.ascii_field(table[did])

    def _transport_caps(self) -> bytes:
        cfg = self.config
        return codec.TransportCaps(
            fd=cfg.fd,
            max_data_length=64 if cfg.fd else 8,
            block_size=cfg.block_size,
            stmin=cfg.stmin,
            max_block_length=cfg.max_block_length,
        ).encode()

    def _upload_status(self) -> bytes:
        status = self.device.upload_status()
        return codec.encode_upload_status(
            status.slot, status.offset, status.total, bytes(status.image_sha256)
        )

    def _last_self_test(self) -> bytes:
        if self._self_test is None:
            raise NegativeResponse(NRC_CONDITIONS_NOT_CORRECT)
        return codec.encode_self_test(self._self_test)

    def _param_names(self) -> list[str]:
        return list(self._call(self.device.config_schema).keys())

    def _config_schema(self) -> bytes:
        schema = self.device.config_schema()
        snapshot = self.device.config()
        return codec.encode_config_schema(
            snapshot.schema_version, list(schema.keys()), schema, snapshot.parameters
        )

    def _config_param(self, did: int) -> tuple[str, type]:
        schema = self._call(self.device.config_schema)
        names = list(schema.keys())
        index = did - codec.DID_CONFIG_BASE
        if index >= len(names):
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        name = names[index]
        current = self._call(self.device.config).parameters.get(name)
        return name, codec.param_type_of(schema[name], current)

    def _write_did(self, request: bytes) -> bytes:
        # ISO 14229-1 order: length, DID writable here (0x31), security (0x33), record
        # length (0x13), record value (0x31). The session (0x7F) is checked by the rules table.
        self._need_length(request, minimum=4)
        did = (request[1] << 8) | request[2]
        if not codec.DID_CONFIG_BASE <= did < codec.DID_CONFIG_BASE + codec.CONFIG_DID_LIMIT:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        name, kind = self._config_param(did)
        schema = self._call(self.device.config_schema)
        if not bool(getattr(schema[name], "writable", True)):
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        self._need_unlocked()
        record = request[3:]
        if kind is bool and len(record) == 1 and record[0] > 1:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)  # right length, value out of range
        try:
            value = codec.decode_param(kind, record)
        except (ValueError, UnicodeDecodeError) as exc:
            raise NegativeResponse(NRC_INCORRECT_LENGTH) from exc
        try:
            self._call(lambda: self.device.set_parameters({name: value}))
        except BmsFlasherError as exc:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE) from exc
        return bytes([0x6E]) + request[1:3]

    # --- 0x19 / 0x14 DTCs ----------------------------------------------------------------------
    def _read_dtcs(self, request: bytes) -> bytes:
        kind = request[1]  # report types offered (0x12) are checked by the rules table
        availability = 0xFF
        dtcs: list[Dtc] = self._call(self.device.dtcs)
        if kind == 0x01:  # reportNumberOfDTCByStatusMask
            self._need_length(request, exact=3)
            count = sum(1 for d in dtcs if d.status & request[2])
            return bytes([0x59, 0x01, availability, 0x01]) + struct.pack(">H", count)
        if kind == 0x02:  # reportDTCByStatusMask
            self._need_length(request, exact=3)
            records = b"".join(
                d.code.to_bytes(3, "big") + bytes([d.status]) for d in dtcs if d.status & request[2]
            )
            return bytes([0x59, 0x02, availability]) + records
        if kind == 0x0A:  # reportSupportedDTC
            self._need_length(request, exact=2)
            records = b"".join(d.code.to_bytes(3, "big") + bytes([d.status]) for d in dtcs)
            return bytes([0x59, 0x0A, availability]) + records
        if kind == 0x08:  # reportDTCBySeverityMaskRecord
            self._need_length(request, exact=4)
            severity_mask, status_mask = request[2], request[3]
            records = b"".join(
                bytes([codec.SEVERITY_BITS[d.severity], 0x00]) + d.code.to_bytes(3, "big") + bytes([d.status])
                for d in dtcs
                if d.status & status_mask and codec.SEVERITY_BITS[d.severity] & severity_mask
            )
            return bytes([0x59, 0x08, availability]) + records
        raise NegativeResponse(NRC_SUBFUNCTION_NOT_SUPPORTED)

    def _clear_dtcs(self, request: bytes) -> bytes:
        if len(request) not in (4, 5):
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        group = int.from_bytes(request[1:4], "big")
        if group != 0xFFFFFF:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        self._call(self.device.clear_dtcs)
        return bytes([0x54])

    # --- 0x31 RoutineControl -------------------------------------------------------------------
    def _routine_table(self) -> dict[int, _Routine]:
        programming = frozenset({SESSION_PROGRAMMING})
        service = frozenset({SESSION_EXTENDED, SESSION_PROGRAMMING})
        return {
            RID_CHECK_MEMORY: _Routine(programming, False, self._rt_check_memory),
            RID_CHECK_PRECONDITIONS: _Routine(service, False, self._rt_preconditions),
            RID_ERASE_MEMORY: _Routine(programming, True, self._rt_erase),
            RID_CHECK_DEPENDENCIES: _Routine(service, False, self._rt_check_memory),
            RID_PREPARE_DOWNLOAD: _Routine(programming, True, self._rt_prepare_download),
            RID_MARK_FOR_TEST: _Routine(service, True, self._rt_mark_for_test),
            RID_CONFIRM: _Routine(service, True, self._rt_confirm),
            RID_ROLLBACK: _Routine(service, True, self._rt_rollback),
            RID_SELF_TEST: _Routine(service, False, self._rt_self_test),
            RID_SET_BALANCING: _Routine(service, True, self._rt_balancing),
            RID_SAVE_CONFIG: _Routine(service, True, self._rt_save_config),
        }

    def _routine_control(self, request: bytes) -> bytes:
        """RoutineControl after the general checks (session 0x7F, control type 0x12/0x7E).

        ISO 14229-1 order: length (0x13), routine identifier supported in the active
        session and mode (0x31), security (0x33), sequence (0x24), then the routine's own checks.
        The response's first status byte is the routineInfo (00 done / 01 refused).
        """
        self._need_length(request, minimum=4)
        kind = request[1] & 0x7F
        rid = (request[2] << 8) | request[3]
        routine = self._routines.get(rid)
        if routine is None or (self._bootloader_only and rid not in _BOOTLOADER_ROUTINES):
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        if self._session not in routine.sessions:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        if routine.secured:
            self._need_unlocked()
        option = request[4:]
        if kind == 0x01:
            status = routine.start(option)
            self._routine_results[rid] = status
        else:
            if rid not in self._routine_results:
                raise NegativeResponse(NRC_REQUEST_SEQUENCE_ERROR)  # stop/results before a start
            if option:
                raise NegativeResponse(NRC_INCORRECT_LENGTH)
            # The routine already ran to completion: stopping it is a no-op reported as done.
            status = self._routine_results[rid] if kind == 0x03 else bytes([0x00])
        return bytes([0x71, kind]) + request[2:4] + status

    def _option_slot(self, option: bytes) -> int:
        if len(option) > 1:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        if option:
            if option[0] not in SLOT_BASE_ADDRESS:
                raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
            return option[0]
        if self._descriptor is not None:
            return self._descriptor.slot
        return 0 if self._call(lambda: self.device.mode) is DeviceMode.RECOVERY else 1

    def _rt_check_memory(self, option: bytes) -> bytes:
        slot = self._option_slot(option)
        ok = self._slow(0x31, lambda: self.device.verify_slot(slot))
        if ok:
            return bytes([0x00])
        problem = getattr(self.device, "image_problem", None)
        text = str(self._call(lambda: problem(slot))) if problem is not None else ""
        return bytes([0x01, REASON_DOWNGRADE if "anti-rollback" in text else REASON_SIGNATURE])

    def _rt_preconditions(self, option: bytes) -> bytes:
        if option:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        try:
            telemetry: PackTelemetry = self._call(self.device.telemetry)
        except NegativeResponse:
            return bytes([0x00, 0x00])  # a bootloader cannot measure: nothing to object to
        failed: list[int] = []
        if telemetry.soc_pct < 20.0:
            failed.append(PRECONDITION_SOC_LOW)
        if telemetry.soc_pct > 80.0:
            failed.append(PRECONDITION_SOC_HIGH)
        temps = [t for t in telemetry.temperatures_c if t is not None]
        if temps and (min(temps) < 0.0 or max(temps) > 45.0):
            failed.append(PRECONDITION_TEMPERATURE)
        if abs(telemetry.current_ma) > 1000:
            failed.append(PRECONDITION_LOAD)
        return bytes([0x01 if failed else 0x00, len(failed), *failed])

    def _rt_erase(self, option: bytes) -> bytes:
        if option:
            if len(option) < 1:
                raise NegativeResponse(NRC_INCORRECT_LENGTH)
            address_len, size_len = option[0] & 0x0F, option[0] >> 4
            if len(option) != 1 + address_len + size_len or not 1 <= address_len <= 4:
                raise NegativeResponse(NRC_INCORRECT_LENGTH)
            address = int.from_bytes(option[1 : 1 + address_len], "big")
            try:
                slot, offset = slot_of_address(address)
            except TransferRefused as exc:
                raise NegativeResponse(exc.nrc) from exc
            if offset:
                raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        else:
            slot = self._option_slot(b"")
        self._need_writable_slot(slot)
        try:
            self._slow(0x31, lambda: self.device.erase_slot(slot))
        except BmsFlasherError as exc:
            raise NegativeResponse(0x72) from exc
        return bytes([0x00])

    def _need_writable_slot(self, slot: int) -> None:
        mode = self._call(lambda: self.device.mode)
        if slot == 0 and mode is not DeviceMode.RECOVERY:
            raise NegativeResponse(NRC_CONDITIONS_NOT_CORRECT)  # never overwrite the running image

    def _rt_prepare_download(self, option: bytes) -> bytes:
        if len(option) != 1 + 4 + 32:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        slot = option[0]
        if slot not in SLOT_BASE_ADDRESS:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        self._need_writable_slot(slot)
        total = int.from_bytes(option[1:5], "big")
        sha256 = bytes(option[5:])
        if total == 0:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        self._descriptor = DownloadDescriptor(slot=slot, total_size=total, sha256=sha256)
        self._download = None
        try:
            # Starts the upload, or resumes it: the offset the flash already holds for this image.
            held, reason = self._slow(0x31, lambda: self._begin_upload(total, sha256, slot))
        except BmsFlasherError as exc:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE) from exc  # e.g. does not fit the slot
        if reason:
            # The device cannot take an image now (e.g. the running image is still on test):
            # the routine ran and reports it; a RequestDownload would be refused with 0x70.
            return bytes([0x01, reason])
        return bytes([0x00]) + struct.pack(">I", held)

    def _begin_upload(self, total: int, sha256: bytes, slot: int) -> tuple[int, int]:
        """``upload_begin`` → (offset held, 0), or (0, reason) when the device refuses for now."""
        try:
            return int(self.device.upload_begin(total, sha256, slot)), 0
        except BmsFlasherError as exc:
            name = type(exc).__name__
            if name == "SimModeError":
                return 0, REASON_MODE
            if name == "SimStateError":
                return 0, REASON_STATE
            raise

    def _image_call(self, fn: Callable[[], None]) -> bytes:
        """Run an image-state operation; a refusal becomes status 0x01 plus a reason byte."""
        try:
            self._call(fn)
        except NegativeResponse:
            return bytes([0x01, REASON_STATE])
        except BmsFlasherError as exc:
            names = {cls.__name__ for cls in type(exc).__mro__}
            if "DowngradeError" in names:
                return bytes([0x01, REASON_DOWNGRADE])
            if "SignatureError" in names:
                return bytes([0x01, REASON_SIGNATURE])
            if "UnsupportedOperationError" in names:
                return bytes([0x01, REASON_MODE])
            return bytes([0x01, REASON_STATE])
        return bytes([0x00])

    def _rt_mark_for_test(self, option: bytes) -> bytes:
        if len(option) > 1:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        permanent = bool(option[0]) if option else False
        return self._image_call(lambda: self.device.mark_pending(permanent))

    def _rt_confirm(self, option: bytes) -> bytes:
        if option:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        return self._image_call(self.device.confirm)

    def _rt_rollback(self, option: bytes) -> bytes:
        if option:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        return self._image_call(self.device.rollback)

    def _rt_self_test(self, option: bytes) -> bytes:
        if option:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        result: DeviceSelfTest = self._slow(0x31, self.device.self_test)
        self._self_test = result
        return bytes([0x00]) + codec.encode_self_test(result)

    def _rt_balancing(self, option: bytes) -> bytes:
        if len(option) != 3:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        cell = int.from_bytes(option[0:2], "big")
        on = option[2]
        if on > 1:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        try:
            self._call(lambda: self.device.set_balancing(cell, bool(on)))
        except (BmsFlasherError, ValueError, IndexError) as exc:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE) from exc
        return bytes([0x00])

    def _rt_save_config(self, option: bytes) -> bytes:
        if option:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        try:
            self._slow(0x31, self.device.save_config)
        except BmsFlasherError as exc:
            raise NegativeResponse(0x72) from exc
        return bytes([0x00])

    # --- 0x34 / 0x36 / 0x37 download -----------------------------------------------------------
    def _request_download(self, request: bytes) -> bytes:
        """RequestDownload after the general checks (programming session 0x7F, security 0x33).

        ISO 14229-1 order: minimum length (0x13), dataFormatIdentifier (0x31),
        addressAndLengthFormatIdentifier (0x31), total length (0x13), memory address and size
        (0x31), then conditions: a download already in progress (0x22), nothing announced (0x22),
        the device refusing the image (0x70).
        """
        self._need_length(request, minimum=5)
        dfi, alfid = request[1], request[2]
        compression, encryption = dfi >> 4, dfi & 0x0F
        if compression not in SUPPORTED_COMPRESSION or encryption != 0:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        address_len, size_len = alfid & 0x0F, alfid >> 4
        if not (1 <= address_len <= 4 and 1 <= size_len <= 4):
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        if len(request) != 3 + address_len + size_len:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        address = int.from_bytes(request[3 : 3 + address_len], "big")
        size = int.from_bytes(request[3 + address_len :], "big")
        try:
            slot, offset = slot_of_address(address)
        except TransferRefused as exc:
            raise NegativeResponse(exc.nrc) from exc
        if size == 0:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        if self._download is not None:
            if request == self._download_request and self._download.blocks == 0:
                # The same request again before any block: the client lost our answer and
                # repeats it. Answer it again rather than refuse a harmless retry.
                return self._download_response()
            raise NegativeResponse(NRC_CONDITIONS_NOT_CORRECT)  # a download is already in progress
        descriptor = self._descriptor
        if descriptor is None:
            raise NegativeResponse(NRC_CONDITIONS_NOT_CORRECT)  # no image announced (routine 0xF000)
        if slot != descriptor.slot or offset + size != descriptor.total_size:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        try:
            held = self._call(
                lambda: self.device.upload_begin(descriptor.total_size, descriptor.sha256, slot)
            )
        except (NegativeResponse, BmsFlasherError) as exc:
            raise NegativeResponse(NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED) from exc
        if held != offset:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)  # not where the device's flash stands
        self._download = ActiveDownload(offset, size, compression, self._flash_write)
        self._download_request = bytes(request)
        return self._download_response()

    def _download_response(self) -> bytes:
        """``74 LFI maxNumberOfBlockLength``: the length in as few bytes as it needs (at least 2)."""
        length = self.config.max_block_length
        width = max(2, (length.bit_length() + 7) // 8)
        return bytes([0x74, width << 4]) + length.to_bytes(width, "big")

    def _flash_write(self, offset: int, data: bytes) -> int:
        try:
            return int(self._call(lambda: self.device.upload_write(offset, data)))
        except NegativeResponse as exc:
            raise TransferRefused(0x72, "flash not writable now") from exc
        except BmsFlasherError as exc:
            raise TransferRefused(0x72, str(exc)) from exc

    def _transfer_data(self, request: bytes) -> bytes:
        self._need_length(request, minimum=2)
        download = self._download
        if download is None:
            raise NegativeResponse(NRC_REQUEST_SEQUENCE_ERROR)
        if len(request) > self.config.max_block_length:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        counter = request[1]
        try:
            download.transfer(counter, request[2:])
        except TransferRefused as exc:
            if exc.nrc != 0x73:
                self._download = None  # the transfer is broken; the client resumes from the flash offset
            raise NegativeResponse(exc.nrc) from exc
        return bytes([0x76, counter])

    def _transfer_exit(self, request: bytes) -> bytes:
        download = self._download
        if download is None:
            raise NegativeResponse(NRC_REQUEST_SEQUENCE_ERROR)
        if not download.complete:
            # ISO 14229-1: exit before all announced data arrived is a sequence error; the
            # download stays open so the client can send the missing blocks.
            raise NegativeResponse(NRC_REQUEST_SEQUENCE_ERROR)
        self._download = None
        return bytes([0x77]) + struct.pack(">I", download.offset)

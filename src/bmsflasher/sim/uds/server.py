"""The virtual BMS's UDS server (ISO 14229-1) on ISO-TP (ISO 15765-2), one per CAN node.

It is the device's diagnostic stack: sessions with P2/P2* timing and the S3 timeout, seed/key
security access with attempt limiting, identification/telemetry/configuration data identifiers,
DTCs, routines for the programming sequence, and the download services. Service parsing and
negative response codes are written from the standard, not from the tool's client (the client
and this server must agree only because both follow ``docs/protocols/uds.md``).

This module is the server itself: the serving thread and its lifecycle, the general request
checks in the standard's order (``sim/uds/rules.py``), the service dispatch table and what a
device reset ends. The parts live next to it, one reason to change each:

* ``server_config.py``: CAN identifiers, :class:`UdsServerConfig`, the device protocol;
* ``bus_transport.py``: the ISO-TP endpoint on the simulated bus (classic CAN and CAN-FD);
* ``nrc.py`` / ``device_calls.py``: negative responses, calling the device (0x78 pending);
* ``services_session.py``: 0x10, 0x11, 0x27, 0x3E, S3 and the security lockout;
* ``services_auth.py``: 0x29 on a device started with ``--auth certificate`` (it offers no 0x27);
* ``services_data.py``: 0x22, 0x2E, 0x19, 0x14;
* ``services_routines.py``: 0x31 and the routines;
* ``services_download.py``: 0x34, 0x36, 0x37 (``transfer.py`` holds the block state).

Recovery (and bootloader) mode answers the programming subset only, like a real bootloader.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from bmsflasher.sim.options import DeviceAuth
from bmsflasher.sim.uds.bus_transport import BusTransport, CanMedium
from bmsflasher.sim.uds.device_calls import DeviceCalls, DeviceSilent
from bmsflasher.sim.uds.nrc import (
    FUNCTIONAL_SUPPRESSED,
    NRC_AUTHENTICATION_REQUIRED,
    NRC_CONDITIONS_NOT_CORRECT,
    NRC_EXCEEDED_ATTEMPTS,
    NRC_INCORRECT_LENGTH,
    NRC_INVALID_KEY,
    NRC_REQUEST_OUT_OF_RANGE,
    NRC_REQUEST_SEQUENCE_ERROR,
    NRC_RESPONSE_PENDING,
    NRC_SECURITY_ACCESS_DENIED,
    NRC_SERVICE_NOT_IN_SESSION,
    NRC_SERVICE_NOT_SUPPORTED,
    NRC_SUBFUNCTION_NOT_IN_SESSION,
    NRC_SUBFUNCTION_NOT_SUPPORTED,
    NRC_TIME_DELAY_NOT_EXPIRED,
    NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED,
    NegativeResponse,
)
from bmsflasher.sim.uds.rules import APPLICATION_RULES, BOOTLOADER_RULES
from bmsflasher.sim.uds.server_config import (
    DEFAULT_TESTER_ADDRESS_29BIT,
    FUNCTIONAL_ADDRESS_29BIT,
    FUNCTIONAL_REQUEST_ID,
    MAX_ADDRESS_29BIT,
    MAX_NODES,
    NORMAL_FIXED_FUNCTIONAL,
    NORMAL_FIXED_PHYSICAL,
    PHYSICAL_REQUEST_BASE,
    PHYSICAL_RESPONSE_BASE,
    ServerIds,
    UdsDevice,
    UdsServerConfig,
    UploadStatusLike,
    node_ids,
    server_ids,
)
from bmsflasher.sim.uds.services_auth import AuthServices
from bmsflasher.sim.uds.services_data import DataServices
from bmsflasher.sim.uds.services_download import DownloadServices, TransferState
from bmsflasher.sim.uds.services_routines import (
    PRECONDITION_LOAD,
    PRECONDITION_SOC_HIGH,
    PRECONDITION_SOC_LOW,
    PRECONDITION_TEMPERATURE,
    REASON_DOWNGRADE,
    REASON_MODE,
    REASON_SIGNATURE,
    REASON_STATE,
    RID_CHECK_DEPENDENCIES,
    RID_CHECK_MEMORY,
    RID_CHECK_PRECONDITIONS,
    RID_CONFIRM,
    RID_ERASE_MEMORY,
    RID_MARK_FOR_TEST,
    RID_PREPARE_DOWNLOAD,
    RID_ROLLBACK,
    RID_SAVE_CONFIG,
    RID_SELF_TEST,
    RID_SET_BALANCING,
    RoutineServices,
)
from bmsflasher.sim.uds.services_session import (
    KEY_LENGTH,
    MAX_KEY_ATTEMPTS,
    SECURITY_LEVEL_KEY,
    SECURITY_LEVEL_SEED,
    SEED_LENGTH,
    SESSION_DEFAULT,
    SESSION_EXTENDED,
    SESSION_PROGRAMMING,
    SessionServices,
    SessionState,
)

# The names other modules and tests import from here (this module was once the whole server).
__all__ = [
    "DEFAULT_TESTER_ADDRESS_29BIT",
    "FUNCTIONAL_ADDRESS_29BIT",
    "FUNCTIONAL_REQUEST_ID",
    "KEY_LENGTH",
    "MAX_ADDRESS_29BIT",
    "MAX_KEY_ATTEMPTS",
    "MAX_NODES",
    "NORMAL_FIXED_FUNCTIONAL",
    "NORMAL_FIXED_PHYSICAL",
    "NRC_CONDITIONS_NOT_CORRECT",
    "NRC_EXCEEDED_ATTEMPTS",
    "NRC_INCORRECT_LENGTH",
    "NRC_INVALID_KEY",
    "NRC_REQUEST_OUT_OF_RANGE",
    "NRC_REQUEST_SEQUENCE_ERROR",
    "NRC_RESPONSE_PENDING",
    "NRC_SECURITY_ACCESS_DENIED",
    "NRC_SERVICE_NOT_IN_SESSION",
    "NRC_SERVICE_NOT_SUPPORTED",
    "NRC_SUBFUNCTION_NOT_IN_SESSION",
    "NRC_SUBFUNCTION_NOT_SUPPORTED",
    "NRC_TIME_DELAY_NOT_EXPIRED",
    "NRC_UPLOAD_DOWNLOAD_NOT_ACCEPTED",
    "PHYSICAL_REQUEST_BASE",
    "PHYSICAL_RESPONSE_BASE",
    "PRECONDITION_LOAD",
    "PRECONDITION_SOC_HIGH",
    "PRECONDITION_SOC_LOW",
    "PRECONDITION_TEMPERATURE",
    "REASON_DOWNGRADE",
    "REASON_MODE",
    "REASON_SIGNATURE",
    "REASON_STATE",
    "RID_CHECK_DEPENDENCIES",
    "RID_CHECK_MEMORY",
    "RID_CHECK_PRECONDITIONS",
    "RID_CONFIRM",
    "RID_ERASE_MEMORY",
    "RID_MARK_FOR_TEST",
    "RID_PREPARE_DOWNLOAD",
    "RID_ROLLBACK",
    "RID_SAVE_CONFIG",
    "RID_SELF_TEST",
    "RID_SET_BALANCING",
    "SECURITY_LEVEL_KEY",
    "SECURITY_LEVEL_SEED",
    "SEED_LENGTH",
    "SESSION_DEFAULT",
    "SESSION_EXTENDED",
    "SESSION_PROGRAMMING",
    "NegativeResponse",
    "ServerIds",
    "UdsDevice",
    "UdsServer",
    "UdsServerConfig",
    "UploadStatusLike",
    "node_ids",
    "server_ids",
]


class UdsServer:
    """One node's diagnostic server: a thread serving requests from the bus until closed.

    It composes one handler object per ISO 14229-1 functional unit; the units share only the
    session state (session, security access) and the transfer state (announced image, download).
    """

    def __init__(self, device: UdsDevice, bus: CanMedium, config: UdsServerConfig) -> None:
        self.device = device
        self.config = config
        self._lock = threading.RLock()
        self._functional: queue.Queue[bytes] = queue.Queue()
        self._transport = BusTransport(bus, config, self._functional.put_nowait)
        self._stop = threading.Event()
        self._last_request = time.monotonic()
        self._pending_reset = False
        self.requests_served = 0
        self.pending_responses_sent = 0
        self._calls = DeviceCalls(device, self._send_pending)
        options: Any = getattr(device, "options", None)  # VirtualBms's SimOptions
        auth = getattr(options, "auth", DeviceAuth.SEED_KEY)
        self._session_state = SessionState(auth_required=auth is DeviceAuth.CERTIFICATE)
        self._transfer_state = TransferState()
        self._sessions = SessionServices(
            self._session_state, self._calls, config, self._transfer_state.on_session, self._request_reset
        )
        self._routines = RoutineServices(self._session_state, self._transfer_state, self._calls)
        data = DataServices(self._session_state, self._calls, config, lambda: self._routines.last_self_test)
        download = DownloadServices(self._transfer_state, self._calls, config)
        self._services: dict[int, Callable[[bytes], bytes]] = {
            0x10: self._sessions.session_control,
            0x11: self._sessions.ecu_reset,
            0x14: data.clear_dtcs,
            0x19: data.read_dtcs,
            0x22: data.read_dids,
            0x2E: data.write_did,
            0x31: self._routines.routine_control,
            0x34: download.request_download,
            0x36: download.transfer_data,
            0x37: download.transfer_exit,
            0x3E: self._sessions.tester_present,
        }
        # A device offers one way to authenticate a tester: SecurityAccess or Authentication.
        self._auth: AuthServices | None = None
        if self._session_state.auth_required:
            self._auth = AuthServices(self._session_state, options.auth_anchor, options.auth_crl)
            self._services[0x29] = self._auth.authentication
        else:
            self._services[0x27] = self._sessions.security_access
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
        return self._session_state.session

    def close(self) -> None:
        """Stop serving and leave the bus."""
        self._stop.set()
        self._thread.join(timeout=3.0)
        self._transport.close()

    # --- state ---------------------------------------------------------------------------------
    def _request_reset(self) -> None:
        """Reset the device once the response being prepared has left (or at the next loop turn)."""
        self._pending_reset = True

    def _on_device_reset(self) -> None:
        """A reboot (ours or another front-end's) ends sessions, security and transfers."""
        with self._lock:
            self._sessions.enter(SESSION_DEFAULT)
            self._routines.forget()
            if self._auth is not None:
                self._auth.forget()

    def _check_s3(self) -> None:
        with self._lock:
            self._sessions.check_s3(self._last_request)

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
                if functional and exc.nrc in FUNCTIONAL_SUPPRESSED:
                    return
                response = bytes([0x7F, sid, exc.nrc])
            except DeviceSilent:
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
        """General checks in the standard's order (sim/uds/rules.py), then the service handler.

        The suppressPosRspMsgIndicationBit suppresses positive responses only, and not even those
        once a 0x78 response-pending was sent for the request (ISO 14229-1).
        """
        rules = BOOTLOADER_RULES if self._calls.bootloader_only else APPLICATION_RULES
        rule = rules.get(sid)
        handler = self._services.get(sid)
        if rule is None or handler is None:
            raise NegativeResponse(NRC_SERVICE_NOT_SUPPORTED)
        state = self._session_state
        nrc = rule.check(request, state.session, state.granted)
        if nrc == NRC_SECURITY_ACCESS_DENIED and state.auth_required:
            nrc = NRC_AUTHENTICATION_REQUIRED
        if nrc:
            raise NegativeResponse(nrc)
        pending_before = self.pending_responses_sent
        response = handler(request)
        if rule.suppresses_positive_response(request) and self.pending_responses_sent == pending_before:
            return None
        return response

    def _send_pending(self, sid: int) -> None:
        """Answer 0x78 (response pending) while a slow device operation runs; it restarts S3."""
        self._transport.send_and_wait(bytes([0x7F, sid, NRC_RESPONSE_PENDING]), self._stop)
        self.pending_responses_sent += 1
        self._last_request = time.monotonic()

    def _do_reset(self) -> None:
        try:
            self._calls.call(self.device.reset)
        except (DeviceSilent, NegativeResponse):
            return
        with self._lock:
            self._sessions.enter(SESSION_DEFAULT)
            if self._auth is not None:
                self._auth.forget()
        # Requests that arrived while the device was rebooting were never seen by it.
        self._transport.drop_pending()
        while True:
            try:
                self._functional.get_nowait()
            except queue.Empty:
                break

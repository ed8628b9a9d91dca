"""Diagnostic and communication management services: 0x10, 0x11, 0x27, 0x3E, with S3 and lockout.

ISO 14229-1 groups these as the services that decide *how* a tester may talk to the server:
the active session (with its S3 timeout back to the default session), SecurityAccess with its
seed/key exchange and attempt limiting, ECUReset and TesterPresent. They share one piece of
state, :class:`SessionState`, which the other functional units read (the session a service or
routine is allowed in, whether security access is granted).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.types import DeviceMode
from bmsflasher.sim.uds.device_calls import DeviceCalls
from bmsflasher.sim.uds.nrc import (
    NRC_AUTHENTICATION_REQUIRED,
    NRC_EXCEEDED_ATTEMPTS,
    NRC_INVALID_KEY,
    NRC_REQUEST_SEQUENCE_ERROR,
    NRC_SECURITY_ACCESS_DENIED,
    NRC_SUBFUNCTION_NOT_SUPPORTED,
    NRC_TIME_DELAY_NOT_EXPIRED,
    NegativeResponse,
    need_length,
)
from bmsflasher.sim.uds.server_config import UdsServerConfig

_log = logging.getLogger(__name__)

SESSION_DEFAULT: Final = 0x01
SESSION_PROGRAMMING: Final = 0x02
SESSION_EXTENDED: Final = 0x03

SECURITY_LEVEL_SEED: Final = 0x01
SECURITY_LEVEL_KEY: Final = 0x02
SEED_LENGTH: Final = 16
KEY_LENGTH: Final = 16
MAX_KEY_ATTEMPTS: Final = 3


@dataclass(slots=True)
class SessionState:
    """The active diagnostic session and the security access granted in it.

    Attributes:
        session: the active diagnosticSessionType (0x01 default, 0x02 programming, 0x03 extended).
        unlocked: security access was granted in this session.
        seed: the seed last sent and not yet answered with a key (a key needs one: else 0x24).
        failed_keys: invalid keys in a row since the last seed limit.
        locked_until_s: ``time.monotonic()`` before which no seed is given (after 0x36).
        auth_required: the device authenticates testers by certificate (0x29), not by seed/key.
        role: the role of the certificate authenticated with 0x29 (None: not authenticated).
        technician: the subject of that certificate.
    """

    session: int = SESSION_DEFAULT
    unlocked: bool = False
    seed: bytes | None = None
    failed_keys: int = 0
    locked_until_s: float = 0.0
    auth_required: bool = False
    role: str | None = None
    technician: str | None = None

    def enter(self, session: int) -> None:
        """Switch session; any change (or a non-default session re-entered) revokes security access.

        Certificate authentication (0x29) survives changes between non-default sessions (the
        tester authenticates once, then enters programming) and ends in the default session.
        """
        if session != self.session or session != SESSION_DEFAULT:
            self.unlocked = False
            self.seed = None
        if session == SESSION_DEFAULT:
            self.deauthenticate()
        self.session = session

    def authenticate(self, role: str, technician: str) -> None:
        """A certificate and its proof of ownership were accepted (0x29)."""
        self.role = role
        self.technician = technician

    def deauthenticate(self) -> None:
        self.role = None
        self.technician = None

    @property
    def granted(self) -> bool:
        """Access to the secured services: the authenticated certificate, or the 0x27 unlock."""
        return self.role is not None if self.auth_required else self.unlocked

    def need_unlocked(self) -> None:
        """Refuse unless access was granted: 0x34 authenticationRequired, or 0x33 without 0x29.

        ISO 14229-1:2020 answers 0x34 to a tester that has not authenticated (0x29) yet, and
        keeps 0x33 (securityAccessDenied) for SecurityAccess devices and for an authenticated
        role without the right.
        """
        if not self.granted:
            nrc = NRC_AUTHENTICATION_REQUIRED if self.auth_required else NRC_SECURITY_ACCESS_DENIED
            raise NegativeResponse(nrc)


class SessionServices:
    """The handlers of 0x10, 0x11, 0x27 and 0x3E, and the S3 timer.

    Args:
        state: the session state this unit owns (other units read it).
        calls: the device.
        config: P2/P2* sent in the session response, S3 timeout, lockout delay.
        on_session_change: told of every session entered (the download ends with its session).
        request_reset: asks the server to reset the device once the current response has left.
    """

    def __init__(
        self,
        state: SessionState,
        calls: DeviceCalls,
        config: UdsServerConfig,
        on_session_change: Callable[[int], None],
        request_reset: Callable[[], None],
    ) -> None:
        self.state = state
        self._calls = calls
        self._config = config
        self._on_session_change = on_session_change
        self._request_reset = request_reset

    def enter(self, session: int) -> None:
        """Enter a session, ending what does not survive the change (security, transfers)."""
        self.state.enter(session)
        self._on_session_change(session)

    def check_s3(self, last_request_s: float) -> None:
        """Fall back to the default session once S3 expired since ``last_request_s`` (monotonic).

        A bootloader held in its programming session only by the tester restarts into the
        application when the tester goes away, as leaving the session would do.
        """
        if (
            self.state.session != SESSION_DEFAULT
            and time.monotonic() - last_request_s > self._config.s3_timeout_s
        ):
            _log.info("S3 timeout: back to the default session")
            self.enter(SESSION_DEFAULT)
            try:
                in_bootloader = self._calls.device.mode is DeviceMode.BOOTLOADER
            except BmsFlasherError:
                in_bootloader = False
            if in_bootloader:
                self._request_reset()

    # --- 0x10 DiagnosticSessionControl ---------------------------------------------------------
    def session_control(self, request: bytes) -> bytes:
        # Sub-function support per mode and session (0x12/0x7E) is checked by the rules table.
        need_length(request, exact=2)
        session = request[1] & 0x7F
        mode = self._calls.mode()
        in_bootloader = mode is not DeviceMode.APPLICATION
        if session == SESSION_PROGRAMMING and self.state.auth_required:
            self.state.need_unlocked()  # a certificate device opens programming to authenticated testers only
        if session == SESSION_PROGRAMMING and not in_bootloader:
            # The application hands over to the bootloader.
            self._calls.call(self._calls.device.enter_bootloader)
        if session == SESSION_DEFAULT and mode is DeviceMode.BOOTLOADER:
            # Leaving the programming session restarts the ECU into its application (after the answer).
            self._request_reset()
        self.enter(session)
        config = self._config
        return bytes([0x50, session]) + struct.pack(">HH", config.p2_ms, config.p2_star_ms // 10)

    # --- 0x11 ECUReset -------------------------------------------------------------------------
    def ecu_reset(self, request: bytes) -> bytes:
        need_length(request, exact=2)
        kind = request[1] & 0x7F
        self._request_reset()  # after the response has left
        return bytes([0x51, kind])

    # --- 0x27 SecurityAccess -------------------------------------------------------------------
    def security_access(self, request: bytes) -> bytes:
        # Session (0x7F), minimum length and the levels offered (0x12) are checked by the rules.
        kind = request[1] & 0x7F
        if kind == SECURITY_LEVEL_SEED:
            return self._send_seed(request, kind)
        if kind == SECURITY_LEVEL_KEY:
            return self._check_key(request, kind)
        raise NegativeResponse(NRC_SUBFUNCTION_NOT_SUPPORTED)

    def _send_seed(self, request: bytes, kind: int) -> bytes:
        need_length(request, exact=2)
        state = self.state
        if time.monotonic() < state.locked_until_s:
            raise NegativeResponse(NRC_TIME_DELAY_NOT_EXPIRED)
        if state.unlocked:
            return bytes([0x67, kind]) + bytes(SEED_LENGTH)  # already unlocked: an all-zero seed
        state.seed = os.urandom(SEED_LENGTH)
        return bytes([0x67, kind]) + state.seed

    def _check_key(self, request: bytes, kind: int) -> bytes:
        need_length(request, exact=2 + KEY_LENGTH)
        state = self.state
        if state.seed is None:
            raise NegativeResponse(NRC_REQUEST_SEQUENCE_ERROR)
        seed, state.seed = state.seed, None
        secret = self._calls.call(lambda: self._calls.device.security_secret)
        expected = hmac.new(secret, seed, hashlib.sha256).digest()[:KEY_LENGTH]
        if hmac.compare_digest(expected, request[2:]):
            state.unlocked = True
            state.failed_keys = 0
            return bytes([0x67, kind])
        state.failed_keys += 1
        if state.failed_keys >= MAX_KEY_ATTEMPTS:
            state.failed_keys = 0
            state.locked_until_s = time.monotonic() + self._config.lockout_delay_s
            raise NegativeResponse(NRC_EXCEEDED_ATTEMPTS)
        raise NegativeResponse(NRC_INVALID_KEY)

    # --- 0x3E TesterPresent --------------------------------------------------------------------
    def tester_present(self, request: bytes) -> bytes:
        need_length(request, exact=2)
        return bytes([0x7E, 0x00])

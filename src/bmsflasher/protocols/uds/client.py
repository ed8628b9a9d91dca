"""A UDS session with one BMS node: udsoncan's client plus timing, retries, security and keep-alive.

udsoncan builds and checks every request and response; this layer adds what a service tool
needs around it: response timeouts that include the bus time of the request (a 4 KB TransferData
takes 136 ms on the wire at 500 kbit/s, far more than P2 = 50 ms), bounded retries of idempotent
requests, the tester-present keep-alive that stops the device's S3 timer from dropping the
session while the technician reads a dialog, security access through an injectable key
provider, link statistics, and translation of every udsoncan exception into the project's own
errors with the NRC named.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeVar, cast

import udsoncan
from udsoncan.client import Client
from udsoncan.common.DataFormatIdentifier import DataFormatIdentifier
from udsoncan.common.MemoryLocation import MemoryLocation
from udsoncan.exceptions import NegativeResponseException, TimeoutException
from udsoncan.typing import ClientConfig

from bmsflasher.core.errors import (
    BmsFlasherError,
    DeviceRejectedError,
    LinkLostError,
    MalformedResponseError,
    NoResponseError,
    ProtocolError,
    SecurityAccessDeniedError,
)
from bmsflasher.core.i18n import t
from bmsflasher.core.target import LinkStats
from bmsflasher.protocols.uds import ids
from bmsflasher.protocols.uds.auth import Authenticator, uses_certificates
from bmsflasher.protocols.uds.errors import translate
from bmsflasher.protocols.uds.security import SecurityKeyProvider
from bmsflasher.protocols.uds.transport import IsoTpTransport

T = TypeVar("T")

#: Mean bits of a classic 8-byte frame (exact stuffing of typical data); used for timeouts only.
_BITS_PER_FRAME: Final = 130
_DEFAULT_P2_S: Final = 0.05
_DEFAULT_P2_STAR_S: Final = 5.0
_TIMING_MARGIN_S: Final = 0.3
#: Bounds of the adaptive margin (host and adapter latency on top of P2 and wire time).
_MIN_MARGIN_S: Final = 0.06
#: Tries of requests that are safe to repeat (a lossy bus loses requests and answers alike).
_ATTEMPTS: Final = 3
#: One more try per this many CAN frames a request and its answer take: a long answer loses a
#: frame far more often (745 bytes = 108 frames: 1 % frame loss breaks two answers in three).
_FRAMES_PER_EXTRA_ATTEMPT: Final = 8
#: Ceiling of the frame-scaled tries, so a dead device still fails within seconds.
_MAX_ATTEMPTS: Final = 20
#: Repeatable requests keep being retried for at least this long: after a lost flow control the
#: device's ISO-TP sender waits N_Bs (1 s) before it can answer anything else, so a few quick
#: retries inside that stall all fail together. Long enough for a few queued stalls.
_RETRY_WINDOW_S: Final = 4.0
#: Hard ceiling on the extra tries the retry window may add on top of the computed attempts.
_WINDOW_EXTRA_ATTEMPTS: Final = 12
#: Tries of a ping: one lost frame is a repeat, not a failure; two in a row is a bad link.
_PING_ATTEMPTS: Final = 2
_LATENCY_SAMPLES: Final = 32
_KEEPALIVE_PERIOD_S: Final = 2.0
#: NRC 0x21 busyRepeatRequest: ISO 14229-1 Annex A asks the client to repeat the request after a
#: delay; this many times, this far apart, before reporting the device as busy.
_NRC_BUSY_REPEAT_REQUEST: Final = 0x21
_NRC_SERVICE_NOT_SUPPORTED: Final = 0x11
_BUSY_REPEATS: Final = 10
_BUSY_REPEAT_DELAY_S: Final = 0.1


class _RawCodec(udsoncan.DidCodec):
    """DID payloads stay bytes; protocols/uds/codec.py decodes them with length checks."""

    def encode(self, *args: Any, **kwargs: Any) -> bytes:
        return bytes(args[0])

    def decode(self, payload: bytes) -> bytes:
        return bytes(payload)

    def __len__(self) -> int:
        raise udsoncan.DidCodec.ReadAllRemainingData


class UdsClient:
    """Serialized, timed, translated UDS requests to one node.

    Args:
        transport: the ISO-TP channel to the node.
        bitrate: nominal bit rate of the bus (for the wire time in response timeouts); 0 = unknown.
        key_provider: computes SecurityAccess keys; None refuses to unlock.
    """

    def __init__(
        self,
        transport: IsoTpTransport,
        bitrate: int,
        key_provider: SecurityKeyProvider | None,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.transport = transport
        self._bitrate = bitrate
        self.key_provider = key_provider
        self.authenticator = authenticator or Authenticator()
        #: None until asked: does the device authenticate by certificate (0x29) or seed/key (0x27)?
        self.certificate_auth: bool | None = None
        config = dict(udsoncan.configs.default_client_config)
        config.update(
            {
                "data_identifiers": {"default": _RawCodec},
                "use_server_timing": False,
                "request_timeout": None,
                "p2_timeout": _DEFAULT_P2_S + _TIMING_MARGIN_S,
                "p2_star_timeout": _DEFAULT_P2_STAR_S + 1.0,
                "exception_on_negative_response": True,
                "exception_on_invalid_response": True,
                "exception_on_unexpected_response": True,
                "server_address_format": 32,
                "server_memorysize_format": 32,
                "nrc78_callback": self._on_pending,
            }
        )
        self._client = Client(transport.connection, config=cast(ClientConfig, config))
        # Every failure reaches the caller as a translated exception; udsoncan's own error log
        # lines would only duplicate it on the technician's console.
        self._client.logger.setLevel(logging.CRITICAL)
        self._lock = threading.RLock()
        self._p2_s = _DEFAULT_P2_S
        self._p2_star_s = _DEFAULT_P2_STAR_S
        self.session = ids.SESSION_DEFAULT
        self.unlocked = False
        self.serial_number = ""
        self.model = ""
        self._requests = 0
        self._answers = 0
        self._retries = 0
        self._timeouts = 0
        self._errors = 0
        self._last_rtt_s = 0.0
        self._latencies: deque[float] = deque(maxlen=_LATENCY_SAMPLES)
        self._bytes_sent = 0
        self._bytes_received = 0
        self.pending_responses = 0
        self._last_activity = time.monotonic()
        self._stop = threading.Event()
        self._keepalive: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------------
    def open(self) -> None:
        """Start the transport and the keep-alive thread."""
        self.transport.open()
        self._stop.clear()
        self._keepalive = threading.Thread(target=self._keepalive_loop, name="uds-keepalive", daemon=True)
        self._keepalive.start()

    def close(self) -> None:
        """Stop the keep-alive and the transport. Safe to call twice."""
        self._stop.set()
        if self._keepalive is not None:
            self._keepalive.join(timeout=2.0)
            self._keepalive = None
        with self._lock:
            self.transport.close()

    def forget_session(self) -> None:
        """The device rebooted: it is in its default session and locked again."""
        self.session = ids.SESSION_DEFAULT
        self.unlocked = False

    # --- timing and statistics ----------------------------------------------------------------
    def _on_pending(self) -> None:
        self.pending_responses += 1

    def _wire_time_s(self, payload_bytes: int) -> float:
        if not self._bitrate:
            return 0.0
        frames = 1 + payload_bytes // 6 + 1
        return frames * _BITS_PER_FRAME / self._bitrate

    def attempts_for(self, request_bytes: int, response_bytes: int) -> int:
        """Tries of a repeatable request on this transport (see :func:`attempts_for`)."""
        return attempts_for(request_bytes, response_bytes, fd=self.transport.fd)

    def link_stats(self) -> LinkStats:
        return LinkStats(
            requests=self._requests,
            retries=self._retries,
            timeouts=self._timeouts,
            errors=self._errors,
            last_round_trip_s=self._last_rtt_s,
            bytes_sent=self._bytes_sent,
            bytes_received=self._bytes_received,
        )

    def _margin_s(self) -> float:
        """Latency allowance learnt from recent answers, like TCP's retransmission timeout.

        Three times the worst recent latency beyond the wire time, between 60 ms and 300 ms: a
        lost frame on a noisy bus is then detected in tens of milliseconds on a quiet host, while
        a busy host (or adapter) stretches the allowance instead of producing false timeouts.
        """
        if len(self._latencies) < 4:
            return _TIMING_MARGIN_S
        return min(_TIMING_MARGIN_S, max(_MIN_MARGIN_S, 3.0 * max(self._latencies)))

    @contextmanager
    def _timing(self, request_bytes: int, response_bytes: int) -> Iterator[None]:
        """P2 for this request: server P2 + the wire time of request and response + a margin."""
        wire = self._wire_time_s(request_bytes) * 1.2 + self._wire_time_s(response_bytes)
        self._client.config["p2_timeout"] = self._p2_s + wire + self._margin_s()
        self._client.config["p2_star_timeout"] = self._p2_star_s + wire + 1.0
        yield

    def call(
        self,
        action: str,
        fn: Callable[[Client], T],
        *,
        request_bytes: int = 8,
        response_bytes: int = 8,
        attempts: int = 1,
        retry_window_s: float = 0.0,
    ) -> T:
        """Run one udsoncan request under the lock with timing, retries and translated errors.

        Args:
            action: what is attempted, as a translatable verb phrase for messages
                (``t("read the serial number")``): "The device refused to {action}" in every language.
            fn: receives the udsoncan client and performs exactly one request.
            request_bytes: size of the request (for its wire time).
            response_bytes: expected size of the response (for its wire time).
            attempts: tries on a timeout (only for requests that are safe to repeat).
            retry_window_s: keep retrying timeouts until this long after the first try, even past
                ``attempts`` (at most :data:`_WINDOW_EXTRA_ATTEMPTS` more); 0 = count only.
        """
        last: BaseException | None = None
        attempt = 0
        busy_repeats = 0
        first_try = time.monotonic()
        # A device that never answered is absent (wrong node or bit rate), not stalled: fail fast.
        stall_possible = retry_window_s > 0 and self._answers > 0
        ceiling = attempts + (_WINDOW_EXTRA_ATTEMPTS if stall_possible else 0)

        def may_try() -> bool:
            if attempt < attempts:
                return True
            return attempt < ceiling and time.monotonic() - first_try < retry_window_s

        while may_try():
            lost = self.transport.lost
            if lost is not None:
                raise lost
            busy = False
            with self._lock, self._timing(request_bytes, response_bytes):
                started = time.monotonic()
                pending_before = self.pending_responses
                self._requests += 1
                if attempt or busy_repeats:
                    self._retries += 1
                self.transport.overflowed = False
                try:
                    result = fn(self._client)
                except (TimeoutException, udsoncan.exceptions.TimeoutException) as exc:
                    self._timeouts += 1
                    last = exc
                    attempt += 1
                    continue
                except NegativeResponseException as exc:
                    self._errors += 1
                    if exc.response.code == _NRC_BUSY_REPEAT_REQUEST and busy_repeats < _BUSY_REPEATS:
                        busy_repeats += 1
                        busy = True
                    else:
                        raise translate(exc, action) from exc
                except BmsFlasherError:
                    self._errors += 1
                    raise
                except Exception as exc:
                    self._errors += 1
                    lost = self.transport.lost
                    if lost is not None:
                        raise lost from exc
                    if self.transport.overflowed:
                        raise ProtocolError(
                            t(
                                "The device refused to receive the request (ISO-TP flow control overflow "
                                "or invalid flow status) while trying to {action}.",
                                action=action,
                            ),
                            hint=t("The request is longer than the device's receive buffer."),
                        ) from exc
                    if _is_send_failure(exc):
                        self._timeouts += 1
                        last = exc
                        attempt += 1
                        continue
                    raise translate(exc, action) from exc
                finally:
                    self._last_activity = time.monotonic()
                if not busy:
                    self._answers += 1
                    self._last_rtt_s = time.monotonic() - started
                    wire = self._wire_time_s(request_bytes) + self._wire_time_s(response_bytes)
                    if self.pending_responses == pending_before:
                        self._latencies.append(max(0.0, self._last_rtt_s - wire))
                    self._bytes_sent += request_bytes
                    self._bytes_received += response_bytes
                    return result
            time.sleep(_BUSY_REPEAT_DELAY_S)  # busyRepeatRequest: repeat after a pause, unlocked
        lost = self.transport.lost
        if lost is not None:
            raise lost
        assert last is not None
        raise translate(last, action) from last

    # --- keep-alive -----------------------------------------------------------------------------
    def _keepalive_loop(self) -> None:
        while not self._stop.wait(0.25):
            if self.session == ids.SESSION_DEFAULT or self.transport.lost is not None:
                continue
            if time.monotonic() - self._last_activity < _KEEPALIVE_PERIOD_S:
                continue
            if not self._lock.acquire(timeout=0.1):
                continue
            try:
                self._client.config["p2_timeout"] = self._p2_s + _TIMING_MARGIN_S
                with self._client.suppress_positive_response(wait_nrc=False):
                    self._client.tester_present()
            except Exception:  # noqa: BLE001 -- a lost keep-alive shows up in the next real request
                self._errors += 1
            finally:
                self._last_activity = time.monotonic()
                self._lock.release()

    # --- services used by the target ----------------------------------------------------------
    def change_session(self, session: int) -> None:
        """DiagnosticSessionControl; adopts the P2/P2* the device announces."""
        actions = {
            ids.SESSION_DEFAULT: t("enter the default session"),
            ids.SESSION_PROGRAMMING: t("enter the programming session"),
            ids.SESSION_EXTENDED: t("enter the extended session"),
        }
        response = self.call(
            actions.get(session) or t("enter the {session} session", session=hex(session)),
            lambda c: c.change_session(session),
            attempts=_ATTEMPTS,
            retry_window_s=_RETRY_WINDOW_S,
        )
        data = response.service_data if response is not None else None
        if data is not None and data.p2_server_max is not None:
            self._p2_s = float(data.p2_server_max)
            self._p2_star_s = float(data.p2_star_server_max)
        self.session = session
        # A certificate authentication survives changes between non-default sessions (the
        # device's rule, docs/protocols/uds.md); SecurityAccess is relocked by every change.
        self.unlocked = self.unlocked and bool(self.certificate_auth) and session != ids.SESSION_DEFAULT

    def ensure_session(self, session: int) -> None:
        if self.session != session:
            self.change_session(session)

    def read_did(self, did: int, what: str, *, response_bytes: int = 64) -> bytes:
        """ReadDataByIdentifier of one DID → its raw bytes (retried on timeouts, more for long DIDs).

        ``what`` names the record with its article (``t("the serial number")``), so messages read
        "read the serial number (DID 0xF18C)" in every language.
        """
        response = self.call(
            t("read {what} (DID 0x{did:04X})", what=what, did=did),
            lambda c: c.read_data_by_identifier([did]),
            request_bytes=3,
            response_bytes=response_bytes,
            attempts=self.attempts_for(3, response_bytes),
            retry_window_s=_RETRY_WINDOW_S,
        )
        return bytes(response.service_data.values[did])

    def write_did(self, did: int, value: bytes, what: str) -> None:
        """WriteDataByIdentifier; ``what`` names the record with its article, as in :meth:`read_did`."""
        self.call(
            t("write {what} (DID 0x{did:04X})", what=what, did=did),
            lambda c: c.write_data_by_identifier(did, value),
            request_bytes=3 + len(value),
            attempts=self.attempts_for(3 + len(value), 8),
            retry_window_s=_RETRY_WINDOW_S,
        )

    def routine(self, rid: int, what: str, data: bytes = b"", *, control: int = 1) -> bytes:
        """RoutineControl → the routine status record."""
        response = self.call(
            what,
            lambda c: c.routine_control(rid, control, data or None),
            request_bytes=4 + len(data),
            response_bytes=256,
            attempts=self.attempts_for(4 + len(data), 256),  # every routine of this device is idempotent
            retry_window_s=_RETRY_WINDOW_S,
        )
        return bytes(response.service_data.routine_status_record)

    def unlock(self) -> None:
        """Access to the secured services: certificate authentication (0x29) or SecurityAccess.

        A device without SecurityAccess (NRC 0x11 serviceNotSupported to the seed request), or
        one asked without a seed/key provider that answers authenticationConfiguration, gets the
        technician's certificate and proof of ownership (``auth.py``); a seed/key device sees
        exactly the requests it always did.
        """
        if self.unlocked:
            return
        if self.certificate_auth is None and self.key_provider is None:
            self.certificate_auth = uses_certificates(self._auth_call)
        if self.certificate_auth:
            self._authenticate()
            return
        if self.key_provider is None:
            raise SecurityAccessDeniedError(
                t(
                    "No security key is configured for the device {serial}.",
                    serial=self.serial_number or t("(unknown serial)"),
                ),
                hint=t("Pass --security-key FILE with the master secret of this BMS family."),
            )
        try:
            seed_response = self.call(
                t("request a security seed"),
                lambda c: c.request_seed(ids.SECURITY_LEVEL),
                response_bytes=20,
                attempts=_ATTEMPTS,
                retry_window_s=_RETRY_WINDOW_S,
            )
        except DeviceRejectedError as exc:
            if exc.code != _NRC_SERVICE_NOT_SUPPORTED or not uses_certificates(self._auth_call):
                raise
            self.certificate_auth = True
            self._authenticate()
            return
        self.certificate_auth = False
        seed = bytes(seed_response.service_data.seed)
        if seed and not any(seed):
            self.unlocked = True  # an all-zero seed means "already unlocked"
            return
        provider = self.key_provider
        key = provider.key_for(seed, self.serial_number, ids.SECURITY_LEVEL)
        retries_before = self._retries
        try:
            self.call(
                t("unlock security access"),
                lambda c: c.send_key(ids.SECURITY_LEVEL + 1, key),
                request_bytes=2 + len(key),
                attempts=_ATTEMPTS,
                retry_window_s=_RETRY_WINDOW_S,
            )
        except DeviceRejectedError as exc:
            if exc.code != 0x24 or self._retries == retries_before:
                raise
            # The device took the key but its answer was lost; the retry found no seed pending.
            # An all-zero seed now confirms the unlock.
            check = self.call(t("check security access"), lambda c: c.request_seed(ids.SECURITY_LEVEL))
            if any(bytes(check.service_data.seed)):
                raise
        self.unlocked = True

    def _authenticate(self) -> None:
        self.authenticator.authenticate(self._auth_call, self.serial_number or t("(unknown serial)"))
        self.unlocked = True

    def _auth_call(self, action: str, fn: Callable[[Client], T]) -> T:
        """One Authentication request (not repeated: a repeated proof would meet no challenge)."""
        return self.call(action, fn, request_bytes=1200, response_bytes=40)

    def request_download(self, address: int, size: int, compression: int) -> int:
        """RequestDownload → maxNumberOfBlockLength announced by the device."""
        location = MemoryLocation(address=address, memorysize=size, address_format=32, memorysize_format=32)
        dfi = DataFormatIdentifier(compression=compression, encryption=0)
        response = self.call(
            t("start the download at 0x{address:08X}", address=address),
            lambda c: c.request_download(location, dfi),
            request_bytes=11,
            attempts=_ATTEMPTS,
            retry_window_s=_RETRY_WINDOW_S,
        )
        return int(answered(response, t("start the download")).service_data.max_length)

    def transfer_data(self, counter: int, block: bytes) -> None:
        """One TransferData block (no retry here: the download engine re-synchronises instead)."""
        self.call(
            t("transfer data block {counter}", counter=counter),
            lambda c: c.transfer_data(counter, block),
            request_bytes=2 + len(block),
            response_bytes=2,
        )

    def transfer_exit(self) -> bytes:
        retries_before = self._retries
        try:
            response = self.call(
                t("finish the download"),
                lambda c: c.request_transfer_exit(),
                response_bytes=8,
                attempts=_ATTEMPTS,
                retry_window_s=_RETRY_WINDOW_S,
            )
        except DeviceRejectedError as exc:
            if exc.code == 0x24 and self._retries > retries_before:
                return b""  # a retry after a lost answer: the device had already closed the transfer
            raise
        return bytes(response.service_data.parameter_records or b"")

    def tester_present(self, attempts: int = _PING_ATTEMPTS) -> float:
        """TesterPresent → the round trip of the exchange the device answered, in seconds.

        One lost CAN frame is repeated once (:data:`_PING_ATTEMPTS`) and does not count as a slow
        device: the round trip is that of the answered try, the way ping reports a reply's time
        and counts losses apart (a repeat shows in :meth:`link_stats` ``retries``). Two lost
        tries in a row fail the ping, so a bad link still fails link-quality checks. A reconnect
        loop probes with one attempt: it tries again anyway, and sees a rebooted node sooner.
        """
        self.call(t("check that the device answers"), lambda c: c.tester_present(), attempts=attempts)
        return self._last_rtt_s

    def ecu_reset(self) -> None:
        self.call(t("reset the device"), lambda c: c.ecu_reset(0x01))
        self.forget_session()

    def ensure_link(self) -> None:
        lost = self.transport.lost
        if lost is not None:
            raise lost


def attempts_for(request_bytes: int, response_bytes: int, *, fd: bool) -> int:
    """Tries of a repeatable request: a base of three, plus one per eight frames it takes.

    Scaling with the frames keeps the chance that every try loses a frame small for long answers
    too (at 1 % frame loss a 745-byte answer breaks two times in three), while short requests
    keep failing fast on a dead link; capped at :data:`_MAX_ATTEMPTS`.
    """
    frames = isotp_frames(request_bytes, fd=fd) + isotp_frames(response_bytes, fd=fd)
    return min(_MAX_ATTEMPTS, _ATTEMPTS + frames // _FRAMES_PER_EXTRA_ATTEMPT)


def isotp_frames(payload_bytes: int, *, fd: bool) -> int:
    """CAN frames an ISO-TP message of ``payload_bytes`` takes (with the receiver's flow control)."""
    single, first, consecutive = (62, 62, 63) if fd else (7, 6, 7)
    if payload_bytes <= single:
        return 1
    return 2 + -(-(payload_bytes - first) // consecutive)


def answered(response: T | None, action: str) -> T:
    """The response of a request that must be answered (udsoncan returns None when suppressed)."""
    if response is None:
        raise MalformedResponseError(
            t("The device sent no answer content while trying to {action}.", action=action)
        )
    return response


def _is_send_failure(exc: BaseException) -> bool:
    """can-isotp gave up sending (flow control never came): worth a retry like a timeout."""
    import isotp

    return isinstance(exc, isotp.BlockingSendFailure)


def require_answer(error: BaseException) -> bool:
    """True for errors after which the device state is unknown (no answer, lost link)."""
    return isinstance(error, NoResponseError | LinkLostError)

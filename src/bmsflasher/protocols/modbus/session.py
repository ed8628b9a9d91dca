"""One Modbus conversation with one module: pymodbus framing over the tool's own link, bounded waits.

The bytes travel over :class:`~bmsflasher.links.serial.SerialLink` (an RS485 port at the module's
line settings, or ``socket://HOST:PORT`` for a Modbus TCP gateway), so the port is opened, locked
and its errors translated exactly as for every other serial device; pymodbus supplies the framing
(``FramerRTU``: address + PDU + CRC-16; ``FramerSocket``: the MBAP header) and the request and
response PDUs. The session is single-threaded on purpose, as the SMP session is: the caller's
thread writes a request and reads its answer against a deadline, so nothing can block forever.

What the line can do to an answer is handled here, once: an adapter that echoes what it sends (the
echo is recognised on the first read and stripped from then on), a frame with a bad CRC or from
another address (discarded, counted; a try that saw one is "garbled", not "silent"), silence
(retried: every request the tool sends is idempotent), exception 06 (the module is busy: polled
until the caller's deadline). Other exceptions become the project's errors, naming the module.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from typing import Final

from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerRTU, FramerSocket
from pymodbus.framer.base import FramerBase
from pymodbus.pdu import DecodePDU, ModbusPDU

from bmsflasher.core.errors import (
    DeviceRejectedError,
    NoResponseError,
    UnsupportedOperationError,
)
from bmsflasher.core.i18n import Text, t
from bmsflasher.core.target import LinkStats
from bmsflasher.links.serial import SerialLink

PROCESSING_S: Final = 0.5
"""A module's time to answer, beyond the wire time of the request and the answer."""
TCP_TIMEOUT_S: Final = 1.5
"""A gateway forwards to its RS485 side and back: its answer can take a line's round trip."""
DEFAULT_ATTEMPTS: Final = 3
MAX_GARBLED_TRIES: Final = 10
"""Tries in all while answers arrive corrupted (the module is there; the line garbles it)."""
BUSY_POLL_S: Final = 0.05
DEFAULT_BUSY_S: Final = 10.0
READ_CHUNK_BYTES: Final = 512
FRAME_GAP_CHARACTERS: Final = 3.5
TYPICAL_RESPONSE_BYTES: Final = 256
EXCEPTION_ILLEGAL_FUNCTION: Final = 0x01
EXCEPTION_ILLEGAL_ADDRESS: Final = 0x02
EXCEPTION_ILLEGAL_VALUE: Final = 0x03
EXCEPTION_DEVICE_FAILURE: Final = 0x04
EXCEPTION_BUSY: Final = 0x06
_ECHOED_ANSWERS: Final = frozenset({0x05, 0x06, 0x15})
"""Functions whose normal answer repeats the request byte for byte: an adapter's echo of the request
cannot be told from the module's answer. Every other answer differs from its request, so any other
request tells whether the adapter echoes (the first copy of the request read back is the echo)."""
_ADAPTER_ECHOES: weakref.WeakKeyDictionary[SerialLink, bool] = weakref.WeakKeyDictionary()
"""What was learned about each open port's adapter: the sessions of a rack's modules share one port,
so a module's first request (often a 0x06 command) does not have to learn it again."""


@dataclass
class SessionCounters:
    """Mutable counters behind :class:`~bmsflasher.core.target.LinkStats`."""

    requests: int = 0
    retries: int = 0
    timeouts: int = 0
    errors: int = 0
    last_round_trip_s: float = 0.0
    extra_bytes_sent: int = 0
    extra_bytes_received: int = 0


def character_bits(parity: str, stopbits: int) -> int:
    """Bits per character on the line: start + 8 data + parity + stop bits (11 for 8E1 and 8N2)."""
    return 1 + 8 + (0 if parity == "N" else 1) + stopbits


class ModbusSession:
    """Requests to one module (unit ``address``) over one open link.

    Args:
        link: the open port (RTU) or ``socket://`` URL (TCP).
        address: the module's unit address (the MBAP unit id over TCP).
        tcp: True for Modbus TCP framing, False for RTU.
        char_bits: bits per character on the RS485 line (paces the RTU timeouts).
        where: how the technician names the line ("/dev/ttyUSB0 @ 19200 baud 8E1").
    """

    def __init__(self, link: SerialLink, *, address: int, tcp: bool, char_bits: int, where: str) -> None:
        self._link = link
        self.address = address
        self._tcp = tcp
        self._char_bits = char_bits
        """Bits per character: the timeouts follow the link's rate, which a line-rate switch changes."""
        self._where = where
        self._framer: FramerBase = FramerSocket(DecodePDU(False)) if tcp else FramerRTU(DecodePDU(False))
        self._tid = 0
        self._echo: bool | None = False if tcp else _ADAPTER_ECHOES.get(link)
        self._lock = threading.Lock()
        self._quiet_until = 0.0
        """No frame leaves before this (the modules are still taking the last broadcast)."""
        self.counters = SessionCounters()

    @property
    def link(self) -> SerialLink:
        return self._link

    @property
    def tcp(self) -> bool:
        """Modbus TCP (a gateway forwards each request; its answers pace the client)."""
        return self._tcp

    @property
    def echoes(self) -> bool | None:
        """Whether the adapter echoes what it sends (None: not known yet)."""
        return self._echo

    def replace_link(self, link: SerialLink) -> None:
        """Continue on a reopened port (the adapter, and so its echo, is the same)."""
        self.counters.extra_bytes_sent += self._link.bytes_sent
        self.counters.extra_bytes_received += self._link.bytes_received
        self._link = link
        if self._echo is not None:
            _ADAPTER_ECHOES[link] = self._echo

    def stats(self) -> LinkStats:
        """Counters since the session started (bytes include earlier links)."""
        c = self.counters
        return LinkStats(
            requests=c.requests,
            retries=c.retries,
            timeouts=c.timeouts,
            errors=c.errors,
            last_round_trip_s=c.last_round_trip_s,
            bytes_sent=c.extra_bytes_sent + self._link.bytes_sent,
            bytes_received=c.extra_bytes_received + self._link.bytes_received,
        )

    def timeout_s(self, request_bytes: int, response_bytes: int) -> float:
        """How long to wait for an answer: the wire time of both frames with margin, plus processing."""
        if self._tcp:
            return TCP_TIMEOUT_S
        characters = request_bytes + response_bytes + 2 * FRAME_GAP_CHARACTERS
        return PROCESSING_S + 1.5 * characters * self._char_bits / max(self._link.baud, 1)

    def broadcast(self, request: ModbusPDU, turnaround_s: float) -> None:
        """Send ``request`` to unit 0 (every module executes it, none answers).

        The next frame of this session leaves ``turnaround_s`` after this one was written, at the
        earliest: the wait is counted from the write, not added after the work that follows it
        (building the next frame), and a write that was late pushes the next one back with it.
        """
        with self._lock:
            request.dev_id = 0
            frame = self._frame(request)
            self.wait_quiet()
            written_at = time.monotonic()
            self.counters.requests += 1
            self._link.write(frame)
            self._quiet_until = written_at + max(0.0, turnaround_s)

    def wait_quiet(self) -> None:
        """Return once the last broadcast's turnaround has passed (before another session talks)."""
        pause = self._quiet_until - time.monotonic()
        if pause > 0:
            time.sleep(pause)

    def execute(
        self,
        request: ModbusPDU,
        what: Text,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        busy_timeout_s: float = DEFAULT_BUSY_S,
        response_bytes: int = TYPICAL_RESPONSE_BYTES,
    ) -> ModbusPDU:
        """Send ``request`` and return the module's answer.

        Raises:
            NoResponseError: silence after ``attempts`` tries (garbled tries counted apart).
            UnsupportedOperationError: exception 01 or 02 (the module has no such function or register).
            DeviceRejectedError: exception 03 or 04 (``code`` holds it), or busy beyond the deadline.
            LinkLostError: the port vanished.
        """
        with self._lock:
            return self._execute(request, what, max(1, attempts), busy_timeout_s, response_bytes)

    def _execute(
        self, request: ModbusPDU, what: Text, attempts: int, busy_timeout_s: float, response_bytes: int
    ) -> ModbusPDU:
        request.dev_id = self.address
        started = time.monotonic()
        busy_until: float | None = None
        silent = garbled = tries = 0
        while True:
            frame = self._frame(request)
            if tries:
                self.counters.retries += 1
            tries += 1
            self.counters.requests += 1
            self.wait_quiet()
            if not self._tcp:
                self._link.reset_input()  # a late answer to an earlier request is not this one's
            sent_at = time.monotonic()
            self._link.write(frame)
            answer, corrupted = self._receive(
                request, frame, sent_at + self.timeout_s(len(frame), response_bytes)
            )
            if answer is None:
                self.counters.timeouts += 1
                if corrupted:
                    garbled += 1
                else:
                    silent += 1
                if silent >= attempts or tries >= max(attempts, MAX_GARBLED_TRIES):
                    raise self._silence(what, tries, garbled, time.monotonic() - started)
                continue
            self.counters.last_round_trip_s = time.monotonic() - sent_at
            if not answer.isError():
                return answer
            code = answer.exception_code
            if code == EXCEPTION_BUSY:
                busy_until = busy_until or sent_at + busy_timeout_s
                if time.monotonic() < busy_until:
                    time.sleep(BUSY_POLL_S)
                    continue
            self.counters.errors += 1
            raise self._refusal(code, what, busy_timeout_s)

    def _frame(self, request: ModbusPDU) -> bytes:
        if self._tcp:
            self._tid = self._tid % 0xFFFF + 1
            request.transaction_id = self._tid
        return self._framer.buildFrame(request)

    def _receive(self, request: ModbusPDU, frame: bytes, deadline: float) -> tuple[ModbusPDU | None, bool]:
        """The answer to ``request`` (None at the deadline), and whether corrupted frames arrived."""
        buffer = b""
        corrupted = False
        echo = frame if self._echo or (self._echo is None and not self._ambiguous(request)) else b""
        first: ModbusPDU | None = None  # an answer equal to the request, while the echo is unknown
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if first is not None:  # one copy only: the module's answer, and no echo
                    self._learn_echo(False)
                    return first, corrupted
                return None, corrupted
            data = self._link.read(READ_CHUNK_BYTES, remaining)
            if not data:
                continue
            buffer += data
            if echo:
                buffer, echo = self._strip_echo(buffer, echo)
                if echo:
                    continue  # not yet known whether this is the echo
            while buffer:
                try:
                    used, answer = self._framer.handleFrame(buffer, self.address, request.transaction_id)
                except ModbusException:  # a frame whose CRC held but whose PDU did not decode
                    used, answer = len(buffer), None
                if answer is None:
                    if not used:
                        break  # incomplete: read on
                    corrupted = True  # bad CRC, or another unit's frame
                    self.counters.errors += 1
                    buffer = buffer[used:]
                    continue
                if not self._tcp:
                    used = rtu_frame_length(self._framer, buffer, answer, used)
                copy = buffer[:used] == frame
                buffer = buffer[used:]
                if answer.function_code & 0x7F == request.function_code:
                    if not answers_request(request, answer):
                        self.counters.errors += 1
                        continue  # a late answer to an earlier request of the same function
                    if first is not None:  # a second copy: the first was the adapter's echo
                        self._learn_echo(True)
                        return answer, corrupted
                    if copy and self._ambiguous(request):
                        first = answer  # the echo or the answer: wait (once per adapter) for a second
                        continue
                    return answer, corrupted
                corrupted = True  # an answer to something else

    def _ambiguous(self, request: ModbusPDU) -> bool:
        """Whether an answer to ``request`` could be the adapter's echo and the echo is unknown."""
        return self._echo is None and request.function_code in _ECHOED_ANSWERS

    def _learn_echo(self, echoes: bool) -> None:
        self._echo = echoes
        if not self._tcp:
            _ADAPTER_ECHOES[self._link] = echoes

    def _strip_echo(self, buffer: bytes, echo: bytes) -> tuple[bytes, bytes]:
        """Drop the adapter's echo of ``echo`` from the front of ``buffer``; learn whether it echoes."""
        overlap = min(len(echo), len(buffer))
        if buffer[:overlap] != echo[:overlap]:
            if self._echo is None:
                self._learn_echo(False)
            return buffer, b""
        if overlap < len(echo):
            return buffer, echo
        if self._echo is None:
            self._learn_echo(True)
        return buffer[overlap:], b""

    def _silence(self, what: Text, tries: int, garbled: int, elapsed_s: float) -> NoResponseError:
        if garbled:
            return NoResponseError(
                t(
                    "No valid answer from the Modbus module at address {address} on {where} ({what}, "
                    "{tries} tries in {seconds:.1f} s, {garbled} of them answered with corrupted frames).",
                    address=self.address,
                    where=self._where,
                    what=what,
                    tries=tries,
                    seconds=elapsed_s,
                    garbled=garbled,
                ),
                hint=t(
                    "Bytes arrived but did not decode: the module probably uses other line settings "
                    "(baud, parity, stop bits), two modules share this address, or the line is noisy."
                ),
            )
        return NoResponseError(
            t(
                "No answer from the Modbus module at address {address} on {where} ({what}, {tries} tries "
                "in {seconds:.1f} s).",
                address=self.address,
                where=self._where,
                what=what,
                tries=tries,
                seconds=elapsed_s,
            ),
            hint=t(
                "Check the module's address and line settings (baud, parity, stop bits), the A/B "
                "wiring and the termination, and that the module is powered."
            ),
        )

    def _refusal(
        self, code: int, what: Text, busy_timeout_s: float
    ) -> DeviceRejectedError | UnsupportedOperationError:
        address = self.address
        if code == EXCEPTION_BUSY:
            return DeviceRejectedError(
                t(
                    "The Modbus module at address {address} stayed busy for {seconds:g} s ({what}).",
                    address=address,
                    seconds=busy_timeout_s,
                    what=what,
                ),
                code=code,
            )
        if code == EXCEPTION_ILLEGAL_FUNCTION:
            return UnsupportedOperationError(
                t(
                    "The Modbus module at address {address} does not offer {what} (exception 01, "
                    "illegal function).",
                    address=address,
                    what=what,
                )
            )
        if code == EXCEPTION_ILLEGAL_ADDRESS:
            return UnsupportedOperationError(
                t(
                    "The Modbus module at address {address} has no registers for {what} (exception 02, "
                    "illegal data address).",
                    address=address,
                    what=what,
                )
            )
        if code == EXCEPTION_ILLEGAL_VALUE:
            sentence = t(
                "The Modbus module at address {address} refused {what} (exception 03, illegal data value).",
                address=address,
                what=what,
            )
        elif code == EXCEPTION_DEVICE_FAILURE:
            sentence = t(
                "The Modbus module at address {address} could not carry out {what} (exception 04, "
                "device failure).",
                address=address,
                what=what,
            )
        else:
            sentence = t(
                "The Modbus module at address {address} answered {what} with exception {code:02X}.",
                address=address,
                what=what,
                code=code,
            )
        return DeviceRejectedError(sentence, code=code)


def answers_request(request: ModbusPDU, answer: ModbusPDU) -> bool:
    """Whether ``answer`` can be the answer to ``request``, not a late one to an earlier request.

    Modbus RTU has no transaction number: a module that answered after the tool gave up on a
    request puts that answer on the line while the tool waits for the next one. Reads name how
    many registers come back and writes repeat the address and count, so an answer with the same
    function code but another shape is the earlier request's (a SunSpec read of 64 registers once
    took a late answer of 68 registers for its own). An exception answer carries neither: it stays.
    """
    if answer.isError():
        return True
    code = request.function_code
    if code in (0x03, 0x04):
        return len(answer.registers) == request.count
    if code == 0x10:
        return bool(answer.address == request.address and answer.count == request.count)
    if code == 0x06:
        return bool(answer.address == request.address and answer.registers == request.registers)
    return True


def rtu_frame_length(framer: FramerBase, buffer: bytes, answer: ModbusPDU, used: int) -> int:
    """How many bytes of ``buffer`` the RTU frame ``answer`` was decoded from really takes.

    pymodbus's RTU framer reports the whole buffer as used when it decodes the first frame in it,
    so an answer arriving right behind a late one (in the same read) would be thrown away with it.
    The decoded answer, framed again, is the frame's exact bytes (address, PDU, CRC).
    """
    rebuilt = framer.buildFrame(answer)
    return len(rebuilt) if len(rebuilt) < used and buffer.startswith(rebuilt) else used

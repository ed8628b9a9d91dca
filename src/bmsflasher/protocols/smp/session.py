"""One SMP conversation over a serial link: sequence numbers, framing, bounded waits, retries.

The session is single-threaded on purpose: the caller's thread writes requests and reads answers
with deadlines, so there is no reader thread to leak and no lock to forget. Pipelined uploads use
the same primitives (:meth:`SmpSession.send` and :meth:`SmpSession.poll`) with several requests
outstanding; everything else uses :meth:`SmpSession.transact`, which retransmits a lost request and
matches the answer by sequence number, group and command (a late answer to an earlier request can
never be taken for the current one).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from smp.error import MGMT_ERR

from bmsflasher.core.errors import (
    BmsFlasherError,
    MalformedResponseError,
    NoResponseError,
    SecurityAccessDeniedError,
)
from bmsflasher.core.i18n import t
from bmsflasher.core.target import LinkStats
from bmsflasher.links.serial import SerialLink
from bmsflasher.protocols.smp.answer_pieces import PieceSizer, fetch_answer
from bmsflasher.protocols.smp.codec import SmpHeader, SmpResponse, check_error, decode_response
from bmsflasher.protocols.smp.framing import FrameDecoder, encode_frame, wire_size

READ_CHUNK_BYTES: Final = 4096
BASE_TIMEOUT_S: Final = 0.6
"""Device processing allowance added to the wire time of a request and its answer."""

DEFAULT_ATTEMPTS: Final = 5
"""Idempotent requests are sent up to this often: a noisy RS485 line loses a few answers in a row."""

MAX_NOISY_ATTEMPTS: Final = 30
"""Ceiling of tries for an idempotent request while the line visibly corrupts frames.

Only *silent* tries count against a request's ``attempts``: a try during which corrupted frames
or noise arrived proves the device is there and answering, and the line lost the answer. At a bit
error rate of 1e-4 a 300-byte answer is lost about one time in four, so five tries in a row fail
roughly once per thousand requests — once per update of ~200 requests in tests/reliability. At
1e-3 a short request and its ~190-byte answer (too short to be worth fetching in pieces) get
through together about one try in nine: 15 tries failed one upload in six on the noisy-line test,
30 fail about one in thirty per read. A dead or unplugged device stays silent, so it is still
given up on after ``attempts`` tries; the noisy tries wait a few round trips each, not the usual
timeout, so the ceiling costs seconds, not minutes.
"""

NOISY_MIN_BAD_FRAMES: Final = 3
"""Corrupted frames a session must have seen before it calls its line noisy (see ``line_is_noisy``)."""

NOISY_MIN_WAIT_S: Final = 0.05
PIECES_WORTH_BYTES: Final = 160
"""A garbled answer longer than this is fetched again in pieces; a shorter one is simply asked again."""

TYPICAL_RESPONSE_BYTES: Final = 256
"""An answer size used to budget wire time when the real size is not known yet."""


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
    round_trips_s: list[float] = field(default_factory=list)


MessageBuilder = Callable[[int], bytes]
"""Builds the encoded request message for a given sequence number."""


class SendGuard(Protocol):
    """Called before every request is written (``protocols/smp/link_rate.RateGuard``)."""

    def before_send(self) -> None: ...


class SmpSession:
    """Requests and answers over one open :class:`~bmsflasher.links.serial.SerialLink`."""

    def __init__(self, link: SerialLink, *, sequence_start: int = 0) -> None:
        self._link = link
        self._decoder = FrameDecoder()
        self._sequence = sequence_start & 0xFF
        self._pending: list[bytes] = []
        self.counters = SessionCounters()
        #: Called when the device denies a request (EACCESSDENIED) that authentication may open;
        #: the request is sent once more after it returns (``protocols/smp/auth.py``).
        self.authenticate: Callable[[], None] | None = None
        self._authenticating = False
        #: Keeps the host at the rate the device is at after a negotiated switch (link_rate.py).
        self.rate_guard: SendGuard | None = None
        self.last_send_at = 0.0
        self.last_answer_at = 0.0
        #: A garbled answer is fetched again in pieces sized to the line (answer_pieces.py); None
        #: until the device showed whether it can (BMS command 19).
        self.pieces_supported: bool | None = None
        self.piece_sizer = PieceSizer()
        self._answer_rtt_s: float | None = None

    def replace_link(self, link: SerialLink) -> None:
        """Continue the conversation on a reopened port (after a reboot or a cable pull)."""
        self.counters.extra_bytes_sent += self._link.bytes_sent
        self.counters.extra_bytes_received += self._link.bytes_received
        self._link = link
        self._decoder.reset()
        self._pending.clear()
        self.rate_guard = None  # a reopened port starts at the connect rate, as the device does

    @property
    def link(self) -> SerialLink:
        return self._link

    @property
    def decoder(self) -> FrameDecoder:
        return self._decoder

    def next_sequence(self) -> int:
        """The next 8-bit sequence number (wraps 255 → 0 as the specification requires)."""
        value = self._sequence
        self._sequence = (self._sequence + 1) & 0xFF
        return value

    def wire_time_s(self, wire_bytes: int) -> float:
        """Seconds ``wire_bytes`` take at the link's baud rate with 8N1 framing."""
        return wire_bytes * 10.0 / max(self._link.baud, 1)

    def send(self, message: bytes) -> None:
        """Frame and write one request message."""
        if self.rate_guard is not None:
            self.rate_guard.before_send()
        self._link.write(encode_frame(message))
        self.last_send_at = time.monotonic()

    def poll(self, deadline: float, *, until_bad_frames: int | None = None) -> SmpResponse | None:
        """Return the next decoded response, or None once ``deadline`` (monotonic) has passed.

        With ``until_bad_frames``, also None as soon as more corrupted frames than that were seen.
        """
        while True:
            response = self._next_buffered()
            if response is not None:
                return response
            if until_bad_frames is not None and self._decoder.stats.bad_frames > until_bad_frames:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            data = self._link.read(READ_CHUNK_BYTES, remaining)
            if data:
                self._pending.extend(self._decoder.feed(data))

    def _next_buffered(self) -> SmpResponse | None:
        while self._pending:
            message = self._pending.pop(0)
            try:
                response = decode_response(message)
            except MalformedResponseError:
                self.counters.errors += 1
            else:
                self.last_answer_at = time.monotonic()
                return response
        return None

    def transact(
        self,
        build: MessageBuilder,
        what: str,
        *,
        timeout_s: float | None = None,
        attempts: int = DEFAULT_ATTEMPTS,
        check: bool = True,
    ) -> SmpResponse:
        """:meth:`_transact`, authenticating once and asking again when the device denies access."""
        try:
            return self._transact(build, what, timeout_s=timeout_s, attempts=attempts, check=check)
        except SecurityAccessDeniedError as exc:
            if self.authenticate is None or self._authenticating or exc.code != MGMT_ERR.EACCESSDENIED:
                raise
            self._authenticating = True
            try:
                self.authenticate()
            finally:
                self._authenticating = False
        return self._transact(build, what, timeout_s=timeout_s, attempts=attempts, check=check)

    def _transact(
        self,
        build: MessageBuilder,
        what: str,
        *,
        timeout_s: float | None = None,
        attempts: int = DEFAULT_ATTEMPTS,
        check: bool = True,
    ) -> SmpResponse:
        """Send a request and wait for its answer, retransmitting after a timeout.

        Only idempotent requests should use ``attempts`` > 1 (reads, state queries, echo). Up to
        ``attempts`` silent tries are made; tries whose answer visibly arrived corrupted do not use
        that budget, up to :data:`MAX_NOISY_ATTEMPTS` tries in all.

        Raises:
            NoResponseError: nothing matching arrived after every attempt.
            DeviceRejectedError / UnsupportedOperationError: the device answered with an error.
            LinkLostError: the port vanished.
        """
        outstanding: dict[int, tuple[SmpHeader, float]] = {}
        started = time.monotonic()
        budget = max(1, attempts)
        if budget > 1 and self.line_is_noisy():
            budget = max(budget, MAX_NOISY_ATTEMPTS)  # a lost request is likelier than a dead device
        ceiling = budget if budget == 1 else max(budget, MAX_NOISY_ATTEMPTS)
        silent = garbled = 0
        attempt = 0
        while silent < budget and attempt < ceiling:
            corruption_before = self._corruption_seen()
            sequence = self.next_sequence()
            message = build(sequence)
            header = SmpHeader.unpack(message)
            wait_s = timeout_s if timeout_s is not None else self.default_timeout_s(len(message))
            if timeout_s is None and self._answer_rtt_s is not None and self.line_is_noisy():
                # A noisy line loses requests far more often than a device is slow: wait a few
                # measured round trips, doubling per silent try, never longer than the usual wait.
                wait_s = min(wait_s, max(NOISY_MIN_WAIT_S, 4 * self._answer_rtt_s) * 2.0**silent)
            if attempt:
                self.counters.retries += 1
            attempt += 1
            self.counters.requests += 1
            sent_at = time.monotonic()
            outstanding[sequence] = (header, sent_at)
            self.send(message)
            deadline = sent_at + wait_s
            bad_seen = self._corruption_seen()
            fetched = False
            while True:
                response = self.poll(deadline, until_bad_frames=bad_seen)
                if response is None and self._corruption_seen() > bad_seen and time.monotonic() < deadline:
                    # An answer arrived garbled: fetch the kept answer in pieces the line lets through
                    # (a long answer is lost again if the request is only repeated).
                    bad_seen = self._corruption_seen()
                    if self.pieces_supported is False or (
                        self._decoder.stats.last_bad_frame_bytes <= PIECES_WORTH_BYTES
                    ):
                        continue  # a short answer: asking again is as good as fetching it in pieces
                    response = fetch_answer(self, sequence, header)
                    fetched = True
                    bad_seen = self._corruption_seen()  # the pieces' own losses are not news
                    if response is None:
                        continue  # no kept answer for us (yet): wait for the real one
                if response is None:
                    self.counters.timeouts += 1
                    if self._corruption_seen() > corruption_before:
                        garbled += 1
                        if budget > 1:
                            # This request's own answers arrive garbled: the device is there and the
                            # line loses frames both ways, so silent tries are lost requests too
                            # (the session-wide ratio can still look clean after a long clean upload).
                            budget = max(budget, MAX_NOISY_ATTEMPTS)
                    else:
                        silent += 1
                    break
                sent = outstanding.get(response.header.sequence)
                expected = sent[0] if sent is not None else None
                if (
                    sent is None
                    or expected is None
                    or response.header.group != expected.group
                    or response.header.command != expected.command
                    or response.header.op != expected.op + 1
                ):
                    continue  # a late answer to something else: never mistake it for ours
                # The round trip of the attempt that was answered: a retransmission after a lost
                # frame says the line is noisy (counted in retries), not that the device is slow.
                self.counters.last_round_trip_s = time.monotonic() - sent[1]
                if attempt == 1 and not fetched:
                    self._sample_answer_rtt(self.counters.last_round_trip_s)
                if check:
                    try:
                        check_error(response, what)
                    except BmsFlasherError:
                        self.counters.errors += 1
                        raise
                return response
        tries = {
            "port": self._link.port,
            "baud": self._link.baud,
            "what": what,
            "attempts": attempt,
            "seconds": time.monotonic() - started,
        }
        raise NoResponseError(
            t(
                "No answer from the device on {port} at {baud} baud ({what}, {attempts} attempts in "
                "{seconds:.1f} s, {garbled} of them answered with corrupted frames).",
                garbled=garbled,
                **tries,
            )
            if garbled
            else t(
                "No answer from the device on {port} at {baud} baud ({what}, {attempts} attempts in "
                "{seconds:.1f} s).",
                **tries,
            ),
            hint=self._no_answer_hint(),
        )

    def transact_reads(
        self, reads: Sequence[tuple[MessageBuilder, str]], *, window: int
    ) -> list[SmpResponse]:
        """Idempotent reads, up to ``window`` in the device's buffers at once; in order, all answered.

        The device answers in order, so its processing of one read overlaps the wire time of the
        next instead of each read waiting out a whole round trip (19 settings reads took 57 ms one
        by one on the virtual BMS). A read not answered cleanly here (lost, garbled, an error
        answer) is asked again alone by :meth:`transact`, with its retries, authentication and
        error sentences: nothing is skipped, it is only no faster. A noisy line reads one by one.
        """
        results: list[SmpResponse | None] = [None] * len(reads)
        if window > 1 and len(reads) > 1 and not self.line_is_noisy():
            self._read_pipelined(reads, results, window)
        return [
            answer if answer is not None else self.transact(build, what)
            for answer, (build, what) in zip(results, reads, strict=True)
        ]

    def _read_pipelined(
        self, reads: Sequence[tuple[MessageBuilder, str]], results: list[SmpResponse | None], window: int
    ) -> None:
        """Fill ``results`` with the clean answers a pipelined pass gets; stop at the first silence."""
        waiting: dict[int, tuple[int, SmpHeader]] = {}  # sequence -> (index, request header)
        following = 0
        deadline = 0.0
        while following < len(reads) or waiting:
            while following < len(reads) and len(waiting) < window:
                sequence = self.next_sequence()
                message = reads[following][0](sequence)
                waiting[sequence] = (following, SmpHeader.unpack(message))
                self.counters.requests += 1
                self.send(message)
                deadline = time.monotonic() + self.default_timeout_s(len(message))
                following += 1
            response = self.poll(deadline, until_bad_frames=self._corruption_seen())
            if response is None:
                self.counters.timeouts += 1
                return  # lost or garbled: what is left is asked for one by one
            entry = waiting.get(response.header.sequence)
            if entry is None:
                continue  # a late answer to something else
            index, request = entry
            header = response.header
            if (header.group, header.command, header.op) != (request.group, request.command, request.op + 1):
                continue
            del waiting[header.sequence]
            try:
                check_error(response, reads[index][1])
            except BmsFlasherError:
                continue  # asked again alone, which raises (or authenticates) as a single read does
            results[index] = response

    def default_timeout_s(self, message_bytes: int, processing_s: float = BASE_TIMEOUT_S) -> float:
        """Wire time of the request and a typical answer, with margin, plus device processing time."""
        wire = wire_size(message_bytes) + wire_size(TYPICAL_RESPONSE_BYTES)
        return processing_s + 1.5 * self.wire_time_s(wire)

    def _sample_answer_rtt(self, round_trip_s: float) -> None:
        previous = self._answer_rtt_s
        self._answer_rtt_s = round_trip_s if previous is None else 0.875 * previous + 0.125 * round_trip_s

    def line_is_noisy(self) -> bool:
        """More than 1 frame in 20 arrived corrupted so far: the line, not the device, loses requests."""
        stats = self._decoder.stats
        return (
            stats.bad_frames >= NOISY_MIN_BAD_FRAMES
            and stats.bad_frames * 20 > stats.frames + stats.bad_frames
        )

    def _corruption_seen(self) -> int:
        """Corrupted SMP frames so far: evidence that the device answers and the line garbles it.

        Noise bytes alone do not count: console output or a device at another baud produce them
        without answering anything.
        """
        return self._decoder.stats.bad_frames

    def _no_answer_hint(self) -> str:
        stats = self._decoder.stats
        if stats.noise_bytes or stats.bad_frames:
            return t(
                "Bytes arrived but did not decode ({noise} noise bytes, {bad} bad frames): the device "
                "probably uses another baud rate, or the line is very noisy.",
                noise=stats.noise_bytes,
                bad=stats.bad_frames,
            )
        return t("Check the baud rate, the cable and that the device is powered and running.")

    def drain(self, quiet_s: float = 0.02, limit_s: float = 0.5) -> None:
        """Discard whatever is still arriving (late answers) before a new conversation."""
        self._link.read_until_quiet(quiet_s, limit_s)
        self._decoder.reset()
        self._pending.clear()

    def stats(self) -> LinkStats:
        """Counters since the session started (bytes include earlier links of this target)."""
        c = self.counters
        return LinkStats(
            requests=c.requests,
            retries=c.retries,
            timeouts=c.timeouts,
            errors=c.errors + self._decoder.stats.bad_frames,
            last_round_trip_s=c.last_round_trip_s,
            bytes_sent=c.extra_bytes_sent + self._link.bytes_sent,
            bytes_received=c.extra_bytes_received + self._link.bytes_received,
        )

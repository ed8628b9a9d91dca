"""Pipelined, resumable MCUmgr image upload (image group, command 1).

The specification's upload is a sequence of ``{off, data}`` writes; the first carries ``len``,
``sha`` (SHA-256 of the whole image, which names the upload session) and ``image``. A one-chunk-at-a-
time client leaves the line idle while the device writes flash and answers; here several chunks are
in flight (the window is sized from the device's ``buf_count``: every chunk in flight occupies one
of its frame buffers) so the wire never idles.

Recovery follows the device's own rules (Zephyr ``img_mgmt`` / MCUboot serial recovery):

* a chunk at the wrong offset is dropped by the device, which answers with the offset it expects;
  a gap (a chunk lost on the wire) therefore shows up in the next answer and the client goes back
  to that offset (go-back-N), without waiting for a timeout;
* a silent timeout (answer lost, or the last chunk lost) resends from the last acknowledged offset;
* repeated losses halve the chunk size (a noisy RS485 line loses long frames far more often than
  short ones) and clean runs grow it back;
* a first chunk (``off`` 0) with the same ``sha`` after a disconnect or a power cycle makes the
  device answer with the offset it already holds: that is resume.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from smp.image_management import ImageUploadWriteRequest

from bmsflasher.core.errors import DeviceRejectedError, IntegrityError, NoResponseError
from bmsflasher.core.i18n import t
from bmsflasher.protocols.smp.codec import SmpResponse, check_error
from bmsflasher.protocols.smp.framing import FRAME_OVERHEAD_BYTES, wire_size
from bmsflasher.protocols.smp.session import BASE_TIMEOUT_S, SmpSession

UPLOAD: Final = t("image upload")
"""The operation's name in messages ("The device refused the image upload: …")."""
MIN_CHUNK_BYTES: Final = 64
FIRST_CHUNK_BYTES: Final = 256
"""The first chunk only opens (or resumes) the session: short, so a noisy line rarely loses it."""
IMAGE_HEADER_BYTES: Final = 32
"""The first chunk must carry the whole MCUboot header: Zephyr's img_mgmt checks its magic there."""
CHUNK_ALIGN_BYTES: Final = 8
"""Chunks are multiples of a flash write unit, so devices never buffer partial words."""

NOISY_CHUNK_BYTES: Final = 128
"""First and starting chunk size once the session saw the line garble frames (``line_is_noisy``)."""
MAX_WINDOW: Final = 8
MIN_RTO_S: Final = 0.1
NOISY_MIN_RTO_S: Final = 0.03
"""On a line that garbles frames a lost chunk is far likelier than a slow device: resend sooner."""
MIN_SILENCE_S: Final = 5.0
"""The upload gives up only after this long without any answer (and 6 timeouts in a row)."""
GROW_AFTER_CLEAN_ACKS: Final = 8
MAX_CONSECUTIVE_TIMEOUTS: Final = 6
DEFAULT_FIRST_TIMEOUT_S: Final = 30.0
"""The first chunk may make the device erase the whole slot before it answers."""

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class UploadResult:
    """What happened during one upload call (for logs, benchmarks and tests)."""

    total_bytes: int
    resumed_from: int
    match: bool | None
    elapsed_s: float
    requests: int
    chunks_resent: int
    timeouts: int
    final_chunk_bytes: int


def max_message_bytes(buf_size: int) -> int:
    """Largest SMP message (header + CBOR) the device's ``buf_size`` frame buffer accepts.

    The length prefix and CRC16 share the buffer with the message, as in smpclient and Zephyr.
    """
    return max(buf_size - FRAME_OVERHEAD_BYTES, 64)


def window_for(buf_count: int) -> int:
    """Chunks in flight for a device with ``buf_count`` frame buffers (one stays free for the answer)."""
    return max(1, min(MAX_WINDOW, buf_count - 1))


def _cbor_bstr_header(length: int) -> int:
    if length < 24:
        return 1
    if length < 0x100:
        return 2
    if length < 0x10000:
        return 3
    return 5


class ImageUploader:
    """Uploads one image over an :class:`SmpSession`; create one per attempt.

    Args:
        session: the open session.
        image: the complete MCUboot image file.
        max_message: largest request message in bytes (see :func:`max_message_bytes`).
        window: requests in flight (1 = the classic sequential client).
        image_number: the ``image`` field (0 for single-image devices).
        first_timeout_s: wait for the first answer (the device may erase the slot first).
        chunk_timeout_s: wait for any answer while chunks are in flight; None computes it from the
            baud rate and the window.
        on_progress: called with (bytes acknowledged, total) whenever the device's offset moves.
    """

    def __init__(
        self,
        session: SmpSession,
        image: bytes,
        *,
        max_message: int,
        window: int,
        image_number: int = 0,
        first_timeout_s: float = DEFAULT_FIRST_TIMEOUT_S,
        chunk_timeout_s: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        if not image:
            raise IntegrityError(t("The image to upload is empty."))
        self._session = session
        self._image = image
        self._total = len(image)
        self._sha = hashlib.sha256(image).digest()
        self._max_message = max_message
        self._window = max(1, window)
        self._image_number = image_number
        self._first_timeout_s = first_timeout_s
        self._on_progress = on_progress
        self._full_chunk = self._data_room(self._total, first=False)
        # On a line that already garbled frames, start short and grow (instead of losing a few
        # full-size frames before the halving gets there).
        noisy = session.line_is_noisy()
        self._chunk_limit = min(self._full_chunk, NOISY_CHUNK_BYTES) if noisy else self._full_chunk
        frame_time = session.wire_time_s(wire_size(max_message))
        self._chunk_timeout_s = (
            chunk_timeout_s
            if chunk_timeout_s is not None
            else BASE_TIMEOUT_S + 2.0 * frame_time * (self._window + 1)
        )
        self._rto = RetransmitTimer(ceiling_s=self._chunk_timeout_s)
        self._requests = 0
        self._resent = 0
        self._timeouts = 0

    @property
    def chunk_bytes(self) -> int:
        """Data bytes in a full (non-first) chunk at the current size limit."""
        return self._chunk_limit

    def run(self) -> UploadResult:
        """Upload (or resume) the image; returns when the device holds all of it.

        Raises:
            NoResponseError: the device stopped answering.
            DeviceRejectedError: the device refused the image (too large, downgrade, bad state).
            IntegrityError: the device computed a different SHA-256 for what it received.
            LinkLostError: the port vanished (the caller may reconnect and call again: resume).
        """
        started = time.monotonic()
        acked, match = self._first_chunk()
        resumed_from = acked if acked > self._first_data_len() else 0
        self._report(acked)
        if acked < self._total:
            acked, match = self._pipeline(acked)
        if match is False:
            raise IntegrityError(
                t(
                    "The device reports that the uploaded image does not match its SHA-256; "
                    "the transfer was corrupted and must be repeated."
                )
            )
        return UploadResult(
            total_bytes=self._total,
            resumed_from=resumed_from,
            match=match,
            elapsed_s=time.monotonic() - started,
            requests=self._requests,
            chunks_resent=self._resent,
            timeouts=self._timeouts,
            final_chunk_bytes=self._chunk_limit,
        )

    # --- message building -----------------------------------------------------------------------
    def _request(self, sequence: int, offset: int, length: int, *, first: bool) -> bytes:
        data = self._image[offset : offset + length]
        if first:
            model = ImageUploadWriteRequest(
                off=offset,
                data=data,
                len=self._total,
                sha=self._sha,
                image=self._image_number,
                sequence=sequence,
            )
        else:
            model = ImageUploadWriteRequest(off=offset, data=data, sequence=sequence)
        return bytes(model.BYTES)

    def _data_room(self, offset: int, *, first: bool) -> int:
        """Most data bytes that fit one message at ``offset`` (exact: measured on the encoding)."""
        empty = len(self._request(0, offset, 0, first=first))
        room = self._max_message - (empty - 1)  # the empty bstr's 1-byte header is counted in ``empty``
        length = room - _cbor_bstr_header(room)
        while length > 0 and length + _cbor_bstr_header(length) > room:
            length -= 1
        length -= length % CHUNK_ALIGN_BYTES
        return max(length, 0)

    def _first_data_len(self) -> int:
        return min(self._data_room(0, first=True), self._chunk_limit, FIRST_CHUNK_BYTES, self._total)

    def _chunk_len(self, offset: int) -> int:
        return max(0, min(self._chunk_limit, self._total - offset))

    # --- the first request: session start or resume ----------------------------------------------
    def _first_chunk(self) -> tuple[int, bool | None]:
        length = self._first_data_len()
        if length < min(self._total, IMAGE_HEADER_BYTES):  # img_mgmt wants the whole header at once
            raise DeviceRejectedError(
                t(
                    "The device's SMP buffer ({size} bytes) is too small for an image upload.",
                    size=self._max_message,
                )
            )
        # Idempotent: the same sha at off 0 resumes, it never starts twice. So instead of one long
        # wait (the device may erase the slot before answering) it is retried at the normal pace
        # for as long as an erase may take; a late answer to any of the attempts is accepted.
        attempts = max(3, math.ceil(self._first_timeout_s / self._chunk_timeout_s))
        floor = min(length, -(-IMAGE_HEADER_BYTES // CHUNK_ALIGN_BYTES) * CHUNK_ALIGN_BYTES)
        if self._session.line_is_noisy():
            length = max(floor, min(length, NOISY_CHUNK_BYTES))
        tries = 0

        def build(sequence: int) -> bytes:
            # A frame the line keeps garbling is not sent again as it was: every second try halves it.
            nonlocal tries
            size = max(floor, (length >> min(tries // 2, 3)) // CHUNK_ALIGN_BYTES * CHUNK_ALIGN_BYTES)
            tries += 1
            return self._request(sequence, 0, size, first=True)

        response = self._session.transact(
            build,
            UPLOAD,
            # On a noisy line the session's measured round trips decide (doubling per silent try).
            timeout_s=None if self._session.line_is_noisy() else self._chunk_timeout_s,
            attempts=attempts,
        )
        self._requests += 1
        return self._offset_of(response), self._match_of(response)

    # --- the pipeline ----------------------------------------------------------------------------
    def _pipeline(self, acked: int) -> tuple[int, bool | None]:
        session = self._session
        inflight: dict[int, _Chunk] = {}
        next_off = acked
        match: bool | None = None
        clean_acks = 0
        consecutive_timeouts = 0
        started_at = time.monotonic()
        loss_epoch_end = -1  # losses among chunks sent before this offset belong to one loss event
        while acked < self._total:
            while len(inflight) < self._window and next_off < self._total:
                length = self._chunk_len(next_off)
                sequence = session.next_sequence()
                session.send(self._request(sequence, next_off, length, first=False))
                session.counters.requests += 1
                self._requests += 1
                inflight[sequence] = _Chunk(next_off, next_off + length, time.monotonic())
                next_off += length
            oldest = min((chunk.sent_at for chunk in inflight.values()), default=time.monotonic())
            frame_s = session.wire_time_s(wire_size(self._chunk_limit + 48))  # data + header and CBOR
            min_rto = NOISY_MIN_RTO_S if session.line_is_noisy() else MIN_RTO_S
            floor_s = max(min_rto, 2.0 * frame_s * (self._window + 1))
            response = session.poll(oldest + self._rto.timeout_s(consecutive_timeouts, floor_s=floor_s))
            if response is None:
                consecutive_timeouts += 1
                self._timeouts += 1
                session.counters.timeouts += 1
                silent_s = time.monotonic() - max(session.last_answer_at, started_at)
                if consecutive_timeouts >= MAX_CONSECUTIVE_TIMEOUTS and silent_s >= MIN_SILENCE_S:
                    raise NoResponseError(
                        t(
                            "The device stopped answering during the image upload at offset {offset} "
                            "of {total} ({timeouts} timeouts in a row).",
                            offset=acked,
                            total=self._total,
                            timeouts=consecutive_timeouts,
                        ),
                        hint=t("Check the cable and the power; run the update again to resume."),
                    )
                self._resent += len(inflight)
                session.counters.retries += 1
                inflight.clear()
                self._shrink()  # everything in flight was given up: the next sends are a new epoch
                loss_epoch_end = next_off
                next_off = acked
                clean_acks = 0
                continue
            if not self._is_answer(response):
                continue
            consecutive_timeouts = 0
            chunk = inflight.pop(response.header.sequence, None)
            check_error(response, UPLOAD)
            device_off = self._offset_of(response)
            if device_off > acked:
                acked = device_off
                self._report(acked)
                for sequence in [seq for seq, done in inflight.items() if done.end <= acked]:
                    del inflight[sequence]  # its own answer was lost, but a later one covers it
            if device_off >= self._total:
                match = self._match_of(response) if match is None else match
            if chunk is None or chunk.doomed:
                continue  # an answer to a chunk we already gave up on: only its offset was useful
            if device_off == chunk.end:
                self._rto.sample(time.monotonic() - chunk.sent_at)
                clean_acks += 1
                if clean_acks >= GROW_AFTER_CLEAN_ACKS:
                    self._grow()
                    clean_acks = 0
                continue
            if device_off < chunk.end:
                # Something before this chunk was lost: the device dropped this one and every chunk
                # behind it. Go back to where the device is (without waiting for a timeout).
                self._resent += 1 + len(inflight)
                for other in inflight.values():
                    other.doomed = True
                if chunk.off >= loss_epoch_end:  # one halving per loss event, like TCP's recovery
                    self._shrink()
                    loss_epoch_end = next_off
                next_off = device_off
                clean_acks = 0
            elif device_off > next_off:
                next_off = device_off  # the device already holds more (a resumed session)
        return acked, match

    def _is_answer(self, response: SmpResponse) -> bool:
        """An answer to this upload's chunks (image group, command 1)."""
        return _is_upload_answer(response)

    def _shrink(self) -> None:
        self._chunk_limit = max(
            MIN_CHUNK_BYTES, (self._chunk_limit // 2) // CHUNK_ALIGN_BYTES * CHUNK_ALIGN_BYTES
        )

    def _grow(self) -> None:
        grown = (self._chunk_limit * 3 // 2) // CHUNK_ALIGN_BYTES * CHUNK_ALIGN_BYTES
        self._chunk_limit = min(self._full_chunk, grown)

    def _offset_of(self, response: SmpResponse) -> int:
        off = response.body.get("off")
        if not isinstance(off, int) or isinstance(off, bool) or not 0 <= off <= self._total:
            raise DeviceRejectedError(
                t("The device answered the image upload without a valid offset ({offset}).", offset=repr(off))
            )
        return off

    @staticmethod
    def _match_of(response: SmpResponse) -> bool | None:
        match = response.body.get("match")
        return match if isinstance(match, bool) else None

    def _report(self, acked: int) -> None:
        if self._on_progress is not None:
            self._on_progress(acked, self._total)


class RetransmitTimer:
    """How long to wait for an answer before resending: RFC 6298's estimator, within bounds.

    A fixed timeout must cover the slowest case (a device erasing flash, a 9600 baud link), which
    makes every loss on a fast, noisy line cost a second. Measured round trips let the client
    notice a lost answer after a few round trips instead, while the floor (the wire time of the
    window) and the ceiling keep it sane.
    """

    def __init__(self, *, ceiling_s: float) -> None:
        self._ceiling_s = ceiling_s
        self._srtt_s: float | None = None
        self._rttvar_s = 0.0

    def sample(self, rtt_s: float) -> None:
        """Feed one round trip of a chunk that was answered without a retransmission."""
        if self._srtt_s is None:
            self._srtt_s, self._rttvar_s = rtt_s, rtt_s / 2
            return
        self._rttvar_s = 0.75 * self._rttvar_s + 0.25 * abs(self._srtt_s - rtt_s)
        self._srtt_s = 0.875 * self._srtt_s + 0.125 * rtt_s

    def timeout_s(self, backoff: int = 0, *, floor_s: float = MIN_RTO_S) -> float:
        """The current timeout (never below ``floor_s``), doubled per consecutive timeout so far."""
        if self._srtt_s is None:
            return self._ceiling_s
        base = max(floor_s, self._srtt_s + 4 * self._rttvar_s)
        return min(self._ceiling_s, base * float(2**backoff))


@dataclass
class _Chunk:
    off: int
    end: int
    sent_at: float
    doomed: bool = False


def _is_upload_answer(response: SmpResponse) -> bool:
    header = response.header
    return header.group == 1 and header.command == 1 and header.op == 3

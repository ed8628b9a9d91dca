"""Fetch a garbled answer again in pieces sized to the line's measured error rate (BMS command 19).

On a noisy line (bit error rate 1e-3) a long answer frame almost never arrives intact, and asking
again returns the same long frame — or repeats an action. When an answer arrives corrupted the
session asks the device for the answer it kept, in pieces of :attr:`PieceSizer.size` bytes:
each lost piece halves the size, every few clean pieces grow it by half, so the frame size follows
the error rate the line shows. The pieces are reassembled into the SMP message and checked with the
device's CRC-32 before they are decoded (docs/protocols/smp.md, *Noisy lines*).
"""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING, Final

from bmsflasher.core.errors import BmsFlasherError, MalformedResponseError, UnsupportedOperationError
from bmsflasher.core.i18n import t
from bmsflasher.protocols.smp.codec import (
    BMS_GROUP_ID,
    BmsCommand,
    SmpHeader,
    SmpResponse,
    check_error,
    decode_response,
    encode_message,
)
from bmsflasher.protocols.smp.framing import wire_size

if TYPE_CHECKING:
    from bmsflasher.protocols.smp.session import SmpSession

START_PIECE_BYTES: Final = 128
MIN_PIECE_BYTES: Final = 32
"""Below this the piece answer's header and CBOR keys (about 40 bytes) outweigh the data."""
MAX_PIECE_BYTES: Final = 1024
GROW_AFTER: Final = 4
MAX_LOST_PIECES: Final = 60
"""Lost pieces per answer before giving up on it (the caller then retries or reports the silence)."""
FIRST_PIECE_WAIT_S: Final = 0.15
MIN_PIECE_WAIT_S: Final = 0.02
_READ: Final = 0
_CBOR_OVERHEAD: Final = 48


class PieceSizer:
    """The piece size, adapted to the line: halve when a piece arrives garbled, grow after clean ones.

    A piece that never arrives says nothing about its size (its short request was lost), so only
    garbled pieces shrink it. The wait for a piece follows the measured round trip of clean ones.
    """

    def __init__(self) -> None:
        self.size = START_PIECE_BYTES
        self._clean = 0
        self._round_trip_s: float | None = None

    def wait_s(self) -> float:
        if self._round_trip_s is None:
            return FIRST_PIECE_WAIT_S
        return max(MIN_PIECE_WAIT_S, 4 * self._round_trip_s)

    def sample(self, round_trip_s: float) -> None:
        previous = self._round_trip_s
        self._round_trip_s = round_trip_s if previous is None else 0.875 * previous + 0.125 * round_trip_s

    def lost(self) -> None:
        self.size = max(MIN_PIECE_BYTES, self.size // 2)
        self._clean = 0

    def clean(self) -> None:
        self._clean += 1
        if self._clean >= GROW_AFTER:
            self.size = min(MAX_PIECE_BYTES, self.size * 3 // 2)
            self._clean = 0


def fetch_answer(session: SmpSession, sequence: int, expected: SmpHeader) -> SmpResponse | None:
    """The device's kept answer to request ``sequence``, fetched in pieces; None if it has none.

    The original answer arriving late is accepted as well. Sets ``session.pieces_supported`` to
    False when the device lacks the command (then the caller's plain retries remain).
    """
    sizer = session.piece_sizer
    pieces = bytearray()
    total: int | None = None
    crc = 0
    lost = 0
    while lost < MAX_LOST_PIECES:
        piece_sequence = session.next_sequence()
        body = {"seq": sequence, "off": len(pieces), "max": sizer.size}
        session.send(encode_message(_READ, BMS_GROUP_ID, BmsCommand.ANSWER_PIECE, piece_sequence, body))
        session.counters.requests += 1
        wait_s = sizer.wait_s() + 3 * session.wire_time_s(wire_size(sizer.size * 4 // 3 + _CBOR_OVERHEAD))
        sent_at = time.monotonic()
        bad_before = session.decoder.stats.bad_frames
        answer = _wait_for(session, piece_sequence, sequence, expected, sent_at + wait_s)
        if isinstance(answer, SmpResponse) and answer.header.command != BmsCommand.ANSWER_PIECE:
            return answer  # the original answer got through after all
        if answer is None:
            lost += 1
            session.counters.retries += 1
            if session.decoder.stats.bad_frames > bad_before:
                sizer.lost()  # it arrived garbled: too long for this line
            continue
        sizer.sample(time.monotonic() - sent_at)
        try:
            check_error(answer, t("answer piece"))
        except UnsupportedOperationError:
            session.pieces_supported = False
            return None
        except BmsFlasherError:
            return None  # the device kept another answer: our request never reached it
        data, length, offset = answer.body.get("data"), answer.body.get("len"), answer.body.get("off")
        if not isinstance(data, bytes) or not isinstance(length, int) or offset != len(pieces):
            lost += 1
            continue
        session.pieces_supported = True
        sizer.clean()
        total = length
        crc_value = answer.body.get("crc")
        crc = crc_value if isinstance(crc_value, int) else -1
        pieces.extend(data)
        if len(pieces) >= total or not data:
            break
    if total is None or len(pieces) != total or zlib.crc32(pieces) != crc:
        return None
    try:
        response = decode_response(bytes(pieces))
    except MalformedResponseError:
        return None
    header = response.header
    if (header.sequence, header.group, header.command) != (sequence, expected.group, expected.command):
        return None
    return response


def _wait_for(
    session: SmpSession, piece_sequence: int, sequence: int, expected: SmpHeader, deadline: float
) -> SmpResponse | None:
    """The piece's answer, or the original answer if it arrives; None on a loss (timeout or garble)."""
    bad_before = session.decoder.stats.bad_frames
    while True:
        response = session.poll(deadline, until_bad_frames=bad_before)
        if response is None:
            return None
        header = response.header
        if header.sequence == piece_sequence and header.command == BmsCommand.ANSWER_PIECE:
            return response
        if (header.sequence, header.group, header.command) == (sequence, expected.group, expected.command):
            return response

"""The BMS group's answer pieces (command 19): the last answer again, in frames a noisy line lets through.

On a line with a bit error rate of 1e-3 a 400-byte answer frame arrives intact about one time in
twenty-five, and a 700-byte self-test answer almost never; sending the request again does not help
(the answer is as long each time) and may even repeat an action. So the firmware keeps the last
answer it sent (one buffer, as Zephyr's SMP transport keeps its last response until freed) and
hands it out in pieces of the size the client asks for:

    19 R {seq, off, max}  →  {seq, off, len, crc, data}

``seq`` names the request whose answer is wanted (the sequence number of the kept answer must
match, else ``err {72, 3}``); ``data`` is the kept SMP **message** (header + CBOR body) from ``off``,
at most ``max`` bytes; ``len`` is the message length and ``crc`` its CRC-32, so the client can check
the reassembled whole. Piece requests themselves are not kept. docs/protocols/smp.md, *Noisy lines*.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Mapping
from typing import Any, Final

from bmsflasher.sim.smp.error_codes import BmsErr, MgmtErr, SmpRequestError
from bmsflasher.sim.smp.messages import GROUP_BMS, HEADER, OP_READ, HandlerTable, Request, is_uint

CMD_ANSWER_PIECE: Final = 19
MIN_PIECE: Final = 8
MAX_PIECE: Final = 1024


class AnswerPieces:
    """Keeps the last answer message and serves it in pieces."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sequence = -1
        self._message = b""

    def handlers(self) -> HandlerTable:
        return {(GROUP_BMS, CMD_ANSWER_PIECE, OP_READ): self._piece}

    def keep(self, message: bytes) -> None:
        """Remember the answer just sent (not a piece answer: those are served from the kept one)."""
        if len(message) < HEADER.size:
            return
        _op, _flags, _length, group, sequence, command = HEADER.unpack_from(message)
        if (group, command) == (GROUP_BMS, CMD_ANSWER_PIECE):
            return
        with self._lock:
            self._sequence, self._message = sequence, bytes(message)

    def forget(self) -> None:
        """A reset clears RAM."""
        with self._lock:
            self._sequence, self._message = -1, b""

    def _piece(self, request: Request) -> Mapping[str, Any]:
        body = request.body
        sequence, offset, most = body.get("seq"), body.get("off", 0), body.get("max")
        if not is_uint(sequence) or not is_uint(offset) or not is_uint(most):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'seq', 'off' and 'max' are unsigned")
        with self._lock:
            kept_sequence, message = self._sequence, self._message
        if sequence != kept_sequence or offset > len(message):
            raise SmpRequestError(BmsErr.INVALID_PARAMETER, group=GROUP_BMS, reason="no such answer kept")
        size = max(MIN_PIECE, min(MAX_PIECE, most))
        return {
            "seq": sequence,
            "off": offset,
            "len": len(message),
            "crc": zlib.crc32(message),
            "data": message[offset : offset + size],
        }

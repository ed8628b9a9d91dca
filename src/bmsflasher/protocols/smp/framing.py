r"""MCUmgr SMP serial transport framing (the "SMP over console" encoding), client side.

On a UART/USB CDC/RS485 link an SMP message travels as ``[u16 length][message][u16 CRC16]``,
base64-encoded and cut into lines. The first line starts with ``0x06 0x09``, continuation lines with
``0x04 0x14``; every line ends with ``\n`` and is at most 127 bytes including delimiter and newline
(Zephyr's ``MCUMGR_SERIAL_MAX_FRAME``). The CRC is CRC16-XMODEM (CCITT polynomial 0x1021, initial 0)
over the message. The encoding and the per-packet decoding come from the ``smp`` package
(``smp.packet``); this module adds what a real wire needs on top: a byte-stream line splitter that
skips console noise and resynchronises after garbage, and exact wire-size arithmetic for chunk sizing.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from smp import packet as smppacket
from smp.exceptions import SMPDecodeError

MAX_LINE_BYTES: Final = 127
"""Longest line on the wire: 2-byte delimiter + base64 + newline (Zephyr MCUMGR_SERIAL_MAX_FRAME)."""

_SMP_LINE_LENGTH_ARG: Final = MAX_LINE_BYTES + 1
"""``smp.packet.encode`` subtracts 4 from its ``line_length``; 128 yields 127-byte lines (124 base64)."""

BASE64_PER_LINE: Final = ((_SMP_LINE_LENGTH_ARG - smppacket.LINE_LENGTH_SUBTRACTOR) // 4) * 4
"""Base64 characters carried by one full line (124)."""

LINE_OVERHEAD_BYTES: Final = smppacket.DELIMITER_SIZE + len(smppacket.END_DELIMITER)
"""Delimiter plus newline around each line's base64 payload."""

FRAME_OVERHEAD_BYTES: Final = smppacket.FRAME_LENGTH_STRUCT.size + smppacket.CRC16_STRUCT.size
"""The length prefix and CRC16 that wrap every message (they share the device's frame buffer)."""

MAX_PENDING_LINE_BYTES: Final = 4096
"""A "line" longer than this without a newline is noise; drop it instead of growing forever."""


def encode_frame(message: bytes) -> bytes:
    """Encode one SMP message (header + CBOR) into the serial lines that carry it."""
    return b"".join(smppacket.encode(message, line_length=_SMP_LINE_LENGTH_ARG))


def wire_size(message_size: int) -> int:
    """Bytes on the wire for a message of ``message_size`` bytes (base64, delimiters, newlines)."""
    b64 = 4 * ((message_size + FRAME_OVERHEAD_BYTES + 2) // 3)
    lines = -(-b64 // BASE64_PER_LINE)
    return b64 + lines * LINE_OVERHEAD_BYTES


def framing_efficiency() -> float:
    """Payload bytes per wire byte of the line framing alone (3/4 × 124/127 ≈ 0.732)."""
    return 0.75 * BASE64_PER_LINE / (BASE64_PER_LINE + LINE_OVERHEAD_BYTES)


def framing_ceiling_bps(baud: int) -> float:
    """The SMP serial framing ceiling in payload bytes/s at ``baud`` with 8N1 (10 bits per byte).

    At 115200 baud this is 11520 B/s x 0.732 = 8436 B/s (8.24 KiB/s): no client can upload faster,
    whatever its pipelining.
    """
    return baud / 10.0 * framing_efficiency()


@dataclass
class DecoderStats:
    """What the line decoder threw away: a link-quality signal for diagnostics."""

    frames: int = 0
    bad_frames: int = 0
    noise_bytes: int = 0
    last_bad_frame_bytes: int = 0
    """How long the last corrupted frame was (announced or received, whichever is longer)."""


class FrameDecoder:
    """Reassemble SMP frames from an arbitrary byte stream (partial reads, console noise, bit errors).

    Feed bytes as they arrive; complete, CRC-checked messages come out. A corrupted frame is dropped
    and counted (the caller's retransmission recovers it); a start delimiter always begins a new
    frame, so one bad line never poisons the next message.
    """

    def __init__(self) -> None:
        self._pending = bytearray()
        self._lines: list[bytes] = []
        self._expected: int | None = None
        self._decoded = bytearray()
        self.stats = DecoderStats()

    def reset(self) -> None:
        """Forget any partial frame (after a reconnect)."""
        self._pending.clear()
        self._drop_frame()

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Consume ``data``; yield each complete message (header + CBOR, without length and CRC)."""
        self._pending.extend(data)
        while True:
            newline = self._pending.find(b"\n")
            if newline < 0:
                if len(self._pending) > MAX_PENDING_LINE_BYTES:
                    self.stats.noise_bytes += len(self._pending)
                    self._pending.clear()
                    self._drop_frame()
                return
            line = bytes(self._pending[: newline + 1])
            del self._pending[: newline + 1]
            message = self._take_line(line)
            if message is not None:
                yield message

    def _take_line(self, line: bytes) -> bytes | None:
        start = line.rfind(smppacket.START_DELIMITER)
        if start >= 0:
            self.stats.noise_bytes += start
            self._drop_frame(count_bad=self._expected is not None)
            return self._begin(line[start:])
        if self._expected is None:
            self.stats.noise_bytes += len(line)  # console output or a line of a frame we lost
            return None
        cont = line.rfind(smppacket.CONTINUE_DELIMITER)
        if cont < 0:
            self._drop_frame(count_bad=True)
            self.stats.noise_bytes += len(line)
            return None
        return self._extend(line[cont:])

    def _begin(self, line: bytes) -> bytes | None:
        chunk = self._b64(line)
        if chunk is None or len(chunk) < smppacket.FRAME_LENGTH_STRUCT.size:
            self.stats.bad_frames += 1
            return None
        expected = smppacket.FRAME_LENGTH_STRUCT.unpack(chunk[: smppacket.FRAME_LENGTH_STRUCT.size])[0]
        if expected < smppacket.CRC16_STRUCT.size:
            # Too short to hold its own CRC: only noise makes this, and smp's decoder would raise
            # struct.error on it (coverage-guided fuzzing found it), so it never gets that far.
            self.stats.bad_frames += 1
            return None
        self._expected = expected
        self._lines = [line]
        self._decoded = bytearray(chunk[smppacket.FRAME_LENGTH_STRUCT.size :])
        return self._finish_if_complete()

    def _extend(self, line: bytes) -> bytes | None:
        chunk = self._b64(line)
        if chunk is None:
            self._drop_frame(count_bad=True)
            return None
        self._lines.append(line)
        self._decoded.extend(chunk)
        return self._finish_if_complete()

    def _finish_if_complete(self) -> bytes | None:
        assert self._expected is not None
        if len(self._decoded) < self._expected:
            return None
        lines = self._lines
        size = len(self._decoded)
        self._drop_frame()
        decoder = smppacket.decode()
        next(decoder)
        try:
            for line in lines:
                decoder.send(line)
        except StopIteration as done:
            self.stats.frames += 1
            return bytes(done.value)
        except (SMPDecodeError, binascii.Error, ValueError):
            self.stats.bad_frames += 1
            self.stats.last_bad_frame_bytes = size
            return None
        self.stats.bad_frames += 1  # smp's decoder wanted more: the length prefix was corrupted
        self.stats.last_bad_frame_bytes = size
        return None

    def _b64(self, line: bytes) -> bytes | None:
        try:
            return binascii.a2b_base64(line[smppacket.DELIMITER_SIZE : -1], strict_mode=True)
        except binascii.Error:
            return None

    def _drop_frame(self, *, count_bad: bool = False) -> None:
        if count_bad:
            self.stats.bad_frames += 1
            self.stats.last_bad_frame_bytes = max(len(self._decoded), self._expected or 0)
        self._expected = None
        self._lines = []
        self._decoded = bytearray()

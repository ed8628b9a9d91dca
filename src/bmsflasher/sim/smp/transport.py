r"""Device side of the MCUmgr SMP serial transport: line assembly into a pool of frame buffers.

Mirrors what Zephyr's UART/console SMP transport does in the virtual BMS firmware: bytes from the
UART become lines (``0x06 0x09`` starts a frame, ``0x04 0x14`` continues it, ``\n`` ends a line of at
most 127 bytes); each frame is base64-decoded into one of ``buf_count`` frame buffers of
``buf_size`` bytes (the numbers the OS group's MCUmgr-parameters command reports), its length
prefix and CRC16-XMODEM are checked, and the SMP message goes to the request handler.

When every frame buffer is busy (the handler is still writing flash), a new frame cannot start:
its bytes stay in the UART FIFO, which overflows if the host keeps sending — precisely the loss a
client that ignores ``buf_count`` provokes on a real device. Corrupted frames are dropped silently
(SMP over serial has no negative acknowledgement), as the firmware would.

Packet decoding uses the ``smp`` package (``smp.packet``) — a third-party codec, not the tool's client.
"""

from __future__ import annotations

import binascii
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from smp import packet as smppacket
from smp.exceptions import SMPDecodeError

MAX_LINE_BYTES: Final = 127
"""Longest accepted line including delimiter and newline (Zephyr's MCUMGR_SERIAL_MAX_FRAME)."""

_LENGTH_BYTES: Final = smppacket.FRAME_LENGTH_STRUCT.size
_CRC_BYTES: Final = smppacket.CRC16_STRUCT.size


def encode_frame(message: bytes) -> bytes:
    """Serial lines for one SMP message (``smp.packet.encode``; 127-byte lines incl. newline)."""
    return b"".join(smppacket.encode(message, line_length=MAX_LINE_BYTES + 1))


class FrameBufferPool:
    """``count`` frame buffers; a frame holds one from its first line until it has been answered."""

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError("a device needs at least one SMP frame buffer")
        self._count = count
        self._free = count
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return self._count

    @property
    def free(self) -> int:
        with self._lock:
            return self._free

    def acquire(self) -> bool:
        """Take a buffer if one is free (never blocks: the UART cannot wait)."""
        with self._lock:
            if self._free == 0:
                return False
            self._free -= 1
            return True

    def release(self) -> None:
        """Give a buffer back (after its request was answered or dropped)."""
        with self._lock:
            self._free = min(self._count, self._free + 1)


@dataclass
class ReceiverStats:
    """What the firmware's SMP receiver saw."""

    frames: int = 0
    crc_errors: int = 0
    bad_lines: int = 0
    too_long: int = 0
    console_bytes: int = 0
    stalls: int = 0


class SmpSerialReceiver:
    """Consumes the UART FIFO line by line and hands complete, CRC-valid messages on.

    Args:
        pool: the frame buffers (shared with whoever answers requests and releases them).
        buf_size: capacity of one frame buffer (decoded bytes: length prefix + message + CRC).
        deliver: called with each valid message; it now owns one buffer and must release it.
    """

    def __init__(self, pool: FrameBufferPool, buf_size: int, deliver: Callable[[bytes], None]) -> None:
        self._pool = pool
        self._buf_size = buf_size
        self._deliver = deliver
        self._holding = False  # a frame in progress holds one buffer
        self._expected = 0
        self._decoded = bytearray()
        self._lines: list[bytes] = []
        self.stats = ReceiverStats()

    def __call__(self, fifo: bytearray) -> None:
        """Take every complete line that can be processed now from the front of ``fifo``."""
        while True:
            newline = fifo.find(b"\n")
            if newline < 0:
                if len(fifo) > MAX_LINE_BYTES:  # no line ends in time: console junk or a lost newline
                    self.stats.bad_lines += 1
                    self.stats.console_bytes += len(fifo)
                    fifo.clear()
                    self._abandon()
                return
            line = bytes(fifo[: newline + 1])
            start = line.rfind(smppacket.START_DELIMITER)
            if start >= 0 and not self._holding and not self._pool.acquire():
                self.stats.stalls += 1
                return  # no free buffer: the frame waits in the FIFO (which may overflow)
            del fifo[: newline + 1]
            if start >= 0:
                self._begin(line[start:])
            else:
                self._continue(line)

    def _begin(self, line: bytes) -> None:
        # A start delimiter always begins a new frame; a half-received one is abandoned, but its
        # buffer is reused for the new frame.
        self._reset_frame()
        self._holding = True
        if len(line) > MAX_LINE_BYTES:
            self.stats.too_long += 1
            self._abandon()
            return
        chunk = self._decode_line(line)
        if chunk is None or len(chunk) < _LENGTH_BYTES:
            self._abandon()
            return
        self._expected = smppacket.FRAME_LENGTH_STRUCT.unpack(chunk[:_LENGTH_BYTES])[0]
        if self._expected + _LENGTH_BYTES > self._buf_size or self._expected < _CRC_BYTES:
            self.stats.too_long += 1
            self._abandon()
            return
        self._lines = [line]
        self._decoded = bytearray(chunk[_LENGTH_BYTES:])
        self._finish_if_complete()

    def _continue(self, line: bytes) -> None:
        if not self._holding or not self._lines:
            self.stats.console_bytes += len(line)
            return
        cont = line.rfind(smppacket.CONTINUE_DELIMITER)
        if cont < 0 or len(line) - cont > MAX_LINE_BYTES:
            self._abandon()
            return
        line = line[cont:]
        chunk = self._decode_line(line)
        if chunk is None:
            self._abandon()
            return
        self._lines.append(line)
        self._decoded.extend(chunk)
        if len(self._decoded) > self._expected:
            self._abandon()
            return
        self._finish_if_complete()

    def _finish_if_complete(self) -> None:
        if len(self._decoded) < self._expected:
            return
        lines = self._lines
        self._reset_frame()
        decoder = smppacket.decode()
        next(decoder)
        try:
            for line in lines:
                decoder.send(line)
        except StopIteration as done:
            self.stats.frames += 1
            self._holding = False  # ownership of the buffer passes to the request handler
            self._deliver(bytes(done.value))
            return
        except (SMPDecodeError, binascii.Error, ValueError):
            pass
        self.stats.crc_errors += 1
        self._abandon()

    def _decode_line(self, line: bytes) -> bytes | None:
        try:
            return binascii.a2b_base64(line[smppacket.DELIMITER_SIZE : -1], strict_mode=True)
        except binascii.Error:
            self.stats.bad_lines += 1
            return None

    def _reset_frame(self) -> None:
        self._expected = 0
        self._decoded = bytearray()
        self._lines = []

    def _abandon(self) -> None:
        """Drop the frame in progress and free its buffer."""
        self._reset_frame()
        if self._holding:
            self._holding = False
            self._pool.release()

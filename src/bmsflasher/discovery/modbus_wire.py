"""The scan's one Modbus question, asked fast: "is anyone at unit ``address``?" on an open link.

A sweep over 247 addresses at each candidate framing needs a request whose silence costs a few
milliseconds, not the protocol client's half-second retry policy, so the scan builds and checks
the frames itself: Read Holding Registers 40000, 2 registers (the SunSpec marker "SunS"). Any
frame from that unit whose CRC (RTU) or MBAP header (TCP) holds proves a Modbus device there,
whether it answers the registers or an exception. Bytes that never form such a frame prove only
that something sends: at a wrong baud, parity or stop bits a UART produces plausible junk, and junk
is never counted as a device. Behind a TCP gateway an exception 0x0A or 0x0B from a unit says the
gateway is alive and that unit absent.
"""

from __future__ import annotations

import enum
import struct
import time
from dataclasses import dataclass
from typing import Final

from bmsflasher.links.serial import SerialLink

PROBE_REGISTER: Final = 40000
PROBE_COUNT: Final = 2
READ_HOLDING: Final = 0x03
GATEWAY_EXCEPTIONS: Final = frozenset({0x0A, 0x0B})
"""Gateway path unavailable / gateway target failed to respond: the gateway answers, no module."""
REQUEST_BYTES: Final = 8
"""An RTU read request on the wire: address, function, start, count, CRC."""
FRAME_GAP_CHARACTERS: Final = 3.5


class Answer(enum.Enum):
    """What one question brought back."""

    DEVICE = "device"  # a valid frame from the unit: a Modbus device is there
    GATEWAY = "gateway"  # exception 0x0A/0x0B over TCP: the gateway is alive, the unit absent
    SILENT = "silent"
    GARBLED = "garbled"  # bytes arrived, never a valid frame from the unit


@dataclass(frozen=True, slots=True)
class Reply:
    """One question's outcome: what came back, how many stray bytes, the exception code if any."""

    answer: Answer
    bytes_received: int = 0
    exception: int | None = None


def crc16(data: bytes) -> int:
    """Modbus RTU CRC-16 (polynomial 0xA001, initial 0xFFFF), sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def rtu_request(address: int) -> bytes:
    """Read Holding Registers 40000 ×2 to ``address`` as an RTU frame (with CRC)."""
    body = struct.pack(">BBHH", address, READ_HOLDING, PROBE_REGISTER, PROBE_COUNT)
    return body + struct.pack("<H", crc16(body))


def tcp_request(address: int, transaction: int) -> bytes:
    """The same question with an MBAP header (transaction id, protocol 0, length, unit)."""
    pdu = struct.pack(">BHH", READ_HOLDING, PROBE_REGISTER, PROBE_COUNT)
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, address) + pdu


def character_s(baud: int, parity: str, stopbits: int) -> float:
    """One character's time on the line: start + 8 data + parity + stop bits."""
    return (1 + 8 + (0 if parity == "N" else 1) + stopbits) / baud


def _rtu_frame(buffer: bytes, address: int) -> tuple[Reply | None, bool]:
    """A valid answer from ``address`` at the start of ``buffer`` (None: not yet), and "needs more"."""
    if len(buffer) < 5:
        return None, True
    if buffer[0] != address:
        return None, False
    function = buffer[1]
    if function == READ_HOLDING | 0x80:
        size = 5
    elif function == READ_HOLDING:
        size = 5 + buffer[2]
    else:
        return None, False
    if len(buffer) < size:
        return None, True
    frame = buffer[:size]
    if struct.unpack("<H", frame[-2:])[0] != crc16(frame[:-2]):
        return None, False
    exception = frame[2] if function & 0x80 else None
    return Reply(Answer.DEVICE, len(buffer), exception), False


def ask_rtu(link: SerialLink, address: int, *, parity: str, stopbits: int, reaction_s: float) -> Reply:
    """Ask unit ``address`` on an RTU line; silence costs the request's wire time plus ``reaction_s``.

    An adapter that echoes what it sends is recognised (the request at the front is skipped). Once
    bytes arrive the wait stretches to the longest answer's wire time, so a module that started
    answering is read to its end.
    """
    request = rtu_request(address)
    char_s = character_s(link.baud, parity, stopbits)
    link.reset_input()
    link.write(request)
    sent = time.monotonic()
    deadline = sent + (REQUEST_BYTES + FRAME_GAP_CHARACTERS) * char_s * 1.5 + reaction_s
    buffer = b""
    stray = 0
    stretched = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        data = link.read(256, remaining)
        if not data:
            continue
        buffer += data
        if buffer.startswith(request):
            buffer = buffer[len(request) :]
        elif request.startswith(buffer):
            continue  # perhaps the start of an echo
        if buffer and not stretched:
            stretched = True
            deadline = time.monotonic() + (9 + 2 * FRAME_GAP_CHARACTERS) * char_s * 1.5 + reaction_s
        while buffer:
            reply, more = _rtu_frame(buffer, address)
            if reply is not None:
                return reply
            if more:
                break
            buffer = buffer[1:]  # a stray or corrupted byte: look for the answer after it
            stray += 1
    if stray or buffer:
        return Reply(Answer.GARBLED, stray + len(buffer))
    return Reply(Answer.SILENT)


def ask_tcp(link: SerialLink, address: int, transaction: int, *, window_s: float) -> Reply:
    """Ask unit ``address`` through a Modbus TCP gateway; the MBAP header must echo our transaction."""
    link.write(tcp_request(address, transaction))
    deadline = time.monotonic() + window_s
    buffer = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Reply(Answer.GARBLED, len(buffer)) if buffer else Reply(Answer.SILENT)
        data = link.read(256, remaining)
        buffer += data
        while len(buffer) >= 8:
            tid, protocol, length, unit = struct.unpack(">HHHB", buffer[:7])
            if protocol != 0 or not 2 <= length <= 254:
                return Reply(Answer.GARBLED, len(buffer))
            if len(buffer) < 6 + length:
                break
            pdu = buffer[7 : 6 + length]
            buffer = buffer[6 + length :]
            if tid != transaction or unit != address:
                continue  # a late answer to an earlier question
            if pdu[0] == READ_HOLDING | 0x80 and len(pdu) >= 2:
                if pdu[1] in GATEWAY_EXCEPTIONS:
                    return Reply(Answer.GATEWAY, 0, pdu[1])
                return Reply(Answer.DEVICE, 0, pdu[1])
            if pdu[0] == READ_HOLDING:
                return Reply(Answer.DEVICE)
            return Reply(Answer.GARBLED, len(pdu))

"""ISO 15765-2 receive rules the virtual BMS applies before can-isotp sees a frame.

can-isotp 2.0 implements segmentation faithfully but is lenient (or too strict) in a few places
the standard spells out, and an independent tester will probe exactly those:

* a flow control with a reserved STmin (0x80–0xF0, 0xFA–0xFF) must make the sender use the
  longest STmin, 0x7F = 127 ms (ISO 15765-2:2016); can-isotp drops the whole FC and
  the transfer dies of an N_Bs timeout instead;
* a flow control with a reserved FlowStatus (3–15) must abort the transmission at once
  (N_INVALID_FS); can-isotp ignores it and waits for N_Bs;
* a frame with a reserved N_PCI type (4–15) must be ignored; can-isotp aborts the reception in
  progress;
* a single frame whose SF_DL is 0 on a frame of at most 8 bytes (the escape form exists only for
  CAN FD frames longer than 8 bytes), a first frame shorter than 8 bytes, a first frame whose
  FF_DL is below FF_DLmin (8 on classic CAN, CAN_DL − 1 on CAN FD) and an escape first frame
  announcing 4095 bytes or fewer must all be ignored; can-isotp accepts them.

The tool's client applies the same rules with its own code (``protocols/uds/transport.py``):
the virtual BMS never imports the client, so a misreading of the standard on one side shows up
as a failing conformance test instead of cancelling out.
"""

from __future__ import annotations

from typing import Final

#: The longest STmin (127 ms), used in place of a reserved value.
STMIN_LONGEST: Final = 0x7F
#: FlowStatus overflow: can-isotp aborts the transmission on it, which is what a reserved FS asks.
_FS_OVERFLOW: Final = 0x2
_FD_FRAME_LENGTHS: Final = frozenset({8, 12, 16, 20, 24, 32, 48, 64})
_FF_ESCAPE_MIN: Final = 4096


def stmin_is_reserved(stmin: int) -> bool:
    """True for STmin values ISO 15765-2 reserves (neither 0–127 ms nor 100–900 µs)."""
    return not (0x00 <= stmin <= 0x7F or 0xF1 <= stmin <= 0xF9)


def single_frame_payload(data: bytes) -> bytes | None:
    """The payload of a valid single frame (normal addressing), or None if it must be ignored."""
    if not data or data[0] >> 4 != 0:
        return None
    can_dl = len(data)
    nibble = data[0] & 0x0F
    if can_dl <= 8:
        if not 1 <= nibble <= can_dl - 1:
            return None  # SF_DL 0 (the escape form) is reserved on frames of up to 8 bytes
        return data[1 : 1 + nibble]
    if nibble != 0 or can_dl < 3:
        return None  # frames longer than 8 bytes must carry SF_DL in byte #1
    length = data[1]
    if not 1 <= length <= can_dl - 2:
        return None
    return data[2 : 2 + length]


def _first_frame_is_valid(data: bytes) -> bool:
    can_dl = len(data)
    if can_dl < 8 or can_dl not in _FD_FRAME_LENGTHS:
        return False
    length = ((data[0] & 0x0F) << 8) | data[1]
    if length:
        ff_dl_min = 8 if can_dl == 8 else can_dl - 1
        return length >= ff_dl_min
    return int.from_bytes(data[2:6], "big") >= _FF_ESCAPE_MIN


def screen_frame(data: bytes) -> bytes | None:
    """The frame as can-isotp should receive it, or None when the standard says to ignore it.

    Flow controls are rewritten rather than dropped: a reserved STmin becomes 0x7F, a reserved
    FlowStatus becomes an overflow (both abort the transmission immediately).
    """
    if not data:
        return None
    kind = data[0] >> 4
    if kind == 0:
        return data if single_frame_payload(data) is not None else None
    if kind == 1:
        return data if _first_frame_is_valid(data) else None
    if kind == 2:
        return data
    if kind == 3:
        if len(data) < 3:
            return None
        frame = bytearray(data)
        if frame[0] & 0x0F > _FS_OVERFLOW:
            frame[0] = 0x30 | _FS_OVERFLOW
        if stmin_is_reserved(frame[2]):
            frame[2] = STMIN_LONGEST
        return bytes(frame)
    return None  # reserved N_PCI type

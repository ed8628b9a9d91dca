r"""Is an unknown serial port a CAN adapter speaking slcan? One version query decides.

A CANable or a Lawicel CANUSB plugged in without a USB ID the adapter table knows (a clone, a
USB-serial bridge in front of it, a network serial server, the emulated adapter of ``bmsflasher
sim --protocol uds``) looks like any serial port. Probing it with SMP at every baud rate only
collects BEL bytes and ends in "nothing answered" — while a bus full of batteries sits behind it.
So before the SMP handshake the scanner asks an unknown port what python-can's slcan driver asks
an adapter (LAWICEL protocol): close the channel, then ``V`` (version).

An slcan adapter answers every command line with CR (done) or BEL (error), ``V`` with
``V`` and four hex digits (``V1013``), and a channel left open may still be sending frames
(``t123…``). The port counts as an slcan adapter only when a version answer came back and *every*
byte received fits that grammar: an echoing line, a device console ("VBMS16 ready"), Modbus junk or
an SMP device never does. The query is a few ASCII bytes ending in CR, which an SMP device
ignores (its receiver discards lines that are not frames).
"""

from __future__ import annotations

import re
import time
from typing import Final

from bmsflasher.core.errors import LinkError
from bmsflasher.discovery.can_probe import SLCAN_TTY_BAUD
from bmsflasher.links.serial import SerialLink

SLCAN_QUERY: Final = b"\r\r\rC\rV\r"
"""Empty lines end whatever partial command the adapter holds; ``C`` closes a channel left open
(so no frames drown the answer); ``V`` asks the version."""

_VERSION: Final = re.compile(r"\a*([Vv][0-9A-Fa-f]{4})")
"""A version answer (``V1013``), after any BEL of a refused earlier line."""
_SLCAN_LINE: Final = re.compile(
    r"\a*(?:"
    r"|[tr][0-9A-Fa-f]{3}[0-9][0-9A-Fa-f]*"  # classic frames, 11-bit
    r"|[TR][0-9A-Fa-f]{8}[0-9][0-9A-Fa-f]*"  # classic frames, 29-bit
    r"|[db][0-9A-Fa-f]{3}[0-9A-Fa-f][0-9A-Fa-f]*"  # CAN FD frames, 11-bit
    r"|[DB][0-9A-Fa-f]{8}[0-9A-Fa-f][0-9A-Fa-f]*"  # CAN FD frames, 29-bit
    r"|[zZ]"  # LAWICEL "frame sent"
    r")\a*"
)
"""Any other line an slcan adapter may send: nothing (CR for "done"), BELs, a received frame."""


def _judge(received: bytes) -> tuple[bool, str | None]:
    """(could these bytes still come from an slcan adapter?, the version it gave so far)."""
    try:
        text = received.decode("ascii")
    except UnicodeDecodeError:
        return False, None
    *lines, _partial = text.split("\r")
    version: str | None = None
    for line in lines:
        answer = _VERSION.fullmatch(line)
        if answer is not None:
            version = version or answer.group(1)
        elif _SLCAN_LINE.fullmatch(line) is None:
            return False, None
    return True, version


def slcan_version(received: bytes) -> str | None:
    """The version an slcan adapter gave in ``received``, or None when the bytes are not slcan's.

    None as soon as one line is not slcan grammar (text, binary junk, an echo of the query), so a
    console or a babbling device is never taken for an adapter.
    """
    possible, version = _judge(received)
    return version if possible else None


def probe_slcan(port: str, timeout_s: float) -> str | None:
    """Ask ``port`` for an slcan version; the version when an slcan adapter answered, else None.

    A port that cannot be opened (missing, busy, no permission) is not an slcan adapter as far as
    this query knows: the SMP probe that follows opens it again and reports why it cannot.
    """
    received = b""
    try:
        with SerialLink.open(port, SLCAN_TTY_BAUD) as link:
            link.reset_input()
            link.write(SLCAN_QUERY)
            deadline = time.monotonic() + timeout_s
            while (remaining := deadline - time.monotonic()) > 0:
                received += link.read(256, remaining)
                possible, version = _judge(received)
                if not possible or version is not None:
                    break
    except LinkError:
        return None
    return slcan_version(received)

"""The SMP message envelope as the virtual BMS's server sees it: header, ops, groups, CBOR body.

Shared by the dispatch core (:mod:`~bmsflasher.sim.smp.server`) and the group modules. The
header is the 8-byte MCUmgr SMP header (op and version, flags, body length, group, sequence
number, command); the body is a CBOR map.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeGuard

import cbor2

from bmsflasher.core.types import FirmwareVersion

HEADER: Final = struct.Struct("!BBHHBB")
SMP_VERSION_MAX: Final = 1  # SMP version 2 is encoded as 1 in the header's version bits

OP_READ: Final = 0
OP_READ_RSP: Final = 1
OP_WRITE: Final = 2
OP_WRITE_RSP: Final = 3

GROUP_OS: Final = 0
GROUP_IMAGE: Final = 1
GROUP_SETTINGS: Final = 3
GROUP_BMS: Final = 72


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded request."""

    op: int
    version: int
    group: int
    sequence: int
    command: int
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to send back, and whether the device must reboot once the answer has left the wire."""

    response: bytes
    reset_after: bool = False


Handler = Callable[[Request], Mapping[str, Any]]
"""One command's handler: the request in, the response body out (or :class:`SmpRequestError`)."""

HandlerTable = dict[tuple[int, int, int], Handler]
"""Handlers by (group, command, op), the key MCUmgr dispatches on."""


def version_text(version: FirmwareVersion | None) -> str:
    """A version as Zephyr's img_mgmt prints it: ``major.minor.revision`` plus ``.build`` if nonzero."""
    if version is None:
        return ""
    base = f"{version.major}.{version.minor}.{version.revision}"
    return f"{base}.{version.build}" if version.build else base


def is_uint(value: object) -> TypeGuard[int]:
    """True for a CBOR unsigned integer (a bool is not one, although Python says it is an int)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def encode(header: tuple[int, int, int, int, int], body: Mapping[str, Any]) -> bytes:
    """One response message: header (op, version, group, sequence, command; flags 0) and CBOR body."""
    op, version, group, sequence, command = header
    payload = cbor2.dumps(dict(body), canonical=True)
    op_ver = (op & 0x07) | ((version & 0x03) << 3)
    return HEADER.pack(op_ver, 0, len(payload), group, sequence, command) + payload

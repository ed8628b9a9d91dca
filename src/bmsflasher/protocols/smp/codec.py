"""SMP messages: the 8-byte header, CBOR bodies, and the two error formats.

Standard groups (OS, image, settings) are encoded with the ``smp`` package's own message models,
so field names and types are the ones the specification (and Zephyr) uses. The BMS group is a
vendor group in the user range and is encoded the same way by hand (header + canonical CBOR).

Responses are parsed leniently (an unknown command id from a newer device must not crash the
tool) and errors are recognised in both forms the specification allows: SMP version 1 puts a
``rc`` (an ``MGMT_ERR`` code) in the body; version 2 keeps ``rc`` for general management errors and
reports group errors as ``err: {group, rc}``.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import cbor2
from smp import header as smphdr
from smp.error import MGMT_ERR
from smp.image_management import IMG_MGMT_ERR
from smp.os_management import OS_MGMT_RET_RC
from smp.settings_management import SETTINGS_MGMT_ERR

from bmsflasher.core.errors import (
    DeviceRejectedError,
    MalformedResponseError,
    SecurityAccessDeniedError,
    UnsupportedOperationError,
)
from bmsflasher.core.i18n import t

HEADER: Final = struct.Struct("!BBHHBB")
"""op/version byte, flags, body length, group, sequence, command (MCUmgr SMP header, big endian)."""

BMS_GROUP_ID: Final = 72
"""The vendor group of the virtual BMS (user range starts at 64; 64 itself is widely used)."""


class BmsCommand(enum.IntEnum):
    """Commands of the BMS group (see docs/protocols/smp.md)."""

    IDENTITY = 0  # read
    TELEMETRY = 1  # read
    DTCS = 2  # read: list, write: clear
    SELF_TEST = 3  # write
    BALANCING = 4  # write {cell, on}
    ROLLBACK = 5  # write
    CONFIG_SCHEMA = 6  # read
    AUTH_CERTIFICATE = 7  # write {chain, nonce} -> {challenge}
    AUTH_PROOF = 8  # write {proof} -> {role}
    LINK_RATE = 16  # read -> {rates, baud, proof_ms, idle_ms}; write {baud} -> {baud, proof_ms, idle_ms}
    RATE_PROOF = 17  # write {token} -> {token, baud}, sent at the new rate
    COMPRESSED_UPLOAD = 18  # write {off, data, len*, zlen*, sha*} -> {off, uoff, match?}
    ANSWER_PIECE = 19  # read {seq, off, max} -> {seq, off, len, crc, data}: the last answer, in pieces


class BmsErr(enum.IntEnum):
    """Group error codes of the BMS group (``err.rc`` with ``err.group`` = 72)."""

    OK = 0
    UNKNOWN = 1
    INVALID_CELL = 2
    INVALID_PARAMETER = 3
    NOT_IN_THIS_MODE = 4
    ROLLBACK_UNAVAILABLE = 5
    CERTIFICATE_REFUSED = 6
    PROOF_REFUSED = 7
    NO_CHALLENGE = 8


_GROUP_ERROR_ENUMS: Final[dict[int, type[enum.IntEnum]]] = {
    smphdr.GroupId.OS_MANAGEMENT: OS_MGMT_RET_RC,
    smphdr.GroupId.IMAGE_MANAGEMENT: IMG_MGMT_ERR,
    smphdr.GroupId.SETTINGS_MANAGEMENT: SETTINGS_MGMT_ERR,
    BMS_GROUP_ID: BmsErr,
}


@dataclass(frozen=True, slots=True)
class SmpHeader:
    """A decoded SMP header (kept lenient: unknown groups and commands are allowed)."""

    op: int
    version: int
    flags: int
    length: int
    group: int
    sequence: int
    command: int

    @classmethod
    def unpack(cls, raw: bytes) -> SmpHeader:
        """Decode the first 8 bytes of a message."""
        if len(raw) < HEADER.size:
            raise MalformedResponseError(
                t("SMP message of {length} bytes is shorter than its header.", length=len(raw))
            )
        op_ver, flags, length, group, sequence, command = HEADER.unpack_from(raw)
        return cls(op_ver & 0x07, (op_ver >> 3) & 0x03, flags, length, group, sequence, command)

    def pack(self) -> bytes:
        """Encode to the 8 wire bytes."""
        op_ver = (self.op & 0x07) | ((self.version & 0x03) << 3)
        return HEADER.pack(op_ver, self.flags, self.length, self.group, self.sequence, self.command)


@dataclass(frozen=True, slots=True)
class SmpResponse:
    """A decoded response: header plus CBOR body (a map)."""

    header: SmpHeader
    body: Mapping[str, Any]


def decode_response(message: bytes) -> SmpResponse:
    """Split a received message into header and CBOR map; raises MalformedResponseError."""
    header = SmpHeader.unpack(message)
    payload = message[HEADER.size :]
    if header.length != len(payload):
        raise MalformedResponseError(
            t(
                "SMP header announces {announced} body bytes but {arrived} arrived.",
                announced=header.length,
                arrived=len(payload),
            )
        )
    if header.op not in (smphdr.OP.READ_RSP, smphdr.OP.WRITE_RSP):
        raise MalformedResponseError(t("SMP message with operation {op} is not a response.", op=header.op))
    try:
        body = cbor2.loads(payload) if payload else {}
    except (cbor2.CBORDecodeError, ValueError, TypeError) as exc:
        raise MalformedResponseError(t("The device's SMP response body is not valid CBOR.")) from exc
    if not isinstance(body, dict):
        raise MalformedResponseError(t("The device's SMP response body is not a CBOR map."))
    return SmpResponse(header, body)


def encode_message(op: int, group: int, command: int, sequence: int, body: Mapping[str, Any]) -> bytes:
    """Encode a request with an SMP version 2 header and a canonical CBOR body."""
    payload = cbor2.dumps(dict(body), canonical=True)
    header = SmpHeader(op, smphdr.Version.V2, 0, len(payload), group, sequence & 0xFF, command)
    return header.pack() + payload


def _describe_rc(rc: int) -> str:
    try:
        return MGMT_ERR(rc).name
    except ValueError:
        return f"rc {rc}"


def _describe_group_rc(group: int, rc: int) -> str:
    names = _GROUP_ERROR_ENUMS.get(group)
    if names is not None:
        try:
            return names(rc).name
        except ValueError:
            pass
    return f"group {group} rc {rc}"


def check_error(response: SmpResponse, what: str) -> None:
    """Raise the matching project error if the response reports one (SMP v1 ``rc`` or v2 ``err``).

    Args:
        response: the decoded response.
        what: the operation in words, translatable (``t("image upload")``), for the message.
    """
    body = response.body
    err = body.get("err")
    if isinstance(err, dict):
        group = err.get("group")
        rc = err.get("rc")
        if isinstance(group, int) and isinstance(rc, int) and rc != 0:
            name = _describe_group_rc(group, rc)
            raise DeviceRejectedError(
                t("The device refused the {what}: {name}.", what=what, name=name), code=rc
            )
    rc = body.get("rc")
    if isinstance(rc, int) and rc != MGMT_ERR.EOK:
        name = _describe_rc(rc)
        reason = body.get("rsn")  # the device's own words: shown as they are
        given = isinstance(reason, str) and bool(reason)
        if rc == MGMT_ERR.ENOTSUP:
            raise UnsupportedOperationError(
                t("The device does not support the {what} ({name}).", what=what, name=name)
            )
        if rc == MGMT_ERR.EACCESSDENIED:
            raise SecurityAccessDeniedError(
                t("The device denied the {what} ({name}) ({reason}).", what=what, name=name, reason=reason)
                if given
                else t("The device denied the {what} ({name}).", what=what, name=name),
                code=rc,
            )
        raise DeviceRejectedError(
            t("The device refused the {what}: {name} ({reason}).", what=what, name=name, reason=reason)
            if given
            else t("The device refused the {what}: {name}.", what=what, name=name),
            code=rc,
        )


def group_error(response: SmpResponse) -> tuple[int, int] | None:
    """The ``(group, rc)`` of an SMP v2 group error in the response, if any."""
    err = response.body.get("err")
    if isinstance(err, dict):
        group, rc = err.get("group"), err.get("rc")
        if isinstance(group, int) and isinstance(rc, int) and rc != 0:
            return group, rc
    return None

"""The SMP server's error answers: management codes, group codes, and their SMP v1 translation.

A handler refuses a request by raising :class:`SmpRequestError`; :func:`error_body` turns it into
the answer the request's SMP version expects (Zephyr's behaviour, see docs/protocols/smp.md).
"""

from __future__ import annotations

import enum
from typing import Any, Final

from bmsflasher.sim.smp.messages import GROUP_BMS, GROUP_IMAGE, GROUP_OS, GROUP_SETTINGS


class MgmtErr(enum.IntEnum):
    """General management error codes (MCUmgr ``MGMT_ERR_*``)."""

    EOK = 0
    EUNKNOWN = 1
    ENOMEM = 2
    EINVAL = 3
    ETIMEOUT = 4
    ENOENT = 5
    EBADSTATE = 6
    EMSGSIZE = 7
    ENOTSUP = 8
    ECORRUPT = 9
    EBUSY = 10
    EACCESSDENIED = 11
    UNSUPPORTED_TOO_OLD = 12
    UNSUPPORTED_TOO_NEW = 13


class ImgErr(enum.IntEnum):
    """Image group error codes used here (Zephyr ``IMG_MGMT_ERR_*``)."""

    NO_IMAGE = 3
    HASH_NOT_FOUND = 8
    NO_FREE_SLOT = 9
    INVALID_SLOT = 14
    INVALID_OFFSET = 20
    INVALID_LENGTH = 21
    INVALID_IMAGE_HEADER = 22
    INVALID_IMAGE_HEADER_MAGIC = 23
    INVALID_HASH = 24
    CURRENT_VERSION_IS_NEWER = 27
    IMAGE_ALREADY_PENDING = 28
    INVALID_IMAGE_TOO_LARGE = 30
    INVALID_IMAGE_DATA_OVERRUN = 31
    IMAGE_SETTING_TEST_TO_ACTIVE_DENIED = 33


class OsErr(enum.IntEnum):
    """OS group error codes used here (Zephyr ``OS_MGMT_ERR_*``)."""

    INVALID_FORMAT = 2
    QUERY_YIELDS_NO_ANSWER = 3


class SettingsErr(enum.IntEnum):
    """Settings group error codes (Zephyr ``SETTINGS_MGMT_ERR_*``)."""

    KEY_TOO_LONG = 2
    KEY_NOT_FOUND = 3
    ROOT_KEY_NOT_FOUND = 5
    WRITE_NOT_SUPPORTED = 6
    DELETE_NOT_SUPPORTED = 7


class BmsErr(enum.IntEnum):
    """BMS group error codes (documented in docs/protocols/smp.md)."""

    INVALID_CELL = 2
    INVALID_PARAMETER = 3
    NOT_IN_THIS_MODE = 4
    ROLLBACK_UNAVAILABLE = 5
    CERTIFICATE_REFUSED = 6
    PROOF_REFUSED = 7
    NO_CHALLENGE = 8


# SMP version 1 has no group errors: each group translates its codes to a management code, exactly
# as Zephyr's ``mg_translate_error`` functions do (img_mgmt, os_mgmt, settings_mgmt); any code a
# group does not list becomes EUNKNOWN.
_V1_EQUIVALENT: Final[dict[tuple[int, int], MgmtErr]] = {
    (GROUP_IMAGE, ImgErr.NO_IMAGE): MgmtErr.ENOENT,
    (GROUP_IMAGE, 4): MgmtErr.ENOENT,  # NO_TLVS
    (GROUP_IMAGE, ImgErr.NO_FREE_SLOT): MgmtErr.EBADSTATE,
    (GROUP_IMAGE, ImgErr.CURRENT_VERSION_IS_NEWER): MgmtErr.EBADSTATE,
    (GROUP_IMAGE, ImgErr.IMAGE_ALREADY_PENDING): MgmtErr.EBADSTATE,
    (GROUP_IMAGE, 15): MgmtErr.ENOMEM,  # NO_FREE_MEMORY
    (GROUP_IMAGE, ImgErr.INVALID_SLOT): MgmtErr.EINVAL,
    (GROUP_IMAGE, 19): MgmtErr.EINVAL,  # INVALID_PAGE_OFFSET
    (GROUP_IMAGE, ImgErr.INVALID_OFFSET): MgmtErr.EINVAL,
    (GROUP_IMAGE, ImgErr.INVALID_LENGTH): MgmtErr.EINVAL,
    (GROUP_IMAGE, ImgErr.INVALID_IMAGE_HEADER): MgmtErr.EINVAL,
    (GROUP_IMAGE, ImgErr.INVALID_HASH): MgmtErr.EINVAL,
    (GROUP_IMAGE, 25): MgmtErr.EINVAL,  # INVALID_FLASH_ADDRESS
    (GROUP_OS, OsErr.INVALID_FORMAT): MgmtErr.EINVAL,
    (GROUP_OS, OsErr.QUERY_YIELDS_NO_ANSWER): MgmtErr.ENOENT,
    (GROUP_SETTINGS, SettingsErr.KEY_TOO_LONG): MgmtErr.EINVAL,
    (GROUP_SETTINGS, SettingsErr.KEY_NOT_FOUND): MgmtErr.ENOENT,
    (GROUP_SETTINGS, 4): MgmtErr.ENOENT,  # READ_NOT_SUPPORTED
    (GROUP_BMS, BmsErr.INVALID_CELL): MgmtErr.EINVAL,
    (GROUP_BMS, BmsErr.INVALID_PARAMETER): MgmtErr.EINVAL,
    (GROUP_BMS, BmsErr.NOT_IN_THIS_MODE): MgmtErr.ENOTSUP,
    (GROUP_BMS, BmsErr.ROLLBACK_UNAVAILABLE): MgmtErr.EBADSTATE,
    (GROUP_BMS, BmsErr.CERTIFICATE_REFUSED): MgmtErr.EACCESSDENIED,
    (GROUP_BMS, BmsErr.PROOF_REFUSED): MgmtErr.EACCESSDENIED,
    (GROUP_BMS, BmsErr.NO_CHALLENGE): MgmtErr.EBADSTATE,
}


class SmpRequestError(Exception):
    """A request fails with a management ``rc`` (``group`` None) or a group error."""

    def __init__(self, rc: int, *, group: int | None = None, reason: str = "") -> None:
        super().__init__(reason or f"rc {rc}")
        self.rc = rc
        self.group = group
        self.reason = reason


def error_body(failure: SmpRequestError, request_version: int) -> dict[str, Any]:
    """SMP v2: ``err: {group, rc}`` for group errors, ``rc`` for management errors; v1: ``rc`` only."""
    if failure.group is not None:
        if request_version >= 1:
            return {"err": {"group": failure.group, "rc": int(failure.rc)}}
        mapped = _V1_EQUIVALENT.get((failure.group, int(failure.rc)), MgmtErr.EUNKNOWN)
        body: dict[str, Any] = {"rc": int(mapped)}
    else:
        body = {"rc": int(failure.rc)}
    if failure.reason:
        body["rsn"] = failure.reason  # Zephyr's verbose error responses
    return body

"""The virtual BMS's MCUmgr SMP server: request message in, response message out.

This is the firmware's management stack, written from the MCUmgr specification and Zephyr's
behaviour, never from the tool's client (the two agree only because both follow the standard and
``docs/protocols/smp.md``). Groups:

* OS (0): echo, reset, MCUmgr parameters, OS/application info, bootloader info (``"MCUboot"``,
  query ``mode``).
* Image (1): state read/write (test, confirm, permanent), upload with ``off``/``len``/``sha``/``data``
  and resume (a first chunk whose ``sha`` matches the session held answers with the offset already
  held, without writing), erase. A chunk at an unexpected offset is dropped and answered with the
  expected offset, exactly as Zephyr's img_mgmt does: that is what lets clients pipeline.
* Settings (3): read/write/delete/commit/load/save of ``bms/<parameter>``; ``val`` is the CBOR
  encoding of the value (so its type survives).
* BMS (72, vendor range): identity, telemetry, DTCs, self-test, balancing, rollback, config schema.

Errors follow SMP version 2 when the request is v2 (``rc`` for general management errors,
``err: {group, rc}`` for group errors) and version 1 otherwise (``rc`` only, with group errors
translated as Zephyr's groups translate them). Unknown groups and commands answer
``MGMT_ERR_ENOTSUP``. Where the specification leaves a choice, Zephyr's implementation decides
(``smp.c``, ``img_mgmt*.c``, ``os_mgmt.c``, ``settings_mgmt.c``); the deliberate differences are
listed in docs/protocols/smp.md, "Conformance".
While the bootloader runs (recovery, or serial recovery with a valid image) only MCUboot's serial
recovery subset answers: echo, reset, MCUmgr parameters, bootloader info, image state read, upload
(to the primary slot) and erase.
"""

from __future__ import annotations

import enum
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeGuard

import cbor2

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.types import DeviceMode, FirmwareVersion, SlotState
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import (
    SimDowngradeError,
    SimImageRejectedError,
    SimModeError,
    SimParameterError,
    SimPoweredOffError,
    SimStateError,
    SimUploadError,
)

_HEADER: Final = struct.Struct("!BBHHBB")
SMP_VERSION_MAX: Final = 1  # SMP version 2 is encoded as 1 in the header's version bits
_IMAGE_MAGIC: Final = 0x96F3B83D  # MCUboot's IMAGE_MAGIC, checked in the first chunk like img_mgmt
_IMAGE_HEADER_BYTES: Final = 32

OP_READ: Final = 0
OP_READ_RSP: Final = 1
OP_WRITE: Final = 2
OP_WRITE_RSP: Final = 3

GROUP_OS: Final = 0
GROUP_IMAGE: Final = 1
GROUP_SETTINGS: Final = 3
GROUP_BMS: Final = 72

SETTINGS_PREFIX: Final = "bms/"
BOOTLOADER_NAME: Final = "MCUboot"
MCUBOOT_MODE_SWAP_USING_MOVE: Final = 3  # smp.os_management.MCUbootMode.SWAP_WITHOUT_SCRATCH
DEFAULT_BUF_SIZE: Final = 2048
DEFAULT_BUF_COUNT: Final = 4
_INFO_ORDER: Final = "snrvmpio"  # OS info fields in Zephyr's output order (no build date 'b')
SETTINGS_NAME_MAX: Final = 64  # CONFIG_MCUMGR_GRP_SETTINGS_NAME_LEN: longer names are KEY_TOO_LONG
SETTINGS_VALUE_MAX: Final = 256  # CONFIG_MCUMGR_GRP_SETTINGS_VALUE_LEN: the largest 'val' returned


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
}


class SmpRequestError(Exception):
    """A request fails with a management ``rc`` (``group`` None) or a group error."""

    def __init__(self, rc: int, *, group: int | None = None, reason: str = "") -> None:
        super().__init__(reason or f"rc {rc}")
        self.rc = rc
        self.group = group
        self.reason = reason


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

_BOOTLOADER_SUBSET: Final = frozenset(
    {
        (GROUP_OS, 0, OP_READ),
        (GROUP_OS, 0, OP_WRITE),
        (GROUP_OS, 5, OP_WRITE),
        (GROUP_OS, 6, OP_READ),
        (GROUP_OS, 8, OP_READ),
        (GROUP_IMAGE, 0, OP_READ),
        (GROUP_IMAGE, 1, OP_WRITE),
        (GROUP_IMAGE, 5, OP_WRITE),
    }
)


def version_text(version: FirmwareVersion | None) -> str:
    """A version as Zephyr's img_mgmt prints it: ``major.minor.revision`` plus ``.build`` if nonzero."""
    if version is None:
        return ""
    base = f"{version.major}.{version.minor}.{version.revision}"
    return f"{base}.{version.build}" if version.build else base


class SmpServer:
    """Answers SMP requests on behalf of one :class:`VirtualBms`.

    Args:
        device: the virtual BMS.
        buf_size: frame buffer size reported by the MCUmgr-parameters command.
        buf_count: frame buffer count reported by the MCUmgr-parameters command.
        program_s_per_byte: flash programming time of uploaded data (internal MCU flash programs
            roughly 100 KB/s, i.e. 1e-5 s per byte); 0 makes writes instant.
    """

    def __init__(
        self,
        device: VirtualBms,
        *,
        buf_size: int = DEFAULT_BUF_SIZE,
        buf_count: int = DEFAULT_BUF_COUNT,
        program_s_per_byte: float = 0.0,
    ) -> None:
        self._device = device
        self._program_s_per_byte = program_s_per_byte
        self._buf_size = buf_size
        self._buf_count = buf_count
        self._handlers: dict[tuple[int, int, int], Handler] = {
            (GROUP_OS, 0, OP_READ): self._echo,  # the specification allows echo as read or write
            (GROUP_OS, 0, OP_WRITE): self._echo,
            (GROUP_OS, 5, OP_WRITE): self._reset,
            (GROUP_OS, 6, OP_READ): self._params,
            (GROUP_OS, 7, OP_READ): self._app_info,
            (GROUP_OS, 8, OP_READ): self._bootloader_info,
            (GROUP_IMAGE, 0, OP_READ): self._image_state_read,
            (GROUP_IMAGE, 0, OP_WRITE): self._image_state_write,
            (GROUP_IMAGE, 1, OP_WRITE): self._upload,
            (GROUP_IMAGE, 5, OP_WRITE): self._erase,
            (GROUP_SETTINGS, 0, OP_READ): self._setting_read,
            (GROUP_SETTINGS, 0, OP_WRITE): self._setting_write,
            (GROUP_SETTINGS, 1, OP_WRITE): self._setting_delete,
            (GROUP_SETTINGS, 2, OP_WRITE): self._settings_commit,
            (GROUP_SETTINGS, 3, OP_READ): self._settings_load,
            (GROUP_SETTINGS, 3, OP_WRITE): self._settings_save,
            (GROUP_BMS, 0, OP_READ): self._bms_identity,
            (GROUP_BMS, 1, OP_READ): self._bms_telemetry,
            (GROUP_BMS, 2, OP_READ): self._bms_dtcs,
            (GROUP_BMS, 2, OP_WRITE): self._bms_clear_dtcs,
            (GROUP_BMS, 3, OP_WRITE): self._bms_self_test,
            (GROUP_BMS, 4, OP_WRITE): self._bms_balancing,
            (GROUP_BMS, 5, OP_WRITE): self._bms_rollback,
            (GROUP_BMS, 6, OP_READ): self._bms_schema,
        }

    @property
    def buf_size(self) -> int:
        return self._buf_size

    @property
    def buf_count(self) -> int:
        return self._buf_count

    def handle(self, message: bytes) -> Outcome | None:
        """Answer one request message; None when nothing must be sent (too short, or no power).

        The order of the checks is Zephyr's ``smp_process_request_packet``: a body shorter than the
        header announces is ``ECORRUPT``; anything that is not a read or write request (a response
        sent to a server, or an undefined op) is ``ENOTSUP``; a version above 2 is
        ``UNSUPPORTED_TOO_NEW``; an unknown group/command is ``ENOTSUP`` before the body is looked
        at; a body that is not a CBOR map is ``EINVAL``. The answer carries the request's version
        (capped at SMP version 2), group, sequence number and command, with flags 0.
        """
        if len(message) < _HEADER.size or not self._device.powered:
            return None
        op_ver, _flags, length, group, sequence, command = _HEADER.unpack_from(message)
        op, version = op_ver & 0x07, (op_ver >> 3) & 0x03
        reply_op = OP_READ_RSP if op == OP_READ else OP_WRITE_RSP  # Zephyr's smp_rsp_op()
        header = (reply_op, min(version, SMP_VERSION_MAX), group, sequence, command)
        payload = message[_HEADER.size :]
        try:
            _check_envelope(op, version, length, payload)
            handler = self._handler_for(group, command, op)
            body = _decode_body(payload[:length])
            answer = self._run(handler, Request(op, version, group, sequence, command, body))
        except SimPoweredOffError:
            return None  # no power, no answer
        except SmpRequestError as failure:
            return Outcome(_encode(header, _error_body(failure, version)))
        reset_after = (group, command, op) == (GROUP_OS, 5, OP_WRITE)
        return Outcome(_encode(header, answer), reset_after=reset_after)

    def _handler_for(self, group: int, command: int, op: int) -> Handler:
        key = (group, command, op)
        handler = self._handlers.get(key)
        if handler is None:
            raise SmpRequestError(MgmtErr.ENOTSUP, reason="unknown group or command")
        if self._device.mode is not DeviceMode.APPLICATION and key not in _BOOTLOADER_SUBSET:
            raise SmpRequestError(MgmtErr.ENOTSUP, reason="not available while the bootloader runs")
        return handler

    def _run(self, handler: Handler, request: Request) -> Mapping[str, Any]:
        try:
            return handler(request)
        except SmpRequestError:
            raise
        except SimPoweredOffError:
            raise
        except SimModeError as exc:
            raise SmpRequestError(MgmtErr.ENOTSUP, reason=str(exc)) from exc
        except (SimDowngradeError, SimImageRejectedError, SimStateError) as exc:
            raise SmpRequestError(MgmtErr.EBADSTATE, reason=str(exc)) from exc
        except SimParameterError as exc:
            raise SmpRequestError(MgmtErr.EINVAL, reason=str(exc)) from exc
        except BmsFlasherError as exc:
            raise SmpRequestError(MgmtErr.EUNKNOWN, reason=str(exc)) from exc

    # --- OS group --------------------------------------------------------------------------------
    def _echo(self, request: Request) -> Mapping[str, Any]:
        text = request.body.get("d", "")  # Zephyr echoes an empty string when 'd' is absent
        if not isinstance(text, str):
            raise SmpRequestError(MgmtErr.EINVAL, reason="echo's 'd' must be a text string")
        return {"r": text}

    def _reset(self, _request: Request) -> Mapping[str, Any]:
        return {}  # the front-end reboots the device once this answer has been sent

    def _params(self, _request: Request) -> Mapping[str, Any]:
        return {"buf_size": self._buf_size, "buf_count": self._buf_count}

    def _app_info(self, request: Request) -> Mapping[str, Any]:
        """Zephyr's uname-like OS/application info: ``format`` letters pick fields, in a fixed order."""
        text = request.body.get("format", "")
        if not isinstance(text, str):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'format' must be a text string")
        if any(letter not in _INFO_ORDER + "a" for letter in text):
            raise SmpRequestError(OsErr.INVALID_FORMAT, group=GROUP_OS)
        wanted = set(_INFO_ORDER) if "a" in text else set(text) or {"s"}
        identity = self._device.identity()
        fields = {
            "s": "Zephyr",
            "n": identity.serial_number or "unknown",
            "r": version_text(identity.firmware_version) or "unknown",
            "v": "bmsflasher-vbms",
            "m": "arm",
            "p": "cortex-m4",
            "i": f"{identity.model}@{identity.hardware_revision}"
            if identity.hardware_revision
            else identity.model,
            "o": "Zephyr",
        }
        return {"output": " ".join(fields[letter] for letter in _INFO_ORDER if letter in wanted)}

    def _bootloader_info(self, request: Request) -> Mapping[str, Any]:
        query = request.body.get("query")
        if query is None:
            return {"bootloader": BOOTLOADER_NAME}
        if query == "mode":
            return {"mode": MCUBOOT_MODE_SWAP_USING_MOVE, "no-downgrade": True}
        raise SmpRequestError(OsErr.QUERY_YIELDS_NO_ANSWER, group=GROUP_OS)

    # --- image group -----------------------------------------------------------------------------
    def _images(self) -> list[dict[str, Any]]:
        in_app = self._device.mode is DeviceMode.APPLICATION
        images: list[dict[str, Any]] = []
        for slot in self._device.slots():
            if slot.version is None:
                continue
            entry: dict[str, Any] = {
                "image": 0,
                "slot": slot.slot,
                "version": version_text(slot.version),
                "hash": slot.image_hash,
            }
            if in_app:  # MCUboot's serial recovery lists images without the flags
                entry.update(
                    bootable=slot.bootable,
                    pending=slot.pending,
                    confirmed=slot.confirmed,
                    active=slot.active,
                    permanent=slot.permanent,
                )
            images.append(entry)
        return images

    def _image_state_read(self, _request: Request) -> Mapping[str, Any]:
        return {"images": self._images(), "splitStatus": 0}

    def _image_state_write(self, request: Request) -> Mapping[str, Any]:
        """Test or confirm an image, with the rules of Zephyr's ``img_mgmt_set_next_boot_slot``.

        No hash means the running image (confirm only; a test needs a hash). A test of the running
        image is refused; while a test swap is pending only that same test may be repeated; while
        a permanent swap is pending nothing else may be chosen; while the running image is on test
        (the next reset reverts) only confirming it changes anything.
        """
        confirm = request.body.get("confirm", False)
        image_hash = request.body.get("hash", b"")
        if not isinstance(confirm, bool) or not isinstance(image_hash, bytes):
            raise SmpRequestError(MgmtErr.EINVAL, reason="state write takes 'hash' bytes and 'confirm' bool")
        slots = {s.slot: s for s in self._device.slots()}
        if not image_hash:
            if not confirm:
                raise SmpRequestError(ImgErr.INVALID_HASH, group=GROUP_IMAGE)
            slot = 0
        elif len(image_hash) != 32:
            raise SmpRequestError(ImgErr.INVALID_HASH, group=GROUP_IMAGE)
        else:
            found = _slot_with_hash(slots, image_hash)
            if found is None:
                raise SmpRequestError(ImgErr.HASH_NOT_FOUND, group=GROUP_IMAGE)
            slot = found.slot
        if not confirm and slot == 0:
            raise SmpRequestError(ImgErr.IMAGE_SETTING_TEST_TO_ACTIVE_DENIED, group=GROUP_IMAGE)
        secondary = slots.get(1)
        primary = slots.get(0)
        test_pending = secondary is not None and secondary.pending and not secondary.permanent
        permanent_pending = secondary is not None and secondary.pending and secondary.permanent
        reverting = primary is not None and not primary.confirmed  # running a test image
        if test_pending:
            if confirm or slot != 1:
                raise SmpRequestError(ImgErr.IMAGE_ALREADY_PENDING, group=GROUP_IMAGE)
        elif permanent_pending:
            if not (confirm and slot == 1):
                raise SmpRequestError(ImgErr.IMAGE_ALREADY_PENDING, group=GROUP_IMAGE)
        elif reverting:
            if not confirm:
                raise SmpRequestError(ImgErr.IMAGE_ALREADY_PENDING, group=GROUP_IMAGE)
            if slot == 0:
                self._device.confirm()
            # confirming slot 1 while the next reset reverts to it: already the case, nothing to do
        elif slot == 0:
            self._device.confirm()
        else:
            self._device.mark_pending(permanent=confirm)
        return {"images": self._images(), "splitStatus": 0}

    def _upload(self, request: Request) -> Mapping[str, Any]:
        """Image upload, with the rules of Zephyr's ``img_mgmt_upload`` / ``img_mgmt_upload_inspect``."""
        body = request.body
        off, data, image = body.get("off"), body.get("data", b""), body.get("image", 0)
        if off is None:
            raise SmpRequestError(ImgErr.INVALID_OFFSET, group=GROUP_IMAGE, reason="upload needs 'off'")
        if not _is_uint(off) or not isinstance(data, bytes) or not _is_uint(image):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'off' and 'image' are unsigned, 'data' bytes")
        if image != 0:
            raise SmpRequestError(ImgErr.INVALID_SLOT, group=GROUP_IMAGE, reason="this device has one image")
        device = self._device
        slot = 1 if device.mode is DeviceMode.APPLICATION else 0
        if off == 0:
            return self._upload_first(body, data, slot)
        status = device.upload_status()
        if not status.active or status.slot != slot:
            return {"off": 0}  # no session: the client must start again with len (and sha)
        if off != status.offset:
            return {"off": status.offset}  # dropped; tell the client where the device stands
        return self._upload_write(off, data, status.total, verified=len(status.image_sha256) == 32)

    def _upload_first(self, body: Mapping[str, Any], data: bytes, slot: int) -> Mapping[str, Any]:
        total, sha, upgrade = body.get("len"), body.get("sha", b""), body.get("upgrade", False)
        if (total is not None and not _is_uint(total)) or not isinstance(sha, bytes):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'len' is unsigned, 'sha' bytes")
        if not isinstance(upgrade, bool):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'upgrade' is a boolean")
        if not total:
            raise SmpRequestError(
                ImgErr.INVALID_LENGTH, group=GROUP_IMAGE, reason="the first chunk needs 'len'"
            )
        if len(sha) > 32:
            raise SmpRequestError(ImgErr.INVALID_HASH, group=GROUP_IMAGE, reason="'sha' is at most 32 bytes")
        slot_size = self._device.flash.geometry.slot_size
        if total > slot_size:
            raise SmpRequestError(ImgErr.INVALID_IMAGE_TOO_LARGE, group=GROUP_IMAGE, reason="img too large")
        if len(data) < _IMAGE_HEADER_BYTES:
            raise SmpRequestError(ImgErr.INVALID_IMAGE_HEADER, group=GROUP_IMAGE, reason="header malformed")
        if struct.unpack_from("<I", data)[0] != _IMAGE_MAGIC:
            raise SmpRequestError(
                ImgErr.INVALID_IMAGE_HEADER_MAGIC, group=GROUP_IMAGE, reason="magic mismatch"
            )
        if len(data) > total:
            raise SmpRequestError(ImgErr.INVALID_IMAGE_DATA_OVERRUN, group=GROUP_IMAGE, reason="data overrun")
        if upgrade:
            self._check_upgrade(data)
        try:
            held = self._device.upload_begin(total, sha, slot)
        except (SimStateError, SimModeError) as exc:  # the slot holds the image a revert needs
            raise SmpRequestError(ImgErr.NO_FREE_SLOT, group=GROUP_IMAGE, reason="no slot") from exc
        except SimUploadError as exc:
            raise SmpRequestError(ImgErr.INVALID_IMAGE_TOO_LARGE, group=GROUP_IMAGE, reason=str(exc)) from exc
        full_sha = len(sha) == 32
        if held:  # resume (same sha) or the slot already holds exactly this image
            return {"off": held, "match": True} if held == total and full_sha else {"off": held}
        return self._upload_write(0, data, total, verified=full_sha)

    def _upload_write(self, off: int, data: bytes, total: int, *, verified: bool) -> Mapping[str, Any]:
        """Write a chunk; the final answer carries ``match`` when a full SHA-256 named the upload."""
        if off + len(data) > total:
            raise SmpRequestError(ImgErr.INVALID_IMAGE_DATA_OVERRUN, group=GROUP_IMAGE, reason="data overrun")
        if self._program_s_per_byte > 0:  # the firmware's flash driver programming the chunk
            time.sleep(len(data) * self._program_s_per_byte)
        try:
            new_off = self._device.upload_write(off, data)
        except SimUploadError as exc:
            if off + len(data) == total and verified:
                return {"off": total, "match": False}  # the received image does not match its SHA-256
            raise SmpRequestError(MgmtErr.EINVAL, reason=str(exc)) from exc
        return {"off": new_off, "match": True} if new_off == total and verified else {"off": new_off}

    def _check_upgrade(self, data: bytes) -> None:
        """Refuse an image whose header version is not newer than the running one (``upgrade``)."""
        if len(data) < 32:
            raise SmpRequestError(ImgErr.INVALID_IMAGE_HEADER, group=GROUP_IMAGE)
        major, minor, revision, build = struct.unpack_from("<BBHI", data, 20)
        running = self._device.identity().firmware_version
        candidate = FirmwareVersion(major, minor, revision, build)
        if running is not None and (candidate.major, candidate.minor, candidate.revision) <= (
            running.major,
            running.minor,
            running.revision,
        ):
            raise SmpRequestError(ImgErr.CURRENT_VERSION_IS_NEWER, group=GROUP_IMAGE)

    def _erase(self, request: Request) -> Mapping[str, Any]:
        """Erase a slot (default 1); the running image's slot, or one a revert needs, is in use."""
        slot = request.body.get("slot", 1)
        if not _is_uint(slot):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'slot' is an unsigned integer")
        if slot not in (0, 1):
            raise SmpRequestError(ImgErr.INVALID_SLOT, group=GROUP_IMAGE)
        if slot == 0 and self._device.mode is DeviceMode.APPLICATION:
            raise SmpRequestError(
                ImgErr.NO_FREE_SLOT, group=GROUP_IMAGE, reason="slot 0 holds the running image"
            )
        try:
            self._device.erase_slot(slot)
        except (SimStateError, SimModeError) as exc:
            raise SmpRequestError(ImgErr.NO_FREE_SLOT, group=GROUP_IMAGE, reason=str(exc)) from exc
        return {}

    # --- settings group --------------------------------------------------------------------------
    def _parameter_name(self, request: Request) -> str:
        name = request.body.get("name")
        if not isinstance(name, str) or not name:
            raise SmpRequestError(MgmtErr.EINVAL, reason="a settings request needs a 'name'")
        if len(name.encode()) >= SETTINGS_NAME_MAX:
            raise SmpRequestError(SettingsErr.KEY_TOO_LONG, group=GROUP_SETTINGS)
        if not name.startswith(SETTINGS_PREFIX):
            raise SmpRequestError(SettingsErr.ROOT_KEY_NOT_FOUND, group=GROUP_SETTINGS)
        parameter = name[len(SETTINGS_PREFIX) :]
        if parameter not in self._device.config_schema():
            raise SmpRequestError(SettingsErr.KEY_NOT_FOUND, group=GROUP_SETTINGS)
        return parameter

    def _setting_read(self, request: Request) -> Mapping[str, Any]:
        """``val`` (at most ``max_size`` bytes); ``max_size`` comes back when the device's limit is lower."""
        max_size = request.body.get("max_size", SETTINGS_VALUE_MAX)
        if not _is_uint(max_size):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'max_size' is an unsigned integer")
        parameter = self._parameter_name(request)
        value = cbor2.dumps(self._device.config().parameters[parameter])
        if max_size > SETTINGS_VALUE_MAX:
            return {"val": value[:SETTINGS_VALUE_MAX], "max_size": SETTINGS_VALUE_MAX}
        return {"val": value[:max_size]}

    def _setting_write(self, request: Request) -> Mapping[str, Any]:
        parameter = self._parameter_name(request)
        raw = request.body.get("val")
        if not isinstance(raw, bytes):
            raise SmpRequestError(MgmtErr.EINVAL, reason="a settings write needs 'val' bytes")
        if not self._device.config_schema()[parameter].writable:
            raise SmpRequestError(SettingsErr.WRITE_NOT_SUPPORTED, group=GROUP_SETTINGS)
        try:
            value = cbor2.loads(raw)
        except (cbor2.CBORDecodeError, ValueError) as exc:
            raise SmpRequestError(MgmtErr.EINVAL, reason="'val' is not CBOR") from exc
        if not isinstance(value, int | float | str | bool):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'val' must hold a number, text or a boolean")
        self._device.set_parameters({parameter: value})
        return {}

    def _setting_delete(self, request: Request) -> Mapping[str, Any]:
        self._parameter_name(request)
        raise SmpRequestError(SettingsErr.DELETE_NOT_SUPPORTED, group=GROUP_SETTINGS)

    def _settings_commit(self, _request: Request) -> Mapping[str, Any]:
        self._device.config()  # staged values are already in effect; this checks the mode
        return {}

    def _settings_load(self, _request: Request) -> Mapping[str, Any]:
        saved = self._device.saved_config().parameters
        schema = self._device.config_schema()
        self._device.set_parameters({k: v for k, v in saved.items() if k in schema and schema[k].writable})
        return {}

    def _settings_save(self, _request: Request) -> Mapping[str, Any]:
        self._device.save_config()
        return {}

    # --- BMS group -------------------------------------------------------------------------------
    def _bms_identity(self, _request: Request) -> Mapping[str, Any]:
        identity = self._device.identity()
        body: dict[str, Any] = {
            "model": identity.model,
            "serial": identity.serial_number,
            "hw_rev": identity.hardware_revision,
            "bl_version": str(identity.bootloader_version) if identity.bootloader_version else "",
            "mode": identity.mode.value,
            "security_counter": identity.security_counter,
        }
        if identity.firmware_version is not None:
            body["fw_version"] = str(identity.firmware_version)
        return body

    def _bms_telemetry(self, _request: Request) -> Mapping[str, Any]:
        t = self._device.telemetry()
        return {
            "t_s": t.timestamp_s,
            "cells_mv": list(t.cell_voltages_mv),
            "balancing": list(t.balancing),
            "temps_c": list(t.temperatures_c),
            "pack_mv": t.pack_voltage_mv,
            "current_ma": t.current_ma,
            "soc_pct": t.soc_pct,
            "soh_pct": t.soh_pct,
            "alarms": sorted(a.value for a in t.alarms),
        }

    def _bms_dtcs(self, _request: Request) -> Mapping[str, Any]:
        return {
            "dtcs": [
                {
                    "code": d.code,
                    "status": d.status,
                    "severity": d.severity.value,
                    "description": d.description,
                }
                for d in self._device.dtcs()
            ]
        }

    def _bms_clear_dtcs(self, _request: Request) -> Mapping[str, Any]:
        self._device.clear_dtcs()
        return {}

    def _bms_self_test(self, _request: Request) -> Mapping[str, Any]:
        result = self._device.self_test()
        return {
            "passed": result.passed,
            "checks": [
                {
                    "name": c.name,
                    "passed": c.passed,
                    "measured": c.measured,
                    "limit": c.limit,
                    "detail": c.detail,
                }
                for c in result.checks
            ],
        }

    def _bms_balancing(self, request: Request) -> Mapping[str, Any]:
        cell, on = request.body.get("cell"), request.body.get("on")
        if not _is_uint(cell) or not isinstance(on, bool):
            raise SmpRequestError(
                BmsErr.INVALID_CELL, group=GROUP_BMS, reason="balancing needs 'cell' and 'on'"
            )
        try:
            self._device.set_balancing(cell, on)
        except SimParameterError as exc:
            raise SmpRequestError(BmsErr.INVALID_CELL, group=GROUP_BMS, reason=str(exc)) from exc
        return {}

    def _bms_rollback(self, _request: Request) -> Mapping[str, Any]:
        try:
            self._device.rollback()
        except (SimImageRejectedError, SimDowngradeError) as exc:
            raise SmpRequestError(BmsErr.ROLLBACK_UNAVAILABLE, group=GROUP_BMS, reason=str(exc)) from exc
        return {}

    def _bms_schema(self, request: Request) -> Mapping[str, Any]:
        """The configuration schema, whole or (with ``start``/``count``) one page of it.

        The whole schema is a frame of over a kilobyte, which a noisy line (bit error rate 1e-4)
        loses most of the time however often it is asked for; a page of a few entries is short
        enough to get through. A paged answer carries ``total`` so the client knows when to stop.
        """
        params = []
        for spec in self._device.config_schema().values():
            entry: dict[str, Any] = {
                "name": spec.name,
                "type": spec.kind.__name__,
                "unit": spec.unit,
                "writable": spec.writable,
                "description": spec.description,
            }
            if spec.minimum is not None:
                entry["min"] = spec.minimum
            if spec.maximum is not None:
                entry["max"] = spec.maximum
            if spec.choices:
                entry["choices"] = list(spec.choices)
            params.append(entry)
        version = self._device.config().schema_version
        start, count = request.body.get("start"), request.body.get("count", 1)
        if start is None:
            return {"schema_version": version, "params": params}
        if not (_is_uint(start) and _is_uint(count) and count >= 1):
            raise SmpRequestError(MgmtErr.EINVAL, reason="start and count must be unsigned integers")
        return {"schema_version": version, "total": len(params), "params": params[start : start + count]}


def _check_envelope(op: int, version: int, length: int, payload: bytes) -> None:
    """What Zephyr checks before it looks for a handler: body length, op, version."""
    if len(payload) < length:
        raise SmpRequestError(MgmtErr.ECORRUPT, reason="the body is shorter than the header says")
    if op not in (OP_READ, OP_WRITE):
        raise SmpRequestError(MgmtErr.ENOTSUP, reason="not a request")
    if version > SMP_VERSION_MAX:
        raise SmpRequestError(MgmtErr.UNSUPPORTED_TOO_NEW)


def _slot_with_hash(slots: Mapping[int, SlotState], image_hash: bytes) -> SlotState | None:
    return next((s for s in slots.values() if s.image_hash and s.image_hash == image_hash), None)


def _is_uint(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _decode_body(payload: bytes) -> Mapping[str, Any]:
    if not payload:
        return {}
    try:
        body = cbor2.loads(payload)
    except (cbor2.CBORDecodeError, ValueError, TypeError) as exc:
        raise SmpRequestError(MgmtErr.EINVAL, reason="the request body is not CBOR") from exc
    if not isinstance(body, dict):
        raise SmpRequestError(MgmtErr.EINVAL, reason="the request body is not a CBOR map")
    return body


def _error_body(failure: SmpRequestError, request_version: int) -> dict[str, Any]:
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


def _encode(header: tuple[int, int, int, int, int], body: Mapping[str, Any]) -> bytes:
    op, version, group, sequence, command = header
    payload = cbor2.dumps(dict(body), canonical=True)
    op_ver = (op & 0x07) | ((version & 0x03) << 3)
    return _HEADER.pack(op_ver, 0, len(payload), group, sequence, command) + payload

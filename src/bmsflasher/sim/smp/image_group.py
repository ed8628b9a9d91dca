"""SMP group 1 (image management) of the virtual BMS: state read/write, upload with resume, erase.

State write follows Zephyr's ``img_mgmt_set_next_boot_slot`` (test, confirm, permanent). Upload
takes ``off``/``len``/``sha``/``data`` and resumes: a first chunk whose ``sha`` matches the session
held answers with the offset already held, without writing. A chunk at an unexpected offset is
dropped and answered with the expected offset, exactly as Zephyr's img_mgmt does: that is what
lets clients pipeline. While the bootloader runs, uploads go to the primary slot (MCUboot serial
recovery) and the image list carries no flags.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Mapping
from typing import Any, Final

from bmsflasher.core.types import DeviceMode, FirmwareVersion, SlotState
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimModeError, SimStateError, SimUploadError
from bmsflasher.sim.smp.error_codes import ImgErr, MgmtErr, SmpRequestError
from bmsflasher.sim.smp.messages import (
    GROUP_IMAGE,
    OP_READ,
    OP_WRITE,
    HandlerTable,
    Request,
    is_uint,
    version_text,
)

_IMAGE_MAGIC: Final = 0x96F3B83D  # MCUboot's IMAGE_MAGIC, checked in the first chunk like img_mgmt
_IMAGE_HEADER_BYTES: Final = 32


class ImageGroup:
    """The image group's handlers for one device.

    Args:
        device: the virtual BMS.
        program_s_per_byte: flash programming time of uploaded data (internal MCU flash programs
            roughly 100 KB/s, i.e. 1e-5 s per byte); 0 makes writes instant.
    """

    def __init__(self, device: VirtualBms, program_s_per_byte: float) -> None:
        self._device = device
        self._program_s_per_byte = program_s_per_byte

    def handlers(self) -> HandlerTable:
        """This group's commands by (group, command, op)."""
        return {
            (GROUP_IMAGE, 0, OP_READ): self._image_state_read,
            (GROUP_IMAGE, 0, OP_WRITE): self._image_state_write,
            (GROUP_IMAGE, 1, OP_WRITE): self._upload,
            (GROUP_IMAGE, 5, OP_WRITE): self._erase,
        }

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
        if not is_uint(off) or not isinstance(data, bytes) or not is_uint(image):
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
        if (total is not None and not is_uint(total)) or not isinstance(sha, bytes):
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
        if not is_uint(slot):
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


def _slot_with_hash(slots: Mapping[int, SlotState], image_hash: bytes) -> SlotState | None:
    return next((s for s in slots.values() if s.image_hash and s.image_hash == image_hash), None)

"""Writing an image into a slot: begin or resume an upload, program it in order, erase a slot.

An upload is RAM state (a reset forgets it) backed by a record in the boot-state log (so the next
``begin`` of the same image resumes where the data stops). The rules that keep the resume truthful
after any power cut live here; :class:`~bmsflasher.sim.device.virtual_bms.VirtualBms` decides
*whether* a slot may be written in the device's mode, holds the lock, and turns a power cut
(``PowerCut`` from the flash) into "the device is off" and :meth:`SlotUploads.forget`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Final

from bmsflasher.core.types import DeviceMode
from bmsflasher.sim.device.slots import check_slot_number
from bmsflasher.sim.errors import SimModeError, SimStateError, SimUploadError
from bmsflasher.sim.flash.bootstate import NO_UPLOAD, BootStateStore, SwapRequest
from bmsflasher.sim.flash.memory import Flash
from bmsflasher.sim.flash.swap import erase_secondary_trailer

_UPLOAD_PIECE_BYTES: Final = 1024


@dataclass(frozen=True, slots=True)
class UploadStatus:
    """The upload in progress (RAM state: a reset forgets it, the next ``upload_begin`` resumes).

    Attributes:
        slot: target slot, or -1 when no upload is in progress.
        offset: bytes received so far.
        total: the image size announced by ``upload_begin``.
        image_sha256: the SHA-256 of the whole image announced by ``upload_begin``.
    """

    slot: int
    offset: int
    total: int
    image_sha256: bytes

    @property
    def active(self) -> bool:
        return self.slot >= 0

    @property
    def complete(self) -> bool:
        return self.active and self.offset == self.total


@dataclass(slots=True)
class _UploadSession:
    slot: int
    total: int
    sha256: bytes
    flushed: int  # bytes programmed into flash
    pending: bytes  # received bytes waiting for a full write unit

    @property
    def offset(self) -> int:
        return self.flushed + len(self.pending)


class SlotUploads:
    """The upload in progress and every write into an image slot.

    Args:
        flash: the device's flash.
        boot: the boot-state log (upload record, swap request, test flags).
    """

    def __init__(self, flash: Flash, boot: BootStateStore) -> None:
        self._flash = flash
        self._boot = boot
        self._session: _UploadSession | None = None

    def status(self) -> UploadStatus:
        """The upload in progress (slot -1 when none)."""
        session = self._session
        if session is None:
            return UploadStatus(-1, 0, 0, b"")
        return UploadStatus(session.slot, session.offset, session.total, session.sha256)

    def forget(self) -> None:
        """Drop the RAM state of the upload (reset, power loss); its flash record stays."""
        self._session = None

    def check_writable(self, slot: int, mode: DeviceMode) -> None:
        """Refuse to write the running image's slot, or the revert image while a test image runs."""
        check_slot_number(slot)
        if slot == 0 and mode is DeviceMode.APPLICATION:
            raise SimModeError(
                "the primary slot holds the running image; write it only in the bootloader or recovery"
            )
        if slot == 1 and self._boot.state.primary_test and mode is not DeviceMode.RECOVERY:
            raise SimStateError(
                "the running image is still on test and slot 1 holds the image to revert to; "
                "confirm the running image or reset to revert first"
            )

    def begin(self, total_size: int, image_sha256: bytes, slot: int) -> int:
        """Start an upload, or resume the same image; returns the offset the device already holds.

        ``image_sha256`` names the upload (MCUmgr's ``sha``). The specification lets a client send
        a shortened hash or none at all: a shorter tag still resumes but the finished image is not
        checked against it; an empty one never resumes (every such upload starts afresh).
        """
        slot_size = self._flash.geometry.slot_size
        if not 0 < total_size <= slot_size:
            raise SimUploadError(f"an image of {total_size} bytes does not fit the {slot_size}-byte slot")
        if len(image_sha256) > 32:
            raise SimUploadError("the image SHA-256 is at most 32 bytes")
        session = self._session
        wanted = (slot, total_size, image_sha256)
        if image_sha256 and session is not None and (session.slot, session.total, session.sha256) == wanted:
            return session.offset
        state = self._boot.state
        held = 0
        if image_sha256 and (state.upload_slot, state.upload_size, state.upload_sha256) == wanted:
            held = self._held_offset(slot, total_size, image_sha256)
        else:
            held = self._held_offset(slot, total_size, image_sha256, whole_only=True)
            new_state = replace(state, upload_slot=slot, upload_size=total_size, upload_sha256=image_sha256)
            if slot == 1:
                new_state = replace(new_state, request=SwapRequest.NONE)
            else:
                new_state = replace(new_state, primary_test=False, primary_confirmed=True, boot_failures=0)
            if held == 0:
                self._clear_for_upload(slot, total_size)
            else:
                self._erase_stale_trailer(slot, total_size)
            self._boot.save(new_state)
        self._session = _UploadSession(slot, total_size, image_sha256, held, b"")
        return held

    def write(self, offset: int, data: bytes) -> int:
        """Write the next bytes of the upload; returns the new offset.

        Raises:
            SimUploadError: no upload in progress, ``offset`` is not the current offset, the data
                runs past the announced size, or the finished image does not match its SHA-256.
        """
        session = self._session
        if session is None:
            raise SimUploadError("no upload is in progress; begin one first")
        if offset != session.offset:
            raise SimUploadError(f"the device expects offset {session.offset}, not {offset}")
        if offset + len(data) > session.total:
            raise SimUploadError(f"the data runs past the announced image size of {session.total} bytes")
        g = self._flash.geometry
        buffer = session.pending + bytes(data)
        final = offset + len(data) == session.total
        if final:
            buffer += b"\xff" * (-len(buffer) % g.write_size)
            writable = len(buffer)
        else:
            writable = len(buffer) // g.write_size * g.write_size
        self._program(g.slot_offset(session.slot) + session.flushed, buffer[:writable])
        session.flushed += writable
        session.pending = buffer[writable:]
        if final:
            session.flushed = session.total
            session.pending = b""
            stored = self._flash.read(g.slot_offset(session.slot), session.total)
            if len(session.sha256) == 32 and hashlib.sha256(stored).digest() != session.sha256:
                self._session = None
                self._boot.save(replace(self._boot.state, upload_slot=NO_UPLOAD))  # never resume it
                raise SimUploadError("the uploaded image does not match the SHA-256 announced for it")
        return session.offset

    def erase_slot(self, slot: int) -> None:
        """Erase a whole slot (slow: proportional to its size) and forget any upload into it."""
        g = self._flash.geometry
        self._boot.save(replace(self._boot.state, request=SwapRequest.NONE, upload_slot=NO_UPLOAD))
        for index in range(g.slot_sectors):
            address = g.slot_offset(slot) + index * g.sector_size
            if not self._flash.is_erased(address, g.sector_size):
                self._flash.erase_sector(address)
        if self._session is not None and self._session.slot == slot:
            self._session = None

    def _clear_for_upload(self, slot: int, total: int) -> None:
        """Forget the previous upload, then erase the new image's area (slow: proportional to size).

        Because the record of a new upload is written only after its area is erased, every byte
        in that area is later either erased or this image's data: the resume scan stays truthful.
        """
        state = self._boot.state
        if state.upload_slot != NO_UPLOAD or (slot == 1 and state.request is not SwapRequest.NONE):
            self._boot.save(replace(state, upload_slot=NO_UPLOAD, request=SwapRequest.NONE))
        self._erase_stale_trailer(slot, total)
        g = self._flash.geometry
        for start in range(0, total, g.sector_size):
            address = g.slot_offset(slot) + start
            if not self._flash.is_erased(address, g.sector_size):
                self._flash.erase_sector(address)

    def _erase_stale_trailer(self, slot: int, total: int) -> None:
        """Erase a secondary-slot trailer the new image will not overwrite (it would ask for a swap).

        A new upload cancels a pending request, and the trailer of an earlier padded image is one.
        An image that reaches the slot's last sector has that sector erased before it is written.
        """
        g = self._flash.geometry
        if slot == 1 and total <= g.slot_size - g.sector_size:
            erase_secondary_trailer(self._flash)

    def _held_offset(self, slot: int, total: int, sha: bytes, *, whole_only: bool = False) -> int:
        """How much of this image the slot holds: all of it, or the sectors before the last written.

        The area held only erased bytes when the upload record was written (see
        :meth:`_clear_for_upload`) and data arrives in order, so everything before the sector of
        the last programmed byte is this image's; that sector may hold a torn write and is redone.

        Args:
            slot: the slot.
            total: the image size.
            sha: the image's SHA-256.
            whole_only: the slot's content is not known to be this upload's (no upload record):
                only a byte-exact complete copy counts.
        """
        g = self._flash.geometry
        data = self._flash.read(g.slot_offset(slot), total)
        if hashlib.sha256(data).digest() == sha:
            return total
        if whole_only:
            return 0
        last = len(data.rstrip(b"\xff"))
        return (max(0, last - 1) // g.sector_size) * g.sector_size

    def _program(self, address: int, data: bytes) -> None:
        """Program sequential upload data, erasing each sector as the data first enters it."""
        sector = self._flash.geometry.sector_size
        position = 0
        while position < len(data):
            here = address + position
            boundary = (here // sector + 1) * sector
            piece = data[position : position + min(boundary - here, _UPLOAD_PIECE_BYTES)]
            if here % sector == 0 and not self._flash.is_erased(here, sector):
                self._flash.erase_sector(here)
            self._flash.write(here, piece)
            position += len(piece)

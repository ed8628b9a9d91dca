"""MCUboot's image trailer at the end of a slot: how an uploaded image asks for a swap by itself.

MCUboot (swap modes, ``boot/bootutil/src/bootutil_public.c``) decides what to do with the
secondary slot from the trailer in that slot's last bytes: the 16-byte magic ends the slot and,
before it, each in its own ``BOOT_MAX_ALIGN``-byte field, come ``image_ok``, ``copy_done``,
``swap_info`` and ``swap_size``. ``imgtool sign --pad`` writes the magic; ``--pad --confirm`` also
sets ``image_ok`` to 0x01. MCUboot's swap table then says: secondary magic good and ``image_ok``
erased → test swap; ``image_ok`` 0x01 → permanent swap; anything else (magic erased or wrong,
``image_ok`` neither erased nor 0x01) → no swap.

The virtual bootloader keeps the swap status and the primary slot's flags in its own power-safe
boot-state log (:mod:`bmsflasher.sim.flash.bootstate`), so it reads only the secondary slot's magic and
``image_ok``. Its swap never copies trailer bytes and leaves the secondary trailer erased, as
MCUboot's does, so a consumed request cannot fire again.
"""

from __future__ import annotations

import struct
from typing import Final

from bmsflasher.sim.flash.bootstate import SwapRequest
from bmsflasher.sim.flash.memory import ERASED, Flash
from bmsflasher.sim.options import FlashGeometry

MAGIC_SIZE: Final = 16
FLAG_SET: Final = 0x01  # MCUboot's BOOT_FLAG_SET
DEFAULT_MAX_ALIGN: Final = 8
# boot_img_magic {0xf395c277, 0x7fefd260, 0x0f505235, 0x8079b62c} as little-endian bytes.
BOOT_MAGIC: Final = bytes.fromhex("77c295f360d2ef7f3552500f2cb67980")
# With BOOT_MAX_ALIGN above 8 the magic is the alignment (u16) followed by these 14 bytes.
_ALIGNED_MAGIC_TAIL: Final = bytes.fromhex("2de15d29410b8d77679c110f1f8a")
_FIELDS: Final = 4  # swap_size, swap_info, copy_done, image_ok


def max_align(geometry: FlashGeometry) -> int:
    """MCUboot's BOOT_MAX_ALIGN for this flash: 8, or the write size when that is larger."""
    return max(DEFAULT_MAX_ALIGN, geometry.write_size)


def boot_magic(geometry: FlashGeometry) -> bytes:
    """The 16 magic bytes that end a slot with a trailer (imgtool's ``boot_magic``)."""
    align = max_align(geometry)
    if align == DEFAULT_MAX_ALIGN:
        return BOOT_MAGIC
    return struct.pack("<H", align) + _ALIGNED_MAGIC_TAIL


def trailer_size(geometry: FlashGeometry) -> int:
    """Bytes at a slot's end that belong to the trailer: the four flag fields and the magic.

    MCUboot's trailer also holds its swap-status area; here that status lives in the boot-state
    log, so only the flags and the magic are reserved (imgtool's larger padding is erased bytes).
    """
    align = max_align(geometry)
    return -(-MAGIC_SIZE // align) * align + _FIELDS * align


def max_image_size(geometry: FlashGeometry) -> int:
    """The largest image a slot holds: MCUboot refuses an image that runs into the trailer."""
    return geometry.slot_size - trailer_size(geometry)


def read_request(flash: Flash, slot: int) -> SwapRequest:
    """What the trailer of ``slot`` asks for, decoded by MCUboot's swap table for a secondary slot."""
    g = flash.geometry
    end = g.slot_offset(slot) + g.slot_size
    if flash.read(end - MAGIC_SIZE, MAGIC_SIZE) != boot_magic(g):
        return SwapRequest.NONE
    align = max_align(g)
    image_ok_offset = (end - MAGIC_SIZE - align) // align * align  # ALIGN_DOWN(magic - max_align)
    image_ok = flash.read(image_ok_offset, 1)[0]
    if image_ok == ERASED:
        return SwapRequest.TEST
    if image_ok == FLAG_SET:
        return SwapRequest.PERMANENT
    return SwapRequest.NONE  # a bad flag matches no entry of the table


def trailer_erased(flash: Flash, slot: int) -> bool:
    """True when every trailer byte of ``slot`` is erased."""
    g = flash.geometry
    size = trailer_size(g)
    return flash.is_erased(g.slot_offset(slot) + g.slot_size - size, size)

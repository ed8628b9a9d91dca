"""Swapping the primary and secondary slots through a scratch sector, resumable after any cut.

This is MCUboot's swap-using-scratch. For each sector (last to first) three idempotent steps run,
each followed by a boot-state record of progress:

1. erase scratch, copy secondary[i] → scratch      (secondary[i] is untouched until step 2)
2. erase secondary[i], copy primary[i] → secondary[i]  (its old content is safe in scratch)
3. erase primary[i], copy scratch → primary[i]      (scratch is untouched until the next step 1)

After a power cut the bootloader re-runs the step after the last recorded one. Each step only
reads a source that no earlier unrecorded step can have modified, so re-running it produces the
same bytes, and no cut can lose either image.

As in MCUboot, the slots' trailers (:mod:`bmsflasher.sim.flash.trailer`) are not swapped: the copies of
a slot's last sector stop below the trailer, so both trailers end up erased when that sector is
swapped; when the swap does not reach it (the usual case), a last step erases the secondary's
last sector, which then holds no image byte, only the consumed request.

Encrypted images (MCUboot ``docs/encrypted_images.md``): the secondary image's ciphertext goes to
scratch unchanged (step 1) and is decrypted on its way into the primary slot (step 3), so scratch
never holds plaintext; a primary image flagged encrypted is re-encrypted with its own key on its
way into the secondary slot (step 2), so a revert finds it exactly as it was uploaded. The keys come
from the boot-state record (set when the swap started), and every transform reads a source no
unrecorded step has touched, so the steps stay idempotent across cuts.
"""

from __future__ import annotations

from dataclasses import replace

from bmsflasher.sim.flash.bootstate import BootState, BootStateStore, SwapKind
from bmsflasher.sim.flash.encryption import BodyCipher
from bmsflasher.sim.flash.memory import Flash
from bmsflasher.sim.flash.trailer import trailer_erased, trailer_size


def copy_sector(
    flash: Flash,
    source: int,
    destination: int,
    length: int | None = None,
    *,
    cipher: BodyCipher | None = None,
    slot_offset: int = 0,
) -> None:
    """Erase ``destination`` (if needed) and program it with the first ``length`` bytes at ``source``.

    Args:
        flash: the device flash.
        source: address of the sector to copy.
        destination: address of the sector to overwrite.
        length: bytes to copy (write-size aligned); None copies the whole sector.
        cipher: encrypt or decrypt the image body bytes of the sector on the way (AES-CTR).
        slot_offset: where the sector lies in its slot (the body's key-stream position).
    """
    size = flash.geometry.sector_size
    data = flash.read(source, size if length is None else length)
    if cipher is not None:
        data = cipher.transform(data, slot_offset)
    if not flash.is_erased(destination, size):
        flash.erase_sector(destination)
    if data.count(0xFF) != len(data):
        flash.write(destination, data)


def erase_secondary_trailer(flash: Flash) -> None:
    """Consume the secondary slot's trailer: erase the slot's last sector if its trailer is set.

    Called only when that sector holds no image byte (after a swap that did not reach it, or when
    an upload that ends before it begins); a swap that reached it already left the trailer erased.
    """
    g = flash.geometry
    if not trailer_erased(flash, 1):
        flash.erase_sector(g.slot_offset(1) + g.slot_size - g.sector_size)


def run_swap(flash: Flash, store: BootStateStore, finished: BootState) -> BootState:
    """Run (or resume) the swap recorded in ``store.state``; save ``finished`` when done.

    Args:
        flash: the device flash.
        store: the boot-state store whose state has ``swap`` set.
        finished: the state to record once every sector is swapped (``swap`` NONE).
    """
    g = flash.geometry
    state = store.state
    primary = g.slot_offset(0)
    secondary = g.slot_offset(1)
    scratch = g.scratch_offset
    below_trailer = g.sector_size - trailer_size(g)  # bytes of a slot's last sector to swap
    while state.swap_sector < state.swap_sectors:
        index = state.swap_sectors - 1 - state.swap_sector  # last sector first, as MCUboot
        offset = index * g.sector_size
        length = below_trailer if index == g.slot_sectors - 1 else None
        stage = state.swap_stage
        if stage == 0:
            copy_sector(flash, secondary + offset, scratch, length)
            state = replace(state, swap_stage=1)
        elif stage == 1:
            copy_sector(
                flash,
                primary + offset,
                secondary + offset,
                length,
                cipher=state.primary_cipher,
                slot_offset=offset,
            )
            state = replace(state, swap_stage=2)
        else:
            copy_sector(
                flash, scratch, primary + offset, length, cipher=state.secondary_cipher, slot_offset=offset
            )
            state = replace(state, swap_sector=state.swap_sector + 1, swap_stage=0)
            if state.swap_sector == state.swap_sectors:
                break
        store.save(state)
    erase_secondary_trailer(flash)
    store.save(
        replace(
            finished,
            swap=SwapKind.NONE,
            swap_sectors=0,
            swap_sector=0,
            swap_stage=0,
            primary_cipher=None,
            secondary_cipher=None,
        )
    )
    return store.state

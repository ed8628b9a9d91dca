"""Swapping the primary and secondary slots through a scratch sector, resumable after any cut.

This is MCUboot's swap-using-scratch. For each sector (last to first) three idempotent steps run,
each followed by a boot-state record of progress:

1. erase scratch, copy secondary[i] → scratch      (secondary[i] is untouched until step 2)
2. erase secondary[i], copy primary[i] → secondary[i]  (its old content is safe in scratch)
3. erase primary[i], copy scratch → primary[i]      (scratch is untouched until the next step 1)

After a power cut the bootloader re-runs the step after the last recorded one. Each step only
reads a source that no earlier unrecorded step can have modified, so re-running it produces the
same bytes, and no cut can lose either image.
"""

from __future__ import annotations

from dataclasses import replace

from bmsflasher.sim.bootstate import BootState, BootStateStore, SwapKind
from bmsflasher.sim.flash import Flash


def copy_sector(flash: Flash, source: int, destination: int) -> None:
    """Erase ``destination`` (if needed) and program it with the sector at ``source``."""
    size = flash.geometry.sector_size
    data = flash.read(source, size)
    if not flash.is_erased(destination, size):
        flash.erase_sector(destination)
    if data.count(0xFF) != size:
        flash.write(destination, data)


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
    while state.swap_sector < state.swap_sectors:
        index = state.swap_sectors - 1 - state.swap_sector  # last sector first, as MCUboot
        offset = index * g.sector_size
        stage = state.swap_stage
        if stage == 0:
            copy_sector(flash, secondary + offset, scratch)
            state = replace(state, swap_stage=1)
        elif stage == 1:
            copy_sector(flash, primary + offset, secondary + offset)
            state = replace(state, swap_stage=2)
        else:
            copy_sector(flash, scratch, primary + offset)
            state = replace(state, swap_sector=state.swap_sector + 1, swap_stage=0)
            if state.swap_sector == state.swap_sectors:
                break
        store.save(state)
    store.save(replace(finished, swap=SwapKind.NONE, swap_sectors=0, swap_sector=0, swap_stage=0))
    return store.state

"""Which slot an upload writes: one rule for every protocol.

MCUboot's layout: the bootloader boots the primary slot (0); an update is received in the
secondary slot (1) beside the intact application, and the bootloader swaps it in for a test boot,
keeping the old image to revert to. Only when that is impossible — nothing bootable is left
(recovery), or the bootloader that answers writes nothing but the slot it boots (MCUboot's serial
recovery) — does the upload go to the primary slot, which the next reset starts as it is.
"""

from __future__ import annotations

from typing import Final

PRIMARY_SLOT: Final = 0
"""The slot the bootloader boots."""
SECONDARY_SLOT: Final = 1
"""The slot an update is received in, beside the intact application."""


def upload_slot(beside_application: bool) -> int:
    """The slot an upload writes.

    Args:
        beside_application: the device can take the image beside an intact application (a running
            application, or a bootloader session that writes either slot).
    """
    return SECONDARY_SLOT if beside_application else PRIMARY_SLOT

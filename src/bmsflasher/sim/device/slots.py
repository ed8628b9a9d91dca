"""The two image slots as the device reports and steers them: states, verdicts, test/confirm/rollback.

Zephyr's img_mgmt flags are derived here from the bootloader's view of each slot and the boot
state; the image-state requests (test or permanent swap, confirm, rollback) are one boot-state
record each. Callers hold the device lock and turn a power cut (``PowerCut``, raised by the flash
through these writes) into "the device is off".
"""

from __future__ import annotations

from dataclasses import replace

from bmsflasher.core.types import SlotState
from bmsflasher.sim.errors import SimDowngradeError, SimImageRejectedError, SimUploadError
from bmsflasher.sim.flash.bootloader import Bootloader, SlotImage, SlotInspector
from bmsflasher.sim.flash.bootstate import BootStateStore, SwapRequest
from bmsflasher.sim.flash.images import ImageInfo


def check_slot_number(slot: int) -> None:
    """Refuse a slot this device does not have (slot 0 primary, slot 1 secondary)."""
    if slot not in (0, 1):
        raise SimUploadError(f"slot {slot} does not exist (slots 0 and 1)")


class ImageSlots:
    """Slot 0 (primary, the running image) and slot 1 (secondary: the new image or the revert image).

    Args:
        inspector: the bootloader's verdict on each slot (hash, signature, security counter).
        boot: the boot-state log holding requests, test flags and the security counter.
        bootloader: answers which swap request is pending (trailer or log).
    """

    def __init__(self, inspector: SlotInspector, boot: BootStateStore, bootloader: Bootloader) -> None:
        self._inspector = inspector
        self._boot = boot
        self._bootloader = bootloader

    def states(self, *, primary_active: bool) -> tuple[SlotState, ...]:
        """Both slots with MCUboot image-state flags; ``primary_active`` is False in recovery mode."""
        state = self._boot.state
        request = self._bootloader.pending_request(state)  # the secondary trailer's, else the log's
        result = []
        for slot in (0, 1):
            verdict = self._inspector.bootable(slot, state.security_counter)
            info = verdict.info
            active = slot == 0 and primary_active
            if slot == 0:
                confirmed = verdict.valid and not state.primary_test
                pending = permanent = False
            else:
                confirmed = verdict.valid and state.primary_test  # the image a revert restores
                pending = request is not SwapRequest.NONE
                permanent = request is SwapRequest.PERMANENT
            result.append(
                SlotState(
                    slot=slot,
                    version=info.version if info else None,
                    image_hash=info.image_hash if info else b"",
                    bootable=verdict.valid,
                    pending=pending,
                    confirmed=confirmed,
                    active=active,
                    permanent=permanent,
                )
            )
        return tuple(result)

    def problem(self, slot: int) -> str | None:
        """Why the bootloader would refuse the image in ``slot`` (None when it would boot it)."""
        check_slot_number(slot)
        return self._inspector.bootable(slot, self._boot.state.security_counter).problem

    def image_bytes(self, slot: int) -> bytes:
        """The image in ``slot`` exactly as stored (empty when none parses)."""
        check_slot_number(slot)
        return self._inspector.image_bytes(slot)

    def running_image(self) -> ImageInfo | None:
        """The primary slot's image, as the bootloader found it when it started it."""
        return self._inspector.inspect(0).info

    def mark_pending(self, *, permanent: bool) -> None:
        """Ask for a test (or permanent) swap to the secondary image at the next reset."""
        self._bootable_secondary()
        request = SwapRequest.PERMANENT if permanent else SwapRequest.TEST
        self._boot.save(replace(self._boot.state, request=request))

    def confirm(self, running: ImageInfo | None) -> None:
        """Make the running test image permanent and raise the stored security counter to its own."""
        state = self._boot.state
        if not state.primary_test or running is None:
            return
        counter = max(state.security_counter, running.security_counter)
        self._boot.save(replace(state, primary_test=False, primary_confirmed=True, security_counter=counter))

    def rollback(self) -> None:
        """Request a permanent swap back to the secondary image (refused below the security counter)."""
        state = self._boot.state
        if state.primary_test:
            return  # an unconfirmed test image is reverted by the next reset anyway
        self._bootable_secondary()
        self._boot.save(replace(state, request=SwapRequest.PERMANENT))

    def _bootable_secondary(self) -> SlotImage:
        verdict = self._inspector.bootable(1, self._boot.state.security_counter)
        if not verdict.valid:
            problem = verdict.problem or "slot 1 holds no image"
            if "anti-rollback" in problem:
                raise SimDowngradeError(f"the image was refused: {problem}")
            raise SimImageRejectedError(f"the image was refused: {problem}")
        return verdict

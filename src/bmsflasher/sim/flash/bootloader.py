"""The bootloader: MCUboot semantics on the simulated flash.

At every boot it (1) resumes a swap a power cut interrupted, (2) carries out a requested swap of
the secondary image after checking it (signature with the device's trusted key, security counter
not below the stored one), (3) reverts a test image that was not confirmed before this reset or
that crashed on start-up 3 times, (4) falls back to the other slot when a confirmed image crashes
3 times in a row, and (5) starts the primary image if it verifies, or stays in recovery mode.

A swap is requested either in the boot-state log (``mark_pending``, ``rollback``) or, as on a real
MCUboot device, by the MCUboot trailer of the secondary slot (an ``imgtool sign --pad`` image:
test swap; ``--pad --confirm``: permanent swap). The trailer wins when both are set, because
MCUboot's ``boot_set_pending`` leaves a slot whose trailer already asks for a swap untouched. A
trailer request for an image the bootloader refuses erases the secondary slot, as MCUboot does
so as not to try it at every boot; a refused request from the log is only dropped.

The stored security counter is raised only when a confirmed image runs (confirmation of a test
image, a permanent install that came up, or an image written by recovery that came up).
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, replace
from typing import Final

from bmsflasher.sim.flash.bootstate import NO_UPLOAD, BootState, BootStateStore, SwapKind, SwapRequest
from bmsflasher.sim.flash.encryption import BodyCipher
from bmsflasher.sim.flash.images import ImageInfo, ImageParseError, ImageVerifier, parse_image
from bmsflasher.sim.flash.memory import Flash
from bmsflasher.sim.flash.swap import run_swap
from bmsflasher.sim.flash.trailer import max_image_size, read_request

MAX_BOOT_ATTEMPTS: Final = 3
BOOT_LOOP_BEHAVIOUR: Final = "boot-loop"


class ResetReason(enum.Enum):
    """Why the bootloader runs (a real MCU reads this from its reset-cause register)."""

    POWER_ON = "power-on"
    SOFTWARE = "software"  # commanded reset (ECUReset, SMP reset, rollback)
    WATCHDOG = "watchdog"  # the application crashed before it came up


@dataclass(frozen=True, slots=True)
class SlotImage:
    """An image slot's verdict: parsed info (None if nothing parses) and why it is unusable."""

    info: ImageInfo | None
    problem: str | None

    @property
    def valid(self) -> bool:
        return self.info is not None and self.problem is None


class SlotInspector:
    """Parses and verifies slot contents, caching the verdict until the slot's flash changes."""

    def __init__(self, flash: Flash, verifier: ImageVerifier) -> None:
        self._flash = flash
        self._verifier = verifier
        self._cache: dict[int, tuple[int, SlotImage]] = {}

    def image_bytes(self, slot: int) -> bytes:
        """The bytes of the image in ``slot`` (empty if no image parses)."""
        inspected = self.inspect(slot)
        if inspected.info is None:
            return b""
        return self._flash.read(self._flash.geometry.slot_offset(slot), inspected.info.total_size)

    def inspect(self, slot: int) -> SlotImage:
        """Parse and verify the signature of the image in ``slot`` (counter not checked here)."""
        generation = self._flash.generation(slot)
        cached = self._cache.get(slot)
        if cached is not None and cached[0] == generation:
            return cached[1]
        g = self._flash.geometry
        raw = self._flash.read(g.slot_offset(slot), g.slot_size)
        try:
            info: ImageInfo | None = parse_image(raw)
        except ImageParseError as exc:
            info = None
            verdict = SlotImage(None, f"slot {slot} holds no image ({exc})")
        if info is not None:
            if info.total_size > g.slot_size:
                verdict = SlotImage(info, f"the image in slot {slot} is larger than the slot")
            elif info.total_size > max_image_size(g):
                verdict = SlotImage(
                    info, f"the image in slot {slot} runs into the MCUboot trailer at the slot's end"
                )
            else:
                problem = self._verify(slot, info, raw[: info.total_size])
                verdict = SlotImage(info, None if problem is None else f"slot {slot}: {problem}")
        self._cache[slot] = (generation, verdict)
        return verdict

    def _verify(self, slot: int, info: ImageInfo, image: bytes) -> str | None:
        """Hash and signature over the plaintext: the secondary slot keeps an encrypted image encrypted."""
        if slot != 1 or not info.encrypted:
            return self._verifier.verify(image)
        cipher = self._verifier.body_cipher(info)
        if isinstance(cipher, str):
            return cipher
        return self._verifier.verify(image, cipher)

    def body_cipher(self, slot: int) -> BodyCipher | None:
        """The key a swap uses on the image in ``slot``: None when it is not flagged encrypted.

        For the secondary slot: the key that decrypts it into the primary slot. For the primary
        slot (held in clear): the key that re-encrypts it into the secondary slot, so that a
        revert finds it as it was uploaded. A key TLV that does not unwrap gives None (copied as is).
        """
        info = self.inspect(slot).info
        if info is None or not info.encrypted:
            return None
        cipher = self._verifier.body_cipher(info)
        return None if isinstance(cipher, str) else cipher

    def bootable(self, slot: int, stored_counter: int) -> SlotImage:
        """Like :meth:`inspect`, and also refuse an image whose counter is below the stored one."""
        verdict = self.inspect(slot)
        if verdict.valid and verdict.info is not None and verdict.info.security_counter < stored_counter:
            return SlotImage(
                verdict.info,
                f"slot {slot}: security counter {verdict.info.security_counter} is below the "
                f"device's counter {stored_counter} (anti-rollback)",
            )
        return verdict


@dataclass(frozen=True, slots=True)
class BootOutcome:
    """Where the boot ended: running the primary image, or in recovery mode with a reason."""

    running: bool
    reason: str = ""
    attempts: int = 1
    reverted: bool = False  # a revert or fallback swap ran (the device records a DTC)


class Bootloader:
    """Runs one boot (which may include several crash/reboot attempts) on the device's flash."""

    def __init__(
        self, flash: Flash, store: BootStateStore, inspector: SlotInspector, *, boot_time_s: float = 0.0
    ) -> None:
        self._flash = flash
        self._store = store
        self._inspector = inspector
        self._boot_time_s = boot_time_s

    def pending_request(self, state: BootState) -> SwapRequest:
        """The swap the next boot carries out: the secondary slot's trailer's, else the log's."""
        trailer = read_request(self._flash, 1)
        return trailer if trailer is not SwapRequest.NONE else state.request

    def _scramble_secondary(self) -> None:
        """Erase the secondary slot, last sector (the trailer) first, skipping erased sectors."""
        g = self._flash.geometry
        for index in reversed(range(g.slot_sectors)):
            address = g.slot_offset(1) + index * g.sector_size
            if not self._flash.is_erased(address, g.sector_size):
                self._flash.erase_sector(address)

    def _swap_sectors(self) -> int:
        size = 0
        for slot in (0, 1):
            info = self._inspector.inspect(slot).info
            size = max(size, info.total_size if info is not None else 0)
        sector = self._flash.geometry.sector_size
        return max(1, -(-size // sector))

    def _start_swap(self, kind: SwapKind, finished: BootState) -> BootState:
        state = replace(
            self._store.state,
            request=SwapRequest.NONE,
            upload_slot=NO_UPLOAD,  # the slots' contents change: an upload cannot resume across this
            swap=kind,
            swap_sectors=self._swap_sectors(),
            swap_sector=0,
            swap_stage=0,
            primary_cipher=self._inspector.body_cipher(0),
            secondary_cipher=self._inspector.body_cipher(1),
        )
        self._store.save(state)
        return run_swap(self._flash, self._store, finished)

    @staticmethod
    def _finished(state: BootState, kind: SwapKind) -> BootState:
        """The state a swap of ``kind`` leaves when it completes."""
        test = kind is SwapKind.TEST
        return replace(
            state,
            request=SwapRequest.NONE,
            swap=SwapKind.NONE,
            upload_slot=NO_UPLOAD,
            primary_test=test,
            primary_confirmed=not test,
            boot_failures=0,
        )

    def boot(self, reason: ResetReason) -> BootOutcome:
        """Run the bootloader until an image runs or recovery mode is reached.

        Raises:
            PowerCut: the supply failed during a flash operation (the device is then off).
        """
        store = self._store
        state = store.load()
        attempts = 0
        just_swapped = False  # a test image swapped in during this boot gets its one trial boot
        reverted = False
        started = True  # the MCU (re)starts: a reset now, a watchdog reset after a crash below
        while True:
            attempts += 1
            if started and self._boot_time_s > 0:
                # One start per reset, not per pass: after a swap MCUboot goes on to the image in the
                # same run (no reset), so the pass that follows a swap costs only the swap's flash time.
                time.sleep(self._boot_time_s)
            started = False
            if state.swap is not SwapKind.NONE:
                reverted = reverted or state.swap in (SwapKind.REVERT, SwapKind.FALLBACK)
                state = run_swap(self._flash, store, self._finished(state, state.swap))
                just_swapped = True
                continue
            trailer = read_request(self._flash, 1)
            request = trailer if trailer is not SwapRequest.NONE else state.request
            if request is not SwapRequest.NONE:
                candidate = self._inspector.bootable(1, state.security_counter)
                if candidate.valid:
                    kind = SwapKind.TEST if request is SwapRequest.TEST else SwapKind.PERMANENT
                    state = self._start_swap(kind, self._finished(state, kind))
                    just_swapped = True
                else:  # MCUboot drops a request for an image it will not boot
                    state = replace(state, request=SwapRequest.NONE)
                    store.save(state)
                    if trailer is not SwapRequest.NONE:  # and erases it, or its trailer would ask again
                        self._scramble_secondary()
                continue
            crashed = reason is ResetReason.WATCHDOG
            if state.primary_test and (
                (not crashed and not just_swapped) or state.boot_failures >= MAX_BOOT_ATTEMPTS
            ):
                if self._inspector.bootable(1, state.security_counter).valid:
                    state = self._start_swap(SwapKind.REVERT, self._finished(state, SwapKind.REVERT))
                    reverted = True
                    continue
            elif state.boot_failures >= MAX_BOOT_ATTEMPTS:
                if self._inspector.bootable(1, state.security_counter).valid:
                    state = self._start_swap(SwapKind.FALLBACK, self._finished(state, SwapKind.FALLBACK))
                    reverted = True
                    continue
                return BootOutcome(
                    False,
                    f"the image crashed {state.boot_failures} times and no other image is valid",
                    attempts,
                    reverted,
                )
            primary = self._inspector.bootable(0, state.security_counter)
            if not primary.valid or primary.info is None:
                return BootOutcome(False, primary.problem or "no image", attempts, reverted)
            if primary.info.behaviour == BOOT_LOOP_BEHAVIOUR:
                # The application crashes during start-up; the watchdog resets the MCU.
                state = replace(state, boot_failures=state.boot_failures + 1)
                store.save(state)
                reason = ResetReason.WATCHDOG
                started = True
                continue
            changes = state
            if state.boot_failures:
                changes = replace(changes, boot_failures=0)
            if not state.primary_test and primary.info.security_counter > state.security_counter:
                changes = replace(changes, security_counter=primary.info.security_counter)
            store.save(changes)
            return BootOutcome(True, "", attempts, reverted)

"""The BMS group's negotiated line-rate switch (commands 16 and 17) on the virtual BMS's UART.

A device connects at a safe rate; the tool may then ask for a faster one. The firmware's rule,
which keeps a device reachable whatever the cable does (docs/protocols/smp.md, *Line rate*):

* ``16 R`` offers the rates this UART supports, ``16 W {baud}`` accepts one: the answer leaves
  at the old rate, **then** the UART switches (after its transmitter drained, so the answer is
  never cut by the switch — esptool's ``change_baud`` pitfall);
* the new rate is provisional until ``17 W {token}`` arrives at it and is answered (the token is
  echoed): if no proof arrives within ``proof_ms`` the UART goes back to the rate it came from;
* a switch back to the boot rate (a tool closing the port) takes effect without a proof;
* a committed rate above the boot rate is kept only while the line is used: no valid frame for
  ``idle_ms`` (the tool was killed, the adapter was unplugged) and the UART returns to its boot
  rate, as it does at every reset. A new tool always finds the device at its boot rate.

This module is the firmware's state; the serial front-end applies the rate to the wire and calls
:meth:`LinkRate.tick` and :meth:`LinkRate.frame_received` (the UART driver's timer and receive hook).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any, Final

from bmsflasher.sim.smp.error_codes import BmsErr, MgmtErr, SmpRequestError
from bmsflasher.sim.smp.messages import GROUP_BMS, OP_READ, OP_WRITE, HandlerTable, Request, is_uint

CMD_LINK_RATE: Final = 16
CMD_RATE_PROOF: Final = 17
SUPPORTED_RATES: Final = (115_200, 230_400, 460_800, 921_600)
"""What the BMS's UART divides its clock into exactly enough (within 2 %)."""
PROOF_MS: Final = 600
"""How long a provisional rate waits for its proof before the UART returns to the previous rate."""
IDLE_MS: Final = 1500
"""How long a committed faster rate survives without a valid frame before the boot rate returns."""
MAX_TOKEN_BYTES: Final = 32


class LinkRate:
    """The UART's rate state: boot rate, provisional switch, commit, timeouts.

    Args:
        boot_baud: the rate the device starts at (and returns to).
        rates: the rates offered; the boot rate is always among them.
    """

    def __init__(self, boot_baud: int, rates: tuple[int, ...] = SUPPORTED_RATES) -> None:
        self._lock = threading.Lock()
        self._boot = boot_baud
        self._rates = tuple(sorted({*rates, boot_baud}))
        self._current = boot_baud
        self._previous = boot_baud
        self._pending_switch: int | None = None
        self._provisional_until: float | None = None
        self._last_frame = time.monotonic()
        self.switches = 0
        self.fallbacks = 0

    @property
    def current(self) -> int:
        """The rate the UART should run at now."""
        with self._lock:
            return self._current

    def handlers(self) -> HandlerTable:
        """The two commands by (group, command, op)."""
        return {
            (GROUP_BMS, CMD_LINK_RATE, OP_READ): self._offer,
            (GROUP_BMS, CMD_LINK_RATE, OP_WRITE): self._switch,
            (GROUP_BMS, CMD_RATE_PROOF, OP_WRITE): self._proof,
        }

    # --- the handlers (the SMP thread) -----------------------------------------------------------
    def _offer(self, _request: Request) -> Mapping[str, Any]:
        return {"rates": list(self._rates), "baud": self.current, "proof_ms": PROOF_MS, "idle_ms": IDLE_MS}

    def _switch(self, request: Request) -> Mapping[str, Any]:
        baud = request.body.get("baud")
        if not is_uint(baud):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'baud' is an unsigned integer")
        if baud not in self._rates:
            raise SmpRequestError(BmsErr.INVALID_PARAMETER, group=GROUP_BMS, reason="rate not offered")
        with self._lock:
            self._pending_switch = baud
        return {"baud": baud, "proof_ms": PROOF_MS, "idle_ms": IDLE_MS}

    def _proof(self, request: Request) -> Mapping[str, Any]:
        token = request.body.get("token")
        if not isinstance(token, bytes) or not 0 < len(token) <= MAX_TOKEN_BYTES:
            raise SmpRequestError(MgmtErr.EINVAL, reason="'token' is 1..32 bytes")
        with self._lock:
            self._provisional_until = None  # heard at this rate: committed
            self._previous = self._current
            baud = self._current
        return {"token": token, "baud": baud}

    # --- the UART driver's hooks (the front-end) --------------------------------------------------
    def has_pending_switch(self) -> bool:
        """True after an accepted switch request whose answer has not left yet."""
        with self._lock:
            return self._pending_switch is not None

    def take_pending_switch(self) -> int | None:
        """The rate to switch to once the current answer has left the wire (None: none asked)."""
        with self._lock:
            baud, self._pending_switch = self._pending_switch, None
            if baud is None:
                return None
            now = time.monotonic()
            self._previous = self._current
            self._current = baud
            # The boot rate is always safe: going back to it needs no proof.
            self._provisional_until = None if baud == self._boot else now + PROOF_MS / 1000
            self._last_frame = now
            self.switches += 1
            return baud

    def frame_received(self) -> None:
        """A frame with a valid CRC arrived (at the current rate, necessarily)."""
        with self._lock:
            self._last_frame = time.monotonic()

    def tick(self) -> int | None:
        """Apply the timeouts; returns the new rate when the UART must change, else None."""
        now = time.monotonic()
        with self._lock:
            if self._provisional_until is not None and now >= self._provisional_until:
                self._provisional_until = None
                self._current, self._previous = self._previous, self._previous
                self._last_frame = now
                self.fallbacks += 1
                return self._current
            if self._current != self._boot and now - self._last_frame >= IDLE_MS / 1000:
                self._current = self._previous = self._boot
                self.fallbacks += 1
                return self._current
        return None

    def reset(self) -> None:
        """The device rebooted: its UART starts at the boot rate."""
        with self._lock:
            self._current = self._previous = self._boot
            self._pending_switch = None
            self._provisional_until = None

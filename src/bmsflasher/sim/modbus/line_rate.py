"""The vendor line-rate block at 0xE1C0: one module's negotiated UART rate, with its fallbacks.

The module's firmware rule (``docs/protocols/modbus.md``, *Line rate*), which keeps a module on a
multi-drop bus reachable whatever the cable does:

* a write of a rate to LineRate (0xE1C0, u32) is answered at the old rate; the UART switches only
  once that answer has left the line (the bus tells :meth:`LineRate.answer_left` when it ends);
* the new rate is provisional: the token written to ProofToken (0xE1C8..0xE1CB) and read back, both
  at the new rate, commit it; no such read within ``proof_ms`` and the UART returns to the old rate;
* a committed rate other than the configured (bus) rate lives only while the tool talks to this
  module: ``idle_ms`` without a valid frame addressed to it and it is back at the bus rate, as at
  every reset; a write of the bus rate takes effect without a proof (the tool handing it back);
* a broadcast never switches (nobody could answer it, and the bus must keep one rate).

The state is time-based (``time.monotonic``): the bus asks :meth:`LineRate.baud` before it decodes
for this module and before it sends this module's answer, so no timer thread is needed.
"""

from __future__ import annotations

import threading
import time
from typing import Final

from bmsflasher.sim.modbus.pdu import ExceptionCode, ModbusException

LINE_RATE: Final = 0xE1C0
"""u32 (2 registers): the rate in force (read); the rate wanted (write)."""
PROOF_MS_REGISTER: Final = 0xE1C2
IDLE_MS_REGISTER: Final = 0xE1C3
RATE_COUNT: Final = 0xE1C4
RATES: Final = 0xE1C5
"""Up to ``MAX_RATES`` offered rates, u32 each, ascending; unused ones read 0."""
MAX_RATES: Final = 6
TOKEN: Final = RATES + 2 * MAX_RATES + 3  # 0xE1D4
TOKEN_REGISTERS: Final = 4
BLOCK_REGISTERS: Final = TOKEN + TOKEN_REGISTERS - LINE_RATE
SUPPORTED_RATES: Final = (9_600, 19_200, 38_400, 57_600, 115_200, 230_400)
"""What a typical RS485 transceiver and the module's UART clock divide into within 2 %."""
PROOF_MS: Final = 1200
"""Long enough for a token write and read the tool's 0.5 s answer timeout lets fail once."""
IDLE_MS: Final = 2000


class LineRate:
    """The module UART's rate state.

    Args:
        boot_baud: the configured (bus) rate: the rate at reset and after any fallback.
        rates: the rates offered (the boot rate is always among them).
    """

    def __init__(self, boot_baud: int, rates: tuple[int, ...] = SUPPORTED_RATES) -> None:
        self._lock = threading.Lock()
        self._boot = boot_baud
        self._rates = tuple(sorted({*rates, boot_baud}))[:MAX_RATES]
        if boot_baud not in self._rates:
            self._rates = (*self._rates[: MAX_RATES - 1], boot_baud)
        self._current = self._previous = boot_baud
        self._wanted: int | None = None
        self._pending: tuple[int, float] | None = None
        self._provisional_until: float | None = None
        self._token = [0] * TOKEN_REGISTERS
        self._token_at_rate = False
        self._last_frame = time.monotonic()
        self.switches = 0
        self.fallbacks = 0
        """Provisional rates given up for want of a proof."""
        self.idle_returns = 0
        """Returns to the bus rate for want of traffic."""

    @staticmethod
    def covers(address: int, count: int) -> bool:
        """Whether ``address..address+count`` lies in this block."""
        return address >= LINE_RATE and address + count <= LINE_RATE + BLOCK_REGISTERS

    def baud(self, now: float | None = None) -> int:
        """The rate the UART runs at ``now`` (applies the pending switch and the timeouts)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._advance(now)
            return self._current

    def _advance(self, now: float) -> None:
        if self._pending is not None and now >= self._pending[1]:
            baud, at = self._pending
            self._pending = None
            self._previous, self._current = self._current, baud
            self._provisional_until = None if baud == self._boot else at + PROOF_MS / 1000
            self._token_at_rate = False
            self._last_frame = at
            self.switches += 1
        if self._provisional_until is not None and now >= self._provisional_until:
            self._provisional_until = None
            self._current = self._previous
            self._last_frame = now
            self.fallbacks += 1
        if self._current != self._boot and now - self._last_frame >= IDLE_MS / 1000:
            self._current = self._previous = self._boot
            self._provisional_until = None
            self.idle_returns += 1

    # --- the firmware's register access (the module's thread) ------------------------------------
    def frame_received(self) -> None:
        """A valid frame addressed to this module arrived (at the current rate, necessarily)."""
        with self._lock:
            self._last_frame = time.monotonic()

    def read(self, address: int, count: int) -> list[int]:
        with self._lock:
            self._advance(time.monotonic())
            rates = [*self._rates, *([0] * (MAX_RATES - len(self._rates)))]
            block = [
                *_u32(self._current),
                PROOF_MS,
                IDLE_MS,
                len(self._rates),
                *(word for rate in rates for word in _u32(rate)),
                0,
                0,
                0,
                *self._token,
            ]
            offset = address - LINE_RATE
            if TOKEN - LINE_RATE <= offset < TOKEN - LINE_RATE + TOKEN_REGISTERS and self._token_at_rate:
                self._provisional_until = None  # token written and read back at this rate: committed
                self._previous = self._current
            return block[offset : offset + count]

    def write(self, address: int, values: list[int], *, broadcast: bool) -> None:
        """A write into the block; raises the exception the module answers."""
        if address == TOKEN and len(values) == TOKEN_REGISTERS:
            with self._lock:
                self._token = list(values)
                self._token_at_rate = True
            return
        if address != LINE_RATE or len(values) != 2 or broadcast:
            raise ModbusException(ExceptionCode.ILLEGAL_DATA_ADDRESS)
        baud = (values[0] << 16) | values[1]
        if baud not in self._rates:
            raise ModbusException(ExceptionCode.ILLEGAL_DATA_VALUE)
        with self._lock:
            self._wanted = baud

    def answer_left(self, end_s: float) -> None:
        """This module's answer ends on the line at ``end_s``: a rate switch asked for takes effect then."""
        with self._lock:
            if self._wanted is not None:
                self._pending = (self._wanted, end_s)
                self._wanted = None

    def reset(self) -> None:
        """The module rebooted: its UART starts at the configured rate."""
        with self._lock:
            self._current = self._previous = self._boot
            self._wanted = self._pending = self._provisional_until = None
            self._token_at_rate = False


def _u32(value: int) -> tuple[int, int]:
    return (value >> 16) & 0xFFFF, value & 0xFFFF

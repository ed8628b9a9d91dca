"""Negotiated line-rate switch with ONE Modbus RTU module (the vendor line-rate block at 0xE1C0).

The SMP side's design (``protocols/smp/link_rate.py``) on Modbus registers: connect at the bus
rate, ask the module for a faster one it offers, switch both ends, prove the new rate with a random
token written to a scratch register and read back, and fall back on both sides when the proof
fails — the module by its own timer, so a long RS485 run never leaves it unreachable. The rules
(``docs/protocols/modbus.md``, *Line rate*):

* the module answers the switch request at the old rate and switches once that answer has left the
  line; the tool changes its own rate after reading it;
* no token read back at the new rate within ``proof_ms`` → the module returns to the old rate; the
  tool waits that long, returns too, checks with a read, and tries the next lower rate;
* a faster rate lives only while the tool talks to the module (``idle_ms``), and never survives
  a reset.

On a multi-drop bus every node must share one rate, so only the single-module update path
switches, and only for the transfer: :meth:`LineRateSwitcher.switch_back` hands the module back at
the bus rate before anything else (a reboot, another module, a broadcast) uses the line.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Final, Protocol

from bmsflasher.core.errors import (
    BmsFlasherError,
    DeviceRejectedError,
    MalformedResponseError,
    NoResponseError,
    UnsupportedOperationError,
)
from bmsflasher.core.i18n import t
from bmsflasher.protocols.modbus.module_access import ModuleAccess

LINE_RATE: Final = 0xE1C0
"""u32 (high word first): the rate in force (read), the rate wanted (write)."""
BLOCK_REGISTERS: Final = 24
"""LineRate (2), ProofMs, IdleMs, RateCount, Rates (6 x u32), reserved (3), ProofToken (4)."""
PROOF_MS_OFFSET: Final = 2
IDLE_MS_OFFSET: Final = 3
RATE_COUNT_OFFSET: Final = 4
RATES_OFFSET: Final = 5
MAX_RATES: Final = 6
TOKEN: Final = LINE_RATE + 20
TOKEN_REGISTERS: Final = 4
SETTLE_S: Final = 0.01
"""Pause between reading the switch answer and changing the host's rate."""
FALLBACK_MARGIN_S: Final = 0.15
PROOF_SHARE: Final = 0.8
"""Part of the module's proof window the tool spends getting the token through."""
IDENTITY: Final = 0xE000


class RateMemory(Protocol):
    """Per-adapter memory of the fastest rate that held (``discovery.cache.AdapterRateMemory``)."""

    def held_rate(self, port: str) -> int | None: ...

    def remember_rate(self, port: str, baud: int) -> None: ...


@dataclass(frozen=True, slots=True)
class LineRateOptions:
    """Whether and how fast the single-module path may switch.

    Attributes:
        max_baud: the fastest rate to ask for (None: whatever the module offers).
        memory: per-adapter memory of the rate that held, or None.
    """

    max_baud: int | None = None
    memory: RateMemory | None = None


@dataclass
class LineRateOutcome:
    """What a negotiation did (logs, tests, benchmarks)."""

    connect_baud: int
    baud: int
    supported: bool = True
    tried: list[tuple[int, bool]] = field(default_factory=list)
    elapsed_s: float = 0.0


class LineRateSwitcher:
    """Negotiates the fastest rate that holds with the one module ``access`` talks to.

    Args:
        access: the module's register access, its session open at the bus rate.
        options: ceiling and memory.
    """

    def __init__(self, access: ModuleAccess, options: LineRateOptions) -> None:
        self._access = access
        self._options = options

    def negotiate(self) -> LineRateOutcome:
        """Switch to the fastest offered rate that proves itself; stay at the connect rate if none does.

        Never raises for a rate that fails (it falls back); raises only what the connect rate
        itself raises (the module stopped answering altogether).
        """
        started = time.monotonic()
        link = self._access.session.link
        connect = link.baud
        outcome = LineRateOutcome(connect_baud=connect, baud=connect)
        try:
            block = self._access.read(LINE_RATE, BLOCK_REGISTERS, t("the line rate offer"))
        except (UnsupportedOperationError, DeviceRejectedError, MalformedResponseError):
            outcome.supported = False  # an older firmware (exception 02): stay where we are
            return outcome
        proof_ms, idle_ms = block[PROOF_MS_OFFSET], block[IDLE_MS_OFFSET]
        count = min(block[RATE_COUNT_OFFSET], MAX_RATES)
        rates = [(block[RATES_OFFSET + 2 * i] << 16) | block[RATES_OFFSET + 2 * i + 1] for i in range(count)]
        if not 0 < proof_ms <= 10_000 or idle_ms <= 0:
            outcome.supported = False
            return outcome
        candidates = sorted({rate for rate in rates if rate > connect}, reverse=True)
        if self._options.max_baud is not None:
            candidates = [rate for rate in candidates if rate <= self._options.max_baud]
        memory = self._options.memory
        remembered = memory.held_rate(link.port) if memory is not None else None
        if remembered is not None:
            candidates = [rate for rate in candidates if rate <= remembered]
        for baud in candidates:
            held = self._try(baud, connect, proof_ms, idle_ms)
            outcome.tried.append((baud, held))
            if held:
                outcome.baud = baud
                break
        if memory is not None and candidates:
            memory.remember_rate(link.port, outcome.baud)
        outcome.elapsed_s = time.monotonic() - started
        return outcome

    def switch_back(self, bus_baud: int) -> None:
        """Hand the module back at the bus rate (taken without a proof: the bus rate is always safe).

        A lost answer is harmless: the module's idle timer returns it all the same.
        """
        link = self._access.session.link
        try:
            self._access.write(LINE_RATE, _u32(bus_baud), t("the line rate switch"), attempts=1)
            time.sleep(SETTLE_S)
        finally:
            if link.is_open:
                link.set_baud(bus_baud)

    def _try(self, baud: int, connect: int, proof_ms: int, idle_ms: int) -> bool:
        """One switch and its proof; on failure both ends are back at ``connect`` when it returns."""
        link = self._access.session.link
        try:
            # Not idempotent: a lost answer may mean the module switched, so one try only.
            self._access.write(LINE_RATE, _u32(baud), t("the line rate switch"), attempts=1)
        except (DeviceRejectedError, UnsupportedOperationError):
            return False
        except NoResponseError:
            self._fall_back(connect, time.monotonic(), proof_ms, idle_ms)
            return False
        switched_at = time.monotonic()
        time.sleep(SETTLE_S)
        link.set_baud(baud)
        link.reset_input()
        if self._prove(switched_at + PROOF_SHARE * proof_ms / 1000):
            return True
        self._fall_back(connect, switched_at, proof_ms, idle_ms)
        return False

    def _prove(self, deadline: float) -> bool:
        """Write a random token and read it back at the new rate until it comes back or ``deadline``."""
        token = os.urandom(2 * TOKEN_REGISTERS)
        registers = [int.from_bytes(token[i : i + 2], "big") for i in range(0, len(token), 2)]
        while time.monotonic() < deadline:
            try:
                what = t("the line rate proof")
                self._access.write(TOKEN, registers, what, attempts=1)
                if self._access.read(TOKEN, TOKEN_REGISTERS, what, attempts=1) == registers:
                    return True
            except BmsFlasherError:
                continue
        return False

    def _fall_back(self, connect: int, switched_at: float, proof_ms: int, idle_ms: int) -> None:
        """Wait until the module certainly went back, go back too, and check it answers there."""
        link = self._access.session.link
        link.set_baud(connect)
        remaining = switched_at + proof_ms / 1000 + FALLBACK_MARGIN_S - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        link.reset_input()
        try:
            self._access.read(IDENTITY, 2, t("the line rate check"))
        except NoResponseError:
            # The module took the proof's write and stays until its idle timer: wait that out once.
            time.sleep(idle_ms / 1000 + FALLBACK_MARGIN_S)
            link.reset_input()
            self._access.read(IDENTITY, 2, t("the line rate check"))


def _u32(value: int) -> list[int]:
    return [(value >> 16) & 0xFFFF, value & 0xFFFF]

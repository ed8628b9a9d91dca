"""Negotiated line-rate switch over SMP (BMS group commands 16 and 17), with automatic fallback.

Connect at a safe rate, then ask for a faster one the device offers, switch both ends and prove
the new rate with a round trip carrying a random token (esptool's ``change_baud`` idea, with
the proof and the device-side fallback esptool lacks). The rules that keep the device reachable
(docs/protocols/smp.md, *Line rate*):

* the device answers the switch request at the old rate and switches only after that answer has
  left; the tool changes its own rate after reading it;
* no proof within the device's ``proof_ms`` → the device returns to the old rate by itself; the
  tool waits that long, returns too, checks with an echo, and tries the next lower rate;
* a faster rate lives only while the line is used: ``idle_ms`` without a frame and the device is
  back at its boot rate. :class:`RateGuard` makes the session follow it before it sends.

What held is remembered per adapter (:class:`RateMemory`, the scan cache), so the next connection
tries that rate first instead of walking down from the fastest.
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
from bmsflasher.protocols.smp import messages as msg
from bmsflasher.protocols.smp.codec import BmsCommand, check_error
from bmsflasher.protocols.smp.session import SmpSession

SETTLE_S: Final = 0.02
"""Pause between reading the switch answer and changing the host's rate (the device drains first)."""
FALLBACK_MARGIN_S: Final = 0.15
PROOF_SHARE: Final = 0.7
"""Part of the device's proof window the tool spends trying to get a proof through."""
TOKEN_BYTES: Final = 8
IDLE_SHARE: Final = 0.5
"""A faster rate is trusted while the last answer is younger than this share of ``idle_ms``."""


class RateMemory(Protocol):
    """Per-adapter memory of the fastest rate that held (``discovery.cache.ScanCache`` provides it)."""

    def held_rate(self, port: str) -> int | None: ...

    def remember_rate(self, port: str, baud: int) -> None: ...


@dataclass
class RateOutcome:
    """What a negotiation did (for logs, tests and benchmarks)."""

    connect_baud: int
    baud: int
    supported: bool = True
    tried: list[tuple[int, bool]] = field(default_factory=list)
    elapsed_s: float = 0.0


class RateGuard:
    """Keeps the host on the rate the device is at: after ``idle_s`` without traffic it is the boot rate.

    The device returns to its boot rate ``idle_s`` after the last valid frame it received. Before
    sending, the session asks :meth:`before_send`: while the last answer is recent the faster rate
    is certain; after that the device may or may not have returned, so the tool waits until it
    certainly has (last send + ``idle_s`` + margin) and goes back to the boot rate itself.
    """

    def __init__(self, session: SmpSession, boot_baud: int, idle_s: float) -> None:
        self._session = session
        self.boot_baud = boot_baud
        self._idle_s = idle_s

    def before_send(self) -> None:
        session = self._session
        if session.link.baud == self.boot_baud:
            return
        now = time.monotonic()
        if now - session.last_answer_at < IDLE_SHARE * self._idle_s:
            return
        certain = session.last_send_at + self._idle_s + FALLBACK_MARGIN_S
        if certain > now:
            time.sleep(certain - now)
        session.link.set_baud(self.boot_baud)
        session.drain(0.005, 0.05)


class RateSwitcher:
    """Negotiates the fastest rate that holds on one session.

    Args:
        session: the session, open at the connect rate.
        ceiling: the fastest rate to ask for (None: whatever the device offers).
        memory: per-adapter memory of what held (None: none).
    """

    def __init__(
        self, session: SmpSession, *, ceiling: int | None = None, memory: RateMemory | None = None
    ) -> None:
        self._session = session
        self._ceiling = ceiling
        self._memory = memory

    def negotiate(self) -> RateOutcome:
        """Switch to the fastest offered rate that proves itself; the connect rate if none does.

        Never raises for a rate that fails: it falls back. Raises only what the connect rate
        itself raises (the device stopped answering altogether).
        """
        session = self._session
        started = time.monotonic()
        connect = session.link.baud
        outcome = RateOutcome(connect_baud=connect, baud=connect)
        try:
            offer = session.transact(
                lambda seq: msg.bms_read(BmsCommand.LINK_RATE, seq), t("line rate offer"), attempts=3
            ).body
        except (UnsupportedOperationError, DeviceRejectedError, MalformedResponseError):
            outcome.supported = False  # an older firmware: stay where we are
            return outcome
        rates = offer.get("rates")
        idle_ms = offer.get("idle_ms")
        if not isinstance(rates, list) or not isinstance(idle_ms, int) or idle_ms <= 0:
            outcome.supported = False
            return outcome
        candidates = sorted(
            {r for r in rates if isinstance(r, int) and not isinstance(r, bool) and r > connect},
            reverse=True,
        )
        if self._ceiling is not None:
            candidates = [r for r in candidates if r <= self._ceiling]
        port = session.link.port
        remembered = self._memory.held_rate(port) if self._memory is not None else None
        if remembered is not None:
            candidates = [r for r in candidates if r <= remembered]
        for baud in candidates:
            held = self._try(baud, connect)
            outcome.tried.append((baud, held))
            if held:
                outcome.baud = baud
                session.rate_guard = RateGuard(session, connect, idle_ms / 1000)
                break
        if self._memory is not None and candidates:
            self._memory.remember_rate(port, outcome.baud)
        outcome.elapsed_s = time.monotonic() - started
        return outcome

    def switch_back(self, boot_baud: int) -> None:
        """Return both ends to the boot rate (the device takes it without a proof: it is always safe)."""
        session = self._session
        session.rate_guard = None
        try:
            session.transact(
                lambda seq: msg.bms_write(BmsCommand.LINK_RATE, {"baud": boot_baud}, seq),
                t("line rate switch"),
                attempts=1,
            )
        finally:
            session.link.set_baud(boot_baud)

    def _try(self, baud: int, connect: int) -> bool:
        """One switch and its proof; on failure both ends are back at ``connect`` when it returns."""
        session = self._session
        try:
            answer = session.transact(
                lambda seq: msg.bms_write(BmsCommand.LINK_RATE, {"baud": baud}, seq),
                t("line rate switch"),
                attempts=1,  # not idempotent: a lost answer may mean the device switched
            ).body
        except DeviceRejectedError:
            return False
        except NoResponseError:
            self._fall_back(connect, time.monotonic(), 1000)
            return False
        proof_ms = answer.get("proof_ms")
        proof_ms = proof_ms if isinstance(proof_ms, int) and 0 < proof_ms <= 10_000 else 500
        switched_at = time.monotonic()
        time.sleep(SETTLE_S)
        session.link.set_baud(baud)
        session.drain(0.005, 0.02)
        if self._prove(switched_at + PROOF_SHARE * proof_ms / 1000):
            return True
        self._fall_back(connect, switched_at, proof_ms)
        return False

    def _prove(self, deadline: float) -> bool:
        """Send the token until it comes back or ``deadline`` passes."""
        session = self._session
        token = os.urandom(TOKEN_BYTES)
        while time.monotonic() < deadline:
            sequence = session.next_sequence()
            session.send(msg.bms_write(BmsCommand.RATE_PROOF, {"token": token}, sequence))
            wait_until = min(deadline, time.monotonic() + max(0.05, 2 * session.default_timeout_s(32) / 3))
            while True:
                response = session.poll(wait_until)
                if response is None:
                    break
                header = response.header
                if header.sequence != sequence or header.command != BmsCommand.RATE_PROOF:
                    continue
                try:
                    check_error(response, t("line rate proof"))
                except BmsFlasherError:
                    return False
                return response.body.get("token") == token
        return False

    def _fall_back(self, connect: int, switched_at: float, proof_ms: int) -> None:
        """Wait until the device certainly went back, go back too, and check it answers there."""
        session = self._session
        certain = switched_at + proof_ms / 1000 + FALLBACK_MARGIN_S
        session.link.set_baud(connect)
        remaining = certain - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)
        session.drain(0.01, 0.1)
        session.transact(lambda seq: msg.echo("rate", seq), t("echo"), attempts=3)

"""The RS485 pair at bit level: line settings, who drives it when, and what a UART receiver makes of it.

An RS485 bus is one twisted pair that every node can drive. A character is a start bit (0), eight
data bits (least significant first), an optional parity bit and one or two stop bits (1); the idle
line is held at 1 by the bus's fail-safe biasing. Whoever receives samples the pair with its *own*
settings, so a host at the wrong baud rate, parity or stop-bit count reads junk, and two nodes
driving at once (two modules with the same address) produce bits nobody sent. This module models
exactly that, and nothing above the bit: framing and addressing are
:mod:`~bmsflasher.sim.wire.rtu_framing`'s, timing and threads :mod:`~bmsflasher.sim.wire.rs485_bus`'s.

The receiver follows a common UART (16550-like): it waits for a falling edge (or takes a line that
is already low after a framing error as the next start bit), checks the start bit at its middle,
samples every data, parity and stop bit in the middle of its own bit period, and flags a parity
error (wrong parity) or a framing error (any configured stop bit read as 0 — this receiver checks
*every* stop bit, so 8N1 against 8N2 garbles too). What happens to a flagged character is the
receiver owner's choice: a Linux tty as pyserial configures it (``INPCK`` off) passes it on
unchanged; a Modbus module discards a frame with a parity error, as the serial-line spec requires.

Where two drivers disagree the differential voltage is near zero and the receivers read whatever
their comparator decides: a pseudo-random bit, fixed by the seed and the moment, so a run replays.
"""

from __future__ import annotations

import enum
import math
import zlib
from dataclasses import dataclass, field
from typing import Final

DATA_BITS: Final = 8
MODBUS_GAP_CHARS: Final = 3.5
"""Silence that ends an RTU frame, in character times (Modbus over serial line v1.02, 2.5.1.1)."""
FIXED_GAP_ABOVE_BAUD: Final = 19_200
FIXED_GAP_S: Final = 0.00175
"""Above 19200 baud the spec fixes the 3.5-character gap at 1.75 ms."""
_EPS_BITS: Final = 1e-6
"""A sample this close to a bit boundary belongs to the later bit (float noise at exact edges)."""


class Parity(enum.StrEnum):
    """Parity of each character, by pyserial's letters (mark and space: a fixed 1 or 0)."""

    NONE = "N"
    EVEN = "E"
    ODD = "O"
    MARK = "M"
    SPACE = "S"


@dataclass(frozen=True, slots=True)
class LineSettings:
    """How a UART frames characters on the line.

    Attributes:
        baud: bits per second.
        parity: none, even or odd.
        stopbits: 1 or 2.
    """

    baud: int
    parity: Parity = Parity.NONE
    stopbits: int = 1
    bits_per_char: int = field(init=False, repr=False, compare=False)
    """Start + 8 data + parity (if any) + stop bits: 10 for 8N1, 11 for 8E1 and 8N2, 12 for 8E2."""
    bit_time_s: float = field(init=False, repr=False, compare=False)
    char_time_s: float = field(init=False, repr=False, compare=False)
    """Computed once: the bus asks for it for every character of every transmission it decodes."""

    def __post_init__(self) -> None:
        if self.baud <= 0:
            raise ValueError(f"baud rate {self.baud} must be positive")
        if self.stopbits not in (1, 2):
            raise ValueError(f"stop bits must be 1 or 2, not {self.stopbits}")
        bits = 1 + DATA_BITS + (Parity(self.parity) is not Parity.NONE) + self.stopbits
        object.__setattr__(self, "bits_per_char", bits)
        object.__setattr__(self, "bit_time_s", 1.0 / self.baud)
        object.__setattr__(self, "char_time_s", bits / self.baud)

    @property
    def frame_gap_s(self) -> float:
        """The silence that ends a Modbus RTU frame: 3.5 characters, 1.75 ms above 19200 baud."""
        if self.baud > FIXED_GAP_ABOVE_BAUD:
            return FIXED_GAP_S
        return MODBUS_GAP_CHARS * self.char_time_s

    @property
    def framing(self) -> str:
        """The usual short name, e.g. ``8E1``."""
        return f"{DATA_BITS}{self.parity.value}{self.stopbits}"

    def __str__(self) -> str:
        return f"{self.baud} {self.framing}"


def parity_bit(value: int, parity: Parity) -> int:
    """The parity bit a transmitter sends after ``value`` (only meaningful with parity on)."""
    if parity is Parity.MARK:
        return 1
    if parity is Parity.SPACE:
        return 0
    ones = bin(value & 0xFF).count("1") & 1
    return ones if parity is Parity.EVEN else ones ^ 1


@dataclass(slots=True)
class Transmission:
    """One node driving the pair: characters sent back to back from ``start_s``.

    ``data`` may grow while the node keeps sending without a pause (the host's adapter taking more
    bytes); it never shrinks, and nothing before the current time ever changes.

    Attributes:
        start_s: time (``time.monotonic``) of the first start bit's leading edge.
        settings: the sender's line settings.
        data: the characters.
        source: who drives: ``"host"`` or ``"module:<index>"``.
    """

    start_s: float
    settings: LineSettings
    data: bytearray
    source: str

    @property
    def end_s(self) -> float:
        return self.start_s + len(self.data) * self.settings.char_time_s

    @property
    def from_host(self) -> bool:
        return self.source == "host"

    def overlaps(self, start_s: float, end_s: float) -> bool:
        return self.start_s < end_s and start_s < self.end_s

    def bit_index(self, t: float) -> int:
        """Index of the bit being sent at ``t`` (may be outside the transmission)."""
        return math.floor((t - self.start_s) * self.settings.baud + _EPS_BITS)

    def level(self, t: float) -> int | None:
        """The level this node drives at ``t``, or None when it does not drive then."""
        index = self.bit_index(t)
        per_char = self.settings.bits_per_char
        if index < 0 or index >= len(self.data) * per_char:
            return None
        char, position = divmod(index, per_char)
        if position == 0:
            return 0
        value = self.data[char]
        if position <= DATA_BITS:
            return (value >> (position - 1)) & 1
        if position == DATA_BITS + 1 and self.settings.parity is not Parity.NONE:
            return parity_bit(value, self.settings.parity)
        return 1

    def next_boundary(self, t: float) -> float | None:
        """The first bit boundary strictly after ``t`` (its start counts), or None after its end."""
        if t < self.start_s:
            return self.start_s
        index = self.bit_index(t) + 1
        if index > len(self.data) * self.settings.bits_per_char:
            return None
        boundary = self.start_s + index * self.settings.bit_time_s
        # time.monotonic() grows with the machine's uptime: at 1e6 s a double's step is 1.2e-10 s,
        # a tenth of a bit at 1 Mbaud, so the sum above can land a hair before the boundary and
        # read as the previous bit; a caller walking boundaries would then never move on. Step up
        # to the first double that reads as the new bit (a handful of steps at most).
        while self.bit_index(boundary) < index:
            boundary = math.nextafter(boundary, math.inf)
        return boundary


@dataclass(frozen=True, slots=True)
class RxChar:
    """One character a receiver assembled.

    Attributes:
        value: the data bits as sampled.
        start_s: the start bit's falling edge.
        end_s: end of the last stop bit at the receiver's rate (when the UART hands it over).
        parity_error: the parity bit did not match (only with parity on).
        framing_error: a stop bit was read as 0.
    """

    value: int
    start_s: float
    end_s: float
    parity_error: bool = False
    framing_error: bool = False


@dataclass(slots=True)
class UartReceiver:
    """Turns the transmissions on the pair into characters, incrementally and at its own settings.

    Characters are handed over only once they ended (``end_s <= now``): a transmission added later
    starts no earlier than the moment it is added, so what was handed over never changes.

    Attributes:
        settings: the receiver's own line settings (may change between calls: a scan walking rates).
        seed: fixes the bits read where drivers disagree.
        hunt_s: where the receiver looks for the next start bit.
    """

    settings: LineSettings
    seed: int = 0
    hunt_s: float = 0.0
    _aligned: Transmission | None = field(default=None, repr=False)

    def receive(self, transmissions: list[Transmission], now: float) -> tuple[list[RxChar], float | None]:
        """Characters that ended by ``now``, and the start of one still arriving (None if the line idles).

        Args:
            transmissions: everything driven on the pair that this receiver can hear, any order.
            now: the current time.
        """
        # hunt_s only moves forward: what ended before it now never matters again, so the list is
        # narrowed once here and re-filtered per character only among the few that remain.
        ordered = sorted((tx for tx in transmissions if tx.end_s > self.hunt_s), key=lambda tx: tx.start_s)
        chars: list[RxChar] = []
        while relevant := [tx for tx in ordered if tx.end_s > self.hunt_s]:
            ordered = relevant
            fast = self._aligned_char(relevant)
            if fast is not None:
                char, tx = fast
                if char.end_s > now:
                    return chars, char.start_s
                chars.append(char)
                self._aligned = tx
                self.hunt_s = char.end_s - 0.5 * self.settings.bit_time_s
                continue
            self._aligned = None
            edge = self._falling_edge(relevant, self.hunt_s)
            if edge is None:  # the rest is stop bits and idle: nothing starts before the last end
                self.hunt_s = max(self.hunt_s, min(now, max(tx.end_s for tx in relevant)))
                return chars, None
            if edge >= now:
                self.hunt_s = max(self.hunt_s, min(edge, now))
                return chars, None
            sampled = self._sample(relevant, edge)
            if sampled is None:  # a glitch, not a start bit: look again half a bit later
                self.hunt_s = edge + 0.5 * self.settings.bit_time_s
                continue
            if sampled.end_s > now:
                return chars, edge
            chars.append(sampled)
            self.hunt_s = sampled.end_s - 0.5 * self.settings.bit_time_s  # the last stop bit's sample
        return chars, None

    # --- the fast path: a lone transmission at the receiver's own settings ------------------------
    def _aligned_char(self, relevant: list[Transmission]) -> tuple[RxChar, Transmission] | None:
        """The next character of a lone, matching transmission the receiver is in step with."""
        tx = relevant[0]
        if tx.settings != self.settings:
            return None
        if self._aligned is not tx and self.hunt_s > tx.start_s:
            return None
        if any(other.overlaps(tx.start_s, tx.end_s) for other in relevant[1:]):
            return None
        char_time = self.settings.char_time_s
        index = 0 if self.hunt_s <= tx.start_s else math.ceil((self.hunt_s - tx.start_s) / char_time - 1e-9)
        if index >= len(tx.data):
            return None
        start = tx.start_s + index * char_time
        return RxChar(tx.data[index], start, start + char_time), tx

    # --- the bit-level path ------------------------------------------------------------------------
    def _level(self, relevant: list[Transmission], t: float) -> int:
        levels = [level for tx in relevant if (level := tx.level(t)) is not None]
        if not levels:
            return 1  # fail-safe biasing: an undriven pair reads idle
        if min(levels) == max(levels):
            return levels[0]
        # Drivers disagree: the comparator reads noise. Fixed per conflict interval (its start is the
        # latest bit boundary among the active drivers) so every sample in it reads the same.
        boundary = max(
            tx.start_s + tx.bit_index(t) * tx.settings.bit_time_s
            for tx in relevant
            if tx.level(t) is not None
        )
        key = f"{self.seed}:{round(boundary * 1e9)}".encode()
        return zlib.crc32(key) & 1

    def _falling_edge(self, relevant: list[Transmission], t: float) -> float | None:
        """The first moment at or after ``t`` where the line is low after being high."""
        if self._level(relevant, t) == 0:
            return t  # still low after a framing error: taken as the next start bit (16550)
        while True:
            boundaries = [b for tx in relevant if (b := tx.next_boundary(t)) is not None]
            if not boundaries:
                return None
            t = min(boundaries)
            if self._level(relevant, t) == 0:
                return t

    def _sample(self, relevant: list[Transmission], edge: float) -> RxChar | None:
        """Read one character whose start bit began at ``edge``; None if the start bit was a glitch."""
        settings = self.settings
        bit = settings.bit_time_s
        if self._level(relevant, edge + 0.5 * bit) != 0:
            return None
        value = 0
        for position in range(DATA_BITS):
            value |= self._level(relevant, edge + (1.5 + position) * bit) << position
        position = 1 + DATA_BITS
        parity_error = False
        if settings.parity is not Parity.NONE:
            parity_error = self._level(relevant, edge + (position + 0.5) * bit) != parity_bit(
                value, settings.parity
            )
            position += 1
        framing_error = False
        for _stop in range(settings.stopbits):
            if self._level(relevant, edge + (position + 0.5) * bit) != 1:
                framing_error = True
            position += 1
        return RxChar(value, edge, edge + position * bit, parity_error, framing_error)

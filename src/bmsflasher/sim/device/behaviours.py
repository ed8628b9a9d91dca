"""Firmware behaviours carried by the sim-only TLV 0x00B1 of an image.

Tests and demos make misbehaving firmware by packaging it with ``--sim-behaviour``; the virtual
device acts the behaviour out when that image runs. Real devices ignore the vendor TLV. Unknown
text runs as healthy firmware, as a real device would ignore a TLV it does not know.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

HEALTHY: Final = "healthy"
BOOT_LOOP: Final = "boot-loop"
SELFTEST_FAIL: Final = "selftest-fail"
VOLTAGE_OFFSET: Final = "voltage-offset"
SLOW_LINK: Final = "slow-link"
KNOWN: Final = (HEALTHY, BOOT_LOOP, SELFTEST_FAIL, VOLTAGE_OFFSET, SLOW_LINK)


@dataclass(frozen=True, slots=True)
class Behaviour:
    """A parsed behaviour.

    Attributes:
        text: the TLV text as found in the image.
        name: one of :data:`KNOWN` (``healthy`` for anything unknown).
        voltage_offset_pct: the cell-voltage error the firmware makes (voltage-offset only).
    """

    text: str
    name: str
    voltage_offset_pct: float = 0.0


def parse_behaviour(text: str) -> Behaviour:
    """Parse TLV text such as ``voltage-offset:1.5``; unknown text behaves as healthy."""
    name, _, argument = text.strip().partition(":")
    name = name.strip().lower()
    if name == VOLTAGE_OFFSET:
        try:
            pct = float(argument)
        except ValueError:
            return Behaviour(text, HEALTHY)
        if not math.isfinite(pct) or abs(pct) > 50:
            return Behaviour(text, HEALTHY)
        return Behaviour(text, VOLTAGE_OFFSET, pct)
    if name in KNOWN and not argument:
        return Behaviour(text, name)
    return Behaviour(text, HEALTHY)


def validate_behaviour(text: str) -> str:
    """Return the normalised text or raise ValueError with one sentence (for packaging tools)."""
    parsed = parse_behaviour(text)
    if parsed.name == HEALTHY and text.strip().lower() != HEALTHY:
        raise ValueError(
            f"'{text}' is not a sim behaviour; use healthy, boot-loop, selftest-fail, "
            "voltage-offset:PCT (|PCT| ≤ 50) or slow-link"
        )
    return text.strip().lower()

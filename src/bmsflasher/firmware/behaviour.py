"""The virtual BMS firmware behaviours a demo/test image can carry (vendor TLV 0x00B1).

Real devices ignore the TLV; the virtual BMS reads it to decide how "its" new firmware behaves, so
the demo can show a healthy update, a failed self-test, a boot loop, a calibration error and a slow
link with genuine signed images. See docs/design/sim-api.md.
"""

from __future__ import annotations

import re
from typing import Final

from bmsflasher.core.i18n import t
from bmsflasher.firmware.errors import FirmwareInputError

HEALTHY: Final = "healthy"
SIMPLE_BEHAVIOURS: Final = ("healthy", "boot-loop", "selftest-fail", "slow-link")
MAX_VOLTAGE_OFFSET_PCT: Final = 50.0
_OFFSET_RE: Final = re.compile(r"^voltage-offset:(-?\d{1,2}(?:\.\d{1,3})?)$")
#: A pack BCU's image: the BMC/BMU firmware series (major.minor) it works with (sim/topology/pack_node.py).
_ACCEPTS_RE: Final = re.compile(r"^bcu-accepts:(\d{1,3}\.\d{1,3}(?:\s*,\s*\d{1,3}\.\d{1,3})*)$")
BEHAVIOUR_HELP: Final = (
    "healthy, boot-loop, selftest-fail, slow-link, voltage-offset:PCT (e.g. voltage-offset:2.0) or, "
    "for a pack's BCU, bcu-accepts:SERIES (e.g. bcu-accepts:1.0,1.1)"
)


def parse_sim_behaviour(text: str) -> str:
    """Validate a behaviour string and return its canonical form; raises FirmwareInputError."""
    value = text.strip()
    if value in SIMPLE_BEHAVIOURS:
        return value
    accepts = _ACCEPTS_RE.match(value)
    if accepts is not None:
        return "bcu-accepts:" + ",".join(part.strip() for part in accepts.group(1).split(","))
    match = _OFFSET_RE.match(value)
    if match is not None:
        pct = float(match.group(1))
        if abs(pct) <= MAX_VOLTAGE_OFFSET_PCT:
            return f"voltage-offset:{pct:g}" if pct != int(pct) else f"voltage-offset:{pct:.1f}"
    raise FirmwareInputError(
        t(
            "'{text}' is not a sim behaviour; use {choices}.",
            text=text,
            choices=BEHAVIOUR_HELP,
        )
    )


def voltage_offset_pct(behaviour: str) -> float:
    """The calibration offset a ``voltage-offset:PCT`` behaviour applies; 0.0 for the others."""
    match = _OFFSET_RE.match(behaviour.strip())
    return float(match.group(1)) if match is not None else 0.0

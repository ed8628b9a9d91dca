r"""MAP.json: which DBC signals mean which pack quantity, checked against the DBC it goes with.

A DBC says how to decode a frame but not what a signal means to a technician; the map says that,
in the words of the live view::

    {"pack_voltage_v": "PackVoltage", "pack_current_a": "PackCurrent", "soc_pct": "SOC",
     "soh_pct": "SOH",
     "cell_voltage_mv": {"pattern": "cellVoltage_(\\d+)$", "first_index": 0},
     "temperature_c": {"pattern": "cellTemperature_(\\d+)$", "first_index": 0},
     "alarms": {"OverVoltageFlag": "cell_overvoltage"},
     "counts": {"cells": "NumberOfCells", "temperatures": "NumberOfSensors"},
     "current_sign": 1}

Only ``cell_voltage_mv`` is required. A pattern's one group is the signal's number; ``first_index``
is the number of the first cell (0 or 1), so cell 1 of a 1-based DBC becomes index 0. Units come
from the DBC's own signals (V or mV, A or mA, %, degC); the key's unit is assumed only when the
DBC leaves a signal's unit empty. ``current_sign`` -1 turns a DBC whose positive current
discharges into the live view's convention (positive charges the pack). Every name is checked
against the DBC when the map is loaded, so a typo is reported before anything is listened to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bmsflasher.canbus.errors import SignalMapError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import Alarm

#: Scalar quantities: map key → (the live view's field, the key's own unit).
SCALAR_KEYS: Final = {
    "pack_voltage_v": "V",
    "pack_current_a": "A",
    "soc_pct": "%",
    "soh_pct": "%",
}
INDEXED_KEYS: Final = {"cell_voltage_mv": "mV", "temperature_c": "degC"}
OTHER_KEYS: Final = ("alarms", "counts", "current_sign")
COUNT_KEYS: Final = ("cells", "temperatures")
_HINT: Final = t("See docs/can-tools.md, 'Writing a map for a new BMS'.")


@dataclass(frozen=True, slots=True)
class IndexedSignals:
    """A family of numbered signals (cells, sensors): pattern with one group, number of the first."""

    pattern: re.Pattern[str]
    first_index: int

    def index_of(self, name: str) -> int | None:
        """The 0-based index ``name`` stands for, or None if it is not one of the family."""
        match = self.pattern.search(name)
        if match is None:
            return None
        return int(match.group(1)) - self.first_index


@dataclass(frozen=True, slots=True)
class SignalMap:
    """A checked map (see the module docstring for the file format)."""

    scalars: Mapping[str, str]
    cells: IndexedSignals
    temperatures: IndexedSignals | None = None
    alarms: Mapping[str, Alarm] = field(default_factory=dict)
    counts: Mapping[str, str] = field(default_factory=dict)
    current_sign: int = 1

    def named_signals(self) -> set[str]:
        """Every signal the map names explicitly (the DBC must have them all)."""
        return {*self.scalars.values(), *self.alarms, *self.counts.values()}


def _error(path: Path, reason: str) -> SignalMapError:
    return SignalMapError(
        t("the signal map {path} is not usable: {reason}", path=path, reason=reason), hint=_HINT
    )


def _indexed(path: Path, key: str, value: Any) -> IndexedSignals:
    if not isinstance(value, dict) or not isinstance(value.get("pattern"), str):
        raise _error(path, t("'{key}' must be an object with a 'pattern' text", key=key))
    unknown = set(value) - {"pattern", "first_index"}
    if unknown:
        raise _error(
            path, t("'{key}' has unknown fields {fields}", key=key, fields=", ".join(sorted(unknown)))
        )
    first = value.get("first_index", 0)
    if not isinstance(first, int) or isinstance(first, bool) or first < 0:
        raise _error(path, t("'{key}'.first_index must be a whole number of 0 or more", key=key))
    try:
        pattern = re.compile(value["pattern"])
    except re.error as exc:
        raise _error(
            path, t("'{key}'.pattern is not a regular expression ({error})", key=key, error=exc)
        ) from exc
    if pattern.groups != 1:
        raise _error(path, t("'{key}'.pattern must have exactly one group: the signal's number", key=key))
    return IndexedSignals(pattern, first)


def _string_map(path: Path, key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _error(path, t("'{key}' must be an object of texts", key=key))
    return dict(value)


def parse_signal_map(data: Any, path: Path) -> SignalMap:
    """Check the shape of a loaded MAP.json (names are checked against the DBC later)."""
    if not isinstance(data, dict):
        raise _error(path, t("the file must hold one JSON object"))
    unknown = set(data) - set(SCALAR_KEYS) - set(INDEXED_KEYS) - set(OTHER_KEYS)
    if unknown:
        raise _error(path, t("unknown keys {keys}", keys=", ".join(sorted(unknown))))
    if "cell_voltage_mv" not in data:
        raise _error(
            path, t("'cell_voltage_mv' is missing: the map must say which signals are cell voltages")
        )
    scalars: dict[str, str] = {}
    for key in SCALAR_KEYS:
        if key in data:
            if not isinstance(data[key], str) or not data[key]:
                raise _error(path, t("'{key}' must name one signal", key=key))
            scalars[key] = data[key]
    alarms: dict[str, Alarm] = {}
    offered = ", ".join(alarm.value for alarm in Alarm)
    for signal, alarm in _string_map(path, "alarms", data.get("alarms", {})).items():
        try:
            alarms[signal] = Alarm(alarm)
        except ValueError:
            raise _error(
                path, t("alarm '{alarm}' is not one of {offered}", alarm=alarm, offered=offered)
            ) from None
    counts = _string_map(path, "counts", data.get("counts", {}))
    if set(counts) - set(COUNT_KEYS):
        raise _error(path, t("'counts' takes only {keys}", keys=", ".join(COUNT_KEYS)))
    sign = data.get("current_sign", 1)
    if sign not in (1, -1) or isinstance(sign, bool):
        raise _error(path, t("'current_sign' must be 1 or -1"))
    return SignalMap(
        scalars=scalars,
        cells=_indexed(path, "cell_voltage_mv", data["cell_voltage_mv"]),
        temperatures=_indexed(path, "temperature_c", data["temperature_c"])
        if "temperature_c" in data
        else None,
        alarms=alarms,
        counts=counts,
        current_sign=int(sign),
    )


def load_signal_map(path: Path) -> SignalMap:
    """Read and check a MAP.json file (its shape; the decoder checks the names against the DBC)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SignalMapError(
            t("cannot read the signal map {path}: {error}", path=path, error=exc.strerror or exc), hint=_HINT
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(
            path, t("not valid JSON (line {line}: {error})", line=exc.lineno, error=exc.msg)
        ) from exc
    return parse_signal_map(data, path)

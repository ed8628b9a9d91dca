"""Decode broadcast frames with a DBC (cantools) into the live view's :class:`PackTelemetry`.

The decoder keeps the latest value of every mapped signal, so multiplexed messages (cell voltages
4 per frame, temperatures a few per frame) add up to a whole pack over one multiplex cycle; a
snapshot is ready once every cell (and every sensor) has been heard at least once. Values are
converted from the DBC's own units into the live view's (mV, mA, %, degC). A temperature below
absolute zero is how a DBC marks a failed sensor (a value no sensor can read): it becomes None, as
a failed sensor does in the UDS live data.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import can
import cantools
import cantools.database
from cantools.database.errors import DecodeError, UnsupportedDatabaseFormatError

from bmsflasher.canbus.errors import DbcFileError, SignalMapError
from bmsflasher.canbus.signal_map import IndexedSignals, SignalMap, load_signal_map
from bmsflasher.core.i18n import t
from bmsflasher.core.types import Alarm, PackTelemetry

#: Unit (lower case, as DBCs spell it) → factor to the live view's unit, per kind of quantity.
_VOLTAGE_TO_MV: Final = {"v": 1000.0, "mv": 1.0}
_CURRENT_TO_MA: Final = {"a": 1000.0, "ma": 1.0}
_PERCENT: Final = {"%": 1.0, "pct": 1.0, "percent": 1.0}
_CELSIUS: Final = {"degc": 1.0, "°c": 1.0, "c": 1.0, "deg c": 1.0, "celsius": 1.0}
_UNITS: Final = {
    "pack_voltage_v": _VOLTAGE_TO_MV,
    "pack_current_a": _CURRENT_TO_MA,
    "soc_pct": _PERCENT,
    "soh_pct": _PERCENT,
    "cell_voltage_mv": _VOLTAGE_TO_MV,
    "temperature_c": _CELSIUS,
}
_DEFAULT_UNIT: Final = {
    "pack_voltage_v": "v",
    "pack_current_a": "a",
    "soc_pct": "%",
    "soh_pct": "%",
    "cell_voltage_mv": "mv",
    "temperature_c": "degc",
}
ABSOLUTE_ZERO_C: Final = -273.15


def load_dbc(path: Path) -> cantools.database.can.Database:
    """Parse a DBC file; a clear sentence (exit 8) when it is missing or cantools cannot read it."""
    hint = t("Check that the file is the BMS's DBC (a text file starting with VERSION).")
    if not path.is_file():
        raise DbcFileError(t("the DBC file {path} does not exist", path=path), hint=hint)
    try:
        database = cantools.database.load_file(str(path), database_format="dbc", strict=False)
    except (UnsupportedDatabaseFormatError, OSError, ValueError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DbcFileError(
            t("cannot read the DBC file {path}: {error}", path=path, error=reason), hint=hint
        ) from exc
    if not isinstance(database, cantools.database.can.Database) or not database.messages:
        raise DbcFileError(t("the DBC file {path} describes no messages", path=path), hint=hint)
    return database


@dataclass(frozen=True, slots=True)
class _Role:
    """What one DBC signal means: a scalar key, a cell or sensor index, an alarm or a count."""

    key: str
    index: int = -1
    factor: float = 1.0
    alarm: Alarm | None = None


@dataclass(slots=True)
class _Latest:
    scalars: dict[str, float] = field(default_factory=dict)
    cells_mv: dict[int, int] = field(default_factory=dict)
    temps_c: dict[int, float | None] = field(default_factory=dict)
    alarms: dict[Alarm, bool] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _factor(path: Path, key: str, signal: str, unit: str | None) -> float:
    spelled = (unit or "").strip().lower() or _DEFAULT_UNIT[key]
    factor = _UNITS[key].get(spelled)
    if factor is None:
        raise SignalMapError(
            t(
                "the signal {signal} is mapped to '{key}' but its DBC unit '{unit}' is not one of {units}",
                signal=signal,
                key=key,
                unit=unit,
                units=", ".join(_UNITS[key]),
            ),
            hint=t("Map a signal of the right quantity, or correct the unit in the DBC ({path}).", path=path),
        )
    return factor


class DbcTelemetryDecoder:
    """Feed it frames (:meth:`feed`); ask for the pack so far (:meth:`snapshot`).

    Not thread-safe: one listening thread feeds and reads it.
    """

    def __init__(
        self, database: cantools.database.can.Database, signal_map: SignalMap, dbc_path: Path
    ) -> None:
        self._database = database
        self._map = signal_map
        self._roles: dict[tuple[int, bool], tuple[cantools.database.can.Message, dict[str, _Role]]] = {}
        self._latest = _Latest()
        self.frames_decoded = 0
        self.frames_ignored = 0
        self.frames_undecodable = 0
        self._resolve(dbc_path)

    def _resolve(self, dbc_path: Path) -> None:
        """Give every mapped DBC signal its role; refuse names the DBC lacks and wrong units."""
        by_name: dict[str, str | None] = {}
        cells = temps = 0
        for message in self._database.messages:
            roles: dict[str, _Role] = {}
            for signal in message.signals:
                by_name[signal.name] = signal.unit
                role = self._role_of(dbc_path, signal.name, signal.unit)
                if role is not None:
                    roles[signal.name] = role
                    cells += role.key == "cell_voltage_mv"
                    temps += role.key == "temperature_c"
            if roles:
                self._roles[(message.frame_id, bool(message.is_extended_frame))] = (message, roles)
        missing = sorted(self._map.named_signals() - set(by_name))
        if missing:
            raise SignalMapError(
                t("the DBC file {path} has no signal named {names}", path=dbc_path, names=", ".join(missing)),
                hint=t("Copy the signal names exactly as the DBC spells them (case matters)."),
            )
        if not cells:
            raise SignalMapError(
                t(
                    "no signal of the DBC file {path} matches the cell voltage pattern {pattern}",
                    path=dbc_path,
                    pattern=self._map.cells.pattern.pattern,
                ),
                hint=t("Adjust 'cell_voltage_mv'.pattern to the DBC's cell voltage signal names."),
            )

    def _role_of(self, dbc_path: Path, name: str, unit: str | None) -> _Role | None:
        for key, signal in self._map.scalars.items():
            if signal == name:
                return _Role(key, factor=_factor(dbc_path, key, name, unit))
        if name in self._map.alarms:
            return _Role("alarm", alarm=self._map.alarms[name])
        for key, signal in self._map.counts.items():
            if signal == name:
                return _Role(f"count:{key}")
        families: tuple[tuple[str, IndexedSignals | None], ...] = (
            ("cell_voltage_mv", self._map.cells),
            ("temperature_c", self._map.temperatures),
        )
        for key, family in families:
            index = family.index_of(name) if family is not None else None
            if index is not None and index >= 0:
                return _Role(key, index=index, factor=_factor(dbc_path, key, name, unit))
        return None

    def feed(self, frame: can.Message) -> bool:
        """Take one frame; True if it carried a mapped signal."""
        if frame.is_error_frame or frame.is_remote_frame:
            return False
        entry = self._roles.get((frame.arbitration_id, bool(frame.is_extended_id)))
        if entry is None:
            self.frames_ignored += 1
            return False
        message, roles = entry
        try:
            values = message.decode(bytes(frame.data), decode_choices=False, allow_truncated=True)
        except (DecodeError, KeyError, ValueError, IndexError):
            self.frames_undecodable += 1
            return False
        assert isinstance(values, Mapping)
        for name, value in values.items():
            role = roles.get(name)
            if role is not None and isinstance(value, int | float):
                self._store(role, float(value))
        self.frames_decoded += 1
        return True

    def _store(self, role: _Role, value: float) -> None:
        latest = self._latest
        if role.key == "cell_voltage_mv":
            latest.cells_mv[role.index] = round(value * role.factor)
        elif role.key == "temperature_c":
            latest.temps_c[role.index] = None if value < ABSOLUTE_ZERO_C else round(value, 1)
        elif role.alarm is not None:
            latest.alarms[role.alarm] = value != 0
        elif role.key.startswith("count:"):
            latest.counts[role.key.removeprefix("count:")] = int(value)
        else:
            latest.scalars[role.key] = value * role.factor

    def snapshot(self) -> PackTelemetry | None:
        """The pack as last heard, or None until every cell and sensor has been heard once."""
        latest = self._latest
        cell_count = latest.counts.get("cells") or (max(latest.cells_mv) + 1 if latest.cells_mv else 0)
        if not cell_count or any(index not in latest.cells_mv for index in range(cell_count)):
            return None
        cells = tuple(latest.cells_mv[index] for index in range(cell_count))
        sensors = latest.counts.get("temperatures")
        if sensors is None:
            sensors = max(latest.temps_c) + 1 if latest.temps_c else 0
        if self._map.temperatures is not None and any(i not in latest.temps_c for i in range(sensors)):
            return None
        if self._map.counts.get("temperatures") and "temperatures" not in latest.counts:
            return None
        scalars = latest.scalars
        pack_mv = scalars.get("pack_voltage_v")
        return PackTelemetry(
            timestamp_s=time.time(),
            cell_voltages_mv=cells,
            balancing=(False,) * cell_count,
            temperatures_c=tuple(latest.temps_c[index] for index in range(sensors)),
            pack_voltage_mv=round(pack_mv) if pack_mv is not None else sum(cells),
            current_ma=round(scalars.get("pack_current_a", 0.0) * self._map.current_sign),
            soc_pct=round(scalars.get("soc_pct", 0.0), 2),
            soh_pct=round(scalars.get("soh_pct", 0.0), 2),
            alarms=frozenset(alarm for alarm, on in latest.alarms.items() if on),
        )


def load_decoder(dbc_path: Path, map_path: Path) -> DbcTelemetryDecoder:
    """The decoder for a DBC and its map, both checked (DbcFileError / SignalMapError, exit 8)."""
    signal_map = load_signal_map(map_path)
    return DbcTelemetryDecoder(load_dbc(dbc_path), signal_map, dbc_path)

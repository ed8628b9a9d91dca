"""Typed configuration parameters and their power-safe A/B storage in flash.

The configuration lives in its own flash area, apart from the image slots, so it survives every
update, revert and rollback. A save writes the complete parameter set as one record (schema
version, sequence number, JSON payload, CRC-32) into the sector that does *not* hold the newest
valid record; at start-up the valid record with the highest sequence wins. A cut or torn save
therefore leaves the previous record in force: never a half-old, half-new configuration.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from bmsflasher.core.types import ConfigSnapshot, ParameterValue
from bmsflasher.sim.errors import SimParameterError
from bmsflasher.sim.flash.memory import Flash
from bmsflasher.sim.options import Chemistry

SCHEMA_VERSION: Final = 1
MAX_TEXT_LENGTH: Final = 32
_RECORD_HEAD: Final = struct.Struct("<4sHHII")  # magic, schema version, reserved, sequence, length
_MAGIC: Final = b"VCFG"
_CHUNK_BYTES: Final = 256  # one program operation per flash page


@dataclass(frozen=True, slots=True)
class ParameterSpec:
    """One configuration parameter: how a front-end reads, shows and validates it.

    Attributes:
        name: stable identifier (front-ends map it to a DID or an SMP settings key).
        kind: ``int``, ``float``, ``bool`` or ``str``.
        unit: display unit ("mV", "°C", "A", "Ah", "bit/s", "baud", "" for none).
        minimum: lowest allowed value (numbers only).
        maximum: highest allowed value (numbers only).
        writable: False for identity values written at the factory.
        description: one English sentence for the technician.
        choices: allowed values when only a few are valid (bit rates), else empty.
    """

    name: str
    kind: type
    unit: str
    minimum: float | None
    maximum: float | None
    writable: bool
    description: str
    choices: tuple[ParameterValue, ...] = ()

    def validate(self, value: object) -> ParameterValue:
        """Return ``value`` in this parameter's type, or raise SimParameterError naming the parameter."""
        name = self.name
        if not self.writable:
            raise SimParameterError(name, f"parameter '{name}' is read-only")
        if self.kind is bool:
            if not isinstance(value, bool):
                raise SimParameterError(name, f"parameter '{name}' must be true or false")
            return value
        if self.kind is str:
            if not isinstance(value, str) or len(value) > MAX_TEXT_LENGTH or not value.isprintable():
                raise SimParameterError(
                    name, f"parameter '{name}' must be printable text of up to 32 characters"
                )
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SimParameterError(name, f"parameter '{name}' must be a number")
        number: int | float
        if self.kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise SimParameterError(name, f"parameter '{name}' must be a whole number")
            number = int(value)
        else:
            number = float(value)
            if not math.isfinite(number):
                raise SimParameterError(name, f"parameter '{name}' must be a finite number")
        if self.choices and number not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise SimParameterError(name, f"parameter '{name}' must be one of {allowed}, not {number}")
        if (self.minimum is not None and number < self.minimum) or (
            self.maximum is not None and number > self.maximum
        ):
            raise SimParameterError(
                name,
                f"parameter '{name}' = {number} {self.unit} is outside "
                f"{self.minimum}..{self.maximum} {self.unit}",
            )
        return number


def _spec(  # noqa: PLR0917 -- a table row reads best positionally
    name: str,
    kind: type,
    unit: str,
    minimum: float | None,
    maximum: float | None,
    description: str,
    *,
    writable: bool = True,
    choices: tuple[ParameterValue, ...] = (),
) -> tuple[str, ParameterSpec]:
    return name, ParameterSpec(name, kind, unit, minimum, maximum, writable, description, choices)


SCHEMA: Final[Mapping[str, ParameterSpec]] = MappingProxyType(
    dict(
        [
            _spec("cell_overvoltage_mv", int, "mV", 2500, 4500, "Cell voltage above which charging stops."),
            _spec(
                "cell_undervoltage_mv", int, "mV", 1500, 3500, "Cell voltage below which discharging stops."
            ),
            _spec("overtemperature_c", float, "°C", 30, 90, "Temperature above which the pack disconnects."),
            _spec("undertemperature_c", float, "°C", -40, 10, "Temperature below which charging stops."),
            _spec("charge_current_limit_a", float, "A", 0, 1000, "Largest charge current before an alarm."),
            _spec(
                "discharge_current_limit_a", float, "A", 0, 2000, "Largest discharge current before an alarm."
            ),
            _spec("balancing_enabled", bool, "", None, None, "Whether passive balancing runs."),
            _spec("balance_start_mv", int, "mV", 2500, 4500, "Cells above this voltage may be balanced."),
            _spec(
                "balance_delta_mv", int, "mV", 2, 500, "Imbalance from the lowest cell that starts balancing."
            ),
            _spec("capacity_ah", float, "Ah", 1, 2000, "Rated capacity used for state-of-charge counting."),
            _spec("voltage_gain", float, "", 0.95, 1.05, "Cell-voltage calibration gain."),
            _spec("voltage_offset_mv", int, "mV", -50, 50, "Cell-voltage calibration offset."),
            _spec("current_gain", float, "", 0.9, 1.1, "Current-sensor calibration gain."),
            _spec(
                "can_bitrate",
                int,
                "bit/s",
                125_000,
                1_000_000,
                "CAN bus bit rate.",
                choices=(125_000, 250_000, 500_000, 1_000_000),
            ),
            _spec("can_node_id", int, "", 1, 127, "Node number on the CAN bus."),
            _spec(
                "serial_baud",
                int,
                "baud",
                9600,
                1_000_000,
                "Serial (USB/RS485) line rate.",
                choices=(9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1_000_000),
            ),
            _spec("cell_count", int, "", 1, 512, "Series cells the BMS monitors.", writable=False),
            _spec("serial_number", str, "", None, None, "Serial number set at the factory.", writable=False),
            _spec(
                "hardware_revision",
                str,
                "",
                None,
                None,
                "Hardware revision set at the factory.",
                writable=False,
            ),
        ]
    )
)


def factory_defaults(
    chemistry: Chemistry, cells: int, serial_number: str, hardware_revision: str
) -> dict[str, ParameterValue]:
    """The configuration a new device leaves the factory with."""
    lfp = chemistry is Chemistry.LFP
    return {
        "cell_overvoltage_mv": 3650 if lfp else 4250,
        "cell_undervoltage_mv": 2500 if lfp else 2800,
        "overtemperature_c": 55.0,
        "undertemperature_c": -20.0,
        "charge_current_limit_a": 100.0,
        "discharge_current_limit_a": 200.0,
        "balancing_enabled": True,
        "balance_start_mv": 3400 if lfp else 3900,
        "balance_delta_mv": 10,
        "capacity_ah": 100.0,
        "voltage_gain": 1.0,
        "voltage_offset_mv": 0,
        "current_gain": 1.0,
        "can_bitrate": 500_000,
        "can_node_id": 1,
        "serial_baud": 115_200,
        "cell_count": cells,
        "serial_number": serial_number,
        "hardware_revision": hardware_revision,
    }


class ConfigStore:
    """The A/B configuration records in the config area of a :class:`Flash`."""

    def __init__(self, flash: Flash) -> None:
        self._flash = flash
        g = flash.geometry
        self._sector_size = g.sector_size
        self._sectors = (g.config_offset, g.config_offset + g.sector_size)
        self._sequence = 0
        self._current: int | None = None  # index of the sector with the newest valid record

    def load(self) -> ConfigSnapshot | None:
        """The newest valid configuration, or None on a blank device."""
        best: tuple[int, int, ConfigSnapshot] | None = None
        for index, base in enumerate(self._sectors):
            record = self._read(base)
            if record is not None and (best is None or record[0] > best[0]):
                best = (record[0], index, record[1])
        if best is None:
            self._current = None
            self._sequence = 0
            return None
        self._sequence, self._current, snapshot = best
        return snapshot

    def save(self, snapshot: ConfigSnapshot) -> None:
        """Write ``snapshot`` as the newest record into the other sector (erase + page writes)."""
        payload = json.dumps(dict(snapshot.parameters), sort_keys=True, separators=(",", ":")).encode()
        head = _RECORD_HEAD.pack(_MAGIC, snapshot.schema_version, 0, self._sequence + 1, len(payload))
        body = head + payload
        body += struct.pack("<I", zlib.crc32(body))
        unit = self._flash.geometry.write_size
        body = body.ljust(-(-len(body) // unit) * unit, b"\xff")
        if len(body) > self._sector_size:
            raise SimParameterError("configuration", "the configuration does not fit its flash sector")
        target = 0 if self._current is None else 1 - self._current
        base = self._sectors[target]
        if not self._flash.is_erased(base, self._sector_size):
            self._flash.erase_sector(base)
        for start in range(0, len(body), _CHUNK_BYTES):
            self._flash.write(base + start, body[start : start + _CHUNK_BYTES])
        self._sequence += 1
        self._current = target

    def _read(self, base: int) -> tuple[int, ConfigSnapshot] | None:
        head = self._flash.read(base, _RECORD_HEAD.size)
        magic, schema, _reserved, sequence, length = _RECORD_HEAD.unpack(head)
        if magic != _MAGIC or length > self._sector_size - _RECORD_HEAD.size - 4:
            return None
        body = self._flash.read(base, _RECORD_HEAD.size + length + 4)
        (crc,) = struct.unpack_from("<I", body, _RECORD_HEAD.size + length)
        if crc != zlib.crc32(body[: _RECORD_HEAD.size + length]):
            return None
        try:
            values = json.loads(body[_RECORD_HEAD.size : _RECORD_HEAD.size + length])
        except ValueError:
            return None
        if not isinstance(values, dict):
            return None
        return sequence, ConfigSnapshot(schema_version=schema, parameters=MappingProxyType(values))


class ConfigInEffect:
    """The configuration the firmware runs with: the saved record plus changes staged since.

    A reset reloads it from flash (staged changes are lost, as on a real device that was not told
    to save); :meth:`stage` checks every value before any is staged; :meth:`save` persists what is
    staged as one A/B record.

    Args:
        store: the A/B records in the flash's configuration area.
    """

    def __init__(self, store: ConfigStore) -> None:
        self._store = store
        self.saved: dict[str, ParameterValue] = {}
        self.staged: dict[str, ParameterValue] = {}

    def reload(self, defaults: Mapping[str, ParameterValue]) -> None:
        """Boot: the stored values over ``defaults`` (unknown stored names are ignored), nothing staged."""
        stored = self._store.load()
        self.saved = dict(defaults)
        if stored is not None:
            self.saved.update({k: v for k, v in stored.parameters.items() if k in SCHEMA})
        self.staged = dict(self.saved)

    def stage(self, values: Mapping[str, ParameterValue]) -> None:
        """Validate all values, then stage them (nothing is staged if any one is invalid)."""
        checked: dict[str, ParameterValue] = {}
        for name, value in values.items():
            spec = SCHEMA.get(name)
            if spec is None:
                raise SimParameterError(name, f"there is no parameter '{name}'")
            checked[name] = spec.validate(value)
        merged = {**self.staged, **checked}
        if int(merged["cell_undervoltage_mv"]) >= int(merged["cell_overvoltage_mv"]):
            raise SimParameterError(
                "cell_undervoltage_mv",
                "parameter 'cell_undervoltage_mv' must be below 'cell_overvoltage_mv'",
            )
        self.staged = merged

    def save(self) -> None:
        """Persist the staged values atomically (a power cut keeps the previous record whole)."""
        self._store.save(ConfigSnapshot(SCHEMA_VERSION, dict(self.staged)))
        self.saved = dict(self.staged)

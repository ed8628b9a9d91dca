"""The module's SunSpec chain at 40000: "SunS", model 1 (common), 802 (battery base), 805 (Li-ion module).

What each point holds is the vendor's choice documented in ``docs/protocols/modbus.md`` (the tables
under "Live data"); where each point sits comes from the SunSpec JSON definitions
(:mod:`~bmsflasher.sim.modbus.sunspec_models`). Scale factors are fixed for a module's life: chosen
when the module is made, from its cell count, chemistry and the largest configurable limits, so a
value never overflows its register. The chain is rebuilt from the device's state at every read.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.types import Alarm, DeviceIdentity, PackTelemetry, ParameterValue
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.modbus.sunspec_models import Value, encode_points, model_layout
from bmsflasher.sim.options import Chemistry

BASE_ADDRESS: Final = 40000
MARKER: Final = (0x5375, 0x6E53)  # "SunS"
END_MODEL: Final = 0xFFFF
MANUFACTURER: Final = "bmsflasher"
NOMINAL_CELL_V: Final = {Chemistry.LFP: 3.2, Chemistry.NMC: 3.6}
MAX_CELL_V: Final = 5.0
"""Above any cell chemistry: a pack voltage register sized for it never overflows."""
CELL_V_SF: Final = -3
TEMPERATURE_SF: Final = -2
PERCENT_SF: Final = -2
CURRENT_SF: Final = -1
CHARGE_THRESHOLD_A: Final = 0.1
_EVT1: Final = {
    Alarm.OVERTEMPERATURE: 1,
    Alarm.UNDERTEMPERATURE: 3,
    Alarm.CELL_OVERVOLTAGE: 9,
    Alarm.CELL_UNDERVOLTAGE: 11,
    Alarm.SENSOR_FAULT: 25,  # OTHER_ALARM; the vendor bit below says which
}
_EVT1_OVER_CHARGE_CURRENT: Final = 5
_EVT1_OVER_DISCHARGE_CURRENT: Final = 7
VENDOR_SENSOR_FAULT_BIT: Final = 0
STATE_CONNECTED: Final = 3
STATE_FAULT: Final = 99
CHASTATE_DISCHARGING, CHASTATE_CHARGING, CHASTATE_HOLDING = 3, 4, 6
TYPE_LITHIUM_ION: Final = 4


def fit_scale(largest: float, *, signed: bool) -> int:
    """The smallest scale factor (from −3) at which ``largest`` fits the register."""
    limit = 32767 if signed else 65534
    for sf in range(-3, 10):
        if abs(largest) / 10**sf <= limit:
            return sf
    return 10


def scaled(value: float | None, sf: int) -> int | None:
    """``value`` in units of ``10**sf`` (None stays None: not implemented)."""
    return None if value is None else round(value / 10**sf)


@dataclass(frozen=True, slots=True)
class ScaleFactors:
    """The module's fixed scale factors (see the module docstring)."""

    voltage: int
    power: int
    energy: int
    rate: int
    capacity: int
    current_max: int

    @classmethod
    def for_module(cls, cells: int, chemistry: Chemistry, maxima: Mapping[str, float]) -> ScaleFactors:
        largest_a = max(
            maxima.get("charge_current_limit_a", 1000.0), maxima.get("discharge_current_limit_a", 2000.0)
        )
        nominal_v = cells * NOMINAL_CELL_V[chemistry]
        capacity = maxima.get("capacity_ah", 2000.0)
        return cls(
            voltage=max(-3, fit_scale(cells * MAX_CELL_V, signed=False) if cells else -3),
            power=fit_scale(cells * MAX_CELL_V * largest_a, signed=True),
            energy=fit_scale(capacity * nominal_v, signed=False),
            rate=fit_scale(largest_a * nominal_v, signed=False),
            capacity=fit_scale(capacity, signed=False),
            current_max=fit_scale(largest_a, signed=False),
        )


class SunSpecImage:
    """The chain's registers for one module, rebuilt from the device at every read.

    Args:
        device: the virtual BMS.
        address: the module's unit address (model 1's DA).
    """

    def __init__(self, device: VirtualBms, address: int) -> None:
        self._device = device
        self._address = address
        self._started = time.monotonic()
        schema = device.config_schema()
        maxima = {name: float(spec.maximum) for name, spec in schema.items() if spec.maximum is not None}
        chemistry = device.options.chemistry
        self._nominal_cell_v = NOMINAL_CELL_V[chemistry]
        self.sf = ScaleFactors.for_module(device.options.cells, chemistry, maxima)
        self._common, self._battery, self._module = model_layout(1), model_layout(802), model_layout(805)
        battery_start = BASE_ADDRESS + 2 + self._common.fixed_size
        self.writable: dict[int, str] = {
            battery_start + point.offset + i: point.name
            for point in self._battery.fixed
            if point.writable
            for i in range(point.size)
        }
        """Register address → name of model 802's read-write points (what a controller writes is kept)."""
        self.kept: dict[int, int] = {}

    def registers(self) -> list[int]:
        """Every register from 40000 to the end marker, from the device's state now.

        Raises:
            SimModeError: the application is not running (the bootloader serves no SunSpec chain).
        """
        telemetry = self._device.telemetry()
        identity = self._device.identity()
        config = self._device.config().parameters
        common = self._common_values(identity)
        battery = self._battery_values(telemetry, config)
        module = self._module_values(telemetry, identity)
        registers = list(MARKER)
        registers += encode_points(self._common.fixed, common)
        registers += encode_points(self._battery.fixed, battery)
        registers += encode_points(self._module.fixed, module)
        for values in self._cell_values(telemetry):
            registers += encode_points(self._module.group, values)
        registers += [END_MODEL, 0]
        for address, name in self.writable.items():  # what a controller wrote reads back
            if address in self.kept and name != "AlmRst":
                registers[address - BASE_ADDRESS] = self.kept[address]
        return registers

    def _common_values(self, identity: DeviceIdentity) -> dict[str, Value]:
        return {
            "ID": 1,
            "L": self._common.length(),
            "Mn": MANUFACTURER,
            "Md": identity.model,
            "Vr": str(identity.firmware_version) if identity.firmware_version else None,
            "SN": identity.serial_number,
            "DA": self._address,
        }

    def _battery_values(self, t: PackTelemetry, config: Mapping[str, ParameterValue]) -> dict[str, Value]:
        sf, cells = self.sf, max(1, t.cell_count)
        nominal_v = cells * self._nominal_cell_v
        capacity = _number(config, "capacity_ah")
        charge_a, discharge_a = (
            _number(config, "charge_current_limit_a"),
            _number(config, "discharge_current_limit_a"),
        )
        current_a = t.current_ma / 1000.0
        pack_v = t.pack_voltage_mv / 1000.0
        return {
            "ID": 802, "L": self._battery.length(),
            "AHRtg": scaled(capacity, sf.capacity), "AHRtg_SF": sf.capacity,
            "WHRtg": scaled(capacity * nominal_v, sf.energy), "WHRtg_SF": sf.energy,
            "WChaRteMax": scaled(charge_a * nominal_v, sf.rate),
            "WDisChaRteMax": scaled(discharge_a * nominal_v, sf.rate), "WChaDisChaMax_SF": sf.rate,
            "SoC": scaled(t.soc_pct, PERCENT_SF), "SoC_SF": PERCENT_SF,
            "SoH": scaled(t.soh_pct, PERCENT_SF), "SoH_SF": PERCENT_SF,
            "ChaSt": _charge_state(current_a), "LocRemCtl": 0,
            "Hb": int(time.monotonic() - self._started) & 0xFFFF,
            "CtrlHb": 0, "AlmRst": 0, "SetOp": 1, "SetInvState": 3,
            "Typ": TYPE_LITHIUM_ION,
            "State": STATE_FAULT if t.alarms else STATE_CONNECTED,
            "Evt1": _evt1(t.alarms, current_a), "Evt2": 0,
            "EvtVnd1": (1 << VENDOR_SENSOR_FAULT_BIT) if Alarm.SENSOR_FAULT in t.alarms else 0, "EvtVnd2": 0,
            "V": scaled(pack_v, sf.voltage), "V_SF": sf.voltage,
            "VMax": scaled(cells * _number(config, "cell_overvoltage_mv") / 1000.0, sf.voltage),
            "VMin": scaled(cells * _number(config, "cell_undervoltage_mv") / 1000.0, sf.voltage),
            "CellVMax": t.max_cell_mv if t.cell_count else None, "CellVMaxStr": 1, "CellVMaxMod": 1,
            "CellVMin": t.min_cell_mv if t.cell_count else None, "CellVMinStr": 1, "CellVMinMod": 1,
            "CellVAvg": round(t.cell_sum_mv / cells) if t.cell_count else None, "CellV_SF": CELL_V_SF,
            "A": scaled(current_a, CURRENT_SF), "A_SF": CURRENT_SF,
            "AChaMax": scaled(charge_a, sf.current_max), "ADisChaMax": scaled(discharge_a, sf.current_max),
            "AMax_SF": sf.current_max,
            "W": scaled(pack_v * current_a, sf.power), "W_SF": sf.power,
        }  # fmt: skip

    def _module_values(self, t: PackTelemetry, identity: DeviceIdentity) -> dict[str, Value]:
        cells = t.cell_voltages_mv
        temps = self._cell_temperatures(t)
        known = [(temp, i) for i, temp in enumerate(temps) if temp is not None]
        hottest = max(known) if known else None
        coldest = min(known) if known else None
        values: dict[str, Value] = {
            "ID": 805, "L": self._module.length(len(cells)),
            "StrIdx": 1, "ModIdx": 1, "NCell": len(cells),
            "SoC": scaled(t.soc_pct, PERCENT_SF), "SoH": scaled(t.soh_pct, PERCENT_SF),
            "V": scaled(t.pack_voltage_mv / 1000.0, self.sf.voltage),
            "NCellBal": sum(t.balancing), "SN": identity.serial_number,
            "SoC_SF": PERCENT_SF, "SoH_SF": PERCENT_SF, "V_SF": self.sf.voltage,
            "CellV_SF": CELL_V_SF, "Tmp_SF": TEMPERATURE_SF,
        }  # fmt: skip
        if cells:
            values.update(
                CellVMax=max(cells), CellVMaxCell=cells.index(max(cells)) + 1,
                CellVMin=min(cells), CellVMinCell=cells.index(min(cells)) + 1,
                CellVAvg=round(sum(cells) / len(cells)),
            )  # fmt: skip
        if hottest is not None and coldest is not None:
            values.update(
                CellTmpMax=scaled(hottest[0], TEMPERATURE_SF), CellTmpMaxCell=hottest[1] + 1,
                CellTmpMin=scaled(coldest[0], TEMPERATURE_SF), CellTmpMinCell=coldest[1] + 1,
                CellTmpAvg=scaled(sum(temp for temp, _ in known) / len(known), TEMPERATURE_SF),
            )  # fmt: skip
        return values

    def _cell_values(self, t: PackTelemetry) -> list[dict[str, Value]]:
        temps = self._cell_temperatures(t)
        return [
            {
                "CellV": voltage,
                "CellTmp": scaled(temps[i], TEMPERATURE_SF),
                "CellSt": 1 if i < len(t.balancing) and t.balancing[i] else 0,
            }
            for i, voltage in enumerate(t.cell_voltages_mv)
        ]

    @staticmethod
    def _cell_temperatures(t: PackTelemetry) -> list[float | None]:
        """Each cell reads the sensor fitted beside it (cell i: sensor i × sensors // cells)."""
        sensors, cells = len(t.temperatures_c), t.cell_count
        if not sensors:
            return [None] * cells
        return [t.temperatures_c[i * sensors // cells] for i in range(cells)]


def _number(config: Mapping[str, ParameterValue], name: str) -> float:
    value = config.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 0.0
    return float(value)


def _charge_state(current_a: float) -> int:
    if current_a > CHARGE_THRESHOLD_A:
        return CHASTATE_CHARGING
    if current_a < -CHARGE_THRESHOLD_A:
        return CHASTATE_DISCHARGING
    return CHASTATE_HOLDING


def _evt1(alarms: frozenset[Alarm], current_a: float) -> int:
    bits = 0
    for alarm in alarms:
        if alarm is Alarm.OVERCURRENT:
            bits |= 1 << (_EVT1_OVER_CHARGE_CURRENT if current_a > 0 else _EVT1_OVER_DISCHARGE_CURRENT)
        else:
            bits |= 1 << _EVT1[alarm]
    return bits

"""The BMS firmware's measurement and protection logic, applied to the pack's true values.

Calibration gains from the configuration and the running firmware's behaviour (a
``voltage-offset`` build measures wrong) shape what is reported; protection alarms and the
balancing decision follow the configured thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping

from bmsflasher.core.types import Alarm, PackTelemetry, ParameterValue
from bmsflasher.sim.device.behaviours import Behaviour
from bmsflasher.sim.device.pack import PackReading


def _number(config: Mapping[str, ParameterValue], name: str, default: float) -> float:
    value = config.get(name, default)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def measure_cells(
    reading: PackReading, config: Mapping[str, ParameterValue], behaviour: Behaviour
) -> tuple[int, ...]:
    """Cell voltages as the firmware reports them (calibrated, then the behaviour's error)."""
    gain = _number(config, "voltage_gain", 1.0)
    offset = _number(config, "voltage_offset_mv", 0.0)
    error = 1.0 + behaviour.voltage_offset_pct / 100.0
    return tuple(round((mv * gain + offset) * error) for mv in reading.cell_mv)


def balancing_decision(
    cells_mv: tuple[int, ...], config: Mapping[str, ParameterValue], forced: set[int]
) -> tuple[bool, ...]:
    """Which cells bleed: forced ones, plus high cells when balancing is enabled."""
    enabled = bool(config.get("balancing_enabled", True))
    start = _number(config, "balance_start_mv", 3400)
    delta = _number(config, "balance_delta_mv", 10)
    lowest = min(cells_mv) if cells_mv else 0
    return tuple(
        index in forced or (enabled and mv >= start and mv - lowest > delta)
        for index, mv in enumerate(cells_mv)
    )


def alarms(
    cells_mv: tuple[int, ...],
    temps_c: tuple[float | None, ...],
    current_a: float,
    config: Mapping[str, ParameterValue],
) -> frozenset[Alarm]:
    """Protection alarms for the measured values and configured limits."""
    found: set[Alarm] = set()
    if cells_mv and max(cells_mv) > _number(config, "cell_overvoltage_mv", 3650):
        found.add(Alarm.CELL_OVERVOLTAGE)
    if cells_mv and min(cells_mv) < _number(config, "cell_undervoltage_mv", 2500):
        found.add(Alarm.CELL_UNDERVOLTAGE)
    readable = [t for t in temps_c if t is not None]
    if len(readable) != len(temps_c):
        found.add(Alarm.SENSOR_FAULT)
    if readable and max(readable) > _number(config, "overtemperature_c", 55):
        found.add(Alarm.OVERTEMPERATURE)
    if readable and min(readable) < _number(config, "undertemperature_c", -20):
        found.add(Alarm.UNDERTEMPERATURE)
    if current_a > _number(config, "charge_current_limit_a", 100) or -current_a > _number(
        config, "discharge_current_limit_a", 200
    ):
        found.add(Alarm.OVERCURRENT)
    return frozenset(found)


def telemetry(
    reading: PackReading,
    config: Mapping[str, ParameterValue],
    behaviour: Behaviour,
    balancing: tuple[bool, ...],
) -> PackTelemetry:
    """One telemetry snapshot as the firmware reports it."""
    cells = measure_cells(reading, config, behaviour)
    current_a = reading.current_a * _number(config, "current_gain", 1.0)
    return PackTelemetry(
        timestamp_s=reading.time_s,
        cell_voltages_mv=cells,
        balancing=balancing,
        temperatures_c=reading.temperatures_c,
        pack_voltage_mv=sum(cells),
        current_ma=round(current_a * 1000),
        soc_pct=round(reading.counted_soc_pct, 2),
        soh_pct=reading.soh_pct,
        alarms=alarms(cells, reading.temperatures_c, current_a, config),
    )

"""SunSpec models 1 (common), 802 (battery base) and 805 (lithium-ion module) as the tool's live data.

Works from decoded models (:mod:`~bmsflasher.protocols.modbus.sunspec`), so any SunSpec storage
battery gives a :class:`~bmsflasher.core.types.PackTelemetry`: cells, balancing and per-cell
temperatures from 805's repeating group, pack voltage, current and alarms from 802 (SoC and SoH from
802, else 805). What only this vendor's modules publish — their temperature sensors and the
sensor-fault bit of EvtVnd1 — is used only when the module carries the vendor block.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Final

from bmsflasher.core.errors import BmsFlasherError, UnsupportedOperationError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import Alarm, DeviceIdentity, DeviceMode, FirmwareVersion, PackTelemetry
from bmsflasher.protocols.modbus.sunspec import DecodedModel, PointValue

COMMON: Final = 1
BATTERY: Final = 802
LITHIUM_MODULE: Final = 805
_EVT1_ALARMS: Final = (
    (1, Alarm.OVERTEMPERATURE),
    (3, Alarm.UNDERTEMPERATURE),
    (5, Alarm.OVERCURRENT),
    (7, Alarm.OVERCURRENT),
    (9, Alarm.CELL_OVERVOLTAGE),
    (11, Alarm.CELL_UNDERVOLTAGE),
)
"""Model 802's Evt1 alarm bits (over/under temperature, charge/discharge current, over/under voltage)."""
VENDOR_SENSOR_FAULT_BIT: Final = 0
"""EvtVnd1 bit 0 in this vendor's map: a temperature sensor reads open or short circuit."""
CELL_IS_BALANCING: Final = 1


def _number(points: Mapping[str, PointValue], name: str) -> float | None:
    value = points.get(name)
    return float(value) if isinstance(value, int | float) else None


def identity_from_common(common: DecodedModel) -> DeviceIdentity:
    """A SunSpec device's identity from model 1: model (Md), serial (SN), firmware (Vr when X.Y.Z)."""
    points = common.points
    version: FirmwareVersion | None = None
    text = points.get("Vr")
    if isinstance(text, str):
        try:
            version = FirmwareVersion.parse(text)
        except BmsFlasherError:  # a vendor's own version text: shown nowhere rather than guessed
            version = None
    model = points.get("Md") or points.get("Mn") or ""
    return DeviceIdentity(
        model=str(model),
        serial_number=str(points.get("SN") or ""),
        hardware_revision="",
        firmware_version=version,
        bootloader_version=None,
        mode=DeviceMode.APPLICATION,
    )


def telemetry_from(
    models: Mapping[int, DecodedModel],
    *,
    sensors_c: Sequence[float | None] | None = None,
    vendor_events: bool = False,
) -> PackTelemetry:
    """One snapshot from models 802 and 805.

    Args:
        models: decoded models by ID (802 and/or 805 needed).
        sensors_c: the module's own temperature sensors (vendor block), else 805's per-cell values.
        vendor_events: the device is this vendor's module: EvtVnd1 bit 0 means a failed sensor.

    Raises:
        UnsupportedOperationError: the device has neither model 802 nor 805.
    """
    battery = models.get(BATTERY)
    module = models.get(LITHIUM_MODULE)
    if battery is None and module is None:
        raise UnsupportedOperationError(
            t("The device publishes neither SunSpec model 802 (battery) nor 805 (lithium-ion module).")
        )
    base = battery.points if battery is not None else {}
    cells = module.repeats if module is not None else ()
    module_points = module.points if module is not None else {}
    voltages = tuple(round((_number(c, "CellV") or 0.0) * 1000) for c in cells)
    balancing = tuple(
        bool((c.get("CellSt") or 0) and int(c.get("CellSt") or 0) & CELL_IS_BALANCING) for c in cells
    )
    temperatures = tuple(sensors_c) if sensors_c is not None else tuple(_number(c, "CellTmp") for c in cells)
    pack_v = _number(base, "V") if _number(base, "V") is not None else _number(module_points, "V")
    soc = _number(base, "SoC") if _number(base, "SoC") is not None else _number(module_points, "SoC")
    soh = _number(base, "SoH") if _number(base, "SoH") is not None else _number(module_points, "SoH")
    return PackTelemetry(
        timestamp_s=time.time(),
        cell_voltages_mv=voltages,
        balancing=balancing,
        temperatures_c=temperatures,
        pack_voltage_mv=round((pack_v or 0.0) * 1000) if pack_v is not None else sum(voltages),
        current_ma=round((_number(base, "A") or 0.0) * 1000),
        soc_pct=soc or 0.0,
        soh_pct=soh if soh is not None else 100.0,
        alarms=_alarms(base, vendor_events=vendor_events),
    )


def _alarms(points: Mapping[str, PointValue], *, vendor_events: bool) -> frozenset[Alarm]:
    found = set()
    events = points.get("Evt1")
    if isinstance(events, int):
        found |= {alarm for bit, alarm in _EVT1_ALARMS if events >> bit & 1}
    vendor = points.get("EvtVnd1")
    if vendor_events and isinstance(vendor, int) and vendor >> VENDOR_SENSOR_FAULT_BIT & 1:
        found.add(Alarm.SENSOR_FAULT)
    return frozenset(found)

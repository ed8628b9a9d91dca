"""Human names for what a battery reports by identifier: configuration parameters and its self-test checks.

A device names its parameters ``cell_overvoltage_mv`` and its checks ``balancing_circuit``; a
technician reads "Cell over-voltage limit" in their own language. Known identifiers are translated
here (the virtual BMS's and the reference firmware's); an unknown one is still made readable
("some_new_limit" → "Some new limit") rather than shown raw.
"""

from __future__ import annotations

import re
from typing import Final

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

CONTEXT: Final = "ParameterTexts"

_UNIT_SUFFIX: Final = re.compile(r"_(mv|ma|c|a|ah|v|pct|s|ms|hz)$")

_PARAMETERS: Final = {
    "cell_overvoltage_mv": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Cell over-voltage limit"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Cell voltage above which charging stops."),
    ),
    "cell_undervoltage_mv": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Cell under-voltage limit"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Cell voltage below which discharging stops."),
    ),
    "overtemperature_c": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Over-temperature limit"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Temperature above which the pack disconnects."),
    ),
    "undertemperature_c": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Under-temperature limit"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Temperature below which charging stops."),
    ),
    "charge_current_limit_a": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Charge current limit"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Largest charge current before an alarm."),
    ),
    "discharge_current_limit_a": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Discharge current limit"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Largest discharge current before an alarm."),
    ),
    "balancing_enabled": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Cell balancing"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Whether passive balancing runs."),
    ),
    "balance_start_mv": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Balancing start voltage"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Cells above this voltage may be balanced."),
    ),
    "balance_delta_mv": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Balancing threshold"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Imbalance from the lowest cell that starts balancing."),
    ),
    "capacity_ah": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Rated capacity"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Rated capacity used for state-of-charge counting."),
    ),
    "voltage_gain": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Voltage calibration gain"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Cell-voltage calibration gain."),
    ),
    "voltage_offset_mv": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Voltage calibration offset"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Cell-voltage calibration offset."),
    ),
    "current_gain": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Current calibration gain"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Current-sensor calibration gain."),
    ),
    "can_bitrate": (
        QT_TRANSLATE_NOOP("ParameterTexts", "CAN bit rate"),
        QT_TRANSLATE_NOOP("ParameterTexts", "CAN bus bit rate."),
    ),
    "can_node_id": (
        QT_TRANSLATE_NOOP("ParameterTexts", "CAN node number"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Node number on the CAN bus."),
    ),
    "serial_baud": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Serial baud rate"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Serial (USB/RS485) line rate."),
    ),
    "cell_count": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Number of cells"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Series cells the BMS monitors."),
    ),
    "serial_number": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Serial number"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Serial number set at the factory."),
    ),
    "hardware_revision": (
        QT_TRANSLATE_NOOP("ParameterTexts", "Hardware revision"),
        QT_TRANSLATE_NOOP("ParameterTexts", "Hardware revision set at the factory."),
    ),
}

_DEVICE_CHECKS: Final = {
    "voltage_calibration": QT_TRANSLATE_NOOP("ParameterTexts", "voltage calibration"),
    "temperature_sensors": QT_TRANSLATE_NOOP("ParameterTexts", "temperature sensors"),
    "balancing_circuit": QT_TRANSLATE_NOOP("ParameterTexts", "balancing circuit"),
    "firmware_integrity": QT_TRANSLATE_NOOP("ParameterTexts", "firmware integrity"),
    "reference_voltage": QT_TRANSLATE_NOOP("ParameterTexts", "reference voltage"),
    "communication": QT_TRANSLATE_NOOP("ParameterTexts", "communication"),
}


def readable(identifier: str) -> str:
    """An unknown identifier made readable: "some_new_limit_mv" → "Some new limit"."""
    words = _UNIT_SUFFIX.sub("", identifier).replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else identifier


def parameter_name(name: str) -> str:
    """The translated name of a configuration parameter."""
    known = _PARAMETERS.get(name)
    return QCoreApplication.translate(CONTEXT, str(known[0])) if known else readable(name)


def parameter_description(name: str, from_device: str = "") -> str:
    """What the parameter does, translated; the device's own (English) sentence for an unknown one."""
    known = _PARAMETERS.get(name)
    return QCoreApplication.translate(CONTEXT, str(known[1])) if known else from_device


def device_check_name(check: str) -> str:
    """A check of the battery's own self-test, e.g. "Battery self-test: balancing circuit"."""
    known = _DEVICE_CHECKS.get(check)
    what = QCoreApplication.translate(CONTEXT, str(known)) if known else readable(check).lower()
    return QCoreApplication.translate("ParameterTexts", "Battery self-test: %1").replace("%1", what)

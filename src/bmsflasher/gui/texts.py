"""Translated names for engine values (device modes, alarms, severities, procedure steps, gates).

The engine speaks English identifiers; the technician reads their own language. Keeping every such
mapping here means one place for translators' context and no widget carries its own copy.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from bmsflasher.core.types import Alarm, DeviceIdentity, DeviceMode, DtcSeverity
from bmsflasher.gui.engine import RollbackBlocker
from bmsflasher.gui.parameter_texts import device_check_name, readable


def mode_text(mode: DeviceMode) -> str:
    """Translated device mode."""
    names = {
        DeviceMode.APPLICATION: QCoreApplication.translate("Texts", "application"),
        DeviceMode.BOOTLOADER: QCoreApplication.translate("Texts", "bootloader"),
        DeviceMode.RECOVERY: QCoreApplication.translate("Texts", "RECOVERY"),
    }
    return names[mode]


def alarm_text(alarm: Alarm) -> str:
    """Translated name of a protection alarm."""
    names = {
        Alarm.CELL_OVERVOLTAGE: QCoreApplication.translate("Texts", "Cell over-voltage"),
        Alarm.CELL_UNDERVOLTAGE: QCoreApplication.translate("Texts", "Cell under-voltage"),
        Alarm.OVERTEMPERATURE: QCoreApplication.translate("Texts", "Over-temperature"),
        Alarm.UNDERTEMPERATURE: QCoreApplication.translate("Texts", "Under-temperature"),
        Alarm.OVERCURRENT: QCoreApplication.translate("Texts", "Over-current"),
        Alarm.SENSOR_FAULT: QCoreApplication.translate("Texts", "Temperature sensor fault"),
    }
    return names.get(alarm, alarm.value)


def severity_text(severity: DtcSeverity) -> str:
    """Translated DTC severity."""
    names = {
        DtcSeverity.INFO: QCoreApplication.translate("Texts", "info"),
        DtcSeverity.WARNING: QCoreApplication.translate("Texts", "warning"),
        DtcSeverity.CRITICAL: QCoreApplication.translate("Texts", "critical"),
    }
    return names[severity]


def fmt(template: str, *values: object) -> str:
    """Fill Qt-style ``%1``, ``%2``… placeholders (translators may reorder them)."""
    result = template
    for index in range(len(values), 0, -1):  # %10 before %1
        result = result.replace(f"%{index}", str(values[index - 1]))
    return result


def outcome_text(outcome: str | None) -> str:
    """Translated outcome of a service session (None: the tool stopped before it finished)."""
    names = {
        None: QCoreApplication.translate("Texts", "interrupted"),
        "updated": QCoreApplication.translate("Texts", "updated"),
        "refused": QCoreApplication.translate("Texts", "refused by a precondition"),
        "rolled_back": QCoreApplication.translate("Texts", "rolled back"),
        "failed": QCoreApplication.translate("Texts", "failed"),
    }
    return names.get(outcome, outcome or "")


_MEASUREMENT_NAMES = {
    # package checks (update wizard, second page)
    "signature": QT_TRANSLATE_NOOP("Texts", "Signature"),
    "image_hash": QT_TRANSLATE_NOOP("Texts", "Image hash"),
    "expiry": QT_TRANSLATE_NOOP("Texts", "Expiry date"),
    # precondition gates
    "model": QT_TRANSLATE_NOOP("Texts", "Model"),
    "hardware_revision": QT_TRANSLATE_NOOP("Texts", "Hardware revision"),
    "device_mode": QT_TRANSLATE_NOOP("Texts", "Device mode"),
    "bootloader_version": QT_TRANSLATE_NOOP("Texts", "Bootloader version"),
    "anti_rollback": QT_TRANSLATE_NOOP("Texts", "Anti-rollback counter"),
    "signing_key": QT_TRANSLATE_NOOP("Texts", "Signing key"),
    "state_of_charge": QT_TRANSLATE_NOOP("Texts", "State of charge"),
    "temperature": QT_TRANSLATE_NOOP("Texts", "Temperature"),
    "load_current": QT_TRANSLATE_NOOP("Texts", "Load current"),
    "critical_dtcs": QT_TRANSLATE_NOOP("Texts", "Critical trouble codes"),
    "cell_voltage_stability": QT_TRANSLATE_NOOP("Texts", "Cell voltage stability"),
    "supply_stability": QT_TRANSLATE_NOOP("Texts", "Supply stability"),
    "link_quality": QT_TRANSLATE_NOOP("Texts", "Link quality"),
    # self-test checks
    "voltage_calibration": QT_TRANSLATE_NOOP("Texts", "Voltage calibration"),
    "reference_voltage": QT_TRANSLATE_NOOP("Texts", "Reference voltage"),
    "temperature_sensors": QT_TRANSLATE_NOOP("Texts", "Temperature sensors"),
    "communication_speed": QT_TRANSLATE_NOOP("Texts", "Communication speed"),
    "balancing": QT_TRANSLATE_NOOP("Texts", "Cell balancing"),
    "new_dtcs": QT_TRANSLATE_NOOP("Texts", "New trouble codes"),
}


DEVICE_CHECK_PREFIX = "device_"
"""The procedure prefixes the battery's own self-test checks with this (their values are device text)."""


def has_measurement_name(name: str) -> bool:
    """The GUI has a translated name for this check (else :func:`measurement_name` makes one up)."""
    return name in _MEASUREMENT_NAMES or name.startswith(DEVICE_CHECK_PREFIX)


def measurement_name(name: str) -> str:
    """Translated name of a package check, precondition gate or self-test check."""
    source = _MEASUREMENT_NAMES.get(name)
    if source is None:
        if name.startswith(DEVICE_CHECK_PREFIX):
            return device_check_name(name.removeprefix(DEVICE_CHECK_PREFIX))
        return readable(name)
    return QCoreApplication.translate("Texts", str(source))


_STEP_TITLES = {
    "verify_package": QT_TRANSLATE_NOOP("Texts", "Verify the package"),
    "identify": QT_TRANSLATE_NOOP("Texts", "Identify the battery"),
    "preconditions": QT_TRANSLATE_NOOP("Texts", "Check the preconditions"),
    "backup": QT_TRANSLATE_NOOP("Texts", "Back up the configuration"),
    "transfer": QT_TRANSLATE_NOOP("Texts", "Transfer the firmware"),
    "reboot": QT_TRANSLATE_NOOP("Texts", "Reboot into the new firmware"),
    "self_test": QT_TRANSLATE_NOOP("Texts", "Run the self-test"),
    "confirm": QT_TRANSLATE_NOOP("Texts", "Confirm the new firmware"),
    "config_check": QT_TRANSLATE_NOOP("Texts", "Check the configuration"),
    "rollback": QT_TRANSLATE_NOOP("Texts", "Roll back to the previous firmware"),
    "config_restore": QT_TRANSLATE_NOOP("Texts", "Restore the configuration"),
}


def step_title(step: str, fallback: str = "") -> str:
    """Translated title of a procedure step."""
    source = _STEP_TITLES.get(step)
    return QCoreApplication.translate("Texts", str(source)) if source else (fallback or step)


_ADAPTER_STATUS = {
    "found": QT_TRANSLATE_NOOP("Texts", "battery found"),
    "no_device": QT_TRANSLATE_NOOP("Texts", "nothing answered"),
    "garbage": QT_TRANSLATE_NOOP("Texts", "answers garbage"),
    "busy": QT_TRANSLATE_NOOP("Texts", "busy (used by another program)"),
    "permission": QT_TRANSLATE_NOOP("Texts", "permission denied"),
    "no_driver": QT_TRANSLATE_NOOP("Texts", "driver missing"),
    "not_found": QT_TRANSLATE_NOOP("Texts", "not found"),
    "timed_out": QT_TRANSLATE_NOOP("Texts", "scan time ran out"),
    "error": QT_TRANSLATE_NOOP("Texts", "error"),
}


def adapter_status_text(status: str) -> str:
    """Translated verdict of a scan on one adapter (a discovery ``AdapterStatus`` value)."""
    source = _ADAPTER_STATUS.get(status)
    return QCoreApplication.translate("Texts", str(source)) if source else status


_SESSION_KINDS = {
    "update": QT_TRANSLATE_NOOP("Texts", "update"),
    "rollback": QT_TRANSLATE_NOOP("Texts", "rollback"),
    "recovery": QT_TRANSLATE_NOOP("Texts", "recovery"),
    "restore": QT_TRANSLATE_NOOP("Texts", "restore"),
    "backup": QT_TRANSLATE_NOOP("Texts", "backup"),
}


def session_kind_text(kind: str) -> str:
    """Translated kind of a service session (update, rollback, recovery...)."""
    source = _SESSION_KINDS.get(kind)
    return QCoreApplication.translate("Texts", str(source)) if source else kind


def rollback_text(blocker: RollbackBlocker | None, identity: DeviceIdentity | None) -> str:
    """What the Roll back button would do, or why it cannot: shown before it is pressed."""
    translate = QCoreApplication.translate
    if identity is None:
        return translate("Texts", "Connect a battery first.")
    if blocker is None:
        other = next((s for s in identity.slots if not s.active and s.version is not None), None)
        version = str(other.version) if other is not None else "?"
        return fmt(
            translate("Texts", "Roll back returns to firmware %1 in slot 1; the battery reboots into it."),
            version,
        )
    other_version = str(blocker.other_version) if blocker.other_version else "?"
    running = str(blocker.running_version) if blocker.running_version else "?"
    if blocker.kind == "not_running":
        return fmt(
            translate(
                "Texts", "Roll back is not possible: the battery is in %1 mode, not running its firmware."
            ),
            mode_text(blocker.mode),
        )
    if blocker.kind == "no_image":
        return translate("Texts", "Roll back is not possible: slot 1 is empty, there is no other firmware.")
    if blocker.kind == "refused_by_bootloader":
        return fmt(
            translate(
                "Texts",
                "Roll back is not possible: the bootloader refuses firmware %1 in slot 1 (anti-rollback: its "
                "security counter is below the battery's, %2; or the image is damaged).",
            ),
            other_version,
            blocker.device_counter,
        )
    return fmt(
        translate(
            "Texts",
            "Roll back is not possible: slot 1 holds %1, newer than the running %2 and never confirmed "
            "(an update that failed); a rollback only returns to older firmware.",
        ),
        other_version,
        running,
    )

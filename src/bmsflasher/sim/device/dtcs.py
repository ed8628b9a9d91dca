"""Diagnostic trouble codes the virtual BMS latches (ISO 14229-1 status byte semantics).

An alarm that is active sets testFailed, testFailedThisOperationCycle, pendingDTC, confirmedDTC
and testFailedSinceLastClear; when the alarm goes away the code stays stored (confirmed,
failed since last clear) until a ClearDiagnosticInformation. A reset starts a new operation cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from bmsflasher.core.types import Alarm, Dtc, DtcSeverity

TEST_FAILED: Final = 0x01
TEST_FAILED_THIS_CYCLE: Final = 0x02
PENDING: Final = 0x04
CONFIRMED: Final = 0x08
FAILED_SINCE_CLEAR: Final = 0x20
ACTIVE_STATUS: Final = TEST_FAILED | TEST_FAILED_THIS_CYCLE | PENDING | CONFIRMED | FAILED_SINCE_CLEAR
STORED_STATUS: Final = CONFIRMED | FAILED_SINCE_CLEAR

BOOT_FAILURE_DTC: Final = 0xD20101
ALARM_DTCS: Final[dict[Alarm, tuple[int, DtcSeverity, str]]] = {
    Alarm.CELL_OVERVOLTAGE: (0xD10101, DtcSeverity.CRITICAL, "Cell overvoltage"),
    Alarm.CELL_UNDERVOLTAGE: (0xD10201, DtcSeverity.CRITICAL, "Cell undervoltage"),
    Alarm.OVERTEMPERATURE: (0xD10301, DtcSeverity.CRITICAL, "Pack overtemperature"),
    Alarm.UNDERTEMPERATURE: (0xD10401, DtcSeverity.WARNING, "Pack undertemperature"),
    Alarm.OVERCURRENT: (0xD10501, DtcSeverity.WARNING, "Pack overcurrent"),
    Alarm.SENSOR_FAULT: (0xD10601, DtcSeverity.WARNING, "Temperature sensor open or shorted"),
}


class DtcMemory:
    """Stored DTCs of one device (kept across resets in this process; cleared on request)."""

    def __init__(self) -> None:
        self._stored: dict[int, tuple[int, DtcSeverity, str]] = {}

    def update(self, active: Iterable[Alarm]) -> None:
        """Latch the active alarms and age the ones that went away."""
        active_codes = set()
        for alarm in active:
            code, severity, text = ALARM_DTCS[alarm]
            active_codes.add(code)
            self._stored[code] = (ACTIVE_STATUS, severity, text)
        for code, (status, severity, text) in list(self._stored.items()):
            if code not in active_codes and status & TEST_FAILED and code != BOOT_FAILURE_DTC:
                self._stored[code] = (status & ~TEST_FAILED, severity, text)

    def record_boot_failure(self, detail: str) -> None:
        """Store the code that says the bootloader left an image that failed (revert or fallback)."""
        self._stored[BOOT_FAILURE_DTC] = (STORED_STATUS | TEST_FAILED_THIS_CYCLE, DtcSeverity.WARNING, detail)

    def new_operation_cycle(self) -> None:
        """A reset: the this-cycle bits clear, stored codes stay."""
        for code, (status, severity, text) in list(self._stored.items()):
            self._stored[code] = (status & ~(TEST_FAILED | TEST_FAILED_THIS_CYCLE), severity, text)

    def clear(self) -> None:
        """ClearDiagnosticInformation: forget every stored code."""
        self._stored.clear()

    def list(self) -> list[Dtc]:
        """Stored codes in code order."""
        return [
            Dtc(code, status, severity, text)
            for code, (status, severity, text) in sorted(self._stored.items())
        ]

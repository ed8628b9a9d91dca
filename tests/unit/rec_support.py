"""Shared builders for the records tests: a realistic update session written through the real API."""

from __future__ import annotations

from pathlib import Path

from bmsflasher.core.events import Measurement
from bmsflasher.core.types import ConfigSnapshot, DeviceIdentity, FirmwareVersion, PackTelemetry
from bmsflasher.records import RecordsDb

SERIAL = "BMS-0042"
OPERATOR = "Zoë Dupré"
PACKAGE_SHA = "ab" * 32
CELLS_BEFORE = tuple(3300 + 3 * i for i in range(16))
CELLS_AFTER = tuple(v + 2 for v in CELLS_BEFORE)
SNAPSHOT = ConfigSnapshot(
    schema_version=3,
    parameters={"cell_ovp_mv": 3650, "balance_start_mv": 3400, "pack_name": "Boot 7", "fan": True, "k": 0.25},
)


def identity(firmware: str = "1.2.0") -> DeviceIdentity:
    return DeviceIdentity(
        model="BMS-16S-100A",
        serial_number=SERIAL,
        hardware_revision="C",
        firmware_version=FirmwareVersion.parse(firmware),
        bootloader_version=FirmwareVersion(1, 0, 0),
    )


def telemetry(
    cells: tuple[int, ...], current_ma: int = 0, temps: tuple[float | None, ...] = (24.5, 25.0)
) -> PackTelemetry:
    return PackTelemetry(
        timestamp_s=1_700_000_000.0,
        cell_voltages_mv=cells,
        balancing=(False,) * len(cells),
        temperatures_c=temps,
        pack_voltage_mv=sum(cells),
        current_ma=current_ma,
        soc_pct=55.0,
        soh_pct=97.5,
    )


def write_update_session(db: RecordsDb, outcome: str = "updated") -> int:
    """Write what the procedure writes for a healthy update; returns the session id."""
    db.upsert_device(identity())
    session_id = db.start_session(
        SERIAL, "update", OPERATOR, PACKAGE_SHA, {"link": "/dev/ttyUSB0 @ 115200 baud"}
    )
    db.log_step(session_id, "preconditions", None, "")
    db.log_measurement(
        session_id,
        Measurement("state_of_charge", "55.0 %", "20–80 %", True, "An empty or full pack leaves no margin."),
    )
    db.log_measurement(
        session_id, Measurement("temperature", "25.0 °C", "0–45 °C", True, "Cold or hot cells age.")
    )
    db.log_measurement(
        session_id, Measurement("link_quality", "2 errors", "≤ 1 error", False, "A noisy link is slow.", True)
    )
    db.log_step(session_id, "preconditions", True, "overridden: link_quality (noisy site)")
    db.log_telemetry(session_id, "before", telemetry(CELLS_BEFORE))
    db.store_backup(SERIAL, SNAPSHOT, session_id=session_id)
    db.log_step(session_id, "transfer", None, "")
    db.log_step(session_id, "transfer", True, "81920 bytes")
    db.log_step(session_id, "self_test", None, "")
    db.log_measurement(
        session_id, Measurement("voltage_calibration", "Δ 0.08 %", "±0.5 %", True, "Calibration.")
    )
    db.log_step(session_id, "self_test", True, "")
    db.log_telemetry(session_id, "after", telemetry(CELLS_AFTER, current_ma=-12, temps=(24.8, None)))
    db.upsert_device(identity("1.3.0"))
    db.finish_session(session_id, outcome, "1.2.0", "1.3.0")
    return session_id


def populated_db(path: Path) -> tuple[RecordsDb, int]:
    db = RecordsDb.open(path)
    return db, write_update_session(db)

"""Canonical JSON and the JSON shapes of the domain types the history stores.

Canonical JSON (sorted keys, no whitespace, UTF-8, no NaN) is what the audit chain and the backup
checksums hash, so the same content always gives the same bytes, in this program and in any
third-party verifier that follows docs/records.md.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bmsflasher.core.errors import StorageError
from bmsflasher.core.types import Alarm, ConfigSnapshot, PackTelemetry, ParameterValue


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON bytes; raises StorageError for values JSON cannot hold."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StorageError(f"a value cannot be stored in the service history: {exc}") from exc
    return text.encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def utc_now() -> datetime:
    """The current time in UTC (records are stored in UTC and shown in local time)."""
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    """ISO 8601 text with milliseconds, the form timestamps take in the database."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_time(text: str) -> datetime:
    """Inverse of :func:`format_time`."""
    return datetime.fromisoformat(text)


def snapshot_to_json(snapshot: ConfigSnapshot) -> dict[str, Any]:
    """The JSON shape of a configuration backup; non-finite floats are refused, not mangled."""
    for name, value in snapshot.parameters.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise StorageError(f"parameter '{name}' has the non-finite value {value} and cannot be backed up")
    return {"schema_version": snapshot.schema_version, "parameters": dict(snapshot.parameters)}


def snapshot_from_json(data: Mapping[str, Any]) -> ConfigSnapshot:
    """Inverse of :func:`snapshot_to_json`."""
    parameters: dict[str, ParameterValue] = dict(data["parameters"])
    return ConfigSnapshot(schema_version=int(data["schema_version"]), parameters=parameters)


def snapshot_sha256(snapshot: ConfigSnapshot) -> str:
    """The checksum a backup is stored and verified with."""
    return sha256_hex(canonical_json(snapshot_to_json(snapshot)))


def telemetry_to_json(sample: PackTelemetry) -> dict[str, Any]:
    """The JSON shape of one pack snapshot (alarms sorted so the encoding is canonical)."""
    return {
        "timestamp_s": sample.timestamp_s,
        "cell_voltages_mv": list(sample.cell_voltages_mv),
        "balancing": list(sample.balancing),
        "temperatures_c": list(sample.temperatures_c),
        "pack_voltage_mv": sample.pack_voltage_mv,
        "current_ma": sample.current_ma,
        "soc_pct": sample.soc_pct,
        "soh_pct": sample.soh_pct,
        "alarms": sorted(alarm.value for alarm in sample.alarms),
    }


def telemetry_from_json(data: Mapping[str, Any]) -> PackTelemetry:
    """Inverse of :func:`telemetry_to_json`."""
    return PackTelemetry(
        timestamp_s=float(data["timestamp_s"]),
        cell_voltages_mv=tuple(int(v) for v in data["cell_voltages_mv"]),
        balancing=tuple(bool(v) for v in data["balancing"]),
        temperatures_c=tuple(None if v is None else float(v) for v in data["temperatures_c"]),
        pack_voltage_mv=int(data["pack_voltage_mv"]),
        current_ma=int(data["current_ma"]),
        soc_pct=float(data["soc_pct"]),
        soh_pct=float(data["soh_pct"]),
        alarms=frozenset(Alarm(v) for v in data["alarms"]),
    )

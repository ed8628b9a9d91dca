"""Files 3–7 of the vendor block: the device's configuration, schema, trouble codes, self-test and keys.

JSON in the shapes ``docs/protocols/modbus.md`` publishes (the SMP BMS group's shapes, so a
technician reading either sees the same fields). A file whose content the device cannot give in its
current mode (the configuration while only recovery runs) is empty: the directory lists length 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from bmsflasher.core.types import DeviceSelfTest
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimModeError
from bmsflasher.sim.modbus.vendor_map import File


def to_json(value: object) -> bytes:
    """Compact UTF-8 JSON (what a module with a small RAM would send)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _or_empty(build: Callable[[], object]) -> bytes:
    try:
        return to_json(build())
    except SimModeError:
        return b""


def configuration(device: VirtualBms) -> bytes:
    """File 3: ``{"schema_version", "parameters": {name: value}}`` (the values in effect)."""

    def build() -> dict[str, Any]:
        snapshot = device.config()
        return {"schema_version": snapshot.schema_version, "parameters": dict(snapshot.parameters)}

    return _or_empty(build)


def schema(device: VirtualBms) -> bytes:
    """File 4: ``{"schema_version", "params": [{name, type, unit, min?, max?, writable, ...}]}``."""

    def build() -> dict[str, Any]:
        params = []
        for spec in device.config_schema().values():
            entry: dict[str, Any] = {
                "name": spec.name,
                "type": spec.kind.__name__,
                "unit": spec.unit,
                "writable": spec.writable,
                "description": spec.description,
            }
            if spec.minimum is not None:
                entry["min"] = spec.minimum
            if spec.maximum is not None:
                entry["max"] = spec.maximum
            if spec.choices:
                entry["choices"] = list(spec.choices)
            params.append(entry)
        return {"schema_version": device.config().schema_version, "params": params}

    return _or_empty(build)


def trouble_codes(device: VirtualBms) -> bytes:
    """File 5: ``[{code, status, severity, description}]``."""
    return _or_empty(
        lambda: [
            {"code": d.code, "status": d.status, "severity": d.severity.value, "description": d.description}
            for d in device.dtcs()
        ]
    )


def self_test(result: DeviceSelfTest) -> bytes:
    """File 6: ``{passed, checks: [{name, passed, measured, limit, detail}]}``."""
    return to_json(
        {
            "passed": result.passed,
            "checks": [
                {
                    "name": c.name,
                    "passed": c.passed,
                    "measured": c.measured,
                    "limit": c.limit,
                    "detail": c.detail,
                }
                for c in result.checks
            ],
        }
    )


def trusted_keys(device: VirtualBms) -> bytes:
    """File 7: 32 bytes per trusted key hash; empty when the bootloader cannot tell."""
    return b"".join(device.trusted_key_hashes() or ())


def snapshot(device: VirtualBms, last_self_test: bytes) -> dict[File, bytes]:
    """Files 3–7 as they are now (a directory read takes one)."""
    return {
        File.CONFIG: configuration(device),
        File.SCHEMA: schema(device),
        File.DTCS: trouble_codes(device),
        File.SELF_TEST: last_self_test,
        File.TRUSTED_KEYS: trusted_keys(device),
    }

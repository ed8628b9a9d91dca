"""The JSON shapes of the core types, written once for every place that prints or stores them.

``--json`` output, the service history and the resume journal all describe the same devices,
samples and trouble codes; when each wrote its own shape they drifted (two telemetry encoders, two
trouble-code shapes). The shapes here are a public contract: scripts parse ``info --json`` and the
history database holds years of samples, so a key never changes name or meaning (the keys of
``info --json`` are listed in docs/update-procedure.md).

Each ``*_to_json`` returns plain dicts, lists, strings, numbers, booleans and None; each
``*_from_json`` is its exact inverse (``from_json(json.loads(json.dumps(to_json(x)))) == x``).
Units stay in the key names, as in the types.

One documented difference: a trouble code's ``code`` is the six hex digits workshop tools print
(``"00A1B2"``) in :func:`dtc_to_json`, and the number the device sent in
:func:`dtc_to_record_json` (what the resume journal has always stored); :func:`dtc_from_json`
reads both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bmsflasher.core.types import (
    Alarm,
    CanAddressing,
    ConfigSnapshot,
    DeviceIdentity,
    DeviceMode,
    Dtc,
    DtcSeverity,
    FirmwareVersion,
    LinkSettings,
    PackTelemetry,
    ParameterValue,
    SlotState,
)

JsonObject = dict[str, Any]
"""A JSON object as ``json.loads`` returns it."""


# --- versions ---------------------------------------------------------------------------------------------
def version_to_json(version: FirmwareVersion | None) -> str | None:
    """``"1.2.3"`` or ``"1.2.3+4"``; None when the device has no version there (empty slot)."""
    return None if version is None else str(version)


def version_from_json(text: str | None) -> FirmwareVersion | None:
    """Inverse of :func:`version_to_json`."""
    return None if text is None else FirmwareVersion.parse(text)


# --- identity and slots ---------------------------------------------------------------------------------
def slot_to_json(slot: SlotState) -> JsonObject:
    """One image slot: number, version, image hash (hex) and the MCUboot state flags."""
    return {
        "slot": slot.slot,
        "version": version_to_json(slot.version),
        "hash": slot.image_hash.hex(),
        "bootable": slot.bootable,
        "pending": slot.pending,
        "confirmed": slot.confirmed,
        "active": slot.active,
        "permanent": slot.permanent,
    }


def slot_from_json(data: Mapping[str, Any]) -> SlotState:
    """Inverse of :func:`slot_to_json`."""
    return SlotState(
        slot=int(data["slot"]),
        version=version_from_json(data["version"]),
        image_hash=bytes.fromhex(data["hash"]),
        bootable=bool(data["bootable"]),
        pending=bool(data["pending"]),
        confirmed=bool(data["confirmed"]),
        active=bool(data["active"]),
        permanent=bool(data["permanent"]),
    )


def identity_to_json(identity: DeviceIdentity) -> JsonObject:
    """What ``info --json`` prints about the device (the CLI adds ``protocol`` and ``link``)."""
    return {
        "model": identity.model,
        "serial_number": identity.serial_number,
        "hardware_revision": identity.hardware_revision,
        "firmware_version": version_to_json(identity.firmware_version),
        "bootloader_version": version_to_json(identity.bootloader_version),
        "mode": identity.mode.value,
        "security_counter": identity.security_counter,
        "slots": [slot_to_json(slot) for slot in identity.slots],
    }


def identity_from_json(data: Mapping[str, Any]) -> DeviceIdentity:
    """Inverse of :func:`identity_to_json` (extra keys such as ``protocol`` are ignored)."""
    return DeviceIdentity(
        model=str(data["model"]),
        serial_number=str(data["serial_number"]),
        hardware_revision=str(data["hardware_revision"]),
        firmware_version=version_from_json(data["firmware_version"]),
        bootloader_version=version_from_json(data["bootloader_version"]),
        mode=DeviceMode(data["mode"]),
        slots=tuple(slot_from_json(slot) for slot in data["slots"]),
        security_counter=int(data["security_counter"]),
    )


# --- telemetry ------------------------------------------------------------------------------------------
def telemetry_to_json(sample: PackTelemetry) -> JsonObject:
    """One pack snapshot (alarms sorted, so the stored encoding is canonical)."""
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


# --- trouble codes --------------------------------------------------------------------------------------
def dtc_to_json(dtc: Dtc) -> JsonObject:
    """A trouble code as people read it: ``code`` as 6 hex digits, as workshop tools print it."""
    return {
        "code": dtc.code_text,
        "status": dtc.status,
        "severity": dtc.severity.value,
        "description": dtc.description,
    }


def dtc_to_record_json(dtc: Dtc) -> JsonObject:
    """:func:`dtc_to_json` with ``code`` as the number the device sent (the resume journal's shape)."""
    return {**dtc_to_json(dtc), "code": dtc.code}


def dtc_from_json(data: Mapping[str, Any]) -> Dtc:
    """Inverse of :func:`dtc_to_json` and of :func:`dtc_to_record_json`."""
    code = data["code"]
    return Dtc(
        code=int(code, 16) if isinstance(code, str) else int(code),
        status=int(data["status"]),
        severity=DtcSeverity(data["severity"]),
        description=str(data["description"]),
    )


# --- configuration --------------------------------------------------------------------------------------
def snapshot_to_json(snapshot: ConfigSnapshot) -> JsonObject:
    """The configuration: schema version and every parameter by name (what backups store)."""
    return {"schema_version": snapshot.schema_version, "parameters": dict(snapshot.parameters)}


def snapshot_from_json(data: Mapping[str, Any]) -> ConfigSnapshot:
    """Inverse of :func:`snapshot_to_json`."""
    parameters: dict[str, ParameterValue] = dict(data["parameters"])
    return ConfigSnapshot(schema_version=int(data["schema_version"]), parameters=parameters)


# --- links ----------------------------------------------------------------------------------------------
def link_to_json(link: LinkSettings) -> JsonObject:
    """How to reach the device; a serial link names only its port and rate (``scan --json``).

    A Modbus module names its unit address and either its RS485 line or its gateway (``tcp``).
    """
    if link.kind == "serial":
        return {"kind": "serial", "port": link.port, "baud": link.baud}
    if link.kind == "modbus":
        return {
            "kind": "modbus",
            "port": link.port,
            "baud": link.baud,
            "parity": link.parity,
            "stopbits": link.stopbits,
            "address": link.address,
            "tcp": link.tcp,
        }
    return {
        "kind": link.kind,
        "interface": link.interface,
        "channel": link.channel,
        "bitrate": link.bitrate,
        "data_bitrate": link.data_bitrate,
        "node": link.node,
        "fd": link.fd,
        "addressing": link.addressing.value,
        "tester_address": link.tester_address,
    }


def link_from_json(data: Mapping[str, Any]) -> LinkSettings:
    """Inverse of :func:`link_to_json` (the fields a serial link leaves out keep their defaults)."""
    if data["kind"] == "serial":
        return LinkSettings(kind="serial", port=str(data["port"]), baud=int(data["baud"]))
    if data["kind"] == "modbus":
        return LinkSettings(
            kind="modbus",
            port=str(data["port"]),
            baud=int(data["baud"]),
            parity=str(data["parity"]),
            stopbits=int(data["stopbits"]),
            address=int(data["address"]),
            tcp=str(data["tcp"]),
        )
    return LinkSettings(
        kind=str(data["kind"]),
        interface=str(data["interface"]),
        channel=str(data["channel"]),
        bitrate=int(data["bitrate"]),
        data_bitrate=int(data["data_bitrate"]),
        node=int(data["node"]),
        fd=bool(data["fd"]),
        addressing=CanAddressing(data["addressing"]),
        tester_address=int(data["tester_address"]),
    )

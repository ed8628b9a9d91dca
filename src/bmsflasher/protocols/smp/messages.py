"""Builders for the requests the tool sends, and parsers for what comes back.

Standard requests use the ``smp`` package's models (so they are byte-for-byte what the
specification and smpclient produce); BMS-group requests use :func:`codec.encode_message`.
Every builder takes the sequence number last so sessions can retransmit with a fresh one.
Parsers turn CBOR maps into the project's domain types and raise MalformedResponseError for
answers that do not fit, never KeyError/TypeError.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import cbor2
from smp import header as smphdr
from smp.image_management import ImageStatesReadRequest, ImageStatesWriteRequest
from smp.os_management import (
    BootloaderInformationReadRequest,
    EchoWriteRequest,
    MCUMgrParametersReadRequest,
    ResetWriteRequest,
)
from smp.settings_management import (
    CommitSettingsRequest,
    ReadSettingRequest,
    SaveSettingsRequest,
    WriteSettingRequest,
)

from bmsflasher.core.config_schema import PARAMETER_KINDS, ParameterSpec
from bmsflasher.core.errors import MalformedResponseError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import (
    Alarm,
    DeviceMode,
    DeviceSelfTest,
    Dtc,
    DtcSeverity,
    FirmwareVersion,
    PackTelemetry,
    ParameterValue,
    SelfTestCheck,
    SlotState,
)
from bmsflasher.protocols.smp.codec import BMS_GROUP_ID, BmsCommand, encode_message

SETTINGS_PREFIX: Final = "bms/"
"""Configuration parameters live under this settings subtree (``bms/<parameter>``)."""

KEY_HASHES_QUERY: Final = "key_hashes"
"""The vendor's bootloader-information query (and answer field) for the keys its bootloader trusts."""

_VERSION_RE: Final = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:[.+](\d+))?$")


# --- standard groups (smp models) -------------------------------------------------------------------
def echo(text: str, sequence: int) -> bytes:
    """OS echo (write, command 0): a round trip that changes nothing."""
    return bytes(EchoWriteRequest(d=text, sequence=sequence).BYTES)


def mcumgr_params(sequence: int) -> bytes:
    """OS MCUmgr parameters (read, command 6): the device's ``buf_size`` and ``buf_count``."""
    return bytes(MCUMgrParametersReadRequest(sequence=sequence).BYTES)


def bootloader_info(sequence: int, query: str | None = None) -> bytes:
    """OS bootloader information (read, command 8); ``query="mode"`` asks MCUboot its mode."""
    if query is None:
        return bytes(BootloaderInformationReadRequest(sequence=sequence).BYTES)
    return bytes(BootloaderInformationReadRequest(query=query, sequence=sequence).BYTES)


def trusted_keys(sequence: int) -> bytes:
    """OS bootloader information with the vendor query ``key_hashes``: the keys the bootloader trusts."""
    return bootloader_info(sequence, KEY_HASHES_QUERY)


def reset(sequence: int) -> bytes:
    """OS reset (write, command 5): the device answers, then reboots."""
    return bytes(ResetWriteRequest(sequence=sequence).BYTES)


def image_state_read(sequence: int) -> bytes:
    """Image state (read, command 0): every slot with version, hash and flags."""
    return bytes(ImageStatesReadRequest(sequence=sequence).BYTES)


def image_state_write(image_hash: bytes | None, confirm: bool, sequence: int) -> bytes:
    """Image state (write, command 0): test (``confirm`` False) or make permanent."""
    if image_hash is None:
        return bytes(ImageStatesWriteRequest(confirm=confirm, sequence=sequence).BYTES)
    return bytes(ImageStatesWriteRequest(hash=image_hash, confirm=confirm, sequence=sequence).BYTES)


def setting_read(name: str, sequence: int) -> bytes:
    """Settings read (read, command 0) of one key."""
    return bytes(ReadSettingRequest(name=name, sequence=sequence).BYTES)


def setting_write(name: str, value: bytes, sequence: int) -> bytes:
    """Settings write (write, command 0): stage one key's value."""
    return bytes(WriteSettingRequest(name=name, val=value, sequence=sequence).BYTES)


def settings_commit(sequence: int) -> bytes:
    """Settings commit (write, command 2): apply staged values."""
    return bytes(CommitSettingsRequest(sequence=sequence).BYTES)


def settings_save(sequence: int) -> bytes:
    """Settings save (write, command 3): persist to flash."""
    return bytes(SaveSettingsRequest(sequence=sequence).BYTES)


# --- the BMS group ----------------------------------------------------------------------------------
def bms_read(command: BmsCommand, sequence: int, body: Mapping[str, Any] | None = None) -> bytes:
    """A read request of the BMS vendor group (``body`` selects a page where the command pages)."""
    return encode_message(smphdr.OP.READ, BMS_GROUP_ID, command, sequence, dict(body or {}))


def bms_write(command: BmsCommand, body: Mapping[str, Any], sequence: int) -> bytes:
    """A write request of the BMS vendor group."""
    return encode_message(smphdr.OP.WRITE, BMS_GROUP_ID, command, sequence, body)


# --- parsing ----------------------------------------------------------------------------------------
def _field(body: Mapping[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> Any:
    value = body.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedResponseError(
            t("The device's {what} answer lacks a valid '{name}' field.", what=what, name=name)
        )
    return value


def _list(body: Mapping[str, Any], name: str, what: str) -> Sequence[Any]:
    value = body.get(name)
    if not isinstance(value, list):
        raise MalformedResponseError(
            t("The device's {what} answer lacks a valid '{name}' list.", what=what, name=name)
        )
    return value


def parse_version(text: object) -> FirmwareVersion | None:
    """Parse a version as SMP devices report it: ``1.2.3``, Zephyr's ``1.2.3.4`` or ``1.2.3+4``."""
    if not isinstance(text, str):
        return None
    match = _VERSION_RE.match(text.strip())
    if match is None:
        return None
    major, minor, revision, build = match.groups()
    try:
        return FirmwareVersion(int(major), int(minor), int(revision), int(build or 0))
    except ValueError:
        return None


def parse_slots(body: Mapping[str, Any]) -> tuple[SlotState, ...]:
    """Slots of image 0 from an image-state answer, ordered by slot number."""
    slots: list[SlotState] = []
    for entry in _list(body, "images", t("image state")):
        if not isinstance(entry, dict) or entry.get("image", 0) != 0:
            continue
        slot = entry.get("slot")
        if not isinstance(slot, int):
            raise MalformedResponseError(t("The device's image state answer has an entry without a slot."))
        image_hash = entry.get("hash", b"")
        slots.append(
            SlotState(
                slot=slot,
                version=parse_version(entry.get("version")),
                image_hash=bytes(image_hash) if isinstance(image_hash, bytes) else b"",
                bootable=entry.get("bootable") is True,
                pending=entry.get("pending") is True,
                confirmed=entry.get("confirmed") is True,
                active=entry.get("active") is True,
                permanent=entry.get("permanent") is True,
            )
        )
    return tuple(sorted(slots, key=lambda s: s.slot))


def parse_key_hashes(body: Mapping[str, Any]) -> tuple[bytes, ...]:
    """The ``key_hashes`` answer: SHA-256 of each public key the bootloader trusts (byte strings)."""
    hashes = body.get(KEY_HASHES_QUERY)
    if not isinstance(hashes, list) or not all(isinstance(h, bytes) for h in hashes):
        raise MalformedResponseError(
            t("The device's bootloader information does not list its trusted keys as byte strings.")
        )
    return tuple(hashes)


def parse_mode(text: object) -> DeviceMode:
    """The device mode named in an identity answer."""
    try:
        return DeviceMode(text)
    except ValueError as exc:
        raise MalformedResponseError(
            t("The device reports an unknown mode {mode}.", mode=repr(text))
        ) from exc


def parse_telemetry(body: Mapping[str, Any]) -> PackTelemetry:
    """A telemetry answer as a :class:`PackTelemetry`."""
    what = t("telemetry")
    alarms: set[Alarm] = set()
    for name in _list(body, "alarms", what):
        try:
            alarms.add(Alarm(name))
        except ValueError:
            continue  # an alarm this tool version does not know: ignored, not fatal
    temps = tuple(None if t is None else float(t) for t in _list(body, "temps_c", what))
    return PackTelemetry(
        timestamp_s=float(_field(body, "t_s", (int, float), what)),
        cell_voltages_mv=tuple(int(v) for v in _list(body, "cells_mv", what)),
        balancing=tuple(bool(b) for b in _list(body, "balancing", what)),
        temperatures_c=temps,
        pack_voltage_mv=int(_field(body, "pack_mv", int, what)),
        current_ma=int(_field(body, "current_ma", int, what)),
        soc_pct=float(_field(body, "soc_pct", (int, float), what)),
        soh_pct=float(_field(body, "soh_pct", (int, float), what)),
        alarms=frozenset(alarms),
    )


def parse_dtcs(body: Mapping[str, Any]) -> list[Dtc]:
    """A DTC list answer."""
    dtcs: list[Dtc] = []
    what = t("DTC")
    for entry in _list(body, "dtcs", what):
        if not isinstance(entry, dict):
            raise MalformedResponseError(t("The device's DTC list holds an entry that is not a map."))
        try:
            severity = DtcSeverity(entry.get("severity", "info"))
        except ValueError:
            severity = DtcSeverity.WARNING
        dtcs.append(
            Dtc(
                code=int(_field(entry, "code", int, what)),
                status=int(_field(entry, "status", int, what)),
                severity=severity,
                description=str(entry.get("description", "")),
            )
        )
    return dtcs


def parse_self_test(body: Mapping[str, Any]) -> DeviceSelfTest:
    """A self-test answer."""
    checks: list[SelfTestCheck] = []
    what = t("self-test")
    for entry in _list(body, "checks", what):
        if not isinstance(entry, dict):
            raise MalformedResponseError(t("The device's self-test answer holds an entry that is not a map."))
        checks.append(
            SelfTestCheck(
                name=str(_field(entry, "name", str, what)),
                passed=bool(_field(entry, "passed", bool, what)),
                measured=str(entry.get("measured", "")),
                limit=str(entry.get("limit", "")),
                detail=str(entry.get("detail", "")),
            )
        )
    return DeviceSelfTest(tuple(checks))


def _bound(value: object) -> float | None:
    """A schema limit: a number, or None when absent (a flag is not a number)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def parse_parameter_spec(entry: Mapping[str, Any]) -> ParameterSpec:
    """One entry of the BMS group's configuration schema as a :class:`ParameterSpec`.

    The entry holds ``name``, ``type``, ``unit``, ``min``, ``max``, ``choices``, ``writable`` and
    ``description``. Optional fields a device leaves out take their neutral value; an unknown
    ``type`` is refused (the value could not be checked against anything).
    """
    name = str(entry.get("name", ""))
    kind = PARAMETER_KINDS.get(str(entry.get("type")))
    if kind is None:
        raise MalformedResponseError(
            t(
                "The device's configuration schema gives the parameter {name} the unknown type {kind}.",
                name=name,
                kind=ascii(entry.get("type")),
            )
        )
    unit, description, choices = entry.get("unit", ""), entry.get("description", ""), entry.get("choices", ())
    return ParameterSpec(
        name=name,
        kind=kind,
        unit=unit if isinstance(unit, str) else "",
        minimum=_bound(entry.get("min")),
        maximum=_bound(entry.get("max")),
        choices=tuple(choices) if isinstance(choices, list | tuple) else (),
        writable=entry.get("writable") is not False,
        description=description if isinstance(description, str) else "",
    )


def encode_setting_value(value: ParameterValue) -> bytes:
    """A parameter value as the settings ``val`` bytes: CBOR, so the type survives the round trip."""
    return cbor2.dumps(value)


def decode_setting_value(name: str, raw: object) -> ParameterValue:
    """Decode a setting's ``val`` bytes (CBOR) into a parameter value."""
    if not isinstance(raw, bytes):
        raise MalformedResponseError(
            t("The device's value of setting {name} is not a byte string.", name=name)
        )
    try:
        value = cbor2.loads(raw)
    except (cbor2.CBORDecodeError, ValueError) as exc:
        raise MalformedResponseError(
            t("The device's value of setting {name} is not valid CBOR.", name=name)
        ) from exc
    if not isinstance(value, int | float | str | bool):
        raise MalformedResponseError(
            t("The device's value of setting {name} has an unsupported type.", name=name)
        )
    return value

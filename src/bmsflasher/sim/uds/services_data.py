"""Data transmission and stored data transmission: 0x22/0x2E data identifiers, 0x19/0x14 DTCs.

The data identifiers are the device's identification (0xF180–0xF19F, ISO 14229-1 Annex C), its
own records (mode, slots, transport, telemetry, configuration schema, self-test; specified in
``docs/protocols/uds.md``, encoded by ``sim/uds/codec.py``) and one DID per configuration
parameter from 0xFE00. The bootloader serves only the identification and programming DIDs.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.types import DeviceIdentity, DeviceSelfTest, Dtc
from bmsflasher.sim.uds import codec
from bmsflasher.sim.uds.device_calls import DeviceCalls
from bmsflasher.sim.uds.nrc import (
    NRC_CONDITIONS_NOT_CORRECT,
    NRC_INCORRECT_LENGTH,
    NRC_REQUEST_OUT_OF_RANGE,
    NRC_RESPONSE_TOO_LONG,
    NRC_SECURITY_ACCESS_DENIED,
    NRC_SUBFUNCTION_NOT_SUPPORTED,
    NegativeResponse,
    need_length,
)
from bmsflasher.sim.uds.server_config import UdsServerConfig
from bmsflasher.sim.uds.services_auth import may_write_parameter
from bmsflasher.sim.uds.services_session import SessionState
from bmsflasher.sim.uds.transfer import SUPPORTED_COMPRESSION

#: The data identifiers the bootloader (and recovery) serves; every other one is left out there.
BOOTLOADER_DIDS: Final = frozenset(
    {
        codec.DID_BOOT_SOFTWARE_ID,
        codec.DID_ACTIVE_SESSION,
        codec.DID_SPARE_PART_NUMBER,
        codec.DID_SUPPLIER_ID,
        codec.DID_SERIAL_NUMBER,
        codec.DID_SOFTWARE_VERSION,
        codec.DID_HARDWARE_NUMBER,
        codec.DID_SUPPLIER_HARDWARE_VERSION,
        codec.DID_SUPPLIER_SOFTWARE_VERSION,
        codec.DID_SYSTEM_NAME,
        codec.DID_DEVICE_MODE,
        codec.DID_SECURITY_COUNTER,
        codec.DID_SLOTS,
        codec.DID_TRANSPORT,
        codec.DID_COMPRESSION,
        codec.DID_UPLOAD_STATUS,
        codec.DID_TRUSTED_KEYS,
    }
)
#: DTCStatusAvailabilityMask: every status bit is supported.
_STATUS_AVAILABILITY: Final = 0xFF


class DataServices:
    """The handlers of 0x22, 0x2E, 0x19 and 0x14.

    Args:
        session: the session state (DID 0xF186 reports the session; writes need security access).
        calls: the device.
        config: the transport parameters DID 0xFD03 reports, the longest response allowed.
        last_self_test: the result of the last self-test routine, if one ran since the last reset.
    """

    def __init__(
        self,
        session: SessionState,
        calls: DeviceCalls,
        config: UdsServerConfig,
        last_self_test: Callable[[], DeviceSelfTest | None],
    ) -> None:
        self._session = session
        self._calls = calls
        self._device = calls.device
        self._config = config
        self._last_self_test = last_self_test

    # --- 0x22 ReadDataByIdentifier -------------------------------------------------------------
    def read_dids(self, request: bytes) -> bytes:
        """ReadDataByIdentifier of one or more DIDs.

        ISO 14229-1: DIDs the server does not support (in this session or mode) are left out
        of the answer; NRC 0x31 only when none of the requested DIDs is supported.
        """
        if len(request) < 3 or (len(request) - 1) % 2:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        out = bytearray([0x62])
        supported = 0
        for index in range(1, len(request), 2):
            did = (request[index] << 8) | request[index + 1]
            try:
                record = self._read_did(did)
            except NegativeResponse as exc:
                if exc.nrc != NRC_REQUEST_OUT_OF_RANGE:
                    raise
                continue
            supported += 1
            out += did.to_bytes(2, "big") + record
        if not supported:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        if len(out) > self._config.max_block_length:
            raise NegativeResponse(NRC_RESPONSE_TOO_LONG)
        return bytes(out)

    def _read_did(self, did: int) -> bytes:
        if self._calls.bootloader_only and did not in BOOTLOADER_DIDS:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        device = self._device
        if 0xF180 <= did <= 0xF19F:
            return self._identity_did(did)
        simple: dict[int, Callable[[], bytes]] = {
            codec.DID_DEVICE_MODE: lambda: bytes([codec.MODE_CODES[device.mode]]),
            codec.DID_SECURITY_COUNTER: lambda: struct.pack(">I", device.identity().security_counter),
            codec.DID_SLOTS: lambda: codec.encode_slots(device.slots()),
            codec.DID_TRANSPORT: self._transport_caps,
            codec.DID_COMPRESSION: lambda: bytes([sum(1 << m for m in SUPPORTED_COMPRESSION)]),
            codec.DID_UPLOAD_STATUS: self._upload_status,
            codec.DID_TRUSTED_KEYS: self._trusted_keys,
            codec.DID_PACK: lambda: codec.encode_pack(device.telemetry()),
            codec.DID_CELLS: lambda: codec.encode_cells(device.telemetry()),
            codec.DID_TEMPERATURES: lambda: codec.encode_temperatures(device.telemetry()),
            codec.DID_BALANCING: lambda: codec.encode_balancing(device.telemetry()),
            codec.DID_ALARMS: lambda: codec.encode_alarms(device.telemetry()),
            codec.DID_CONFIG_SCHEMA: self._config_schema,
            codec.DID_CONFIG_CHOICES: self._config_choices,
            codec.DID_DTC_TEXTS: lambda: codec.encode_dtc_texts(device.dtcs()),
            codec.DID_SELF_TEST: self._self_test_record,
        }
        if did in simple:
            return bytes(self._calls.call(simple[did]))
        # A device may serve records of its own (a pack node's inter-node counters, DID 0xFD50).
        extra: Callable[[], Mapping[int, Callable[[], bytes]]] | None = getattr(device, "extra_dids", None)
        if extra is not None and did in (readers := extra()):
            return bytes(self._calls.call(readers[did]))
        if codec.DID_CONFIG_BASE <= did < codec.DID_CONFIG_BASE + codec.CONFIG_DID_LIMIT:
            name, kind = self._config_param(did)
            value = self._calls.call(device.config).parameters[name]
            return codec.encode_param(kind, value)
        raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)

    def _identity_did(self, did: int) -> bytes:
        if did == codec.DID_ACTIVE_SESSION:
            return bytes([self._session.session])
        ident: DeviceIdentity = self._calls.call(self._device.identity)
        firmware = str(ident.firmware_version) if ident.firmware_version else ""
        bootloader = str(ident.bootloader_version) if ident.bootloader_version else ""
        table = {
            codec.DID_BOOT_SOFTWARE_ID: bootloader,
            codec.DID_SPARE_PART_NUMBER: ident.model,
            codec.DID_SUPPLIER_ID: codec.SUPPLIER_NAME,
            codec.DID_SERIAL_NUMBER: ident.serial_number,
            codec.DID_SOFTWARE_VERSION: firmware,
            codec.DID_HARDWARE_NUMBER: ident.hardware_revision,
            codec.DID_SUPPLIER_HARDWARE_VERSION: ident.hardware_revision,
            codec.DID_SUPPLIER_SOFTWARE_VERSION: firmware,
            codec.DID_SYSTEM_NAME: ident.model,
        }
        if did not in table:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        return codec.ascii_field(table[did])

    def _transport_caps(self) -> bytes:
        cfg = self._config
        return codec.TransportCaps(
            fd=cfg.fd,
            max_data_length=64 if cfg.fd else 8,
            block_size=cfg.block_size,
            stmin=cfg.stmin,
            max_block_length=cfg.max_block_length,
        ).encode()

    def _trusted_keys(self) -> bytes:
        """DID 0xFD06, or NRC 0x31 from a bootloader that cannot tell (as if the DID did not exist)."""
        hashes = self._device.trusted_key_hashes()
        if hashes is None:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        return codec.encode_trusted_keys(hashes)

    def _upload_status(self) -> bytes:
        status = self._device.upload_status()
        return codec.encode_upload_status(
            status.slot, status.offset, status.total, bytes(status.image_sha256)
        )

    def _self_test_record(self) -> bytes:
        result = self._last_self_test()
        if result is None:
            raise NegativeResponse(NRC_CONDITIONS_NOT_CORRECT)
        return codec.encode_self_test(result)

    def _config_schema(self) -> bytes:
        schema = self._device.config_schema()
        snapshot = self._device.config()
        return codec.encode_config_schema(
            snapshot.schema_version, list(schema.keys()), schema, snapshot.parameters
        )

    def _config_choices(self) -> bytes:
        schema = self._device.config_schema()
        snapshot = self._device.config()
        return codec.encode_config_choices(list(schema.keys()), schema, snapshot.parameters)

    def _config_param(self, did: int) -> tuple[str, type]:
        schema = self._calls.call(self._device.config_schema)
        names = list(schema.keys())
        index = did - codec.DID_CONFIG_BASE
        if index >= len(names):
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        name = names[index]
        current = self._calls.call(self._device.config).parameters.get(name)
        return name, codec.param_type_of(schema[name], current)

    # --- 0x2E WriteDataByIdentifier ------------------------------------------------------------
    def write_did(self, request: bytes) -> bytes:
        # ISO 14229-1 order: length, DID writable here (0x31), security (0x33), record
        # length (0x13), record value (0x31). The session (0x7F) is checked by the rules table.
        need_length(request, minimum=4)
        did = (request[1] << 8) | request[2]
        if not codec.DID_CONFIG_BASE <= did < codec.DID_CONFIG_BASE + codec.CONFIG_DID_LIMIT:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        name, kind = self._config_param(did)
        schema = self._calls.call(self._device.config_schema)
        if not bool(getattr(schema[name], "writable", True)):
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        self._session.need_unlocked()
        if not may_write_parameter(self._session, name):
            raise NegativeResponse(NRC_SECURITY_ACCESS_DENIED)  # authenticated, but not for this value
        record = request[3:]
        if kind is bool and len(record) == 1 and record[0] > 1:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)  # right length, value out of range
        try:
            value = codec.decode_param(kind, record)
        except (ValueError, UnicodeDecodeError) as exc:
            raise NegativeResponse(NRC_INCORRECT_LENGTH) from exc
        try:
            self._calls.call(lambda: self._device.set_parameters({name: value}))
        except BmsFlasherError as exc:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE) from exc
        return bytes([0x6E]) + request[1:3]

    # --- 0x19 ReadDTCInformation ---------------------------------------------------------------
    def read_dtcs(self, request: bytes) -> bytes:
        kind = request[1]  # report types offered (0x12) are checked by the rules table
        availability = _STATUS_AVAILABILITY
        dtcs: list[Dtc] = self._calls.call(self._device.dtcs)
        if kind == 0x01:  # reportNumberOfDTCByStatusMask
            need_length(request, exact=3)
            count = sum(1 for d in dtcs if d.status & request[2])
            return bytes([0x59, 0x01, availability, 0x01]) + struct.pack(">H", count)
        if kind == 0x02:  # reportDTCByStatusMask
            need_length(request, exact=3)
            records = b"".join(
                d.code.to_bytes(3, "big") + bytes([d.status]) for d in dtcs if d.status & request[2]
            )
            return bytes([0x59, 0x02, availability]) + records
        if kind == 0x0A:  # reportSupportedDTC
            need_length(request, exact=2)
            records = b"".join(d.code.to_bytes(3, "big") + bytes([d.status]) for d in dtcs)
            return bytes([0x59, 0x0A, availability]) + records
        if kind == 0x08:  # reportDTCBySeverityMaskRecord
            need_length(request, exact=4)
            severity_mask, status_mask = request[2], request[3]
            records = b"".join(
                bytes([codec.SEVERITY_BITS[d.severity], 0x00]) + d.code.to_bytes(3, "big") + bytes([d.status])
                for d in dtcs
                if d.status & status_mask and codec.SEVERITY_BITS[d.severity] & severity_mask
            )
            return bytes([0x59, 0x08, availability]) + records
        raise NegativeResponse(NRC_SUBFUNCTION_NOT_SUPPORTED)

    # --- 0x14 ClearDiagnosticInformation -------------------------------------------------------
    def clear_dtcs(self, request: bytes) -> bytes:
        if len(request) not in (4, 5):
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        group = int.from_bytes(request[1:4], "big")
        if group != 0xFFFFFF:
            raise NegativeResponse(NRC_REQUEST_OUT_OF_RANGE)
        self._calls.call(self._device.clear_dtcs)
        return bytes([0x54])

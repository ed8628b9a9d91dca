"""Adapter auto-detection, baud/bitrate alignment and device scan.

The public API, for the CLI, the GUI and the demo::

    from bmsflasher.discovery import ScanRequest, scan

    result = scan(ScanRequest(ports=("/dev/ttyUSB0",), can_channels=("slcan:/dev/ttyACM0",)))
    for device in result.devices:
        print(device.serial_number, device.mode, device.link.describe())

Modules: ``adapters`` (USB ID classification table), ``candidates`` and ``enumerate`` (what can be
probed), ``plan`` (the ordered probe table), ``cache`` (last good setting per adapter),
``smp_handshake``/``serial_probe`` (serial auto-baud), ``uds_discovery``/``can_probe`` (CAN bitrate
and UDS node discovery), ``parallel`` (bounded parallel executor), ``scanner`` (the orchestration),
``results`` (what a scan reports), ``driver_guidance`` (advice from ``drivers/guidance.json`` for
adapters without driver or permission, or held by another program).
"""

from bmsflasher.discovery.adapters import AdapterClass, AdapterKind, classify_usb, load_adapter_table
from bmsflasher.discovery.cache import CachedSetting, ScanCache, default_cache_path
from bmsflasher.discovery.can_probe import CanProbeSettings
from bmsflasher.discovery.candidates import CanCandidate, Candidate, SerialCandidate, UnusableAdapter, UsbInfo
from bmsflasher.discovery.driver_guidance import (
    AdapterFacts,
    DriverGuidance,
    GuidanceTable,
    guidance_for,
    load_guidance,
)
from bmsflasher.discovery.identify import (
    default_can_identifier,
    default_modbus_identifier,
    default_serial_identifier,
)
from bmsflasher.discovery.modbus_probe import DEFAULT_ADDRESSES, ModbusProbeSettings, parse_addresses
from bmsflasher.discovery.plan import DEFAULT_BAUDS, DEFAULT_BITRATES, CanStep, SerialStep, UdsAddressing
from bmsflasher.discovery.results import AdapterReport, AdapterStatus, FoundDevice, ScanResult
from bmsflasher.discovery.scanner import ScanInventory, Scanner, ScanRequest, gather, plan_for, scan
from bmsflasher.discovery.serial_probe import SerialProbeSettings

__all__ = [
    "DEFAULT_ADDRESSES",
    "DEFAULT_BAUDS",
    "DEFAULT_BITRATES",
    "AdapterClass",
    "AdapterFacts",
    "AdapterKind",
    "AdapterReport",
    "AdapterStatus",
    "CachedSetting",
    "CanCandidate",
    "CanProbeSettings",
    "CanStep",
    "Candidate",
    "DriverGuidance",
    "FoundDevice",
    "GuidanceTable",
    "ModbusProbeSettings",
    "ScanCache",
    "ScanInventory",
    "ScanRequest",
    "ScanResult",
    "Scanner",
    "SerialCandidate",
    "SerialProbeSettings",
    "SerialStep",
    "UdsAddressing",
    "UnusableAdapter",
    "UsbInfo",
    "classify_usb",
    "default_cache_path",
    "default_can_identifier",
    "default_modbus_identifier",
    "default_serial_identifier",
    "gather",
    "guidance_for",
    "load_adapter_table",
    "load_guidance",
    "parse_addresses",
    "plan_for",
    "scan",
]

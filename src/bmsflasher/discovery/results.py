"""What a scan reports: devices found (by identity, not port) and a plain verdict per adapter.

Every adapter gets exactly one :class:`AdapterReport`, including the ones that could not be used,
so the technician reads "port busy", "permission denied" or "answers garbage" instead of an empty
list.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from bmsflasher.core.serialise import link_to_json
from bmsflasher.core.types import DeviceIdentity, DeviceMode, LinkSettings
from bmsflasher.discovery.driver_guidance import DriverGuidance


class AdapterStatus(enum.Enum):
    """The verdict on one adapter."""

    FOUND = "found"  # at least one device confirmed by a protocol handshake
    NO_DEVICE = "no_device"  # the adapter works, nothing answered at any setting
    GARBAGE = "garbage"  # bytes or frames arrived, but never a valid protocol answer
    BUSY = "busy"  # another program holds the port: not touched
    PERMISSION = "permission"  # the OS refused access
    NO_DRIVER = "no_driver"  # plugged in but its driver / library / interface is missing
    NOT_FOUND = "not_found"  # the named port does not exist
    TIMED_OUT = "timed_out"  # the scan's time budget ran out before the plan finished
    ERROR = "error"  # any other link failure, with its message


@dataclass(frozen=True, slots=True)
class FoundDevice:
    """One device found by the scan.

    Attributes:
        identity: who it is (serial number, model, versions); None when it answered the handshake
            but identification failed (``identify_error`` says why).
        link: how to open it again.
        protocol: ``"smp"`` or ``"uds"``.
        mode: application, bootloader or recovery.
        adapter_key: the cache key of the adapter it sits behind.
        round_trip_s: duration of the confirming handshake.
    """

    identity: DeviceIdentity | None
    link: LinkSettings
    protocol: str
    mode: DeviceMode
    adapter_key: str
    round_trip_s: float = 0.0
    identify_error: str = ""

    @property
    def serial_number(self) -> str:
        """The device's serial number, or an empty string when identification failed."""
        return self.identity.serial_number if self.identity else ""

    def to_json(self) -> dict[str, Any]:
        identity = self.identity
        return {
            "serial_number": self.serial_number,
            "model": identity.model if identity else "",
            "hardware_revision": identity.hardware_revision if identity else "",
            "firmware_version": str(identity.firmware_version)
            if identity and identity.firmware_version
            else None,
            "bootloader_version": (
                str(identity.bootloader_version) if identity and identity.bootloader_version else None
            ),
            "protocol": self.protocol,
            "mode": self.mode.value,
            "link": link_to_json(self.link),
            "link_text": self.link.describe(),
            "adapter_key": self.adapter_key,
            "round_trip_s": round(self.round_trip_s, 4),
            "identify_error": self.identify_error,
        }


@dataclass(frozen=True, slots=True)
class AdapterReport:
    """The outcome on one adapter (serial port or CAN channel).

    Attributes:
        label: the port path, URL or ``interface:channel``.
        adapter_name: what the adapter is (from the classification table).
        key: the adapter's cache key.
        status: the verdict.
        message: one English sentence for the technician.
        hint: what to do next, when there is something to do.
        devices: devices found behind this adapter.
        attempts: probe steps run.
        elapsed_s: time spent on this adapter.
        used_cache: the remembered setting was tried first.
        guidance: driver/permission/busy advice from ``drivers/guidance.json``, when it has some.
    """

    label: str
    adapter_name: str
    key: str
    status: AdapterStatus
    message: str
    hint: str = ""
    devices: tuple[FoundDevice, ...] = ()
    attempts: int = 0
    elapsed_s: float = 0.0
    used_cache: bool = False
    guidance: DriverGuidance | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "adapter": self.label,
            "adapter_name": self.adapter_name,
            "key": self.key,
            "status": self.status.value,
            "message": self.message,
            "hint": self.hint,
            "attempts": self.attempts,
            "elapsed_s": round(self.elapsed_s, 3),
            "used_cache": self.used_cache,
            "devices": [device.to_json() for device in self.devices],
            "guidance": self.guidance.to_json() if self.guidance is not None else None,
        }


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Everything one scan found."""

    reports: tuple[AdapterReport, ...]
    elapsed_s: float
    notes: tuple[str, ...] = field(default=())

    @property
    def devices(self) -> tuple[FoundDevice, ...]:
        """Every device found, across adapters, in report order."""
        return tuple(device for report in self.reports for device in report.devices)

    def to_json(self) -> dict[str, Any]:
        return {
            "elapsed_s": round(self.elapsed_s, 3),
            "devices": [device.to_json() for device in self.devices],
            "adapters": [report.to_json() for report in self.reports],
            "notes": list(self.notes),
        }

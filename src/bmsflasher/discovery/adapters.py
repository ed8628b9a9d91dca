"""Classify USB adapters by vendor and product ID using the shipped table ``resources/adapters``.

The table is data, not code, so a support engineer can add the adapter a customer's van holds
without a release. Classification decides how a port is probed: a CH340 RS485 stick gets SMP
auto-baud, a CANable with slcan firmware gets a CAN bitrate probe, a PEAK adapter is reached
through python-can's ``pcan`` backend and needs its vendor driver.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.i18n import t
from bmsflasher.core.resources import resource_path


class AdapterKind(enum.Enum):
    """How a port or adapter is probed."""

    SERIAL = "serial"  # USB-UART / USB-RS485 bridge: SMP with auto-baud
    USB_CDC = "usb_cdc"  # the device's own USB port: SMP, the baud rate is ignored by USB CDC
    SLCAN = "slcan"  # CAN adapter speaking slcan over a serial port: CAN bitrate probe + UDS
    NATIVE_CAN = "native_can"  # CAN adapter behind a python-can backend and an OS driver
    UNKNOWN = "unknown"  # not in the table: treated like SERIAL


@dataclass(frozen=True, slots=True)
class AdapterClass:
    """One row of the adapter table: what an adapter is and what it needs."""

    vid: int | None
    pid: int | None
    vendor: str
    name: str
    kind: AdapterKind
    driver: str = ""
    note: str = ""
    may_be_rs485: bool = False
    python_can_interface: str | None = None
    linux_interface: str | None = None
    needs_vendor_driver: bool = False

    @property
    def is_can(self) -> bool:
        """True for adapters whose far side is a CAN bus."""
        return self.kind in (AdapterKind.SLCAN, AdapterKind.NATIVE_CAN)

    def matches(self, vid: int, pid: int) -> bool:
        """True when this row describes the USB device ``vid:pid`` (a ``pid`` of None is vendor-wide)."""
        return self.vid == vid and (self.pid is None or self.pid == pid)


UNKNOWN_ADAPTER = AdapterClass(
    vid=None,
    pid=None,
    vendor="",
    name="Serial port",
    kind=AdapterKind.UNKNOWN,
)
"""The class of a port the table does not know (a pty, a URL, an unlisted USB bridge)."""


def _hex_id(value: object, field: str, index: int) -> int | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigValidationError(
            t(
                "adapter table row {index}: {field} must be a hex string or null",
                index=index,
                field=field,
            )
        )
    try:
        number = int(value, 16)
    except ValueError as exc:
        raise ConfigValidationError(
            t(
                "adapter table row {index}: {field} {value!r} is not hexadecimal",
                index=index,
                field=field,
                value=value,
            )
        ) from exc
    if not 0 <= number <= 0xFFFF:
        raise ConfigValidationError(
            t(
                "adapter table row {index}: {field} {value!r} is not a 16-bit USB ID",
                index=index,
                field=field,
                value=value,
            )
        )
    return number


def _parse_row(row: Mapping[str, Any], index: int) -> AdapterClass:
    try:
        kind = AdapterKind(row["kind"])
        vendor = str(row["vendor"])
        name = str(row["name"])
    except (KeyError, ValueError) as exc:
        raise ConfigValidationError(
            t("adapter table row {index} lacks a valid kind, vendor or name", index=index)
        ) from exc
    vid = _hex_id(row.get("vid"), "vid", index)
    if vid is None:
        raise ConfigValidationError(t("adapter table row {index} has no vendor ID", index=index))
    return AdapterClass(
        vid=vid,
        pid=_hex_id(row.get("pid"), "pid", index),
        vendor=vendor,
        name=name,
        kind=kind,
        driver=str(row.get("driver") or ""),
        note=str(row.get("note") or ""),
        may_be_rs485=bool(row.get("may_be_rs485", False)),
        python_can_interface=row.get("python_can_interface"),
        linux_interface=row.get("linux_interface"),
        needs_vendor_driver=bool(row.get("needs_vendor_driver", False)),
    )


def load_adapter_table(path: Path | None = None) -> tuple[AdapterClass, ...]:
    """Read and validate an adapter table (the shipped one when ``path`` is None).

    Raises:
        ConfigValidationError: the file is missing, not JSON, or a row is invalid.
    """
    source = path if path is not None else resource_path("adapters", "adapters.json")
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigValidationError(
            t(
                "the adapter table {source} cannot be read: {reason}",
                source=source,
                reason=exc.strerror,
            )
        ) from exc
    except json.JSONDecodeError as exc:
        raise ConfigValidationError(
            t(
                "the adapter table {source} is not valid JSON (line {lineno})",
                source=source,
                lineno=exc.lineno,
            )
        ) from exc
    rows = document.get("adapters") if isinstance(document, dict) else None
    if not isinstance(rows, list):
        raise ConfigValidationError(t("the adapter table {source} has no 'adapters' list", source=source))
    return tuple(_parse_row(row, index) for index, row in enumerate(rows))


@lru_cache(maxsize=1)
def shipped_adapter_table() -> tuple[AdapterClass, ...]:
    """The shipped table, read once per process."""
    return load_adapter_table()


def classify_usb(
    vid: int | None, pid: int | None, table: Sequence[AdapterClass] | None = None
) -> AdapterClass:
    """Classify a USB device; exact product rows win over vendor-wide rows; unknown gives UNKNOWN_ADAPTER."""
    if vid is None or pid is None:
        return UNKNOWN_ADAPTER
    rows = shipped_adapter_table() if table is None else table
    vendor_wide: AdapterClass | None = None
    for row in rows:
        if row.matches(vid, pid):
            if row.pid is not None:
                return row
            vendor_wide = vendor_wide or row
    return vendor_wide or UNKNOWN_ADAPTER

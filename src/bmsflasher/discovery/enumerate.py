"""Find the adapters on this computer: serial ports, CAN channels, and CAN adapters lacking a driver.

Enumeration is bounded in time: python-can's detector runs each backend in a worker with a
deadline, and only the backends that can list real hardware are asked (the ``serial`` backend
would list every COM port again; ``virtual`` would invent a channel).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from bmsflasher.core.i18n import t
from bmsflasher.discovery.adapters import AdapterClass, AdapterKind, classify_usb, shipped_adapter_table
from bmsflasher.discovery.candidates import (
    CanCandidate,
    SerialCandidate,
    UnusableAdapter,
    UsbInfo,
    classify_serial,
)

_log = logging.getLogger(__name__)

CAN_DETECT_BACKENDS: Final[tuple[str, ...]] = ("socketcan", "pcan", "kvaser", "vector", "ixxat", "gs_usb")
"""python-can backends whose detector lists real hardware channels."""

CAN_DETECT_TIMEOUT_S: Final = 2.0
_ARPHRD_CAN: Final = 280  # Linux net device type for CAN (include/uapi/linux/if_arp.h)


def enumerate_serial_ports() -> list[SerialCandidate]:
    """List the serial ports the OS knows, classified by USB vendor and product ID."""
    from serial.tools import list_ports

    candidates: list[SerialCandidate] = []
    for info in sorted(list_ports.comports(), key=lambda item: str(item.device)):
        usb = UsbInfo(
            vid=info.vid,
            pid=info.pid,
            serial_number=info.serial_number or None,
            location=info.location or None,
            manufacturer=info.manufacturer or None,
            product=info.product or None,
        )
        description = info.description if info.description and info.description != "n/a" else ""
        candidates.append(classify_serial(str(info.device), usb, description))
    return candidates


def enumerate_can_channels(
    backends: Sequence[str] = CAN_DETECT_BACKENDS, timeout_s: float = CAN_DETECT_TIMEOUT_S
) -> list[CanCandidate]:
    """List CAN channels python-can can open now, within ``timeout_s`` (slow backends are skipped)."""
    import can
    from can.interfaces import BACKENDS

    known = [backend for backend in backends if backend in BACKENDS]
    if not known:
        return []
    try:
        with _quiet("can"):  # absent vendor libraries log warnings: expected, not the user's business
            configs = can.detect_available_configs(interfaces=known, timeout=timeout_s)
    except (OSError, can.CanError) as exc:  # a broken vendor library must not stop the scan
        _log.warning("CAN adapter detection failed: %s", exc)
        return []
    candidates: list[CanCandidate] = []
    for config in configs:
        interface = str(config.get("interface", ""))
        channel = str(config.get("channel", ""))
        if not interface or not channel:
            continue
        bitrate = _socketcan_bitrate(channel) if interface == "socketcan" else None
        candidates.append(
            CanCandidate(
                interface=interface,
                channel=channel,
                adapter=_can_backend_class(interface),
                description=str(config.get("device_name") or config.get("description") or ""),
                fixed_bitrate=bitrate,
            )
        )
    return candidates


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _can_backend_class(interface: str) -> AdapterClass:
    for row in shipped_adapter_table():
        if row.python_can_interface == interface:
            return row
    return AdapterClass(
        vid=None, pid=None, vendor="", name=f"{interface} CAN channel", kind=AdapterKind.NATIVE_CAN
    )


def _socketcan_bitrate(channel: str, sys_root: Path = Path("/sys")) -> int | None:
    """The bitrate Linux configured on a CAN net device, read without root (None when unknown)."""
    path = sys_root / "class" / "net" / channel / "can_bittiming" / "bitrate"
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def linux_can_netdevs(sys_root: Path = Path("/sys")) -> dict[str, str]:
    """CAN network interfaces Linux has, name → operstate (``up``, ``down`` ...); empty off Linux."""
    net = sys_root / "class" / "net"
    if not net.is_dir():
        return {}
    found: dict[str, str] = {}
    for device in sorted(net.iterdir()):
        try:
            if int((device / "type").read_text().strip()) != _ARPHRD_CAN:
                continue
            found[device.name] = (device / "operstate").read_text().strip()
        except (OSError, ValueError):
            continue
    return found


def linux_usb_devices(sys_root: Path = Path("/sys")) -> list[UsbInfo]:
    """USB devices from sysfs, so a CAN adapter without a driver is still seen (Linux only)."""
    root = sys_root / "bus" / "usb" / "devices"
    if not root.is_dir():
        return []
    devices: list[UsbInfo] = []
    for device in sorted(root.iterdir()):
        try:
            vid = int((device / "idVendor").read_text().strip(), 16)
            pid = int((device / "idProduct").read_text().strip(), 16)
        except (OSError, ValueError):
            continue
        devices.append(
            UsbInfo(
                vid=vid,
                pid=pid,
                serial_number=_read_optional(device / "serial"),
                location=device.name,
                manufacturer=_read_optional(device / "manufacturer"),
                product=_read_optional(device / "product"),
            )
        )
    return devices


def _read_optional(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def unusable_can_adapters(
    usb_devices: Iterable[UsbInfo],
    reachable: Sequence[CanCandidate],
    netdevs: dict[str, str],
    platform: str = sys.platform,
) -> list[UnusableAdapter]:
    """Native CAN adapters that are plugged in but not reachable, each with what to do about it.

    On Linux a gs_usb/PEAK/Kvaser adapter with its kernel driver appears as a CAN net device; if
    none is up, the adapter is reported with the ``ip link`` command that brings it up. Without any
    CAN net device, the kernel driver is missing. Elsewhere the vendor driver is named.
    """
    found: list[UnusableAdapter] = []
    native = [usb for usb in usb_devices if classify_usb(usb.vid, usb.pid).kind is AdapterKind.NATIVE_CAN]
    if not native:
        return found
    reachable_interfaces = {candidate.interface for candidate in reachable}
    up = [name for name, state in netdevs.items() if state in {"up", "unknown"}]
    down = [name for name, state in netdevs.items() if name not in up]
    for usb in native:
        adapter = classify_usb(usb.vid, usb.pid)
        label = f"{adapter.vendor} {adapter.name} ({usb.id_text})"
        if platform.startswith("linux") and adapter.linux_interface == "socketcan":
            if up and "socketcan" in reachable_interfaces:
                continue
            if down:
                found.append(
                    UnusableAdapter(
                        label=label,
                        adapter=adapter,
                        usb=usb,
                        reason=t("the CAN interface {interface} is down", interface=down[0]),
                        hint=t(
                            "bring it up: sudo ip link set {interface} up type can bitrate 500000",
                            interface=down[0],
                        ),
                    )
                )
            else:
                found.append(
                    UnusableAdapter(
                        label=label,
                        adapter=adapter,
                        usb=usb,
                        reason=t("no CAN network interface appeared for it"),
                        hint=t(
                            "load its kernel driver ({driver}); see drivers/linux/README.md",
                            driver=adapter.driver,
                        ),
                    )
                )
        elif adapter.python_can_interface not in reachable_interfaces:
            found.append(
                UnusableAdapter(
                    label=label,
                    adapter=adapter,
                    usb=usb,
                    reason=t("its driver or library is not installed"),
                    hint=t("install {driver}", driver=adapter.driver),
                )
            )
    return found

"""Enumeration: real pyserial listing, and Linux sysfs parsing on a sysfs-shaped folder tree."""

from __future__ import annotations

from pathlib import Path

from bmsflasher.discovery.adapters import AdapterKind
from bmsflasher.discovery.candidates import CanCandidate, SerialCandidate, UsbInfo
from bmsflasher.discovery.enumerate import (
    _socketcan_bitrate,
    enumerate_can_channels,
    enumerate_serial_ports,
    linux_can_netdevs,
    linux_usb_devices,
    unusable_can_adapters,
)


def test_serial_enumeration_returns_classified_candidates() -> None:
    ports = enumerate_serial_ports()
    assert all(isinstance(port, SerialCandidate) for port in ports)
    assert all(port.port and port.adapter is not None for port in ports)
    assert [port.port for port in ports] == sorted(port.port for port in ports)


def test_can_enumeration_is_bounded_and_never_raises() -> None:
    import time

    started = time.monotonic()
    channels = enumerate_can_channels(timeout_s=1.0)
    assert time.monotonic() - started < 3.0
    assert all(isinstance(channel, CanCandidate) for channel in channels)
    assert enumerate_can_channels(backends=("no_such_backend",)) == []


def _netdev(root: Path, name: str, kind: int, state: str, bitrate: int | None = None) -> None:
    folder = root / "class" / "net" / name
    folder.mkdir(parents=True)
    (folder / "type").write_text(f"{kind}\n")
    (folder / "operstate").write_text(f"{state}\n")
    if bitrate is not None:
        (folder / "can_bittiming").mkdir()
        (folder / "can_bittiming" / "bitrate").write_text(f"{bitrate}\n")


def _usb(root: Path, name: str, vid: str, pid: str, serial: str | None = None) -> None:
    folder = root / "bus" / "usb" / "devices" / name
    folder.mkdir(parents=True)
    (folder / "idVendor").write_text(vid + "\n")
    (folder / "idProduct").write_text(pid + "\n")
    if serial:
        (folder / "serial").write_text(serial + "\n")


def test_sysfs_can_netdevs_and_bitrate(tmp_path: Path) -> None:
    _netdev(tmp_path, "eth0", 1, "up")
    _netdev(tmp_path, "can0", 280, "down", 500000)
    _netdev(tmp_path, "vcan0", 280, "unknown")
    assert linux_can_netdevs(tmp_path) == {"can0": "down", "vcan0": "unknown"}
    assert _socketcan_bitrate("can0", tmp_path) == 500000
    assert _socketcan_bitrate("vcan0", tmp_path) is None
    assert linux_can_netdevs(tmp_path / "nowhere") == {}


def test_sysfs_usb_devices(tmp_path: Path) -> None:
    _usb(tmp_path, "1-1.2", "1d50", "606f", "003A0021")
    _usb(tmp_path, "usb1", "1d6b", "0002")
    (tmp_path / "bus" / "usb" / "devices" / "1-0:1.0").mkdir()  # an interface folder: skipped
    devices = linux_usb_devices(tmp_path)
    assert [(d.vid, d.pid, d.location) for d in devices] == [
        (0x1D50, 0x606F, "1-1.2"),
        (0x1D6B, 0x0002, "usb1"),
    ]
    assert devices[0].serial_number == "003A0021"


def test_gs_usb_without_net_device_points_to_the_driver() -> None:
    found = unusable_can_adapters([UsbInfo(0x1D50, 0x606F, location="1-1")], [], {}, platform="linux")
    assert len(found) == 1
    assert "no CAN network interface" in found[0].reason
    assert "drivers/linux/README.md" in found[0].hint


def test_down_interface_gets_the_ip_link_command() -> None:
    found = unusable_can_adapters([UsbInfo(0x0C72, 0x000C)], [], {"can0": "down"}, platform="linux")
    assert found[0].reason == "the CAN interface can0 is down"
    assert "ip link set can0 up" in found[0].hint


def test_up_socketcan_adapter_is_usable() -> None:
    reachable = [CanCandidate(interface="socketcan", channel="can0")]
    assert unusable_can_adapters([UsbInfo(0x1D50, 0x606F)], reachable, {"can0": "up"}, platform="linux") == []


def test_windows_peak_without_pcanbasic_names_the_vendor_driver() -> None:
    found = unusable_can_adapters([UsbInfo(0x0C72, 0x0012)], [], {}, platform="win32")
    assert found[0].adapter.kind is AdapterKind.NATIVE_CAN
    assert "PCANBasic" in found[0].hint
    serial_only = unusable_can_adapters([UsbInfo(0x1A86, 0x7523)], [], {}, platform="win32")
    assert serial_only == []

"""What the scanner probes: serial ports and CAN channels, found by enumeration or named by the user.

A candidate carries everything needed to open it plus a stable *cache key*: the USB serial number
when the adapter has one, else its USB socket (CH340 sticks have no serial number), else the path
or URL (ptys of the virtual BMS, ``socket://`` URLs). Keys never depend on enumeration order, so
the last good setting follows the adapter from ``/dev/ttyUSB0`` to ``/dev/ttyUSB1``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.i18n import t
from bmsflasher.core.link_options import split_can_channel
from bmsflasher.discovery.adapters import UNKNOWN_ADAPTER, AdapterClass, AdapterKind, classify_usb


@dataclass(frozen=True, slots=True)
class UsbInfo:
    """USB facts of an adapter, as the OS reports them (all optional: ptys and URLs have none)."""

    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    location: str | None = None
    manufacturer: str | None = None
    product: str | None = None

    @property
    def id_text(self) -> str:
        """``vid:pid`` in lower-case hex, or an empty string when unknown."""
        if self.vid is None or self.pid is None:
            return ""
        return f"{self.vid:04x}:{self.pid:04x}"


def _usb_key(usb: UsbInfo) -> str | None:
    if usb.vid is None or usb.pid is None:
        return None
    if usb.serial_number:
        return f"usb:{usb.id_text}:sn={usb.serial_number}"
    if usb.location:
        return f"usb:{usb.id_text}@{usb.location}"
    return None


@dataclass(frozen=True, slots=True)
class SerialCandidate:
    """A serial port (device path or pyserial URL) to probe with SMP at several baud rates."""

    port: str
    adapter: AdapterClass = UNKNOWN_ADAPTER
    usb: UsbInfo = UsbInfo()
    description: str = ""
    user_added: bool = False

    @property
    def cache_key(self) -> str:
        """Where the last good setting is remembered (USB serial number, USB socket, or path)."""
        return _usb_key(self.usb) or f"serial:{self.port}"

    @property
    def label(self) -> str:
        """Short text naming the port for progress lines."""
        return self.port

    @property
    def baud_matters(self) -> bool:
        """False for a device's own USB CDC port, where every baud rate reaches it."""
        return self.adapter.kind is not AdapterKind.USB_CDC


@dataclass(frozen=True, slots=True)
class CanCandidate:
    """A CAN channel reached through a python-can backend (``slcan``, ``socketcan``, ``pcan`` ...)."""

    interface: str
    channel: str
    adapter: AdapterClass = UNKNOWN_ADAPTER
    usb: UsbInfo = UsbInfo()
    description: str = ""
    user_added: bool = False
    fixed_bitrate: int | None = None  # set by the OS (socketcan): the scanner cannot change it

    @property
    def cache_key(self) -> str:
        """Where the last good setting is remembered (USB serial number, USB socket, or channel)."""
        return _usb_key(self.usb) or f"can:{self.interface}:{self.channel}"

    @property
    def label(self) -> str:
        """Short text naming the channel for progress lines."""
        return f"{self.interface}:{self.channel}"

    @property
    def can_set_bitrate(self) -> bool:
        """Whether the scanner may choose the bitrate (not for socketcan, which the OS configures)."""
        return self.fixed_bitrate is None and self.interface != "socketcan"

    @property
    def bitrate_matters(self) -> bool:
        """False for software buses (python-can ``virtual``, ``udp_multicast``): every rate reaches them."""
        return self.interface not in _SOFTWARE_BUSES

    @property
    def supports_listen_only(self) -> bool:
        """Whether the backend can open the adapter without acknowledging or sending frames.

        slcan has the ``L`` command (python-can ``listen_only=True``); other backends either lack a
        portable switch in python-can or, like socketcan, leave it to the OS.
        """
        return self.interface == "slcan"


Candidate = SerialCandidate | CanCandidate


@dataclass(frozen=True, slots=True)
class UnusableAdapter:
    """An adapter that is plugged in but cannot be used yet (no driver, interface down)."""

    label: str
    adapter: AdapterClass
    usb: UsbInfo
    reason: str
    hint: str


# --- parsing what the user typed --------------------------------------------------------------
_SOFTWARE_BUSES = frozenset({"virtual", "udp_multicast"})
_CAN_INTERFACES_WITH_PATHS = frozenset({"slcan", "serial", "robotell", "seeedstudio"})


def parse_port_argument(text: str) -> SerialCandidate:
    """Turn ``--port PATH|URL`` into a candidate (enriched later with USB facts when it is a USB port).

    Raises:
        ConfigValidationError: the text is empty.
    """
    port = text.strip()
    if not port:
        raise ConfigValidationError(t("--port needs a device path such as /dev/ttyUSB0, COM3 or a URL"))
    return SerialCandidate(port=port, description="added by the user", user_added=True)


def parse_can_argument(text: str) -> CanCandidate:
    """Turn ``--can INTERFACE:CHANNEL`` (e.g. ``slcan:/dev/ttyACM0``, ``socketcan:can0``) into a candidate.

    Raises:
        ConfigValidationError: the text has no interface or channel part.
    """
    try:
        interface, channel = split_can_channel(text)
    except ValueError as exc:
        raise ConfigValidationError(exc.args[0]) from None
    kind = AdapterKind.SLCAN if interface == "slcan" else AdapterKind.NATIVE_CAN
    adapter = AdapterClass(vid=None, pid=None, vendor="", name=f"{interface} CAN adapter", kind=kind)
    return CanCandidate(
        interface=interface,
        channel=channel,
        adapter=adapter,
        description="added by the user",
        user_added=True,
    )


def same_device_path(first: str, second: str) -> bool:
    """True when two port names are the same device (``/dev/serial/by-id/...`` links included)."""
    if first == second:
        return True
    if "://" in first or "://" in second:
        return False
    return os.path.realpath(first) == os.path.realpath(second)


def serial_as_can(candidate: SerialCandidate) -> CanCandidate:
    """A serial port whose adapter speaks slcan becomes a CAN candidate (CANable, Lawicel CANUSB)."""
    return CanCandidate(
        interface="slcan",
        channel=candidate.port,
        adapter=candidate.adapter,
        usb=candidate.usb,
        description=candidate.description,
        user_added=candidate.user_added,
    )


def answered_as_slcan(candidate: SerialCandidate, version: str) -> CanCandidate:
    """A serial port of unknown make that answered the slcan version query: probe its CAN bus."""
    adapter = AdapterClass(
        vid=candidate.adapter.vid,
        pid=candidate.adapter.pid,
        vendor=candidate.adapter.vendor,
        name=f"slcan CAN adapter (version {version})",
        kind=AdapterKind.SLCAN,
        python_can_interface="slcan",
    )
    return replace(serial_as_can(candidate), adapter=adapter)


def may_be_slcan(candidate: SerialCandidate) -> bool:
    """True for a port the adapter table cannot classify: it may be an slcan adapter (ask it)."""
    return candidate.adapter.kind is AdapterKind.UNKNOWN


def enrich(candidate: SerialCandidate, known: list[SerialCandidate]) -> SerialCandidate:
    """Give a user-named port the USB facts and class of the enumerated port it refers to."""
    for port in known:
        if same_device_path(candidate.port, port.port):
            return replace(port, port=candidate.port, user_added=True)
    return candidate


def classify_serial(port: str, usb: UsbInfo, description: str) -> SerialCandidate:
    """Build a classified candidate from an enumerated port's USB facts."""
    return SerialCandidate(
        port=port,
        adapter=classify_usb(usb.vid, usb.pid),
        usb=usb,
        description=description,
    )


def check_interface_name(interface: str, valid: frozenset[str]) -> None:
    """Refuse an unknown python-can interface name with one clear sentence."""
    if interface not in valid:
        names = ", ".join(sorted(valid))
        raise ConfigValidationError(
            t(
                "unknown CAN interface {interface!r}; use one of: {names}",
                interface=interface,
                names=names,
            )
        )


def channel_is_path(interface: str) -> bool:
    """Whether the backend's channel is a serial port path (so busy/permission checks apply)."""
    return interface in _CAN_INTERFACES_WITH_PATHS

"""Open a CAN adapter through python-can and speak frames over it with bounded waits.

python-can already knows every adapter a technician is likely to own (SocketCAN, slcan/CANable,
gs_usb/candleLight, PEAK, Kvaser, Vector, plus the in-process ``virtual`` bus). This module only
adds what a service tool needs on top: one place that turns python-can's and pyserial's many
exception shapes into the project's own :mod:`bmsflasher.core.errors` (so the technician reads
"the adapter was unplugged", not a traceback), bounded send/receive, and counters for the
link-quality precondition.

Arguments may be explicit or come from python-can's own configuration (``~/.canrc``,
``CAN_INTERFACE``/``CAN_CHANNEL`` environment variables) when ``interface`` is left empty.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import can

from bmsflasher.core.errors import (
    ConfigValidationError,
    LinkError,
    LinkLostError,
    LinkTimeoutError,
    PortBusyError,
    PortNotFoundError,
    PortPermissionError,
)
from bmsflasher.core.i18n import t
from bmsflasher.core.types import LinkSettings
from bmsflasher.links.port_lock import AdapterLock

#: The adapters the tool is documented and tested against; any other python-can interface name
#: is still accepted (the registry is python-can's, extended by its entry points).
KNOWN_INTERFACES: Final[tuple[str, ...]] = (
    "socketcan",
    "slcan",
    "gs_usb",
    "pcan",
    "kvaser",
    "vector",
    "virtual",
)

#: Classic CAN bit rates every common adapter supports (slcan's S0..S8 table).
STANDARD_BITRATES: Final[tuple[int, ...]] = (
    10_000,
    20_000,
    50_000,
    100_000,
    125_000,
    250_000,
    500_000,
    750_000,
    1_000_000,
)

#: python-can's slcan driver sleeps 2 s after opening the port because Arduino-style adapters
#: reset on open. CANable-class adapters (and the emulated one) do not; 0.1 s is enough for them.
DEFAULT_SLCAN_SLEEP_AFTER_OPEN_S: Final[float] = 0.1

#: Nominal bit rates the slcan protocol can set (``S0``..``S8`` plus ``S9`` = 83.3 kbit/s), the
#: same table as python-can's slcan driver.
SLCAN_BITRATES: Final[tuple[int, ...]] = (*STANDARD_BITRATES[:3], 83_300, *STANDARD_BITRATES[3:])

#: CAN-FD data-phase rates the slcan protocol can set: CANable 2.0 firmware's ``Y2`` and ``Y5``.
SLCAN_DATA_BITRATES: Final[tuple[int, ...]] = (2_000_000, 5_000_000)

_NOT_FOUND_ERRNOS: Final[frozenset[int]] = frozenset({errno.ENOENT, errno.ENODEV, errno.ENXIO})
_BUSY_ERRNOS: Final[frozenset[int]] = frozenset({errno.EBUSY, errno.EAGAIN})
_PERMISSION_ERRNOS: Final[frozenset[int]] = frozenset({errno.EACCES, errno.EPERM})
#: How SocketCAN says "this kernel has no CAN support" (no AF_CAN protocol family: EAFNOSUPPORT).
_NO_AF_CAN_HINT: Final = (
    "This computer's kernel lacks SocketCAN support: load the 'can' and 'can_raw' modules "
    "(sudo modprobe can can_raw), or use an slcan (CANable) or gs_usb (candleLight) adapter, "
    "which need no kernel CAN support."
)


FrameTap = Callable[[can.Message], None]
_TAPS: dict[tuple[str, str], list[FrameTap]] = {}
_TAPS_LOCK = threading.Lock()


def add_frame_tap(interface: str, channel: str, tap: FrameTap) -> Callable[[], None]:
    """Call ``tap`` with every frame any :class:`CanLink` on that adapter sends or receives.

    For a bus recording beside a session (``bmsflasher.canbus.bus_recorder``): the tap is kept per
    adapter, not per link, so it survives the reconnects of an update (a reopened link is a new
    :class:`CanLink`). ``tap`` runs on the sending or receiving thread and must not block.
    Returns the function that removes it.
    """
    key = (interface, channel)
    with _TAPS_LOCK:
        _TAPS.setdefault(key, []).append(tap)

    def remove() -> None:
        with _TAPS_LOCK:
            taps = _TAPS.get(key, [])
            if tap in taps:
                taps.remove(tap)
            if not taps:
                _TAPS.pop(key, None)

    return remove


def _tapped(config: CanLinkConfig, message: can.Message) -> None:
    taps = _TAPS.get((config.interface, config.channel))
    for tap in tuple(taps or ()):
        tap(message)


class CanSettingsError(ConfigValidationError, LinkError):
    """An adapter setting the adapter cannot take (e.g. an slcan bit rate outside its table).

    A configuration error for the exit code and the technician (fix the option), and still a
    :class:`LinkError` for callers that treat every failure to open an adapter alike.
    """


@dataclass(frozen=True, slots=True)
class CanLinkConfig:
    """Everything needed to open one CAN adapter channel.

    Attributes:
        interface: python-can interface name (``"slcan"``, ``"socketcan"``...); empty means "take
            interface and channel from python-can's configuration files / environment".
        channel: adapter channel (``"can0"``, ``"/dev/ttyACM0"``, ``"PCAN_USBBUS1"``...).
        bitrate: nominal bit rate in bit/s; 0 leaves the adapter's current setting.
        data_bitrate: CAN-FD data-phase bit rate in bit/s (only with ``fd``).
        fd: open the channel in CAN-FD mode.
        options: driver-specific keyword arguments passed through to python-can verbatim
            (e.g. ``{"sleep_after_open": 0.1}`` for slcan, ``{"app_name": ...}`` for Vector).
    """

    interface: str = ""
    channel: str = ""
    bitrate: int = 0
    data_bitrate: int = 0
    fd: bool = False
    options: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: LinkSettings) -> CanLinkConfig:
        """Build the config that reopens a link described by saved :class:`LinkSettings`."""
        return cls(
            interface=settings.interface,
            channel=settings.channel,
            bitrate=settings.bitrate,
            data_bitrate=settings.data_bitrate,
            fd=settings.fd,
        )

    def to_settings(self, node: int = 0) -> LinkSettings:
        """Describe this link for logs, reports and a later reconnect."""
        return LinkSettings(
            kind="can",
            interface=self.interface,
            channel=self.channel,
            bitrate=self.bitrate,
            data_bitrate=self.data_bitrate,
            node=node,
            fd=self.fd,
        )

    def describe(self) -> str:
        """One line for messages: ``slcan:/dev/ttyACM0 @ 500000 bit/s``."""
        where = f"{self.interface or 'configured'}:{self.channel or 'default'}"
        rate = f" @ {self.bitrate} bit/s" if self.bitrate else ""
        if self.fd:
            rate += f", CAN FD data {self.data_bitrate} bit/s" if self.data_bitrate else ", CAN FD"
        return f"{where}{rate}"


def _bus_kwargs(config: CanLinkConfig) -> dict[str, Any]:
    """Translate a config into python-can keyword arguments (options win, they are explicit)."""
    kwargs: dict[str, Any] = {}
    if config.bitrate:
        kwargs["bitrate"] = config.bitrate
    if config.fd:
        kwargs["fd"] = True
        if config.data_bitrate:
            kwargs["data_bitrate"] = config.data_bitrate
    if config.interface == "slcan":
        kwargs["sleep_after_open"] = DEFAULT_SLCAN_SLEEP_AFTER_OPEN_S
        if config.fd:
            # python-can's slcan driver takes the FD data rate through set_bitrate(); it rejects 'fd'.
            kwargs.pop("fd", None)
            kwargs.pop("data_bitrate", None)
    kwargs.update(config.options)
    return kwargs


def _errno_of(exc: BaseException) -> int | None:
    """Find an OS error number anywhere in an exception's cause chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            return current.errno
        code = getattr(current, "error_code", None)
        if isinstance(code, int) and code > 0:
            return code
        current = current.__cause__ or current.__context__
    return None


def _text_of(exc: BaseException) -> str:
    """All messages of an exception chain, lower-cased, for matching driver-specific wording."""
    parts: list[str] = []
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(str(current))
        current = current.__cause__ or current.__context__
    return " | ".join(parts).lower()


def translate_open_error(exc: BaseException, config: CanLinkConfig) -> LinkError:
    """Turn whatever python-can raised while opening an adapter into one clear project error."""
    where = config.describe()
    code = _errno_of(exc)
    text = _text_of(exc)
    if isinstance(exc, can.CanInterfaceNotImplementedError) or "unknown interface" in text:
        return LinkError(
            t(
                "The CAN interface '{interface}' is not available on this computer ({error}).",
                interface=config.interface,
                error=exc,
            ),
            hint=t("Install the adapter's driver or choose another interface."),
        )
    if code in _PERMISSION_ERRNOS or "permission denied" in text or "access is denied" in text:
        return PortPermissionError(
            t("The operating system refused access to the CAN adapter {where}.", where=where),
            hint=t("On Linux, install the udev rules from drivers/ or add yourself to the 'dialout' group."),
        )
    if code in _BUSY_ERRNOS or "busy" in text or "could not exclusively lock" in text:
        return PortBusyError(
            t("The CAN adapter {where} is in use by another program.", where=where),
            hint=t("Close the other program (e.g. a CAN monitor) and try again."),
        )
    if code in _NOT_FOUND_ERRNOS or "no such file" in text or "no such device" in text or "not found" in text:
        return PortNotFoundError(
            t("The CAN adapter {where} was not found.", where=where),
            hint=t("Check that the adapter is plugged in and the channel name is right."),
        )
    if code == errno.EAFNOSUPPORT:
        return LinkError(
            t(
                "The CAN adapter {where} cannot be opened: this system does not support CAN sockets "
                "(AF_CAN).",
                where=where,
            ),
            hint=_NO_AF_CAN_HINT,
        )
    if isinstance(exc, ValueError):
        return LinkError(
            t(
                "The CAN adapter {where} cannot be opened with these settings: {error}.",
                where=where,
                error=exc,
            )
        )
    return LinkError(t("The CAN adapter {where} could not be opened: {error}.", where=where, error=exc))


def _check_slcan_fd(config: CanLinkConfig) -> None:
    """Refuse an FD data rate slcan cannot set, in one sentence instead of python-can's ValueError."""
    if config.interface != "slcan" or not config.fd or not config.data_bitrate:
        return
    if config.data_bitrate not in SLCAN_DATA_BITRATES:
        offered = " or ".join(str(rate) for rate in SLCAN_DATA_BITRATES)
        raise CanSettingsError(
            t(
                "An slcan adapter cannot run the CAN-FD data phase at {data_bitrate} bit/s; choose "
                "{offered} (the rates of CANable 2.0 firmware).",
                data_bitrate=config.data_bitrate,
                offered=offered,
            )
        )


def _check_slcan_bitrate(config: CanLinkConfig) -> None:
    """Refuse a nominal rate slcan cannot set, before the port is touched, naming the rates it can."""
    if config.interface != "slcan" or not config.bitrate or config.bitrate in SLCAN_BITRATES:
        return
    offered = ", ".join(str(rate) for rate in sorted(SLCAN_BITRATES))
    raise CanSettingsError(
        t(
            "An slcan adapter cannot run at {bitrate} bit/s; choose one of {offered} bit/s.",
            bitrate=config.bitrate,
            offered=offered,
        )
    )


def open_can_bus(config: CanLinkConfig) -> can.BusABC:
    """Open a python-can bus, translating every failure into a :class:`LinkError` subclass.

    Raises:
        PortNotFoundError: the adapter or channel does not exist.
        PortBusyError: another program holds it.
        PortPermissionError: the OS refused access.
        CanSettingsError: a bit rate the adapter cannot take (a configuration error).
        LinkError: any other failure (unknown interface, no CAN support in the kernel...).
    """
    _check_slcan_bitrate(config)
    _check_slcan_fd(config)
    kwargs = _bus_kwargs(config)
    try:
        if config.interface:
            bus = can.Bus(channel=config.channel or None, interface=config.interface, **kwargs)
        else:
            bus = can.Bus(channel=config.channel or None, **kwargs)
        if config.interface == "slcan" and config.fd and config.data_bitrate:
            _set_slcan_data_bitrate(bus, config)
    except (can.CanError, ValueError, OSError, ImportError) as exc:
        raise translate_open_error(exc, config) from exc
    return bus


def _set_slcan_data_bitrate(bus: can.BusABC, config: CanLinkConfig) -> None:
    """Send ``Sn`` + ``Yn`` (python-can's slcan driver has no ``data_bitrate`` argument).

    The port is released if the adapter refuses, so a failed open leaves nothing held.
    """
    try:
        bus.set_bitrate(config.bitrate, config.data_bitrate)  # type: ignore[attr-defined]
    except BaseException:
        bus.shutdown()
        raise


@dataclass(slots=True)
class CanCounters:
    """Frame counters of one open link (read by the link-quality precondition)."""

    frames_sent: int = 0
    frames_received: int = 0
    send_errors: int = 0
    receive_errors: int = 0


class CanLink:
    """An open CAN channel with bounded send/receive and translated errors.

    Thread-safe for one sender and one receiver thread (python-can buses are). Once an operation
    finds the adapter gone, the link stays "lost" and every later call raises
    :class:`LinkLostError` at once, so upper layers fail fast instead of waiting on timeouts.
    """

    def __init__(
        self, config: CanLinkConfig, bus: can.BusABC, adapter_lock: AdapterLock | None = None
    ) -> None:
        self._config = config
        self._bus = bus
        self._adapter_lock = adapter_lock
        self._lost: LinkLostError | None = None
        self._closed = False
        self._lock = threading.Lock()
        self.counters = CanCounters()

    @classmethod
    def open(cls, config: CanLinkConfig) -> CanLink:
        """Open the adapter described by ``config`` (see :func:`open_can_bus` for errors).

        A serial-attached adapter (slcan) is locked first, so one another program holds is
        reported as :class:`PortBusyError` without a byte sent to it, and is kept exclusive
        while the link is open (see :mod:`bmsflasher.links.port_lock`).
        """
        _check_slcan_bitrate(config)  # settings errors first: they hold whatever the adapter's state
        _check_slcan_fd(config)
        adapter_lock = AdapterLock.acquire(config.interface, config.channel)
        try:
            bus = open_can_bus(config)
        except BaseException:
            adapter_lock.release()
            raise
        adapter_lock.seal()
        return cls(config, bus, adapter_lock)

    @property
    def config(self) -> CanLinkConfig:
        return self._config

    @property
    def bus(self) -> can.BusABC:
        """The underlying python-can bus (for python-can listeners, ISO-TP stacks, loggers)."""
        return self._bus

    @property
    def lost(self) -> LinkLostError | None:
        """The error that marked the link as lost, or None while it is healthy."""
        return self._lost

    def _mark_lost(self, exc: BaseException) -> LinkLostError:
        with self._lock:
            if self._lost is None:
                self._lost = LinkLostError(
                    t(
                        "The CAN adapter {adapter} stopped responding ({error}).",
                        adapter=self._config.describe(),
                        error=exc,
                    ),
                    hint=t("Check the USB cable and the adapter, then reconnect."),
                )
            return self._lost

    def send(self, message: can.Message, timeout_s: float = 1.0) -> None:
        """Send one frame; waits at most ``timeout_s`` for room in the adapter's queue.

        Raises:
            LinkLostError: the adapter went away (now or earlier).
            LinkTimeoutError: the adapter stayed full (bus-off, no other node acknowledging).
        """
        if self._lost is not None:
            raise self._lost
        if self._closed:
            raise LinkLostError(t("The CAN link {adapter} is closed.", adapter=self._config.describe()))
        try:
            self._bus.send(message, timeout=timeout_s)
        except can.CanTimeoutError as exc:
            self.counters.send_errors += 1
            raise LinkTimeoutError(
                t(
                    "The CAN adapter {adapter} could not send a frame within {timeout_s:.1f} s.",
                    adapter=self._config.describe(),
                    timeout_s=timeout_s,
                )
            ) from exc
        except (can.CanError, OSError, ValueError) as exc:
            self.counters.send_errors += 1
            raise self._mark_lost(exc) from exc
        self.counters.frames_sent += 1
        if _TAPS:
            _tapped(self._config, message)

    def recv(self, timeout_s: float) -> can.Message | None:
        """Receive one frame, or None after ``timeout_s`` without one.

        Raises:
            LinkLostError: the adapter went away (now or earlier).
        """
        if self._lost is not None:
            raise self._lost
        if self._closed:
            raise LinkLostError(t("The CAN link {adapter} is closed.", adapter=self._config.describe()))
        try:
            message = self._bus.recv(timeout=timeout_s)
        except (can.CanError, OSError, ValueError, TypeError) as exc:
            self.counters.receive_errors += 1
            raise self._mark_lost(exc) from exc
        if message is not None:
            self.counters.frames_received += 1
            if _TAPS:
                _tapped(self._config, message)
        return message

    def close(self) -> None:
        """Release the adapter. Safe to call twice; errors of a vanished adapter are ignored."""
        if self._closed:
            return
        self._closed = True
        try:
            self._bus.shutdown()
        except (can.CanError, OSError, ValueError):
            # The adapter may already be gone (that is why we are closing); nothing to release.
            return
        finally:
            if self._adapter_lock is not None:
                self._adapter_lock.release()

    def __enter__(self) -> CanLink:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

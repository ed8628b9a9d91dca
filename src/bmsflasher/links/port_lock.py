"""Hold a serial-attached CAN adapter (slcan, CANable, Lawicel) exclusively while the tool uses it.

python-can's serial-based drivers open their port with a plain ``serial_for_url`` and no lock, so a
second program could open the same adapter and the two would interleave ``t``/``S6``/``O``
commands on one wire. Before python-can touches the port this module takes the same advisory lock
pyserial's ``exclusive=True`` takes (``flock(LOCK_EX | LOCK_NB)``, so a port another program holds
is reported busy without a byte sent to it), and while the bus is open it also sets the tty's
kernel exclusive mode (``TIOCEXCL``), which makes any further ``open()`` of the device fail with
EBUSY even for programs that do not lock (the kernel exempts privileged processes).

Locks are re-entrant within this process, per device: the scanner holds an adapter for a whole
probe while it opens and closes the CAN link at each bitrate. Only one CAN link at a time may
have the adapter open, though: a second one in this process is refused as busy too.

Windows needs none of this (a COM port can only be opened once), and URLs (``socket://``,
``rfc2217://``) are not local devices.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import LinkError, PortBusyError, PortNotFoundError, PortPermissionError
from bmsflasher.core.i18n import t

try:  # POSIX only; on Windows the OS already opens a COM port exclusively.
    import fcntl
    import termios
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]
    termios = None  # type: ignore[assignment]

#: python-can interfaces whose channel is a serial port path (the discovery module's list too).
SERIAL_CAN_INTERFACES: Final = frozenset({"slcan", "serial", "robotell", "seeedstudio"})
#: Linux's "is this tty in exclusive mode?" ioctl (``TIOCGEXCL``, not exported by ``termios``).
TIOCGEXCL: Final = 0x80045440
_BUSY_HINT: Final = "Close the other program (e.g. a CAN monitor or another bmsflasher) and try again."


@dataclass(slots=True)
class _Held:
    """One locked device: its lock descriptor, how many holders, whether a link has it open."""

    fd: int
    users: int
    link_open: bool = False


_held: dict[str, _Held] = {}
_held_lock = threading.Lock()


def serial_device_of(interface: str, channel: str) -> str | None:
    """The local device path behind a serial-attached CAN channel, or None when nothing is lockable.

    ``/dev/ttyACM0@115200`` is python-can's "port at baud" form; URLs and non-serial interfaces
    (socketcan, pcan, virtual...) have no device to lock.
    """
    if interface not in SERIAL_CAN_INTERFACES or fcntl is None or not channel:
        return None
    path = channel.split("@", 1)[0]
    if "://" in path:
        return None
    return os.path.realpath(path)


def _open_error(exc: OSError, device: str) -> LinkError:
    if exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return PortNotFoundError(
            t("The CAN adapter {device} was not found.", device=device),
            hint=t("Check that the adapter is plugged in and the channel name is right."),
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return PortPermissionError(
            t("The operating system refused access to the CAN adapter {device}.", device=device),
            hint=t("On Linux, install the udev rules from drivers/ or add yourself to the 'dialout' group."),
        )
    if exc.errno in (errno.EBUSY, errno.EAGAIN):
        return PortBusyError(
            t("The CAN adapter {device} is in use by another program.", device=device), hint=_BUSY_HINT
        )
    return LinkError(
        t(
            "The CAN adapter {device} could not be opened: {reason}.",
            device=device,
            reason=exc.strerror or exc,
        )
    )


def _acquire(device: str, *, for_link: bool) -> None:
    with _held_lock:
        held = _held.get(device)
        if held is not None:
            if for_link and held.link_open:
                raise PortBusyError(
                    t("The CAN adapter {device} is already open in this program.", device=device),
                    hint=t("Close the other connection to it (or wait for the scan to finish) first."),
                )
            held.users += 1
            held.link_open = held.link_open or for_link
            return
        try:
            # O_NONBLOCK: do not wait for carrier; O_NOCTTY: never become our controlling terminal.
            fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise _open_error(exc, device) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise PortBusyError(
                    t("The CAN adapter {device} is in use by another program.", device=device),
                    hint=_BUSY_HINT,
                ) from exc
            raise _open_error(exc, device) from exc
        _held[device] = _Held(fd=fd, users=1, link_open=for_link)


def _release(device: str, *, for_link: bool) -> None:
    with _held_lock:
        held = _held.get(device)
        if held is None:
            return
        if for_link:
            held.link_open = False
        held.users -= 1
        if held.users > 0:
            return
        del _held[device]
        _set_kernel_exclusive(held.fd, False)
        os.close(held.fd)  # closing the descriptor drops the flock


def _set_kernel_exclusive(fd: int, on: bool) -> None:
    """TIOCEXCL / TIOCNXCL; a device that is not a tty (or went away) simply has no such mode."""
    if termios is None:
        return
    try:
        fcntl.ioctl(fd, termios.TIOCEXCL if on else termios.TIOCNXCL)
    except OSError:
        return  # not a terminal, or the adapter vanished: the flock still guards cooperating programs


def kernel_exclusive(device: str) -> bool | None:
    """Whether the tty is in kernel exclusive mode (Linux ``TIOCGEXCL``); None when unknown."""
    with _held_lock:
        held = _held.get(device)
        if held is None or fcntl is None:
            return None
        try:
            raw = fcntl.ioctl(held.fd, TIOCGEXCL, b"\0\0\0\0")
        except OSError:
            return None
    return int.from_bytes(raw, "little") != 0


@contextmanager
def hold_serial_adapter(interface: str, channel: str) -> Iterator[str | None]:
    """Lock a serial-attached adapter for the duration of the block (no-op for other interfaces).

    Yields the locked device path, or None when the channel has nothing to lock.

    Raises:
        PortBusyError: another program holds the adapter.
        PortNotFoundError / PortPermissionError / LinkError: the device cannot be opened at all.
    """
    device = serial_device_of(interface, channel)
    if device is None:
        yield None
        return
    _acquire(device, for_link=False)
    try:
        yield device
    finally:
        _release(device, for_link=False)


class AdapterLock:
    """A held adapter lock with the kernel exclusive mode on; what an open CAN link keeps.

    Take it *before* python-can opens the port (so a busy adapter gets no bytes), then call
    :meth:`seal` once python-can's own descriptor is open: from then on no other process can open
    the device. :meth:`release` undoes both; it is safe to call twice.
    """

    def __init__(self, device: str | None) -> None:
        self.device = device
        self._sealed = False
        self._released = device is None

    @classmethod
    def acquire(cls, interface: str, channel: str) -> AdapterLock:
        """Lock the adapter behind ``channel`` (an inert lock for non-serial interfaces)."""
        device = serial_device_of(interface, channel)
        if device is not None:
            _acquire(device, for_link=True)
        return cls(device)

    def seal(self) -> None:
        """Forbid further opens of the device (TIOCEXCL) now that our own port is open."""
        if self.device is None or self._sealed or self._released:
            return
        with _held_lock:
            held = _held.get(self.device)
            if held is None:
                return
            _set_kernel_exclusive(held.fd, True)
        self._sealed = True

    def unseal(self) -> None:
        """Allow opens again (before our port closes, so a later reopen by us succeeds)."""
        if self.device is None or not self._sealed:
            return
        self._sealed = False
        with _held_lock:
            held = _held.get(self.device)
            if held is not None:
                _set_kernel_exclusive(held.fd, False)

    def release(self) -> None:
        """Drop the kernel exclusive mode and the lock. Safe to call twice."""
        if self._released or self.device is None:
            return
        self.unseal()
        self._released = True
        _release(self.device, for_link=True)


__all__ = [
    "SERIAL_CAN_INTERFACES",
    "AdapterLock",
    "hold_serial_adapter",
    "kernel_exclusive",
    "serial_device_of",
]

"""What the serial wire needs from the port the tool opens, whatever that port is made of.

The virtual BMS's serial device is one UART (:class:`~bmsflasher.sim.wire.serial_port.SerialWire`)
behind one of two OS objects: a pseudo-terminal where the system has them
(:class:`~bmsflasher.sim.wire.pty_link.PtyPort`, POSIX) and a TCP socket on the loopback interface
where it does not (:class:`~bmsflasher.sim.wire.tcp_port.TcpSerialPort`, Windows; pyserial opens it
as ``socket://127.0.0.1:PORT``). Both plug and unplug like a USB device that enumerates and
re-enumerates, so the wire and the front-end above it are written once against this protocol.

This module imports nothing platform-specific: it must load where ``termios`` does not.
"""

from __future__ import annotations

import threading
from typing import Protocol


class DevicePort(Protocol):
    """The device's end of the port the tool opens; every method is safe from any thread."""

    @property
    def lock(self) -> threading.RLock:
        """Held by the wire while it moves bytes, so an unplug cannot close the port mid-call."""
        ...

    @property
    def path(self) -> str:
        """What the tool opens: a stable path (pty) or a pyserial URL (TCP)."""
        ...

    @property
    def generation(self) -> int:
        """Changes whenever a new host end appears (a re-plug, a new TCP client): the wire restarts."""
        ...

    def host_attached(self) -> bool:
        """Whether bytes written now can reach a host end (a TCP port first takes a waiting client)."""
        ...

    def host_baud(self) -> int | None:
        """The baud rate the tool set on its end, or None when it cannot be seen (unplugged, TCP)."""
        ...

    def read(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` the host wrote; ``b""`` when none are waiting or no host is there."""
        ...

    def write(self, data: bytes | bytearray) -> int:
        """Hand bytes to the host end; returns how many were taken (all when nobody listens)."""
        ...

    def wait_readable(self, timeout_s: float) -> None:
        """Sleep until the host may have written something (or a host arrived), at most ``timeout_s``."""
        ...

    def plug(self) -> None:
        """The device appears (enumerates); a second call does nothing."""
        ...

    def unplug(self) -> None:
        """Cable pull: the host's open port fails from now on, and the device cannot be opened."""
        ...

    def close(self) -> None:
        """Unplug for good and release every OS resource."""
        ...

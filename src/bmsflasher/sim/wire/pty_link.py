"""The virtual BMS's serial port: a pseudo-terminal with a stable name that can be unplugged.

The host side (the slave, ``/dev/pts/N``) is what the tool opens, exactly like ``/dev/ttyUSB0``; the
device side (the master) is read and written by the wire emulator. The baud rate the tool sets
with ``tcsetattr`` on its side is visible here through ``tcgetattr`` on the master, which is how the
emulator paces bytes and garbles them on a mismatch.

A cable pull closes both ends: the tool's next read fails exactly as with a yanked USB adapter,
and the ``/dev/pts/N`` node disappears. Plugging back in creates a *new* pty (another number, as a
re-enumerated USB device gets another name); :attr:`PtyPort.path` is a symlink in a private temp
directory that always points at the current one, so "the same port" can be reopened by name.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import struct
import sys
import tempfile
import termios
import threading
import time
import tty
from pathlib import Path
from typing import Final

from bmsflasher.sim.errors import SimError

_BAUD_BY_CONSTANT: Final[dict[int, int]] = {
    getattr(termios, name): int(name[1:])
    for name in dir(termios)
    if name.startswith("B") and name[1:].isdigit() and int(name[1:]) > 0
}
_BOTHER: Final = getattr(termios, "BOTHER", 0o010000)
_TCGETS2: Final = 0x802C542A  # Linux: struct termios2 with the exact c_ispeed/c_ospeed
_TERMIOS2: Final = struct.Struct("=4IB19BII")
INITIAL_BAUD: Final = 9600


def baud_of_fd(fd: int) -> int | None:
    """The input baud rate configured on a tty (master or slave of a pty), or None if unknown."""
    try:
        attrs = termios.tcgetattr(fd)
    except termios.error:
        return None
    speed = attrs[4]
    if speed in _BAUD_BY_CONSTANT:
        return _BAUD_BY_CONSTANT[speed]
    if speed == _BOTHER and sys.platform.startswith("linux"):
        buffer = bytearray(_TERMIOS2.size)
        try:
            fcntl.ioctl(fd, _TCGETS2, buffer)
        except OSError:
            return None
        return int(_TERMIOS2.unpack(bytes(buffer))[-2])
    return None


class PtyPort:
    """A pty pair plus a stable symlink; thread-safe plug/unplug.

    Args:
        link_path: where to put the stable symlink; None makes one in a private temp directory.
        keep_slave_open: hold the slave open too, so bytes written before the tool opens the port
            wait for it. False closes it after set-up: then the master sees when the tool closes
            the port (``POLLHUP``), and the slave's termios can be reset between two opens.
        initial_baud: the rate the slave starts at (what a tool that sets nothing gets).
    """

    def __init__(
        self,
        link_path: str | Path | None = None,
        *,
        keep_slave_open: bool = True,
        initial_baud: int = INITIAL_BAUD,
    ) -> None:
        self._lock = threading.RLock()
        self._keep_slave_open = keep_slave_open
        self._initial_baud = initial_baud
        self._own_dir: Path | None = None
        if link_path is None:
            self._own_dir = Path(tempfile.mkdtemp(prefix="bmsflasher-smp-"))
            link_path = self._own_dir / "ttyBMS0"
        self._link_path = Path(link_path)
        self._master: int | None = None
        self._slave: int | None = None
        self._slave_name = ""
        self._generation = 0

    @property
    def lock(self) -> threading.RLock:
        """Hold while using :attr:`master_fd`, so an unplug cannot close it mid-call."""
        return self._lock

    @property
    def path(self) -> str:
        """The stable name the tool opens (a symlink to the current pty)."""
        return str(self._link_path)

    @property
    def slave_name(self) -> str:
        """The current ``/dev/pts/N`` (changes at every re-plug); empty while unplugged."""
        return self._slave_name

    @property
    def master_fd(self) -> int | None:
        """The device-side descriptor (non-blocking), or None while unplugged."""
        return self._master

    @property
    def connected(self) -> bool:
        return self._master is not None

    @property
    def generation(self) -> int:
        """Increments at every plug-in, so the wire can notice a new port."""
        return self._generation

    def plug(self) -> None:
        """Create a new pty (a USB device enumerating) and point the symlink at it."""
        with self._lock:
            if self._master is not None:
                return
            master, slave = os.openpty()
            # Raw, no echo, from the start: a USB CDC or UART port never echoes, and the line
            # discipline would otherwise bounce the device's bytes back before the tool opens it.
            tty.setraw(slave)
            attrs = termios.tcgetattr(slave)
            attrs[4] = attrs[5] = getattr(termios, f"B{self._initial_baud}")
            termios.tcsetattr(slave, termios.TCSANOW, attrs)
            os.set_blocking(master, False)
            self._slave_name = os.ttyname(slave)
            held: int | None = slave
            if not self._keep_slave_open:
                os.close(slave)
                held = None
            self._master, self._slave = master, held
            self._generation += 1
            try:
                self._point_link_at(self._slave_name)
            except SimError:
                self.unplug()
                raise

    def _point_link_at(self, slave_name: str) -> None:
        """Atomically (re)point the stable name at ``slave_name``; never replace a user's file."""
        link = self._link_path
        if link.exists() and not link.is_symlink():
            raise SimError(f"{link} already exists and is not a link; choose another --link-path")
        tmp = link.with_name(link.name + ".new")
        try:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(slave_name)
            tmp.replace(link)  # atomic: the name never points at nothing while plugged
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise SimError(f"cannot create the port link {link}: {exc.strerror or exc}") from exc

    def unplug(self) -> None:
        """Cable pull: both ends close, the pty node and the symlink disappear."""
        with self._lock:
            if self._link_path.is_symlink():  # never remove what is not our link
                with contextlib.suppress(FileNotFoundError):
                    self._link_path.unlink()
            for fd in (self._master, self._slave):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self._master = self._slave = None
            self._slave_name = ""

    def host_baud(self) -> int | None:
        """The baud rate the tool configured on its end, or None while unplugged."""
        with self._lock:
            master = self._master
            return None if master is None else baud_of_fd(master)

    def host_attached(self) -> bool:
        """True while plugged in: the pty buffers what the device writes until the tool reads it."""
        return self._master is not None

    def read(self, max_bytes: int) -> bytes:
        """What the tool wrote (at most ``max_bytes``); ``b""`` when nothing waits or no host opened it."""
        with self._lock:
            if self._master is None:
                return b""
            try:
                return os.read(self._master, max_bytes)
            except (BlockingIOError, InterruptedError):
                return b""
            except OSError:
                return b""  # no host has the port open (EIO): the line idles

    def write(self, data: bytes | bytearray) -> int:
        """Put device bytes on the pty as far as its buffer takes them; all of them while unplugged."""
        with self._lock:
            if self._master is None:
                return len(data)
            try:
                return os.write(self._master, data)
            except (BlockingIOError, InterruptedError):
                return 0
            except OSError:
                return len(data)  # nobody has the port open: the bytes go nowhere

    def wait_readable(self, timeout_s: float) -> None:
        """Wait (without the lock) until the tool wrote something, at most ``timeout_s``."""
        master = self._master
        if master is None:
            time.sleep(timeout_s)
            return
        try:
            select.select([master], [], [], timeout_s)
        except (OSError, ValueError):
            time.sleep(timeout_s)  # the port was unplugged under us

    def close(self) -> None:
        """Unplug for good and remove the private temp directory."""
        self.unplug()
        if self._own_dir is not None:
            with contextlib.suppress(OSError):
                self._own_dir.rmdir()
            self._own_dir = None

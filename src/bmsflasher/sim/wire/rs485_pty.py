"""The rack's bus behind a pseudo-terminal: the USB-RS485 adapter the tool opens (POSIX only).

The tool opens the pty's slave like ``/dev/ttyUSB0`` and sets baud rate, parity and stop bits with
``tcsetattr``; every termios request on the master acts on the slave's settings, so the bus reads
them back here and frames the host's bytes with what the host really configured. Two things a
Linux pty does not do like a USB adapter, measured on this project's machine (kernel 6.18, glibc
2.36, pyserial 3.5) and handled here:

* The pty driver clears ``PARENB`` in every request (``pty_set_termios`` forces ``CS8`` and no
  parity), so **even parity cannot be told from none**; ``PARODD`` survives (odd parity is seen),
  as do ``CSTOPB`` (stop bits) and ``CMSPAR`` (mark/space). Where the pty says "none", the host is
  taken to use ``even_or_none`` — the rack's parity when that is none or even — so a host with the
  right settings is never garbled, at the price that 8N1 against an 8E1 rack is not shown here
  (odd parity, stop bits and baud mismatches are; the Modbus TCP gateway has no such gap).
* glibc's ``tcsetattr`` reports ``EINVAL`` when the driver dropped ``PARENB`` — unless the speed
  changed in the same call. A tool opening the port with even or odd parity at the rate it already
  has would fail to open it. So the slave is not held open here: the master sees the tool close the
  port (``POLLHUP``) and puts the line back to :data:`IDLE_BAUD`, and every open changes the speed.
  (Changing parity on an open port at an unchanged rate still fails: reopen instead.)

What the adapter received waits in a bounded FIFO until the pty takes it; while no tool has the
port open, received bytes are lost, as with an adapter nobody listens to.
"""

from __future__ import annotations

import contextlib
import select
import termios
import threading
import time
from pathlib import Path
from typing import Final

from bmsflasher.sim.wire.pty_link import PtyPort, baud_of_fd
from bmsflasher.sim.wire.rs485_line import LineSettings, Parity

HOST_FIFO_BYTES: Final = 65536
"""Bytes the adapter and the OS keep for a host that does not read; older ones are lost beyond it."""
IDLE_BAUD: Final = 50
"""The rate the port is put back to whenever the tool closes it (no tool opens at 50 baud)."""
CLOSED_POLL_S: Final = 0.01
"""How often the bus looks for a tool opening the port while nobody has it open."""
_CMSPAR: Final = getattr(termios, "CMSPAR", 0o10000000000)


def line_of_fd(fd: int, *, even_or_none: Parity = Parity.NONE) -> LineSettings | None:
    """The line settings configured on a pty (either end), or None if they cannot be read.

    Args:
        fd: the pty's master or slave.
        even_or_none: the parity to report when the pty shows none (it hides even parity).
    """
    baud = baud_of_fd(fd)
    if baud is None:
        return None
    try:
        cflag = termios.tcgetattr(fd)[2]
    except termios.error:
        return None
    odd = bool(cflag & termios.PARODD)
    if cflag & _CMSPAR:
        parity = Parity.MARK if odd else Parity.SPACE
    elif odd:
        parity = Parity.ODD
    elif cflag & termios.PARENB:
        parity = Parity.EVEN  # a tty that keeps PARENB (not a Linux pty)
    else:
        parity = even_or_none
    return LineSettings(baud, parity, 2 if cflag & termios.CSTOPB else 1)


class PtyBusHost:
    """A pty as the bus's host end: the tool's USB-RS485 adapter.

    Args:
        link_path: the stable symlink to create; None makes one in a private temp directory.
        even_or_none: the parity a host showing none is taken to use (see the module docstring).
    """

    def __init__(self, link_path: str | Path | None = None, *, even_or_none: Parity = Parity.NONE) -> None:
        self._port = PtyPort(link_path, keep_slave_open=False, initial_baud=IDLE_BAUD)
        self._even_or_none = even_or_none
        self._out = bytearray()
        self._was_open = False
        self.opens = 0
        """How many times a tool opened the port."""
        self.lost_bytes = 0
        """Received bytes dropped because the host did not read them (FIFO overflow)."""

    @property
    def lock(self) -> threading.RLock:
        return self._port.lock

    @property
    def path(self) -> str:
        """What the tool opens: a symlink to the pty."""
        return self._port.path

    def plug(self) -> None:
        self._port.plug()

    def close(self) -> None:
        self._port.close()

    def host_attached(self) -> bool:
        """True while the pty exists (whether or not a tool has it open)."""
        return self._port.host_attached()

    def host_open(self) -> bool:
        """Whether a tool has the port open now; puts the line back to idle when it closed it."""
        with self._port.lock:
            master = self._port.master_fd
            if master is None:
                return False
            poller = select.poll()
            poller.register(master, select.POLLHUP)
            is_open = not any(events & select.POLLHUP for _fd, events in poller.poll(0))
            if is_open and not self._was_open:
                self.opens += 1
            elif self._was_open and not is_open:
                self._out.clear()
                self._reset_line(master)
            self._was_open = is_open
            return is_open

    def host_line(self) -> LineSettings | None:
        with self._port.lock:
            master = self._port.master_fd
            return None if master is None else line_of_fd(master, even_or_none=self._even_or_none)

    def read(self, max_bytes: int) -> bytes:
        if not self.host_open():
            return b""
        return self._port.read(max_bytes)

    def deliver(self, data: bytes, end_s: float) -> None:
        """Queue received bytes and hand the pty as many as it takes (lost while nobody has it open)."""
        del end_s  # a pty has no notion of time: the bus delivers each byte when it ended
        if not self.host_open():
            return
        self._out.extend(data)
        if self._out:
            written = self._port.write(self._out)
            del self._out[:written]
        if len(self._out) > HOST_FIFO_BYTES:
            excess = len(self._out) - HOST_FIFO_BYTES
            self.lost_bytes += excess
            del self._out[:excess]

    def wait_readable(self, timeout_s: float) -> None:
        """Wait for the tool's bytes; with no tool on the port, just sleep (the master would hang up)."""
        master = self._port.master_fd
        if master is None or not self.host_open():
            time.sleep(max(timeout_s, CLOSED_POLL_S))  # nothing can arrive: poll the open state slowly
            return
        try:
            select.select([master], [], [], timeout_s)
        except (OSError, ValueError):
            time.sleep(timeout_s)

    @staticmethod
    def _reset_line(master: int) -> None:
        """Back to :data:`IDLE_BAUD` 8N1, so the next open changes the speed (see the module docstring)."""
        with contextlib.suppress(termios.error, OSError):
            attrs = termios.tcgetattr(master)
            attrs[2] &= ~(termios.PARENB | termios.PARODD | termios.CSTOPB | _CMSPAR)
            attrs[4] = attrs[5] = getattr(termios, f"B{IDLE_BAUD}")
            termios.tcsetattr(master, termios.TCSANOW, attrs)

"""Serial ports (USB CDC, USB-UART dongles, RS485 adapters) opened with pyserial.

A technician's port is a path (``/dev/ttyUSB0``, ``COM7``) or a pyserial URL (``socket://host:port``,
``rfc2217://host:port``, ``loop://``). Local ports are opened exclusively on POSIX so two programs
never interleave bytes on one wire. Every pyserial/OS error is translated here, once, into the
project's link errors with a sentence the technician can act on: a busy port, a permission problem
(udev rules / dialout group), a port that does not exist, or one that vanished mid-transfer.

Every read is bounded by a timeout; nothing here can block forever.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import sys
import threading
import time
from typing import Final

import serial
from serial.serialutil import SerialException, SerialTimeoutException

from bmsflasher.core.errors import (
    LinkError,
    LinkLostError,
    LinkTimeoutError,
    PortBusyError,
    PortNotFoundError,
    PortPermissionError,
)
from bmsflasher.core.i18n import t

DEFAULT_WRITE_TIMEOUT_S: Final = 5.0
"""A write that cannot drain into the OS buffer within this time means the port is stuck."""

MAX_READ_TIMEOUT_S: Final = 60.0
"""No single read waits longer than this, whatever the caller asks."""

_PERMISSION_HINT: Final = (
    "On Linux install the udev rules from drivers/linux/ (or add your user to the 'dialout' group "
    "and log in again); on Windows check that the adapter's driver is installed."
)
_BUSY_HINT: Final = "Close the other program (serial monitor, another bmsflasher window, ModemManager)."
_NOT_FOUND_HINT: Final = "Check the cable and the adapter; the port may have a new name after re-plugging."

try:
    import termios

    _PLATFORM_ERRORS: tuple[type[BaseException], ...] = (termios.error,)
except ImportError:  # Windows
    _PLATFORM_ERRORS = ()
_IO_ERRORS: Final[tuple[type[BaseException], ...]] = (SerialException, OSError, *_PLATFORM_ERRORS)
"""What pyserial lets through from a port that vanished: its own exception, OSError, and termios.error
(``tcflush``/``tcsetattr`` on a pty or USB port that was just unplugged)."""

_NOT_FOUND_ERRNOS: Final = frozenset({errno.ENOENT, errno.ENXIO, errno.ENODEV})
_BUSY_ERRNOS: Final = frozenset({errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK})
_PERMISSION_ERRNOS: Final = frozenset({errno.EACCES, errno.EPERM})
_LOST_ERRNOS: Final = frozenset({errno.EIO, errno.ENXIO, errno.ENODEV, errno.EBADF, errno.EPIPE})


def is_url(port: str) -> bool:
    """True when ``port`` is a pyserial URL (``socket://``, ``rfc2217://``, ``loop://``, ...)."""
    return "://" in port


def _find_errno(exc: BaseException) -> int | None:
    """The first errno found on the exception or its causes (pyserial often hides it in the chain)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        code = getattr(current, "errno", None)
        if isinstance(code, int):
            return code
        current = current.__cause__ or current.__context__
    return None


def translate_open_error(exc: BaseException, port: str) -> LinkError:
    """Turn a pyserial/OS error raised while opening ``port`` into the project's link error."""
    code = _find_errno(exc)
    text = str(exc)
    if code in _NOT_FOUND_ERRNOS or "FileNotFoundError" in text:
        return PortNotFoundError(t("Serial port {port} does not exist.", port=port), hint=_NOT_FOUND_HINT)
    if code in _BUSY_ERRNOS:
        return PortBusyError(
            t("Serial port {port} is already in use by another program.", port=port), hint=_BUSY_HINT
        )
    if code in _PERMISSION_ERRNOS or "PermissionError" in text:
        if sys.platform == "win32":  # Windows reports a port held by another program as "access denied"
            return PortBusyError(
                t("Serial port {port} is in use or access was denied.", port=port), hint=_BUSY_HINT
            )
        return PortPermissionError(
            t("Permission denied opening serial port {port}.", port=port),
            hint=_PERMISSION_HINT,
        )
    if code == errno.ECONNREFUSED:
        return PortNotFoundError(t("Nothing is listening at {port} (connection refused).", port=port))
    if code == errno.EISDIR:
        return PortNotFoundError(t("{port} is a folder, not a serial port.", port=port), hint=_NOT_FOUND_HINT)
    if code == errno.ENOTTY or "Inappropriate ioctl" in text:
        # A regular file, /dev/null, a pipe: opening works, configuring the line does not.
        return PortNotFoundError(t("{port} is not a serial port.", port=port), hint=_NOT_FOUND_HINT)
    return LinkError(t("Could not open serial port {port}: {text}.", port=port, text=text))


def translate_io_error(exc: BaseException, port: str) -> LinkError:
    """Turn an error raised while reading or writing an open port into the project's link error."""
    if isinstance(exc, SerialTimeoutException):
        return LinkTimeoutError(
            t("Writing to serial port {port} timed out; the port is not draining.", port=port)
        )
    code = _find_errno(exc)
    if code is None or code in _LOST_ERRNOS or isinstance(exc, _IO_ERRORS):
        return LinkLostError(
            t(
                "Serial port {port} went away (cable pulled, adapter unplugged or device re-enumerated).",
                port=port,
            ),
            hint=_NOT_FOUND_HINT,
        )
    return LinkError(t("Serial port {port} failed: {error}.", port=port, error=exc))


def _select_fd(handle: serial.SerialBase) -> int | None:
    """The descriptor to select() on for a native POSIX port, or None (URL handlers, Windows)."""
    if os.name != "posix" or not hasattr(handle, "fileno"):
        return None
    try:
        fd = handle.fileno()
    except (SerialException, OSError, AttributeError):
        return None
    return fd if isinstance(fd, int) and fd >= 0 else None


class SerialLink:
    """An open serial port with bounded reads, byte counters and translated errors.

    Construct with :meth:`open`. Thread-safety: one reader and one writer thread may use the link at
    the same time (pyserial allows that); :meth:`close` may be called from any thread.
    """

    def __init__(self, port: str, baud: int, handle: serial.SerialBase) -> None:
        self._port = port
        self._baud = baud
        self._handle = handle
        self._fd = _select_fd(handle)
        self._timeout_s: float | None = handle.timeout
        self._closed = False
        self._close_lock = threading.Lock()
        self.bytes_sent = 0
        self.bytes_received = 0

    @classmethod
    def open(
        cls,
        port: str,
        baud: int,
        *,
        exclusive: bool = True,
        write_timeout_s: float = DEFAULT_WRITE_TIMEOUT_S,
        parity: str = "N",
        stopbits: int = 1,
    ) -> SerialLink:
        """Open ``port`` (a path or a pyserial URL) at ``baud``, 8 data bits, no flow control.

        ``parity`` (``N``, ``E``, ``O``) and ``stopbits`` (1, 2) default to 8N1; Modbus RTU lines
        run 8E1, 8O1 or 8N2 as well. A URL (``socket://``) ignores them.

        Raises:
            PortNotFoundError: the port does not exist or nothing listens at the URL.
            PortBusyError: another program holds the port.
            PortPermissionError: the OS refused access.
            LinkError: the baud rate or URL is invalid, or another open failure.
        """
        if not port:
            raise PortNotFoundError(t("No serial port was given."))
        if baud <= 0:
            raise LinkError(t("{baud} is not a valid baud rate.", baud=baud))
        use_exclusive = exclusive and os.name == "posix" and not is_url(port)
        try:
            handle = serial.serial_for_url(
                port,
                do_not_open=True,
                baudrate=baud,
                timeout=0.0,
                write_timeout=write_timeout_s,
                exclusive=True if use_exclusive else None,
                parity=parity,
                stopbits=stopbits,
            )
        except (ValueError, OverflowError) as exc:
            raise LinkError(
                t("Cannot use {port!r} at {baud} baud: {error}.", port=port, baud=baud, error=exc)
            ) from exc
        try:
            handle.open()
        except (ValueError, OverflowError) as exc:  # OverflowError: a baud the OS cannot represent
            raise LinkError(
                t("Cannot use {port!r} at {baud} baud: {error}.", port=port, baud=baud, error=exc)
            ) from exc
        except _IO_ERRORS as exc:
            raise translate_open_error(exc, port) from exc
        link = cls(port, baud, handle)
        try:
            link.reset_input()
        except LinkError:
            link.close()
            raise
        return link

    @property
    def port(self) -> str:
        """The path or URL this link was opened with."""
        return self._port

    @property
    def baud(self) -> int:
        """The configured baud rate."""
        return self._baud

    def set_baud(self, baud: int) -> None:
        """Change the rate of the open port (a negotiated switch); the port stays open and locked.

        Raises:
            LinkError: the OS or the adapter cannot use ``baud``.
            LinkLostError: the port vanished.
        """
        self._check_open()
        if baud <= 0:
            raise LinkError(t("{baud} is not a valid baud rate.", baud=baud))
        try:
            self._handle.baudrate = baud
        except (ValueError, OverflowError) as exc:
            raise LinkError(
                t("Cannot use {port!r} at {baud} baud: {error}.", port=self._port, baud=baud, error=exc)
            ) from exc
        except _IO_ERRORS as exc:
            raise translate_io_error(exc, self._port) from exc
        self._baud = baud

    @property
    def is_open(self) -> bool:
        """False after :meth:`close` or once the port was found gone."""
        return not self._closed and bool(self._handle.is_open)

    def write(self, data: bytes) -> None:
        """Write all of ``data``; raises LinkLostError / LinkTimeoutError on failure."""
        self._check_open()
        try:
            written = self._handle.write(data)
        except _IO_ERRORS as exc:
            raise translate_io_error(exc, self._port) from exc
        self.bytes_sent += written if isinstance(written, int) else len(data)

    def read(self, max_bytes: int, timeout_s: float) -> bytes:
        """Return up to ``max_bytes`` as soon as any arrive, or ``b""`` after ``timeout_s``.

        Raises:
            LinkLostError: the port vanished (cable pulled, device re-enumerated).
        """
        self._check_open()
        wait_s = min(max(timeout_s, 0.0), MAX_READ_TIMEOUT_S)
        try:
            if self._fd is not None:
                # Wait with select() on the descriptor: changing pyserial's timeout re-runs
                # tcsetattr() on every read, which costs more than the read on a fast link.
                readable, _, _ = select.select([self._fd], [], [], wait_s)
                if not readable:
                    return b""
                data = bytes(self._handle.read(max_bytes))
            else:
                self._set_timeout(wait_s)
                first = bytes(self._handle.read(1))
                if not first:
                    return b""
                self._set_timeout(0.0)
                data = first + (bytes(self._handle.read(max_bytes - 1)) if max_bytes > 1 else b"")
        except _IO_ERRORS as exc:
            raise translate_io_error(exc, self._port) from exc
        except (TypeError, ValueError) as exc:  # pyserial's view of a descriptor closed under it
            raise translate_io_error(OSError(errno.EBADF, str(exc)), self._port) from exc
        self.bytes_received += len(data)
        return data

    def read_until_quiet(self, quiet_s: float, limit_s: float) -> bytes:
        """Read until nothing arrives for ``quiet_s`` (or ``limit_s`` passes): drains stale bytes."""
        deadline = time.monotonic() + limit_s
        chunks: list[bytes] = []
        while time.monotonic() < deadline:
            chunk = self.read(4096, quiet_s)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def reset_input(self) -> None:
        """Discard bytes the OS already received (stale answers from an earlier session)."""
        self._check_open()
        try:
            self._handle.reset_input_buffer()
        except _IO_ERRORS as exc:
            raise translate_io_error(exc, self._port) from exc

    def close(self) -> None:
        """Release the port. Safe to call twice and after the port vanished."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        with contextlib.suppress(*_IO_ERRORS):  # already gone (cable pulled): fine
            self._handle.close()

    def _set_timeout(self, timeout_s: float) -> None:
        if self._timeout_s != timeout_s:  # pyserial reconfigures the port on every assignment
            self._handle.timeout = timeout_s
            self._timeout_s = timeout_s

    def _check_open(self) -> None:
        if self._closed:
            raise LinkLostError(t("Serial port {port} is closed.", port=self._port))

    def __enter__(self) -> SerialLink:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"SerialLink({self._port!r}, {self._baud}, {state})"

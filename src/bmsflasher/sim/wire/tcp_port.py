"""The virtual BMS's serial port where there are no pseudo-terminals: a TCP socket on the loopback.

Windows has no ptys, but pyserial opens ``socket://127.0.0.1:PORT`` exactly like ``COM7`` and the
tool's serial link accepts such URLs, so the same SMP device is served on a listening socket
instead. The socket behaves like the USB port it stands for:

* one host at a time: a second connection waits in the listen backlog until the first one ends
  (a serial port opens once; the tool's quick close-and-reopen after a reset must not be refused);
* a host that closes its end frees the port; the next one gets a fresh line (new generation);
* unplugging (the device rebooting, re-enumerating on USB, or a cable pull) closes the connection,
  so the host's next read fails as with a vanished ``/dev/ttyACM0``, and while unplugged a new
  connection is closed at once — "the port does not exist" as pyserial over TCP can show it;
* the socket carries no baud rate: :meth:`TcpSerialPort.host_baud` is None and the wire paces at
  the device's own rate (no baud mismatch can be modelled over TCP).

Only the loopback address is ever bound: a device that accepts firmware must not be reachable from
the workshop's network. Port 0 lets the OS pick a free port; :attr:`TcpSerialPort.tcp_port` says which.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from typing import Final

from bmsflasher.core.i18n import t
from bmsflasher.sim.errors import SimError

LOOPBACK: Final = "127.0.0.1"
"""The only address the virtual BMS listens on."""
BACKLOG: Final = 4
"""Connections the OS queues while one host holds the port."""


def socket_url(host: str, tcp_port: int) -> str:
    """The pyserial URL of a TCP serial port (``socket://127.0.0.1:PORT``)."""
    return f"socket://{host}:{tcp_port}"


class TcpSerialPort:
    """A loopback TCP listener serving one host at a time; thread-safe plug/unplug.

    Args:
        tcp_port: the TCP port to listen on; 0 lets the OS choose a free one.

    Raises:
        SimError: the port cannot be listened on (already in use, not permitted).
    """

    def __init__(self, tcp_port: int = 0) -> None:
        self._lock = threading.RLock()
        try:
            self._listener = listen_on_loopback(tcp_port)
        except OSError as exc:
            raise SimError(
                t(
                    "the virtual BMS cannot listen on {host}:{tcp_port}: {reason}",
                    host=LOOPBACK,
                    tcp_port=tcp_port,
                    reason=exc.strerror or exc,
                )
            ) from exc
        self._listener.setblocking(False)
        self._tcp_port = int(self._listener.getsockname()[1])
        self._client: socket.socket | None = None
        self._plugged = False
        self._closed = False
        self._generation = 0
        self.connections = 0
        """Hosts served so far (for diagnostics and tests)."""

    @property
    def lock(self) -> threading.RLock:
        """Held by the wire while it moves bytes, so an unplug cannot close the socket mid-call."""
        return self._lock

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def tcp_port(self) -> int:
        """The TCP port listened on (the one the OS chose for port 0)."""
        return self._tcp_port

    @property
    def path(self) -> str:
        """What the tool opens: ``socket://127.0.0.1:PORT``."""
        return socket_url(LOOPBACK, self._tcp_port)

    @property
    def generation(self) -> int:
        """Increments with every host served, so the wire starts each connection on a clean line."""
        return self._generation

    @property
    def connected(self) -> bool:
        """Whether a host holds the port right now."""
        return self._client is not None

    def host_attached(self) -> bool:
        """Whether a host is connected; takes the next waiting one when none is."""
        with self._lock:
            if self._client is None:
                self._accept_waiting()
            return self._client is not None

    def host_baud(self) -> int | None:
        """Always None: a TCP socket carries no baud rate."""
        return None

    def read(self, max_bytes: int) -> bytes:
        """Bytes the host sent; ``b""`` when none wait. A host that hung up frees the port."""
        with self._lock:
            client = self._client
            if client is None:
                return b""
            try:
                data = client.recv(max_bytes)
            except (BlockingIOError, InterruptedError):
                return b""
            except OSError:
                self._drop_client()  # reset by the host
                return b""
            if not data:
                self._drop_client()  # the host closed the port
            return data

    def write(self, data: bytes | bytearray) -> int:
        """Send what the socket takes now; with no host (or one that hung up) the bytes are lost."""
        with self._lock:
            client = self._client
            if client is None:
                return len(data)
            try:
                return client.send(data)
            except (BlockingIOError, InterruptedError):
                return 0
            except OSError:
                self._drop_client()
                return len(data)

    def wait_readable(self, timeout_s: float) -> None:
        """Wait (without the lock) for the host's bytes or, with no host, for one to connect."""
        with self._lock:
            if self._closed:
                sock: socket.socket | None = None
            else:
                sock = self._client if self._client is not None else self._listener
        if sock is None:
            time.sleep(timeout_s)
            return
        try:
            select.select([sock], [], [], timeout_s)
        except (OSError, ValueError):
            time.sleep(timeout_s)  # closed under us (unplug, close)

    def plug(self) -> None:
        """The device appears: from now on a host can connect (a second call does nothing)."""
        with self._lock:
            if not self._closed:
                self._plugged = True

    def unplug(self) -> None:
        """Cable pull or reboot: the connection closes; new ones are hung up until :meth:`plug`."""
        with self._lock:
            self._plugged = False
            self._drop_client()

    def close(self) -> None:
        """Unplug for good and stop listening. Safe to call twice."""
        with self._lock:
            self.unplug()
            if not self._closed:
                self._closed = True
                with contextlib.suppress(OSError):
                    self._listener.close()

    # --- internals (called with the lock held) -----------------------------------------------------
    def _accept_waiting(self) -> None:
        """Take the next queued connection: serve it while plugged, hang it up while not."""
        while not self._closed:
            try:
                client, _address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            if not self._plugged:
                _hang_up(client)  # the device is not there (rebooting, unplugged)
                continue
            client.setblocking(False)
            with contextlib.suppress(OSError):
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a UART has no Nagle
            self._client = client
            self._generation += 1
            self.connections += 1
            return

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _hang_up(client)


def listen_on_loopback(tcp_port: int) -> socket.socket:
    """A listening socket on the loopback that no other program can take over.

    On Windows ``SO_EXCLUSIVEADDRUSE`` keeps another program from binding the same port (Windows'
    ``SO_REUSEADDR`` would let it); on POSIX ``SO_REUSEADDR`` only lets a restarted device listen
    again on its ``--tcp-port`` while old connections linger in TIME_WAIT.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        exclusive = getattr(socket, "SO_EXCLUSIVEADDRUSE", None)
        if exclusive is not None:
            listener.setsockopt(socket.SOL_SOCKET, exclusive, 1)
        else:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, tcp_port))
        listener.listen(BACKLOG)
    except BaseException:
        listener.close()
        raise
    return listener


def _hang_up(client: socket.socket) -> None:
    """Close a connection so the host sees end-of-file (its next read fails: the port went away)."""
    with contextlib.suppress(OSError):
        client.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        client.close()

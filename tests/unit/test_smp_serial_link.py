"""links/serial: real ptys, real sockets, real OS errors translated into the project's tree."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from pathlib import Path

import pytest

from bmsflasher.core.errors import (
    LinkError,
    LinkLostError,
    PortBusyError,
    PortNotFoundError,
    PortPermissionError,
)
from bmsflasher.links.serial import SerialLink, translate_open_error


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    name = os.ttyname(slave)
    yield master, name
    for fd in (master, slave):
        with contextlib.suppress(OSError):
            os.close(fd)


def test_missing_port_is_port_not_found(tmp_path: Path) -> None:
    with pytest.raises(PortNotFoundError, match="does not exist"):
        SerialLink.open(str(tmp_path / "ttyUSB9"), 115200)


def test_second_exclusive_open_is_busy(pty_pair) -> None:
    _master, name = pty_pair
    with SerialLink.open(name, 115200), pytest.raises(PortBusyError, match="in use"):
        SerialLink.open(name, 115200)


def test_permission_error_points_at_udev_rules() -> None:
    error = translate_open_error(PermissionError(13, "Permission denied"), "/dev/ttyACM0")
    assert isinstance(error, PortPermissionError)
    assert error.hint is not None
    assert "drivers/linux" in error.hint
    assert "dialout" in error.hint


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_unreadable_port_is_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "ttyS9"
    path.write_bytes(b"")
    path.chmod(0)
    with pytest.raises(PortPermissionError):
        SerialLink.open(str(path), 115200)


def test_read_is_bounded_and_returns_data(pty_pair) -> None:
    master, name = pty_pair
    with SerialLink.open(name, 921600) as link:
        started = time.monotonic()
        assert link.read(100, 0.2) == b""
        assert 0.15 < time.monotonic() - started < 1.0
        os.write(master, b"hello")
        assert link.read(100, 1.0) == b"hello"
        link.write(b"ping")
        assert os.read(master, 10) == b"ping"
        assert (link.bytes_sent, link.bytes_received) == (4, 5)


def test_vanished_port_is_link_lost(pty_pair) -> None:
    master, name = pty_pair
    link = SerialLink.open(name, 115200)
    try:
        os.close(master)
        with pytest.raises(LinkLostError, match="went away"):
            link.read(10, 0.5)
        with pytest.raises(LinkLostError):
            link.write(b"x")
    finally:
        link.close()
        link.close()  # twice is fine
    assert not link.is_open


def test_loop_url_and_socket_url() -> None:
    with SerialLink.open("loop://", 115200) as link:
        link.write(b"abc")
        assert link.read(10, 1.0) == b"abc"
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        with SerialLink.open(f"socket://127.0.0.1:{port}", 115200) as link:
            peer, _ = server.accept()
            peer.sendall(b"from-socket")
            assert link.read(64, 1.0) == b"from-socket"
            peer.close()
    finally:
        server.close()
    with pytest.raises(PortNotFoundError, match="connection refused"):
        SerialLink.open(f"socket://127.0.0.1:{port}", 115200)


def test_bad_url_and_baud_are_clear_errors() -> None:
    with pytest.raises(LinkError, match="Cannot use"):
        SerialLink.open("nosuch://thing", 115200)
    with pytest.raises(LinkError, match="not a valid baud"):
        SerialLink.open("loop://", 0)

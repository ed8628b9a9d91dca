"""links/serial: real ptys, real sockets, real OS errors translated into the project's tree."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
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


_OPEN_AS_UNPRIVILEGED_USER = """
import os, sys
from bmsflasher.core.errors import PortPermissionError
from bmsflasher.links.serial import SerialLink
if os.geteuid() == 0:  # root bypasses file modes: drop to 'nobody' (everything is imported by now)
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
try:
    SerialLink.open(sys.argv[1], 115200).close()
except PortPermissionError as exc:
    print("PortPermissionError", exc.hint is not None)
else:
    print("opened")
"""


def test_unreadable_port_is_permission_denied() -> None:
    """The OS's own "permission denied" for a mode-000 port, also when the suite runs as root (CI).

    The open runs in a child process that, when started as root, drops to the unprivileged user
    before opening: the refusal then comes from the file's mode, as on a technician's laptop
    without the udev rule, instead of being skipped.
    """
    folder = Path(tempfile.mkdtemp(prefix="bmsflasher-perm-"))  # not under pytest's 0700 folder
    try:
        folder.chmod(0o755)
        path = folder / "ttyS9"
        path.write_bytes(b"")
        path.chmod(0)
        done = subprocess.run(
            [sys.executable, "-c", _OPEN_AS_UNPRIVILEGED_USER, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "PortPermissionError True"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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

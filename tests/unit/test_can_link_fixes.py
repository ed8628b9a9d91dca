"""CAN link fixes: slcan adapters held exclusively, slcan bit rates checked as configuration, AF_CAN hint.

The adapter is the virtual BMS's emulated slcan USB-CAN adapter on a real pty, opened by python-can's
own slcan driver; "another program" is a real second process.
"""

from __future__ import annotations

import errno
import io
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from bmsflasher.cli.main import main
from bmsflasher.core.errors import ConfigValidationError, LinkError, PortBusyError
from bmsflasher.links import port_lock
from bmsflasher.links.can import (
    SLCAN_BITRATES,
    CanLink,
    CanLinkConfig,
    CanSettingsError,
    translate_open_error,
)
from bmsflasher.sim.wire.can_bus import CanBusTimeline
from bmsflasher.sim.wire.slcan_adapter import SlcanAdapter

_HOLD_EXCLUSIVELY = textwrap.dedent(
    """
    import sys, serial
    port = serial.Serial(sys.argv[1], 115200, exclusive=True)
    print("held", flush=True)
    sys.stdin.readline()
    port.close()
    """
)
_TRY_EXCLUSIVE_OPEN = textwrap.dedent(
    """
    import sys, serial
    try:
        serial.Serial(sys.argv[1], 115200, exclusive=True).close()
        print("opened")
    except serial.SerialException as exc:
        print("refused", exc)
    """
)
_TRY_PLAIN_OPEN = textwrap.dedent(
    """
    import os, sys
    try:
        os.close(os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))
        print("opened")
    except OSError as exc:
        print("errno", exc.errno)
    """
)


@pytest.fixture
def adapter() -> Iterator[SlcanAdapter]:
    bus = CanBusTimeline(500_000)
    emulated = SlcanAdapter(bus)
    try:
        yield emulated
    finally:
        emulated.close()
        bus.close()


def opened_by_host(adapter: SlcanAdapter, timeout_s: float = 2.0) -> bool:
    """Whether the adapter saw the host's ``O`` command (its reader thread handles it shortly after)."""
    deadline = time.monotonic() + timeout_s
    while not adapter.channel_open and time.monotonic() < deadline:
        time.sleep(0.01)
    return adapter.channel_open


def slcan_config(adapter: SlcanAdapter, bitrate: int = 500_000) -> CanLinkConfig:
    return CanLinkConfig(interface="slcan", channel=adapter.path, bitrate=bitrate)


def run_python(code: str, *args: str, user: int | None = None) -> str:
    """Run ``code`` in a second process (as ``user`` when given) and return what it printed."""
    python = sys.executable if user is None else "/usr/bin/python3"
    done = subprocess.run(
        [python, "-c", code, *args], capture_output=True, text=True, timeout=20, check=False, user=user
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def cli(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = main(list(args))
    return code, err.getvalue()


# --- slcan adapters are held exclusively -------------------------------------------------------------
def test_an_open_slcan_link_refuses_a_second_program_and_frees_the_adapter_on_close(
    adapter: SlcanAdapter,
) -> None:
    with CanLink.open(slcan_config(adapter)):
        assert opened_by_host(adapter)
        assert run_python(_TRY_EXCLUSIVE_OPEN, adapter.path).startswith("refused")
        device = port_lock.serial_device_of("slcan", adapter.path)
        assert device is not None
        assert port_lock.kernel_exclusive(device) is True  # TIOCEXCL: even non-locking opens fail
    assert run_python(_TRY_EXCLUSIVE_OPEN, adapter.path) == "opened"
    with CanLink.open(slcan_config(adapter)):  # and we can open it again ourselves
        assert opened_by_host(adapter)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not Path("/usr/bin/python3").exists(),
    reason="needs Linux ttys and a system python for the unprivileged second process",
)
def test_a_program_that_does_not_lock_is_kept_out_by_the_kernel(adapter: SlcanAdapter) -> None:
    # root may open an exclusive tty anyway (CAP_SYS_ADMIN); the second program runs as 'nobody'.
    user = 65534 if os.geteuid() == 0 else None
    if user is not None:
        os.chmod(adapter.tty_path, 0o666)
    with CanLink.open(slcan_config(adapter)):
        while_held = run_python(_TRY_PLAIN_OPEN, adapter.tty_path, user=user)
    after = run_python(_TRY_PLAIN_OPEN, adapter.tty_path, user=user)
    assert while_held == f"errno {errno.EBUSY}"
    assert after == "opened"


def test_an_adapter_another_program_holds_is_busy_and_gets_no_bytes(adapter: SlcanAdapter) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_EXCLUSIVELY, adapter.path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(PortBusyError, match="in use by another program"):
            CanLink.open(slcan_config(adapter))
        time.sleep(0.2)  # what python-can would have sent has arrived by now
        assert not adapter.channel_open  # python-can never sent S6/O to a port someone else holds
    finally:
        holder.communicate("\n", timeout=10)
    with CanLink.open(slcan_config(adapter)):
        assert opened_by_host(adapter)


def test_one_program_cannot_open_the_same_adapter_twice(adapter: SlcanAdapter) -> None:
    with CanLink.open(slcan_config(adapter)):
        with pytest.raises(PortBusyError, match="already open in this program"):
            CanLink.open(slcan_config(adapter))
    # ...but a scan-style hold around successive opens is fine.
    with port_lock.hold_serial_adapter("slcan", adapter.path):
        for _ in range(2):
            with CanLink.open(slcan_config(adapter)):
                assert opened_by_host(adapter)
        assert run_python(_TRY_EXCLUSIVE_OPEN, adapter.path).startswith("refused")


def test_only_serial_attached_local_adapters_are_locked() -> None:
    assert port_lock.serial_device_of("socketcan", "can0") is None
    assert port_lock.serial_device_of("virtual", "x") is None
    assert port_lock.serial_device_of("slcan", "socket://10.0.0.2:3333") is None
    assert port_lock.serial_device_of("slcan", "/dev/ttyACM0@115200") == os.path.realpath("/dev/ttyACM0")


# --- an invalid slcan bit rate is a configuration error -----------------------------------------------
def test_slcan_rates_are_python_cans_table() -> None:
    from can.interfaces.slcan import slcanBus

    assert set(SLCAN_BITRATES) == set(slcanBus._BITRATES)


def test_an_invalid_slcan_bitrate_is_refused_before_the_port_is_touched(adapter: SlcanAdapter) -> None:
    with pytest.raises(CanSettingsError) as caught:
        CanLink.open(slcan_config(adapter, bitrate=300_000))
    error = caught.value
    assert isinstance(error, ConfigValidationError)
    assert isinstance(error, LinkError)
    assert error.exit_code == ConfigValidationError.exit_code
    assert str(error) == (
        "An slcan adapter cannot run at 300000 bit/s; choose one of 10000, 20000, 50000, 83300, "
        "100000, 125000, 250000, 500000, 750000, 1000000 bit/s."
    )
    time.sleep(0.2)
    assert not adapter.channel_open


def test_the_cli_exits_with_the_configuration_code_on_an_invalid_slcan_bitrate(
    adapter: SlcanAdapter, data_home: Path
) -> None:
    code, err = cli("info", "--interface", "slcan", "--channel", adapter.path, "--bitrate", "300000")
    assert code == ConfigValidationError.exit_code == 8
    assert err.startswith("error: An slcan adapter cannot run at 300000 bit/s; choose one of 10000,")
    assert "Traceback" not in err


# --- SocketCAN without kernel CAN support -------------------------------------------------------------
def _has_af_can() -> bool:
    family = getattr(socket, "AF_CAN", None)
    if family is None:
        return False
    try:
        socket.socket(family, socket.SOCK_RAW, socket.CAN_RAW).close()
    except OSError:
        return False
    return True


def test_missing_af_can_is_explained_with_what_to_do() -> None:
    error = translate_open_error(
        OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol"),
        CanLinkConfig(interface="socketcan", channel="can0"),
    )
    assert type(error) is LinkError
    assert "does not support CAN sockets (AF_CAN)" in error.message
    assert error.hint is not None
    assert "modprobe can can_raw" in error.hint
    assert "slcan" in error.hint
    assert "gs_usb" in error.hint


@pytest.mark.skipif(_has_af_can(), reason="this kernel has AF_CAN")
def test_socketcan_on_this_kernel_without_af_can_gives_the_hint(data_home: Path) -> None:
    with pytest.raises(LinkError) as caught:
        CanLink.open(CanLinkConfig(interface="socketcan", channel="can0"))
    assert caught.value.hint is not None
    assert "can_raw" in caught.value.hint
    code, err = cli("info", "--interface", "socketcan", "--channel", "can0")
    assert code == LinkError.exit_code
    assert "AF_CAN" in err
    assert "can_raw" in err


def test_an_impossible_setting_is_named_before_the_adapter_is_looked_for(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A wrong FD data rate is a configuration error whether or not the adapter is plugged in."""
    from bmsflasher.links.can import CanLink, CanLinkConfig, CanSettingsError

    config = CanLinkConfig(
        interface="slcan", channel=str(tmp_path / "ttyACM9"), bitrate=500000, fd=True, data_bitrate=3_000_000
    )
    with pytest.raises(CanSettingsError, match="3000000"):
        CanLink.open(config)

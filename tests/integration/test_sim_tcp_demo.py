"""The demo where there are no pseudo-terminals: the bench serves its battery on a loopback TCP port.

On Windows ``bmsflasher demo`` and ``bmsflasher gui --demo`` used to open without a battery. The
bench now picks the TCP front-end there by itself, and ``BMSFLASHER_DEMO_LINK=tcp`` forces it
here so the whole path runs on Linux: the command-line demo, the GUI's launch, and a Windows-like
process in which the pty module cannot even be imported.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bmsflasher.procedure.connect import open_target
from bmsflasher.sim import demo_bench
from bmsflasher.sim.demo_bench import DEMO_LINK_ENV, DemoBench, DemoScenario, DemoUnavailableError, demo_link

RUN_TIMEOUT_S = 240.0


def _env(**extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in (DEMO_LINK_ENV, "BMSFLASHER_QUIT_AFTER_MS")
    }
    env.update(QT_QPA_PLATFORM="offscreen", BMSFLASHER_LANG="en", **extra)
    return env


def _port_of(url: str) -> int:
    host, _, port = url.removeprefix("socket://").rpartition(":")
    assert host == "127.0.0.1"
    return int(port)


def test_the_bench_chooses_pty_where_ptys_exist_and_tcp_where_they_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(DEMO_LINK_ENV, raising=False)
    assert demo_link() == "pty"  # Linux
    monkeypatch.setattr(demo_bench, "_os_name", lambda: "nt")  # what os.name is on Windows
    assert demo_link() == "tcp"
    assert demo_link("tcp") == "tcp"
    monkeypatch.setenv(DEMO_LINK_ENV, "TCP ")
    monkeypatch.setattr(demo_bench, "_os_name", lambda: "posix")
    assert demo_link() == "tcp"  # forced where ptys exist: how this path is tested on Linux
    monkeypatch.setenv(DEMO_LINK_ENV, "usb")
    with pytest.raises(
        DemoUnavailableError, match=r"BMSFLASHER_DEMO_LINK=usb is not a demo port; use pty or tcp\."
    ):
        demo_link()


def test_a_forced_tcp_bench_hands_out_a_socket_url_the_tool_opens_the_normal_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DEMO_LINK_ENV, "tcp")
    with DemoBench(DemoScenario(cells=8, baud=460_800), tmp_path / "bench", in_process=True) as bench:
        assert bench.link_kind == "tcp"
        link = bench.link
        assert (link.kind, link.port, link.baud) == ("serial", bench.port, 460_800)
        tcp_port = _port_of(bench.port)
        target = open_target(link, timeout_s=10.0)  # what the GUI and the CLI demo call
        try:
            identity = target.identify()
            assert identity.model == "VBMS-8"
            assert bench.device is not None
            assert identity.serial_number == bench.device.serial_number
        finally:
            target.close()
    with pytest.raises(OSError):  # the bench closed: nothing listens there any more
        socket.create_connection(("127.0.0.1", tcp_port), timeout=2).close()


def test_a_tcp_bench_runs_its_device_as_a_child_process_too(tmp_path: Path) -> None:
    """The GUI's way: the device is a ``bmsflasher sim --link tcp`` child, stopped with the bench."""
    with DemoBench(DemoScenario(cells=8), tmp_path / "bench", link="tcp") as bench:
        assert bench.device is None  # not in this process
        tcp_port = _port_of(bench.port)
        target = open_target(bench.link, timeout_s=10.0)
        try:
            assert target.identify().model == "VBMS-8"
        finally:
            target.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", tcp_port), timeout=2).close()


def test_the_command_line_demo_updates_the_battery_over_tcp(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bmsflasher.cli.main", "demo", "--workdir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
        env=_env(**{DEMO_LINK_ENV: "tcp"}),
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "is listening on socket://127.0.0.1:" in completed.stdout
    assert "The device now runs 1.1.0" in completed.stdout


def test_a_windows_like_process_without_the_pty_module_runs_the_demo_over_tcp(tmp_path: Path) -> None:
    """No variable: the bench must choose TCP by itself where os.name is 'nt', and never need termios."""
    code = (
        "import importlib.abc, sys\n"
        "class NoPty(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'bmsflasher.sim.wire.pty_link':\n"
        "            raise ImportError('no ptys here: ' + name)\n"
        "sys.meta_path.insert(0, NoPty())\n"
        "from bmsflasher.sim import demo_bench\n"
        "demo_bench._os_name = lambda: 'nt'\n"
        "from bmsflasher.cli.main import main\n"
        f"sys.exit(main(['demo', '--workdir', {str(tmp_path / 'demo')!r}]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
        env=_env(),
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "is listening on socket://127.0.0.1:" in completed.stdout
    assert "The device now runs 1.1.0" in completed.stdout


@pytest.mark.gui
def test_the_gui_demo_connects_its_battery_over_tcp(data_home: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bmsflasher.cli.main",
            "gui",
            "--demo",
            "--lang",
            "en",
            "--quit-after-ms",
            "3000",
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
        env=_env(**{DEMO_LINK_ENV: "tcp"}),
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr
    assert "demo battery served over tcp on socket://127.0.0.1:" in completed.stderr
    assert "the demo battery answers on socket://127.0.0.1:" in completed.stderr  # the window talks to it

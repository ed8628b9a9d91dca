"""The frozen application, end to end: build it with PyInstaller, then use only the frozen programs.

Slow (a build takes minutes), so marked ``slow``; ``make dist-test`` runs it against ``dist/``
after ``make dist``. Set ``BMSFLASHER_FROZEN_DIST`` to a folder holding a finished build (the
``bmsflasher`` one-folder bundle and the Linux tarball) to skip the build here.

Everything runs through the frozen executables, never through this interpreter: ``--version``, a
virtual BMS on a pty (SMP) and on an emulated slcan adapter (UDS over CAN, which loads python-can's
``slcan`` backend by name), scans of both, a headless firmware update, a pyserial URL handler, the
GUI started offscreen and closed, and the tarball's install script.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import subprocess
import sys
import tarfile
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "installer"
RESOURCES = ROOT / "src" / "bmsflasher" / "resources"
DEMO = RESOURCES / "demo"
START_TIMEOUT_S = 90.0
COMMAND_TIMEOUT_S = 180.0


def _load_build() -> ModuleType:
    sys.path.insert(0, str(INSTALLER))
    spec = importlib.util.spec_from_file_location("_bmsflasher_installer_build", INSTALLER / "build.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class FrozenBuild:
    bundle: Path
    tarball: Path | None
    build: ModuleType

    def program(self, name: str = "bmsflasher") -> Path:
        return Path(self.build.frozen_executable(self.bundle, name))


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> FrozenBuild:
    build = _load_build()
    given = os.environ.get("BMSFLASHER_FROZEN_DIST")
    if given:
        dist = Path(given).resolve()
        tarballs = sorted(dist.glob("bmsflasher-*-linux-*.tar.gz"), key=lambda p: p.stat().st_mtime)
        return FrozenBuild(dist / "bmsflasher", tarballs[-1] if tarballs else None, build)
    base = tmp_path_factory.mktemp("frozen")
    summary = build.build(base / "dist", base / "work", package=sys.platform.startswith("linux"), clean=False)
    artefact = summary["artefact"]
    return FrozenBuild(Path(summary["bundle"]), Path(artefact) if artefact else None, build)


@pytest.fixture
def user_dirs(tmp_path: Path) -> dict[str, str]:
    """An environment whose user data, config and cache folders are private to the test."""
    env = dict(os.environ)
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        folder = tmp_path / var.lower()
        folder.mkdir()
        env[var] = str(folder)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.pop("BMSFLASHER_RESOURCES", None)  # the bundle must find its own resources
    return env


def _run(command: list[str | Path], env: dict[str, str], timeout_s: float = COMMAND_TIMEOUT_S) -> Any:
    return subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, env=env, timeout=timeout_s, check=False
    )


@dataclass
class RunningSim:
    process: subprocess.Popen[str]
    events: list[dict[str, Any]]

    def listening(self) -> dict[str, Any]:
        return next(e for e in self.events if e.get("event") == "listening")


def _read_events(stream: Any, events: queue.Queue[dict[str, Any] | None]) -> None:
    """Every JSON line of the sim's output into ``events``, then None at its end (a thread's body).

    A thread, not ``select()`` on the pipe plus ``readline()``: the text stream reads ahead, so when
    the frozen sim (which starts fast) writes its ``device`` and ``listening`` lines together, both
    sit in the stream's buffer after the first ``readline()`` and ``select()`` never reports the
    second one (CI waited 90 s for a line that had arrived). Draining to the end also means the sim
    can never block on a full pipe.
    """
    try:
        for line in stream:
            with contextlib.suppress(ValueError):
                events.put(json.loads(line))
    except (OSError, ValueError):
        pass
    finally:
        events.put(None)


@pytest.fixture
def start_sim(user_dirs: dict[str, str], frozen: FrozenBuild, tmp_path: Path) -> Iterator[Any]:
    """Start ``bmsflasher sim ... --json`` from the bundle; wait for its 'listening' event."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str) -> RunningSim:
        stderr_log = tmp_path / f"sim-{len(started)}.stderr"
        with stderr_log.open("w", encoding="utf-8") as stderr_file:
            process = subprocess.Popen(
                [str(frozen.program()), "sim", *args, "--json"],
                stdout=subprocess.PIPE,
                stderr=stderr_file,
                text=True,
                env=user_dirs,
            )
        started.append(process)
        assert process.stdout is not None
        arrived: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(
            target=_read_events, args=(process.stdout, arrived), name="frozen-sim-output", daemon=True
        ).start()
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + START_TIMEOUT_S
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = arrived.get(timeout=remaining)
            except queue.Empty:
                break
            if event is None:  # its output ended: the sim exited
                break
            events.append(event)
            if event.get("event") == "listening":
                return RunningSim(process, events)
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)
        stderr = stderr_log.read_text(encoding="utf-8", errors="replace")
        raise AssertionError(f"the frozen sim did not start listening: {events} {stderr[-2000:]}")

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _project_version() -> str:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return str(data["project"]["version"])


def test_both_programs_print_the_project_version(frozen: FrozenBuild, user_dirs: dict[str, str]) -> None:
    for name in ("bmsflasher", "bmsflasher-gui"):
        result = _run([frozen.program(name), "--version"], user_dirs)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"bmsflasher {_project_version()}"


def test_bundle_holds_every_module_imported_by_name(frozen: FrozenBuild) -> None:
    assert frozen.build.check_bundle(frozen.bundle) == []
    modules = frozen.build.archived_modules(frozen.bundle)
    assert "can.interfaces.gs_usb" in modules
    assert "serial.urlhandler.protocol_rfc2217" in modules
    assert not any(name.startswith(("pytest", "tkinter", "mypy", "hypothesis")) for name in modules)


def test_bundle_ships_translations_but_not_their_sources(frozen: FrozenBuild) -> None:
    internal = frozen.build.internal_dir(frozen.bundle)
    sources = sorted((RESOURCES / "i18n").glob("*.ts"))
    bundled = internal / "bmsflasher" / "resources"  # where importlib.resources finds them when frozen
    for ts in sources:
        assert (bundled / "i18n" / ts.with_suffix(".qm").name).is_file()
    assert not list(bundled.rglob("*.ts"))
    qt_translations = {p.name for p in (internal / "PySide6" / "Qt" / "translations").glob("*.qm")}
    assert {"qtbase_nl.qm", "qtbase_fr.qm"} <= qt_translations
    assert "qtbase_de.qm" not in qt_translations
    assert (internal / "drivers" / "guidance.json").is_file()


def test_frozen_cli_scans_and_flashes_a_virtual_bms_over_a_pty(
    frozen: FrozenBuild, start_sim: Any, user_dirs: dict[str, str], tmp_path: Path
) -> None:
    sim = start_sim(
        "--protocol", "smp", "--link", "pty", "--baud", "921600", "--state", str(tmp_path / "flash")
    )
    port = sim.listening()["port"]
    serial_number = sim.events[0]["serial"]

    scan = _run(
        [frozen.program(), "scan", "--port", port, "--bauds", "921600", "--json", "--no-cache"], user_dirs
    )
    assert scan.returncode == 0, scan.stderr
    found = json.loads(scan.stdout)["devices"]
    assert [d["serial_number"] for d in found] == [serial_number]
    assert found[0]["protocol"] == "smp"
    assert found[0]["firmware_version"] == "1.0.0"

    package = DEMO / "packages" / "VBMS-16-1.1.0.bmspkg"
    flash = _run(
        [
            frozen.program(),
            "flash",
            "--port",
            port,
            "--baud",
            "921600",
            "--yes",
            "--json",
            "--trust",
            DEMO / "demo-key.pub.pem",
            "--db",
            tmp_path / "history.db",
            package,
        ],
        user_dirs,
    )
    assert flash.returncode == 0, flash.stdout[-3000:] + flash.stderr[-3000:]
    result = json.loads(flash.stdout)
    assert result["outcome"] == "updated"
    assert (result["from_version"], result["running_version"]) == ("1.0.0", "1.1.0")
    assert result["serial_number"] == serial_number


def test_frozen_cli_scans_a_uds_bms_through_the_slcan_backend(
    frozen: FrozenBuild, start_sim: Any, user_dirs: dict[str, str]
) -> None:
    sim = start_sim("--protocol", "uds", "--link", "slcan")
    channel = sim.listening()["channel"]
    scan = _run([frozen.program(), "scan", "--can", f"slcan:{channel}", "--json", "--no-cache"], user_dirs)
    assert scan.returncode == 0, scan.stderr
    devices = json.loads(scan.stdout)["devices"]
    assert [(d["protocol"], d["serial_number"]) for d in devices] == [("uds", sim.events[0]["serial"])]


def test_frozen_cli_opens_pyserial_url_handlers(frozen: FrozenBuild, user_dirs: dict[str, str]) -> None:
    # loop:// echoes every byte: the handler works when the scan reads its own probes back as garbage
    # (a missing handler would make pyserial refuse the URL). Finding no device exits with 1.
    scan = _run(
        [frozen.program(), "scan", "--port", "loop://", "--bauds", "115200", "--json", "--no-cache"],
        user_dirs,
    )
    assert scan.returncode == 1, scan.stderr
    (adapter,) = json.loads(scan.stdout)["adapters"]
    assert adapter["status"] == "garbage", adapter


def test_frozen_gui_starts_offscreen_with_a_demo_device_and_closes(
    frozen: FrozenBuild, user_dirs: dict[str, str]
) -> None:
    # The package argument is what the .bmspkg file associations pass (installer/windows/bmsflasher.iss
    # "%1", installer/linux/bmsflasher.desktop %f): the wizard opens on it once the demo battery answers.
    package = DEMO / "packages" / "VBMS-16-1.1.0.bmspkg"
    started = time.monotonic()
    result = _run(
        [frozen.program("bmsflasher-gui"), "--demo", "--lang", "nl", "--quit-after-ms", "4000", package],
        user_dirs,
        timeout_s=120,
    )
    elapsed_s = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert elapsed_s >= 4.0  # it ran its event loop until the timer, not crashed early


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the tarball is the Linux package")
def test_linux_tarball_installs_for_a_user_and_runs(frozen: FrozenBuild, tmp_path: Path) -> None:
    assert frozen.tarball is not None
    assert frozen.tarball.is_file()
    with tarfile.open(frozen.tarball) as tar:
        names = tar.getnames()
        tar.extractall(tmp_path / "unpacked", filter="tar")
    (top,) = {name.split("/")[0] for name in names}
    for required in (
        "install.sh",
        "bmsflasher/bmsflasher",
        "bmsflasher/bmsflasher-gui",
        "share/applications/bmsflasher.desktop",
        "drivers/linux/60-bmsflasher.rules",
    ):
        assert f"{top}/{required}" in names, required
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    install = _run(["sh", tmp_path / "unpacked" / top / "install.sh", "--user"], env)
    assert install.returncode == 0, install.stderr
    installed = home / ".local" / "bin" / "bmsflasher"
    version = _run([installed, "--version"], env)
    assert version.stdout.strip() == f"bmsflasher {_project_version()}", version.stderr
    uninstall = _run(
        ["sh", home / ".local" / "opt" / "bmsflasher" / "install.sh", "--user", "--uninstall"], env
    )
    assert uninstall.returncode == 0
    assert not installed.exists()

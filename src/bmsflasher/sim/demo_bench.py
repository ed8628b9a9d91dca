"""The demo bench: a virtual BMS on a real serial port of this system, with the demo packages and key ready.

``bmsflasher gui --demo`` (``make demo``) and ``bmsflasher demo`` (``make demo-cli``) need no
hardware, and both build their setup here, once. A :class:`DemoBench` starts a virtual BMS (its
flash, service history and journal live in a work folder, a temporary one unless given, never
mixed with a workshop's real records), serves it over a pty exactly as a USB-serial adapter would
appear, and tells the front-end what to use: :attr:`DemoBench.link` (the port at the demo baud
rate, a ``core.types.LinkSettings`` the tool's ordinary SMP client opens), the demo key to trust
for this session only, the folders for history, journal and keyring, and the demo packages.

By default the device runs as a ``bmsflasher sim`` child process, like a real device outside the
tool: its line-rate pacing threads then never compete with the GUI thread for the interpreter lock.
``in_process=True`` keeps it in this process: the command-line demo (one thread of work, no event
loop to starve) and tests that inspect the device directly use it.

Pseudo-terminals are POSIX. Where there are none (Windows, the laptop most technicians carry) the
same device is served on a local TCP port instead, which the tool opens as the serial port
``socket://127.0.0.1:PORT`` through its ordinary serial link (:mod:`bmsflasher.sim.wire.tcp_serial`):
:func:`demo_link` chooses, and ``BMSFLASHER_DEMO_LINK=tcp`` (or ``DemoBench(link="tcp")``) forces
the TCP port where ptys exist, so that path is tested on Linux too. This module imports nothing
pty-specific until a bench really starts on a pty.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.i18n import t
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import LinkSettings
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions

if TYPE_CHECKING:
    from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd

DEMO_BAUD: Final = 921_600
"""Fast enough that a demo update takes seconds; the sim still paces bytes at this line rate."""

DEMO_PACKAGES: Final = {
    "healthy": "VBMS-16-1.1.0.bmspkg",
    "selftest-fail": "VBMS-16-1.2.0-selftest-fail.bmspkg",
    "boot-loop": "VBMS-16-1.2.1-boot-loop.bmspkg",
    "voltage-offset": "VBMS-16-1.3.0-voltage-offset-2.0.bmspkg",
    "downgrade": "VBMS-16-0.9.0-downgrade.bmspkg",
}
"""The demo packages by the outcome they show (signed with the demo key, for the 16-cell demo pack)."""

ERASE_TIME_S_PER_SECTOR: Final = 0.0005
"""Flash erase time of the demo device: fast, yet an erase still takes visible time."""

START_TIMEOUT_S: Final = 30.0
STOP_TIMEOUT_S: Final = 10.0
CREATE_NO_WINDOW: Final = 0x08000000
"""Windows process creation flag: the console child gets no console window of its own."""

DEMO_LINK_ENV: Final = "BMSFLASHER_DEMO_LINK"
"""Environment variable forcing the demo's port: ``pty`` or ``tcp`` (default: pty where ptys exist)."""
DEMO_LINKS: Final = ("pty", "tcp")

_log = logging.getLogger(__name__)


class DemoUnavailableError(BmsFlasherError):
    """The virtual BMS cannot run on the port asked for (a pty where the system has none)."""


def _os_name() -> str:
    return os.name


def demo_link(requested: str | None = None) -> str:
    """The port the demo serves its battery on: ``pty`` or ``tcp``.

    ``requested`` wins, then ``$BMSFLASHER_DEMO_LINK``; otherwise ``pty`` where the system has
    pseudo-terminals (POSIX) and ``tcp`` where it does not (Windows).

    Raises:
        DemoUnavailableError: the link asked for is unknown, or is a pty where there are none.
    """
    link = (requested or os.environ.get(DEMO_LINK_ENV, "")).strip().lower()
    if not link:
        return "pty" if _os_name() == "posix" else "tcp"
    if link not in DEMO_LINKS:
        raise DemoUnavailableError(
            t(
                "{variable}={link} is not a demo port; use pty or tcp.",
                variable=DEMO_LINK_ENV,
                link=link,
            ),
            hint=t("Unset {variable} to let the demo choose.", variable=DEMO_LINK_ENV),
        )
    if link == "pty" and _os_name() != "posix":
        raise DemoUnavailableError(
            t(
                "The demo's virtual battery needs a pseudo-terminal (pty) when {variable}=pty, which "
                "Linux and macOS have and Windows does not, so the demo is not available on Windows "
                "that way.",
                variable=DEMO_LINK_ENV,
            ),
            hint=t(
                "Unset {variable} (or set it to tcp): the demo then serves its battery on a local TCP port.",
                variable=DEMO_LINK_ENV,
            ),
        )
    return link


def check_demo_supported() -> None:
    """Refuse, in one sentence, to start the demo where its port cannot be served.

    Raises:
        DemoUnavailableError: :func:`demo_link` refuses (a forced pty on Windows, an unknown link).
    """
    demo_link()


def _child_creation_flags() -> int:
    """On Windows the GUI has no console, so its console child must not open a window of its own."""
    if _os_name() == "nt":
        return int(getattr(subprocess, "CREATE_NO_WINDOW", CREATE_NO_WINDOW))
    return 0


def _cli_command() -> list[str]:
    """How to start the ``bmsflasher`` CLI as a child process.

    In a frozen bundle ``sys.executable`` is the GUI program itself, which cannot run ``-m``; the
    console program ``bmsflasher`` sits beside it (installer/bmsflasher.spec builds both).
    """
    if getattr(sys, "frozen", False):
        suffix = ".exe" if sys.platform == "win32" else ""
        return [str(Path(sys.executable).with_name(f"bmsflasher{suffix}"))]
    return [sys.executable, "-m", "bmsflasher.cli.main"]


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, a hook making the child device exit if the GUI dies without closing it (SIGKILL)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: the hook only makes one call
    pr_set_pdeathsig = 1

    def hook() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


class _ChildOutput:
    """Reads the child device's JSON lines on a thread of its own, for as long as the child lives.

    A thread rather than ``select()``: Windows cannot select on a pipe. Draining the pipe to the
    end also means the child can never block on a full one. An ``answering`` line (the device
    answered a host) is logged, so a launch shows that the window really talks to the battery.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._listening: queue.Queue[dict[str, object] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, name="demo-bench-child-output", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for line in self._stream:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(message, dict):
                    continue
                event = message.get("event")
                if event == "listening":
                    self._listening.put(message)
                elif event == "answering":
                    _log.info("the demo battery answers on %s", message.get("port"))
        except (OSError, ValueError):
            pass  # the pipe was closed under us: the bench is closing
        finally:
            self._listening.put(None)  # end of output: the child stopped

    def wait_listening(self, process: subprocess.Popen[str], log_file: Path) -> str:
        """Wait (bounded) for the sim's "listening" line and return its port.

        Raises:
            BmsFlasherError: the child ended or stayed silent (with the last line of its log).
        """
        try:
            message = self._listening.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            message = None  # silent all along: its log may say why
        else:
            if message is not None:
                return str(message["port"])
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(STOP_TIMEOUT_S)  # its output ended: it is exiting; its log then says why
        error = log_file.read_text(encoding="utf-8", errors="replace") if log_file.is_file() else ""
        detail = error.strip().splitlines()[-1] if error.strip() else "no answer"
        raise BmsFlasherError(f"the virtual BMS did not start within {START_TIMEOUT_S:.0f} s: {detail}")

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)


@dataclass(frozen=True, slots=True)
class DemoScenario:
    """The physical situation of the demo pack (what the precondition gates will measure)."""

    cells: int = 16
    soc_pct: float = 55.0
    ambient_c: float = 25.0
    load_a: float = 0.0
    baud: int = DEMO_BAUD
    failed_sensor: int | None = None
    weak_cell: int | None = 5
    recovery: bool = False
    seed: int = 7


class DemoBench:
    """A virtual BMS plus its serial front-end; ``close()`` stops both and removes the work folder.

    Args:
        scenario: pack size and conditions.
        workdir: folder for flash state, history and journal; a temporary one when None.
        in_process: run the device in this process (the command-line demo, tests that inspect it)
            instead of a child.
        link: ``"pty"`` or ``"tcp"`` to force the port; None lets :func:`demo_link` choose.

    Raises:
        DemoUnavailableError: the port asked for cannot be served here (a pty on Windows).
        BmsFlasherError: the virtual BMS did not start (with the reason from its log).
    """

    def __init__(
        self,
        scenario: DemoScenario | None = None,
        workdir: Path | None = None,
        *,
        in_process: bool = False,
        link: str | None = None,
    ) -> None:
        self.link_kind = demo_link(link)
        """The port the battery is served on: ``pty`` or ``tcp`` (``socket://127.0.0.1:PORT``)."""
        self.scenario = scenario or DemoScenario()
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="bmsflasher-demo-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.device: VirtualBms | None = None
        self._front_end: SerialFrontEnd | None = None
        self._process: subprocess.Popen[str] | None = None
        self._child_output: _ChildOutput | None = None
        try:
            if in_process:
                self._port = self._start_in_process()
            else:
                self._port = self._start_child()
        except BaseException:
            self.close()
            raise
        _log.info("demo battery served over %s on %s", self.link_kind, self._port)

    def _start_in_process(self) -> str:
        from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd  # loads without termios
        from bmsflasher.sim.wire.tcp_serial import tcp_front_end

        s = self.scenario
        self.device = VirtualBms.create(
            SimOptions(
                state_file=self.state_file,
                cells=s.cells,
                soc_pct=s.soc_pct,
                ambient_c=s.ambient_c,
                load_a=s.load_a,
                failed_sensor=s.failed_sensor,
                weak_cell=s.weak_cell,
                recovery=s.recovery,
                seed=s.seed,
                erase_time_s_per_sector=ERASE_TIME_S_PER_SECTOR,
            )
        )
        options = FrontEndOptions(baud=s.baud)
        if self.link_kind == "tcp":
            self._front_end = tcp_front_end(self.device, options)
        else:
            self._front_end = SerialFrontEnd(self.device, options)  # a pty: POSIX only
        self._front_end.start()
        return self._front_end.port

    def _start_child(self) -> str:
        s = self.scenario
        command = [
            *_cli_command(), "sim", "--protocol", "smp", "--link", self.link_kind,
            "--baud", str(s.baud), "--state", str(self.state_file), "--cells", str(s.cells),
            "--soc", str(s.soc_pct), "--ambient-c", str(s.ambient_c), "--load-a", str(s.load_a),
            "--seed", str(s.seed), "--erase-ms", f"{ERASE_TIME_S_PER_SECTOR * 1000:g}",
            "--stop-on-stdin-eof", "--json",
        ]  # fmt: skip
        if s.failed_sensor is not None:
            command += ["--failed-sensor", str(s.failed_sensor)]
        if s.weak_cell is not None:
            command += ["--weak-cell", str(s.weak_cell)]
        if s.recovery:
            command.append("--recovery")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with self.log_file.open("w", encoding="utf-8") as log:  # a file, never a pipe that can fill up
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,  # never written: it closes when this process ends, however it ends
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
                preexec_fn=_die_with_parent(),  # noqa: PLW1509 - one async-signal-safe prctl call
                creationflags=_child_creation_flags(),
            )
        assert self._process.stdout is not None
        self._child_output = _ChildOutput(self._process.stdout)
        return self._child_output.wait_listening(self._process, self.log_file)

    @property
    def log_file(self) -> Path:
        """Where the child device writes its diagnostics."""
        return self.workdir / "sim.log"

    @property
    def state_file(self) -> Path:
        return self.workdir / "vbms.state"

    @property
    def port(self) -> str:
        """What the tool opens: the pty's stable path, or ``socket://127.0.0.1:PORT`` over TCP."""
        return self._port

    @property
    def link(self) -> LinkSettings:
        """How the tool reaches the virtual BMS: its serial port at the demo baud rate."""
        return LinkSettings(kind="serial", port=self._port, baud=self.scenario.baud)

    @property
    def history_path(self) -> Path:
        return self.workdir / "history.sqlite3"

    @property
    def journal_dir(self) -> Path:
        return self.workdir / "journal"

    @property
    def trusted_keys_dir(self) -> Path:
        """An empty user keyring: only the demo key (passed explicitly) is trusted."""
        return self.workdir / "trusted-keys"

    @staticmethod
    def trusted_key() -> Path:
        return resource_path("demo", "demo-key.pub.pem")

    @staticmethod
    def packages_dir() -> Path:
        return resource_path("demo", "packages")

    @staticmethod
    def package(name: str) -> Path:
        """The demo package showing ``name`` (a key of :data:`DEMO_PACKAGES`).

        Raises:
            KeyError: no demo package has that name.
        """
        return DemoBench.packages_dir() / DEMO_PACKAGES[name]

    def __enter__(self) -> DemoBench:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the device (child or in-process); delete the work folder if we made it. Idempotent."""
        try:
            if self._process is not None:
                process, self._process = self._process, None
                process.terminate()
                try:
                    process.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(STOP_TIMEOUT_S)
                if self._child_output is not None:
                    self._child_output.join(STOP_TIMEOUT_S)  # the child is gone: its output ends
                    self._child_output = None
                for stream in (process.stdin, process.stdout):
                    if stream is not None:
                        stream.close()
            if self._front_end is not None:
                front_end, self._front_end = self._front_end, None
                front_end.stop()
        finally:
            if self.device is not None:
                device, self.device = self.device, None
                device.close()
            if self._own_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)


def start_pack_in_process(
    topology: str, state_dir: Path, channel: str, bitrate: int
) -> tuple[Any, LinkSettings]:
    """A virtual pack (``sim --topology``) on a python-can ``virtual`` bus in this process.

    For tests of the GUI's Pack page: the front-ends build nothing of the simulation themselves
    (``tests/integration/test_sim_demo_bench.py``), so the pack is assembled here. Returns the
    running pack (``close()`` stops it) and the link that reaches it.
    """
    from bmsflasher.sim.options import SimOptions
    from bmsflasher.sim.topology.can_pack import start
    from bmsflasher.sim.topology.spec import parse_topology
    from bmsflasher.sim.wire.frontend_options import FrontEndOptions

    base = SimOptions(state_file=state_dir, erase_time_s_per_sector=0.0, boot_time_s=0.0, noise_mv=0.0)
    options = FrontEndOptions(bitrate=bitrate, channel=channel)
    pack = start(parse_topology(topology), base, options, "virtual")
    return pack, LinkSettings(kind="can", interface="virtual", channel=channel, bitrate=bitrate)

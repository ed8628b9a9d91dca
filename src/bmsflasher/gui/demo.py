"""Demo mode for the GUI: the shared demo bench of the virtual BMS, and the virtual pack.

``bmsflasher gui --demo`` and ``bmsflasher demo`` start the same setup, built once in
:mod:`bmsflasher.sim.demo_bench` (virtual BMS on a pty, link settings, demo key and packages,
work folders). The GUI only adapts it to a window (``gui/app.py``); these are the names it uses.

:class:`DemoPack` is the multi-node pack of ``bmsflasher sim --topology`` (BCU, BMCs, BMUs on one
CAN bus) for the Pack page's "Start demo pack": by default a ``sim`` child process behind its
emulated slcan adapter (like the single demo battery, its bus pacing never competes with the GUI
for the interpreter lock); ``in_process=True`` serves it on a python-can ``virtual`` bus in this
process, for tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO, Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import LinkSettings
from bmsflasher.sim.demo_bench import (
    DEMO_BAUD,
    DemoBench,
    DemoScenario,
    DemoUnavailableError,
    check_demo_supported,
)

__all__ = [
    "DEMO_BAUD",
    "DEMO_PACK_TOPOLOGY",
    "DemoBench",
    "DemoPack",
    "DemoScenario",
    "DemoUnavailableError",
    "check_demo_supported",
]

DEMO_PACK_TOPOLOGY: Final = "bcu=1,bmc=2,bmu=12"
DEMO_PACK_BITRATE: Final = 500_000
START_TIMEOUT_S: Final = 30.0
STOP_TIMEOUT_S: Final = 10.0


class DemoPack:
    """A virtual pack and the link of its bus; ``close()`` stops it and removes its work folder.

    Args:
        topology: ``bcu=1,bmc=2,bmu=12`` style node counts.
        workdir: folder for the nodes' flash, the history and the journal; temporary when None.
        in_process: serve the pack on a python-can ``virtual`` bus in this process (tests).
        bitrate: the bus's bit rate.

    Raises:
        BmsFlasherError: the pack did not start (with the last line of its log).
    """

    def __init__(
        self,
        topology: str = DEMO_PACK_TOPOLOGY,
        workdir: Path | None = None,
        *,
        in_process: bool = False,
        bitrate: int = DEMO_PACK_BITRATE,
    ) -> None:
        self.topology = topology
        self.bitrate = bitrate
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="bmsflasher-demo-pack-"))
        (self.workdir / "nodes").mkdir(parents=True, exist_ok=True)
        self._process: subprocess.Popen[str] | None = None
        self._pack: object | None = None
        try:
            self.link = self._start_in_process() if in_process else self._start_child()
        except BaseException:
            self.close()
            raise

    def _start_in_process(self) -> LinkSettings:
        from bmsflasher.sim.demo_bench import start_pack_in_process

        channel = f"bmsflasher-demo-pack-{id(self)}"
        self._pack, link = start_pack_in_process(self.topology, self.workdir / "nodes", channel, self.bitrate)
        return link

    def _start_child(self) -> LinkSettings:
        from bmsflasher.sim.demo_bench import _cli_command, _die_with_parent

        command = [
            *_cli_command(), "sim", "--protocol", "uds", "--link", "slcan", "--topology", self.topology,
            "--bitrate", str(self.bitrate), "--state", str(self.workdir / "nodes"), "--erase-ms", "0",
            "--stop-on-stdin-eof", "--json",
        ]  # fmt: skip
        # The parent-death signal follows the *thread* that started the child, and the Pack page
        # starts it from a short task thread: there the stdin pipe's end (closed when this process
        # ends, however it ends) is what stops the pack.
        death_hook = _die_with_parent() if threading.current_thread() is threading.main_thread() else None
        with self.log_file.open("w", encoding="utf-8") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,  # never written: it closes when this process ends, however it ends
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
                preexec_fn=death_hook,  # noqa: PLW1509 - one async-signal-safe prctl call
            )
        assert self._process.stdout is not None
        listening = _wait_listening(self._process.stdout)
        if listening is None:
            text = self.log_file.read_text(encoding="utf-8", errors="replace").strip()
            detail = text.splitlines()[-1] if text else "no answer"
            raise BmsFlasherError(f"the virtual pack did not start within {START_TIMEOUT_S:.0f} s: {detail}")
        return LinkSettings(
            kind="can", interface="slcan", channel=str(listening["channel"]), bitrate=self.bitrate
        )

    @property
    def log_file(self) -> Path:
        return self.workdir / "sim.log"

    @property
    def history_path(self) -> Path:
        return self.workdir / "history.sqlite3"

    @property
    def journal_dir(self) -> Path:
        return self.workdir / "journal"

    @property
    def trusted_keys_dir(self) -> Path:
        return self.workdir / "trusted-keys"

    @staticmethod
    def trusted_key() -> Path:
        return resource_path("demo", "demo-key.pub.pem")

    @staticmethod
    def bundles_dir() -> Path:
        """The demo pack's release bundles (healthy, a BMU failing its self-test, a set the BCU rejects)."""
        return resource_path("demo", "bundles")

    def close(self) -> None:
        """Stop the pack (child or in-process); delete the work folder if we made it. Idempotent."""
        pack, self._pack = self._pack, None
        if pack is not None:
            pack.close()  # type: ignore[attr-defined]
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_S)
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _wait_listening(stream: IO[str]) -> dict[str, object] | None:
    """The child's ``listening`` line (read on a thread: Windows cannot select on a pipe); None if none."""
    found: queue.Queue[dict[str, object] | None] = queue.Queue()

    def read() -> None:
        try:
            for line in stream:
                with contextlib.suppress(ValueError):
                    message = json.loads(line)
                    if isinstance(message, dict) and message.get("event") == "listening":
                        found.put(message)
                        break
            for _line in stream:  # keep draining: the child must never block on a full pipe
                pass
        except (OSError, ValueError):
            pass
        finally:
            found.put(None)

    threading.Thread(target=read, name="demo-pack-output", daemon=True).start()
    try:
        return found.get(timeout=START_TIMEOUT_S)
    except queue.Empty:
        return None

"""A virtual pack (``bmsflasher sim --topology …``) in another process, behind its slcan pty.

Cross-process tests and the campaign tests start the pack with :class:`PackProcess`: the pack's
nodes are in :attr:`PackProcess.nodes` (the ``listening`` line's entries), :meth:`link_config`
opens the emulated adapter, :meth:`kill` is a power cut of the whole pack (``kill -9``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from uds_support import signed_image

from bmsflasher.core.types import CanAddressing, LinkSettings
from bmsflasher.links.can import CanLinkConfig
from bmsflasher.protocols.uds.target import UdsTarget

REPO = Path(__file__).resolve().parents[2]
PACK_15 = "bcu=1,bmc=2,bmu=12"
RACK_BAUD = 115_200


class PackProcess:
    """``bmsflasher sim --topology T --json`` in a subprocess: UDS behind slcan, or Modbus on a pty."""

    def __init__(
        self,
        topology: str = PACK_15,
        *args: str,
        protocol: str = "uds",
        bitrate: int = 500_000,
        state: Path | None = None,
        start_timeout_s: float = 20.0,
    ) -> None:
        command = [
            sys.executable,
            "-m",
            "bmsflasher.cli.main",
            "sim",
            "--protocol",
            protocol,
            "--link",
            "slcan" if protocol == "uds" else "pty",
            "--topology",
            topology,
            "--json",
            *(["--bitrate", str(bitrate)] if protocol == "uds" else ["--baud", str(RACK_BAUD)]),
            "--erase-ms",
            "0",
            *args,
        ]
        if state is not None:
            command += ["--state", str(state)]
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 -- closed in stop()
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env
        )
        self.devices: list[dict[str, object]] = []
        self.info: dict[str, object] = {}
        self._read_listening(start_timeout_s)

    def _read_listening(self, timeout_s: float) -> None:
        found = threading.Event()
        lines: list[str] = []

        def reader() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                lines.append(line)
                event = json.loads(line)
                if event.get("event") == "device":
                    self.devices.append(event)
                if event.get("event") == "listening":
                    self.info = event
                    found.set()
                    return

        threading.Thread(target=reader, daemon=True).start()
        if not found.wait(timeout_s):
            self.stop()
            raise AssertionError(f"the pack did not start: {lines} {self.stderr()}")

    @property
    def nodes(self) -> list[dict[str, object]]:
        entries = self.info["nodes"]
        assert isinstance(entries, list)
        return entries

    def node(self, name: str) -> dict[str, object]:
        """The ``listening`` entry of node ``bcu1``, ``bmu3``, …"""
        return next(entry for entry in self.nodes if entry["name"] == name)

    def link_config(self) -> CanLinkConfig:
        return CanLinkConfig(
            interface="slcan", channel=str(self.info["channel"]), bitrate=int(str(self.info["bitrate"]))
        )

    def modbus_link(self, address: int) -> LinkSettings:
        """The RS485 link to the module at unit ``address`` (``protocol="modbus"`` only)."""
        return LinkSettings(
            kind="modbus",
            port=str(self.info["port"]),
            baud=int(str(self.info["baud"])),
            parity=str(self.info["parity"]),
            stopbits=int(str(self.info["stopbits"])),
            address=address,
        )

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()

    def unplug(self) -> None:
        """Pull the emulated adapter's USB cable (its pty and the channel's symlink vanish)."""
        self.process.send_signal(signal.SIGUSR1)

    def replug(self) -> None:
        """Plug the adapter back in: a new pty behind the same channel path."""
        self.process.send_signal(signal.SIGUSR2)

    def kill(self) -> None:
        """``kill -9``: every node loses power at once, in the middle of whatever it was doing."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.stop()

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        if not self._stderr.closed:
            self._stderr.close()
        return int(self.process.returncode)

    def __enter__(self) -> PackProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def open_node(pack: PackProcess, address: int) -> UdsTarget:
    """The tool's UDS target on one node, on an adapter of its own (closed with the target)."""
    return UdsTarget.open(pack.link_config(), address, addressing=CanAddressing.NORMAL_FIXED_29BIT)


def update_node(pack: PackProcess, address: int, version: str, *, confirm: bool) -> None:
    """Upload ``version`` to one node, test-boot it, and confirm it or leave it on test."""
    target = open_node(pack, address)
    try:
        target.upload_image(signed_image(version, size=8 * 1024, counter=1))
        target.mark_for_test()
        target.reset()
        assert str(target.reconnect(10.0).firmware_version) == version
        if confirm:
            target.confirm()
    finally:
        target.close()

"""Helpers for the UDS tests: virtual BMS devices, small signed images, raw UDS requests.

Raw requests go through can-isotp straight to the server (not through the tool's client), so the
NRC tests check the server's answers byte for byte, independently of udsoncan's client logic.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import can
import isotp
import udsoncan

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.demo_assets import demo_firmware_payload
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.links.can import CanLinkConfig
from bmsflasher.protocols.uds.target import UdsOptions, UdsTarget
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.uds.server import UdsServerConfig
from bmsflasher.sim.wire import can_frontend
from bmsflasher.sim.wire.frontend_options import FrontEndOptions

REPO = Path(__file__).resolve().parents[2]
_channel_counter = iter(range(1_000_000))


def unique_channel() -> str:
    return f"uds-test-{os.getpid()}-{next(_channel_counter)}"


def signed_image(
    version: str = "1.1.0", size: int = 16 * 1024, counter: int = 2, behaviour: str | None = None
) -> bytes:
    """A small MCUboot image signed with the demo key (the virtual BMS trusts it)."""
    parsed = FirmwareVersion.parse(version)
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    return build_image(
        demo_firmware_payload(parsed, size_bytes=size),
        version=parsed,
        security_counter=counter,
        key=key,
        sim_behaviour=behaviour,
    )


def sim_options(**overrides: object) -> SimOptions:
    base = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0)
    return replace(base, **overrides)  # type: ignore[arg-type]


@contextlib.contextmanager
def virtual_sim(
    device: VirtualBms | None = None,
    *,
    bitrate: int = 0,
    nodes: int = 1,
    server_config: UdsServerConfig | None = None,
    drop_rate: float = 0.0,
) -> Iterator[tuple[VirtualBms, can_frontend.CanSimulation]]:
    """An in-process virtual BMS served over a python-can virtual channel."""
    own = device is None
    dev = device or VirtualBms.create(sim_options())
    options = FrontEndOptions(bitrate=bitrate, channel=unique_channel(), nodes=nodes, drop_rate=drop_rate)
    sim = can_frontend.start(dev, options, "virtual", server_config=server_config)
    try:
        yield dev, sim
    finally:
        sim.close()
        if own:
            dev.close()


@contextlib.contextmanager
def uds_target(
    sim: can_frontend.CanSimulation, node: int = 1, options: UdsOptions | None = None
) -> Iterator[UdsTarget]:
    config = CanLinkConfig(interface=sim.interface, channel=sim.channel, bitrate=sim.bus.bitrate)
    target = UdsTarget.open(config, node, options=options)
    try:
        yield target
    finally:
        target.close()


class RawUds:
    """Send raw UDS payloads to a node over can-isotp and read the raw answer."""

    def __init__(self, channel: str, request_id: int = 0x7E0, response_id: int = 0x7E8) -> None:
        self.bus = can.Bus(interface="virtual", channel=channel)
        address = isotp.Address(isotp.AddressingMode.Normal_11bits, txid=request_id, rxid=response_id)
        self.stack = isotp.CanStack(
            self.bus, address=address, params={"tx_padding": 0xCC, "blocking_send": True}
        )
        self.stack.start()

    def request(self, payload: bytes, timeout_s: float = 2.0, *, skip_pending: bool = True) -> bytes | None:
        """Send ``payload``; return the final answer (0x78 pending answers skipped) or None."""
        self.stack.send(payload, send_timeout=timeout_s)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            answer = self.stack.recv(block=True, timeout=max(0.0, deadline - time.monotonic()))
            if answer is None:
                return None
            data = bytes(answer)
            if skip_pending and len(data) == 3 and data[0] == 0x7F and data[2] == 0x78:
                deadline = time.monotonic() + timeout_s
                continue
            return data
        return None

    def send_functional(self, payload: bytes) -> None:
        """A single-frame request to the functional address 0x7DF."""
        frame = bytes([len(payload)]) + payload
        self.bus.send(can.Message(arbitration_id=0x7DF, data=frame.ljust(8, b"\xcc"), is_extended_id=False))

    def close(self) -> None:
        self.stack.stop()
        self.bus.shutdown()

    def __enter__(self) -> RawUds:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def unlock(raw: RawUds, device: VirtualBms) -> None:
    """Extended session + SecurityAccess with the right key (computed from the device's secret)."""
    import hashlib
    import hmac

    assert raw.request(bytes([0x10, 0x03]))[:2] == b"\x50\x03"  # type: ignore[index]
    seed_answer = raw.request(bytes([0x27, 0x01]))
    assert seed_answer is not None
    assert seed_answer[:2] == b"\x67\x01"
    key = hmac.new(device.security_secret, seed_answer[2:], hashlib.sha256).digest()[:16]
    assert raw.request(bytes([0x27, 0x02]) + key) == b"\x67\x02"


class SimProcess:
    """``bmsflasher sim --protocol uds --link slcan --json`` in a subprocess (cross-process tests)."""

    def __init__(self, *args: str, bitrate: int = 1_000_000, state: Path | None = None) -> None:
        command = [
            sys.executable,
            "-m",
            "bmsflasher.cli.main",
            "sim",
            "--protocol",
            "uds",
            "--link",
            "slcan",
            "--json",
            "--bitrate",
            str(bitrate),
            "--erase-ms",
            "0",
            *args,
        ]
        if state is not None:
            command += ["--state", str(state)]
        env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
        # stderr goes to a file: an unread pipe fills up and would block the sim's threads.
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 -- closed in stop()
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env
        )
        self.info: dict[str, object] = {}
        self._read_listening(timeout_s=20.0)

    def _read_listening(self, timeout_s: float) -> None:
        assert self.process.stdout is not None
        lines: list[str] = []
        found = threading.Event()

        def reader() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                lines.append(line)
                event = json.loads(line)
                if event.get("event") == "listening":
                    self.info = event
                    found.set()
                    return

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        if not found.wait(timeout_s):
            self.stop()
            raise AssertionError(f"the sim did not start: {lines} {self.stderr()}")
        thread.join(timeout=1.0)

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read()

    @property
    def channel(self) -> str:
        return str(self.info["channel"])

    @property
    def bitrate(self) -> int:
        return int(str(self.info["bitrate"]))

    def link_config(self) -> CanLinkConfig:
        return CanLinkConfig(interface="slcan", channel=self.channel, bitrate=self.bitrate)

    def unplug(self) -> None:
        self.process.send_signal(signal.SIGUSR1)

    def replug(self) -> None:
        self.process.send_signal(signal.SIGUSR2)

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
        self._stderr.close()
        return int(self.process.returncode)

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


# --- independent-peer helpers: the documented seed/key and raw DIDs for udsoncan's own client ------
DEMO_MASTER_SECRET = bytes.fromhex(resource_path("demo", "security-master.key").read_text().strip())


def key_for(serial: str, seed: bytes) -> bytes:
    """The documented seed/key: HMAC-SHA256(HMAC-SHA256(master, serial), seed)[:16]."""
    secret = hmac.new(DEMO_MASTER_SECRET, serial.encode(), hashlib.sha256).digest()
    return hmac.new(secret, seed, hashlib.sha256).digest()[:16]


class RawDid(udsoncan.DidCodec):
    """A DID read as raw bytes (variable length: only alone in a request)."""

    def encode(self, *args: Any, **kwargs: Any) -> bytes:
        return bytes(args[0])

    def decode(self, payload: bytes) -> bytes:
        return bytes(payload)

    def __len__(self) -> int:
        raise udsoncan.DidCodec.ReadAllRemainingData


def udsoncan_security_algo(level: int, seed: bytes, params: Any) -> bytes:
    """udsoncan's ``security_algo`` hook: ``params`` is the device's serial number."""
    del level
    return key_for(str(params), seed)

"""Eight virtual BMS flashed in parallel from one tool process: aggregate throughput versus one.

A service bench charges and updates a rack of packs at once, one USB-serial cable each. Here every
device is a separate ``bmsflasher sim --protocol smp --link pty`` process (its own GIL, its own
paced UART at line rate, default 5 ms per 4 KiB sector erase), exactly what the tool would meet on
eight real ports. The tool side is one process: eight threads, each opening its port with the real
SMP client and uploading the same signed 240 KiB image.

Figures: the upload rate of one device alone, the aggregate rate of eight at once (total image
bytes over the wall time from the common start to the last finish), the speed-up (ideal 8x) and the
parallel efficiency (aggregate / 8 x single). Ratios are also against the SMP framing ceiling of one
port. CAN is not measured this way on purpose: nodes share one bus, so the bus ceiling caps the sum.

Run: ``python -m benchmarks --only bench_parallel`` (or ``python -m benchmarks.bench_parallel``).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.demo_assets import demo_firmware_payload
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.protocols.smp.framing import framing_ceiling_bps
from bmsflasher.protocols.smp.target import SmpTarget

DEVICES = 8
BAUD = 921_600
IMAGE_BYTES = 240 * 1024
START_TIMEOUT_S = 60.0
UPLOAD_TIMEOUT_S = 300.0


def _image() -> bytes:
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    version = FirmwareVersion(1, 1, 0)
    return build_image(
        demo_firmware_payload(version, IMAGE_BYTES), version=version, security_counter=2, key=key
    )


def _read_listening(proc: subprocess.Popen[bytes], deadline: float) -> str:
    """The port named by the sim's ``listening`` JSON line (bounded wait, unbuffered reads)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    pending = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            event = json.loads(line)
            if event.get("event") == "listening":
                return str(event["port"])
    raise RuntimeError(f"a virtual BMS did not start (exit {proc.poll()})")


def _sim_command(index: int, folder: Path, baud: int) -> list[str]:
    sim = ["sim", "--protocol", "smp", "--link", "pty", "--baud", str(baud), "--json"]
    sim += ["--seed", str(index + 1), "--state", str(folder / f"bms{index}.state")]
    sim += ["--link-path", str(folder / f"ttyBMS{index}")]
    return [sys.executable, "-m", "bmsflasher.cli.main", *sim]


@contextlib.contextmanager
def sim_fleet(count: int, folder: Path, baud: int = BAUD) -> Iterator[list[str]]:
    """Start ``count`` virtual BMS processes on ptys; yields their stable port paths."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for index in range(count):
            procs.append(
                subprocess.Popen(
                    _sim_command(index, folder, baud),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    bufsize=0,
                )
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        yield [_read_listening(proc, deadline) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()


def _upload_all(ports: list[str], image: bytes) -> tuple[float, list[float]]:
    """Upload ``image`` to every port at once; returns (wall time, per-device upload times)."""
    targets = [SmpTarget.connect(port, BAUD) for port in ports]
    barrier = threading.Barrier(len(targets) + 1)
    elapsed: list[float | None] = [None] * len(targets)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        barrier.wait(timeout=30)
        try:
            elapsed[index] = targets[index].upload(image).elapsed_s
        except BaseException as exc:  # reported after the join: a failed device fails the figure
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(i,), name=f"bench-upload-{i}") for i in range(len(targets))
    ]
    try:
        for thread in threads:
            thread.start()
        barrier.wait(timeout=30)
        started = time.monotonic()
        for thread in threads:
            thread.join(timeout=UPLOAD_TIMEOUT_S)
        wall = time.monotonic() - started
    finally:
        for target in targets:
            target.close()
    if errors or any(t.is_alive() for t in threads) or None in elapsed:
        raise RuntimeError(f"parallel upload failed: {errors[:1] or 'a device did not finish in time'}")
    return wall, [e for e in elapsed if e is not None]


def run() -> list[dict[str, object]]:
    image = _image()
    ceiling = framing_ceiling_bps(BAUD)
    with (
        tempfile.TemporaryDirectory(prefix="bench-parallel-") as tmp,
        sim_fleet(DEVICES + 1, Path(tmp)) as ports,
    ):
        single_wall, _ = _upload_all(ports[:1], image)
        wall, each = _upload_all(ports[1:], image)
    single = len(image) / single_wall
    aggregate = DEVICES * len(image) / wall
    slowest = len(image) / max(each)
    common = f"{BAUD} baud, {len(image) // 1024} KiB image, {os.cpu_count()} CPU cores"
    return [
        {
            "benchmark": "parallel flashing",
            "case": f"1 device alone, {common}",
            "value": round(single / 1024, 2),
            "unit": "KiB/s",
            "ratio": round(single / ceiling, 3),
            "reference": f"framing ceiling of one port {ceiling / 1024:.2f} KiB/s",
        },
        {
            "benchmark": "parallel flashing",
            "case": f"{DEVICES} devices at once (aggregate), {common}",
            "value": round(aggregate / 1024, 2),
            "unit": "KiB/s",
            "ratio": round(aggregate / (DEVICES * ceiling), 3),
            "reference": f"{DEVICES} x framing ceiling {DEVICES * ceiling / 1024:.1f} KiB/s",
        },
        {
            "benchmark": "parallel flashing",
            "case": f"speed-up of {DEVICES} at once over 1 alone",
            "value": round(aggregate / single, 2),
            "unit": "x",
            "ratio": round(aggregate / (DEVICES * single), 3),
            "reference": f"ideal {DEVICES}x (ratio = parallel efficiency)",
        },
        {
            "benchmark": "parallel flashing",
            "case": f"slowest of the {DEVICES} parallel uploads",
            "value": round(slowest / 1024, 2),
            "unit": "KiB/s",
            "ratio": round(slowest / single, 3),
            "reference": "1 device alone",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row['case']}: {row['value']} {row['unit']} (ratio {row['ratio']}; {row['reference']})")

"""UDS download throughput over the emulated slcan adapter, as a ratio of the ISO-TP ceiling.

The virtual BMS runs as its own process (``bmsflasher sim --protocol uds --link slcan``); the
tool talks to it through python-can's real slcan driver, so the figure includes both hosts' ISO-TP
stacks, the pty and the bus pacing (every frame's exact bit length at the bit rate).

The ceiling is the classic-CAN ISO-TP limit: 7 payload bytes per consecutive frame at the mean
exact length of a frame carrying random data (about 116 bits: 30.1 kB/s at 500 kbit/s, 60.1 kB/s at
1 Mbit/s). Firmware with long runs of 0x00/0xFF needs more stuff bits, so each row also gives the
ceiling for the very bytes sent (its consecutive frames' exact lengths). With compression the
"effective" rate counts image bytes, which is how a technician experiences it.

Run: ``.venv/bin/python -m benchmarks.bench_uds``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import can

from bmsflasher.links.can import CanLinkConfig
from bmsflasher.protocols.uds import download as uds_download
from bmsflasher.protocols.uds.target import UdsOptions, UdsTarget
from bmsflasher.sim.can_bus import frame_timing, isotp_classic_ceiling_bytes_per_s

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT / "resources" / "demo" / "factory-1.0.0.img"
BITRATES = (500_000, 1_000_000)
TARGET_RATIO = 0.85


def _data_ceiling(payload: bytes, bitrate: int) -> float:
    """Payload bytes per second if every consecutive frame carrying ``payload`` were back to back."""
    bits = 0
    for index in range(0, len(payload), 7):
        chunk = payload[index : index + 7].ljust(7, b"\xcc")
        data = bytes([0x20 | ((index // 7 + 1) & 0x0F)]) + chunk
        bits += frame_timing(can.Message(arbitration_id=0x7E0, data=data, is_extended_id=False)).total_bits
    return len(payload) / (bits / bitrate)


def _start_sim(bitrate: int) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable, "-m", "bmsflasher.cli.main", "sim", "--protocol", "uds", "--link", "slcan",
        "--json", "--bitrate", str(bitrate), "--erase-ms", "0",
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    for line in process.stdout:
        event = json.loads(line)
        if event.get("event") == "listening":
            return process, str(event["channel"])
    raise RuntimeError("the virtual BMS did not start")


def _stop_sim(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _measure(bitrate: int, image: bytes, compress: bool) -> uds_download.DownloadReport:
    process, channel = _start_sim(bitrate)
    try:
        config = CanLinkConfig(interface="slcan", channel=channel, bitrate=bitrate)
        target = UdsTarget.open(config, options=UdsOptions(compression=compress))
        try:
            target.identify()
            target.upload_image(image)
            return target.options.reports[-1]
        finally:
            target.close()
    finally:
        _stop_sim(process)


def run() -> list[dict[str, object]]:
    """One row per bit rate and compression setting."""
    image = IMAGE.read_bytes()
    rows: list[dict[str, object]] = []
    for bitrate in BITRATES:
        ceiling = isotp_classic_ceiling_bytes_per_s(bitrate)
        data_ceiling = _data_ceiling(image, bitrate)
        packed_ceiling = _data_ceiling(zlib.compress(image, 9), bitrate)
        for compress in (False, True):
            started = time.monotonic()
            report = _measure(bitrate, image, compress)
            transfer_s = max(report.transfer_seconds, 1e-9)
            effective = len(image) / transfer_s
            wire = report.wire_bytes / transfer_s
            label = "zlib" if compress else "uncompressed"
            own = packed_ceiling if compress else data_ceiling
            goal = f"target >= {TARGET_RATIO:.0%}" + (" and > 100 % effective" if compress else "")
            rows.append(
                {
                    "benchmark": "uds download",
                    "case": f"slcan {bitrate // 1000} kbit/s, {len(image) // 1024} KiB demo image, {label}",
                    "value": round(effective / 1000, 2),
                    "unit": "kB/s",
                    "ratio": round(effective / ceiling, 3),
                    "reference": (
                        f"ISO-TP ceiling {ceiling / 1000:.1f} kB/s ({goal});"
                        f" on the wire {wire / 1000:.1f} kB/s"
                        f" = {wire / own:.0%} of this data's own ceiling {own / 1000:.1f} kB/s;"
                        f" {report.blocks} blocks, {report.resyncs} resyncs,"
                        f" whole run {time.monotonic() - started:.1f} s,"
                        f" load average {os.getloadavg()[0]:.1f}"
                    ),
                }
            )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)

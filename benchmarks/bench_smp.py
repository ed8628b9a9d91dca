"""SMP image upload throughput over the virtual BMS's pty, paced at line rate in both directions.
There is no "with compression" row: MCUmgr's image upload (img_mgmt) has no transfer compression,
so every client sends the image as it is.

For 115200, 460800 and 921600 baud, three clients upload the same signed image to a fresh device:

* bmsflasher's pipelined client (window sized from the device's ``buf_count``),
* bmsflasher's client with a window of 1 (one chunk at a time),
* smpclient, the standard sequential MCUmgr client (asyncio, SMPSerialTransport, Auto buffer sizing).

Throughput is image bytes over upload time. The ceiling is the SMP serial framing ceiling: 8N1 carries
baud/10 bytes/s and the base64 line framing (124 base64 characters per 127-byte line) carries 3/4 x
124/127 of that as payload — 8436 B/s (8.24 KiB/s) at 115200. SMP headers and CBOR keys make the
reachable figure ~1.5 % lower still. Targets (issue 5): pipelined >= 90 % of the ceiling and >= 1.4x a
one-chunk-at-a-time client measured in the same run.

The device: 2048-byte frame buffers x 4, a 2 KiB UART FIFO, 5 ms per 4 KiB sector erase (as
``bmsflasher sim`` defaults), flash erased progressively as the upload proceeds. Two flash models:
instant programming (the sim core's default) and 100 KB/s (1e-5 s per byte, typical of internal MCU
flash such as nRF52 or STM32G4), because a sequential client's idle time is the device's per-chunk
turnaround, of which flash programming is the largest part on real hardware.

Run: ``python -m benchmarks.bench_smp`` (or ``python -m benchmarks --only bench_smp``).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from collections.abc import Callable

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.protocols.smp.framing import framing_ceiling_bps
from bmsflasher.protocols.smp.target import SmpTarget
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialDeviceSettings, SerialFrontEnd

CASES = ((115_200, 64 * 1024), (460_800, 128 * 1024), (921_600, 240 * 1024))  # (baud, image size)
ERASE_S_PER_SECTOR = 0.005
CEILING_TARGET = 0.90
SPEEDUP_TARGET = 1.4
FLASH_MODELS = (("instant flash", 0.0), ("flash 100 KB/s", 1e-5))
"""Device flash programming speed: the sim core's flash programs instantly; real MCU flash ~100 KB/s."""


def _image(size: int, seed: int) -> bytes:
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    payload = hashlib.shake_256(f"bench-{seed}".encode()).digest(size - 1024)
    return build_image(payload, version=FirmwareVersion(1, 1, seed), security_counter=1, key=key)


def _with_device(baud: int, program_s_per_byte: float, upload: Callable[[str], float]) -> float:
    options = SimOptions(erase_time_s_per_sector=ERASE_S_PER_SECTOR, boot_time_s=0.0)
    settings = SerialDeviceSettings(program_s_per_byte=program_s_per_byte)
    with (
        VirtualBms.create(options) as device,
        SerialFrontEnd(device, FrontEndOptions(baud=baud), settings) as front,
    ):
        return upload(front.port)


def _bmsflasher(baud: int, program_s_per_byte: float, image: bytes, window: int | None) -> float:
    def upload(port: str) -> float:
        with SmpTarget.connect(port, baud, window=window) as target:
            return target.upload(image).elapsed_s

    return _with_device(baud, program_s_per_byte, upload)


def _smpclient(baud: int, program_s_per_byte: float, image: bytes) -> float:
    from smpclient import SMPClient
    from smpclient.transport.serial import SMPSerialTransport

    async def session(port: str) -> float:
        client = SMPClient(SMPSerialTransport(baudrate=baud), port, timeout_s=5.0)
        await client.connect(5.0)
        try:
            started = time.monotonic()
            async for _offset in client.upload(image):
                pass
            return time.monotonic() - started
        finally:
            await client.disconnect()

    return _with_device(baud, program_s_per_byte, lambda port: asyncio.run(session(port)))


def run() -> list[dict[str, object]]:
    """Measure the three clients at each baud rate; one row per client plus the speed-ups."""
    rows: list[dict[str, object]] = []
    for (baud, size), (flash, program_s) in itertools.product(CASES, FLASH_MODELS):
        ceiling = framing_ceiling_bps(baud)
        image = _image(size, baud % 97)
        measured = {
            "bmsflasher pipelined": _bmsflasher(baud, program_s, image, None),
            "bmsflasher one chunk at a time": _bmsflasher(baud, program_s, image, 1),
            "smpclient (standard sequential)": _smpclient(baud, program_s, image),
        }
        rates = {name: len(image) / elapsed for name, elapsed in measured.items()}
        for name, rate in rates.items():
            rows.append(
                {
                    "benchmark": "smp upload",
                    "case": f"{baud} baud, {flash}, {len(image) // 1024} KiB, {name}",
                    "value": round(rate / 1024, 2),
                    "unit": "KiB/s",
                    "ratio": round(rate / ceiling, 3),
                    "reference": f"framing ceiling {ceiling / 1024:.2f} KiB/s (target >= {CEILING_TARGET:.0%})",  # noqa: E501
                }
            )
        pipelined = rates["bmsflasher pipelined"]
        for peer in ("bmsflasher one chunk at a time", "smpclient (standard sequential)"):
            rows.append(
                {
                    "benchmark": "smp upload",
                    "case": f"{baud} baud, {flash}, pipelined vs {peer}",
                    "value": round(pipelined / rates[peer], 2),
                    "unit": "x",
                    "ratio": round(pipelined / rates[peer] / SPEEDUP_TARGET, 2),
                    "reference": f"target >= {SPEEDUP_TARGET}x",
                }
            )
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['case']}: {row['value']} {row['unit']} (ratio {row['ratio']}; {row['reference']})")

"""SMP image upload throughput over the virtual BMS's pty, paced at line rate in both directions.
The first three rows are issue 18's speed targets: the whole guarded update (negotiated 921600 baud
and a deflate stream) against smpclient's bare upload at 115200, and the compressed transfer as a
ratio of the framing ceiling of the rate in use; the rest is the standard, uncompressed upload at
the stated rate (issue 5). Bit error rate 1e-3 is measured by tests/reliability
(test_serial_bit_error_rates, 5 seeds, 2026-12-06): 5 of 5 guarded updates complete, all in the
first run, 0 corrupted images accepted, longest 94.7 s (before: 0 of 5, each run giving up safely).

Two parts. **Speed (issue 18)**: the whole guarded update of the 256 KiB demo package (the real
update procedure with the default profile, as ``bmsflasher flash --yes`` runs it) against a device
connected at 115200 baud behind an adapter that holds 921600 (``sim --max-baud 921600``): the tool
negotiates 921600 (BMS commands 16/17) and sends the image as a deflate stream the device inflates
(command 18). The peer is smpclient's bare upload of the same image at 115200 (upload only, no
checks), timed in the same run; smpmgr is not installed here. Plus the compressed transfer alone at
921600 and at 115200, as a ratio of the framing ceiling of the rate in use (MCUmgr's standard upload
cannot beat 1.0: it carries every byte).

**Standard upload** (issue 5), below:

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
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.protocols.smp.framing import framing_ceiling_bps
from bmsflasher.protocols.smp.target import SmpTarget, SpeedOptions
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialDeviceSettings, SerialFrontEnd

PACKAGE = resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg")
DEMO_PUB = resource_path("demo", "demo-key.pub.pem")
CONNECT_BAUD = 115_200
ADAPTER_MAX_BAUD = 921_600
GUARDED_SPEEDUP_TARGET = 6.0
COMPRESSED_CEILING_TARGET = 2.0
SIM_BOOT_TIME_S = 0.2  # what ``bmsflasher sim`` serves

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
        # The standard upload at the stated rate: no rate switch, no compression (issue 5's figures).
        plain = SpeedOptions(switch_rate=False, compress=False)
        with SmpTarget.connect(port, baud, window=window, speed=plain) as target:
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


def _demo_image() -> bytes:
    from bmsflasher.firmware.package import read_package

    return read_package(PACKAGE.read_bytes()).image_bytes


def _guarded_update_s(workdir: Path) -> tuple[float, str]:
    """Seconds of one whole guarded update of the demo package, and the rate the link settled at."""
    from bmsflasher.core.types import LinkSettings
    from bmsflasher.procedure import (
        UpdateOptions,
        UpdateProcedure,
        build_keyring,
        open_target,
        package_loader,
        profile_for_model,
    )
    from bmsflasher.procedure.states import State
    from bmsflasher.records import RecordsDb

    sim = SimOptions(state_file=workdir / "vbms.state", boot_time_s=SIM_BOOT_TIME_S)
    front = FrontEndOptions(baud=CONNECT_BAUD, max_baud=ADAPTER_MAX_BAUD)
    opened: list[SmpTarget] = []
    with VirtualBms.create(sim) as device, SerialFrontEnd(device, front) as sim_front:
        link = LinkSettings(kind="serial", port=sim_front.port, baud=CONNECT_BAUD)

        def connect():  # type: ignore[no-untyped-def]
            target = open_target(link, timeout_s=10.0)
            opened.append(target)  # type: ignore[arg-type]
            return target

        keyring = build_keyring([DEMO_PUB], folder=workdir / "no-user-keys")
        options = UpdateOptions(
            journal_dir=workdir / "journal", profile=profile_for_model("VBMS-16"), operator="benchmark"
        )
        with RecordsDb.open(workdir / "history.sqlite3") as db:
            started = time.perf_counter()
            try:
                result = UpdateProcedure(
                    package_loader(PACKAGE, keyring), connect, db, lambda _e: None, options
                ).run()
            finally:
                for target in opened:
                    target.close()
            elapsed = time.perf_counter() - started
    if result.outcome is not State.UPDATED:
        raise RuntimeError(f"the guarded update did not succeed: {result}")
    rates = sorted({t.last_rate.baud for t in opened if t.last_rate is not None})
    return elapsed, "/".join(str(r) for r in rates)


def _smpclient_bare_s(image: bytes) -> float:
    """smpclient's bare upload of ``image`` at the connect rate on a fresh device (same sim defaults)."""
    from smpclient import SMPClient
    from smpclient.transport.serial import SMPSerialTransport

    async def session(port: str) -> float:
        client = SMPClient(SMPSerialTransport(baudrate=CONNECT_BAUD), port, timeout_s=5.0)
        await client.connect(5.0)
        try:
            started = time.perf_counter()
            async for _offset in client.upload(image):
                pass
            return time.perf_counter() - started
        finally:
            await client.disconnect()

    with (
        VirtualBms.create(SimOptions(boot_time_s=SIM_BOOT_TIME_S)) as device,
        SerialFrontEnd(device, FrontEndOptions(baud=CONNECT_BAUD, max_baud=ADAPTER_MAX_BAUD)) as front,
    ):
        return asyncio.run(session(front.port))


def _compressed_upload(image: bytes, baud: int, *, switch: bool) -> tuple[float, int, int]:
    """(seconds, stream bytes, baud in use) of a compressed upload connected at ``baud``."""
    with (
        VirtualBms.create(SimOptions(erase_time_s_per_sector=ERASE_S_PER_SECTOR, boot_time_s=0.0)) as device,
        SerialFrontEnd(device, FrontEndOptions(baud=baud)) as front,
        SmpTarget.connect(front.port, baud, speed=SpeedOptions(switch_rate=switch)) as target,
    ):
        result = target.upload(image)
        if device.image_bytes(1) != image:
            raise RuntimeError("the device holds another image than the one uploaded")
        return result.elapsed_s, result.total_bytes, target.session.link.baud


def speed_rows() -> list[dict[str, object]]:
    """Issue 18: the guarded update against smpclient's bare upload, and compressed transfer rates."""
    image = _demo_image()
    with tempfile.TemporaryDirectory(prefix="bench-smp-guarded-") as tmp:
        guarded_s, settled = _guarded_update_s(Path(tmp))
    peer_s = _smpclient_bare_s(image)
    rows: list[dict[str, object]] = [
        {
            "benchmark": "smp upload",
            "case": (
                f"whole guarded update, {len(image) // 1024} KiB demo package, connected at {CONNECT_BAUD}, "
                f"adapter holds {ADAPTER_MAX_BAUD} (settled at {settled}): {guarded_s:.1f} s; "
                f"smpclient bare upload at {CONNECT_BAUD}: {peer_s:.1f} s"
            ),
            "value": round(peer_s / guarded_s, 2),
            "unit": "x",
            "ratio": round(peer_s / guarded_s / GUARDED_SPEEDUP_TARGET, 2),
            "reference": f"target >= {GUARDED_SPEEDUP_TARGET:g}x smpclient's bare upload at {CONNECT_BAUD}",
        }
    ]
    for baud in (ADAPTER_MAX_BAUD, CONNECT_BAUD):
        elapsed, stream, in_use = _compressed_upload(image, baud, switch=False)
        ceiling = framing_ceiling_bps(in_use)
        rate = len(image) / elapsed
        rows.append(
            {
                "benchmark": "smp upload",
                "case": (
                    f"compressed upload at {in_use} baud, {len(image) // 1024} KiB demo image as a "
                    f"{stream // 1024} KiB deflate stream ({stream / len(image):.0%})"
                ),
                "value": round(rate / 1024, 1),
                "unit": "KiB/s",
                "ratio": round(rate / ceiling, 2),
                "reference": (
                    f"framing ceiling {ceiling / 1024:.2f} KiB/s (target >= {COMPRESSED_CEILING_TARGET:g}x)"
                ),
            }
        )
    return rows


def run() -> list[dict[str, object]]:
    """Issue 18's speed rows, then the three clients at each baud rate with their speed-ups."""
    rows: list[dict[str, object]] = speed_rows()
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

"""Compressed image upload (BMS command 18) over real ptys: smaller on the wire, same image, resumable.

The demo image deflates to about 41 %: the device inflates the stream into the standard slot write
and checks the SHA-256 of the uncompressed image, so the slot holds exactly the image. A tool
killed (SIGKILL) in the middle of a compressed transfer leaves the device's inflater where it was;
the next tool resumes at the compressed offset the device holds.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from bmsflasher.core.resources import resource_path
from bmsflasher.firmware.mcuboot import parse_image
from bmsflasher.firmware.package import read_package
from bmsflasher.protocols.smp.compressed_upload import deflate, timeouts_for
from bmsflasher.protocols.smp.target import SmpTarget, SpeedOptions
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd

CONNECT = 115_200
SIM_OPTIONS = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0)


def _demo_image() -> bytes:
    package = resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg").read_bytes()
    return read_package(package).image_bytes


@pytest.fixture
def sim() -> Iterator[tuple[VirtualBms, SerialFrontEnd]]:
    with (
        VirtualBms.create(SIM_OPTIONS) as device,
        SerialFrontEnd(device, FrontEndOptions(baud=CONNECT)) as front,
    ):
        yield device, front


def test_the_stream_is_smaller_and_the_slot_holds_the_image_unchanged(
    sim: tuple[VirtualBms, SerialFrontEnd],
) -> None:
    device, front = sim
    image = _demo_image()
    with SmpTarget.connect(front.port, CONNECT) as target:
        result = target.upload(image)  # then checks the slot's image hash against the image's TLV
        slot = next(s for s in target.identify().slots if s.slot == 1)
    assert result.total_bytes == len(deflate(image)) < 0.5 * len(image)
    assert result.match is True
    assert device.image_bytes(1) == image
    assert slot.image_hash == parse_image(image).declared_sha256


def test_without_compression_the_standard_upload_carries_every_byte(
    sim: tuple[VirtualBms, SerialFrontEnd],
) -> None:
    device, front = sim
    image = _demo_image()
    with SmpTarget.connect(front.port, CONNECT, speed=SpeedOptions(compress=False)) as target:
        assert target.upload(image).total_bytes == len(image)
    assert device.image_bytes(1) == image


def test_chunk_timeouts_scale_with_the_uncompressed_size(sim: tuple[VirtualBms, SerialFrontEnd]) -> None:
    _device, front = sim
    with SmpTarget.connect(front.port, CONNECT, speed=SpeedOptions(switch_rate=False)) as target:
        first_plain, chunk_plain = timeouts_for(target.session, 100_000, 100_000, 2044, 3)
        first_packed, chunk_packed = timeouts_for(target.session, 400_000, 100_000, 2044, 3)
    assert chunk_packed > chunk_plain + 3 * 2044 * 3 * 4e-5  # 4x the bytes to program per chunk
    assert first_packed >= first_plain


_TOOL = textwrap.dedent(
    """
    import sys
    from bmsflasher.core.resources import resource_path
    from bmsflasher.firmware.package import read_package
    from bmsflasher.protocols.smp.target import SmpTarget
    image = read_package(resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg").read_bytes()).image_bytes
    with SmpTarget.connect(sys.argv[1], int(sys.argv[2])) as target:
        print("rate", target.session.link.baud, flush=True)
        target.upload(image, lambda done, total: print("progress", done, total, flush=True))
    print("done", flush=True)
    """
)


def test_a_compressed_transfer_resumes_after_the_tool_was_killed(
    sim: tuple[VirtualBms, SerialFrontEnd],
) -> None:
    device, front = sim
    image = _demo_image()
    tool = subprocess.Popen(
        [sys.executable, "-c", _TOOL, front.port, str(CONNECT)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert tool.stdout is not None
    try:
        assert tool.stdout.readline().split()[:1] == ["rate"]
        while True:
            words = tool.stdout.readline().split()
            assert words[:1] == ["progress"], f"the tool ended before the kill: {words}"
            if int(words[1]) >= len(image) // 3:
                break
        tool.send_signal(signal.SIGKILL)
    finally:
        tool.kill()
        tool.wait(10)
    held = device.upload_status().offset
    assert 0 < held < len(image)
    deadline = time.monotonic() + 5.0
    while front.wire.device_baud != CONNECT:  # idle: the device went back to its boot rate
        assert time.monotonic() < deadline, "the device stayed at the faster rate"
        time.sleep(0.05)
    with SmpTarget.connect(front.port, CONNECT) as target:
        result = target.upload(image)
    stream = deflate(image)
    assert result.total_bytes == len(stream)
    assert 0 < result.resumed_from < len(stream)  # a compressed offset, from the device's inflater
    assert device.image_bytes(1) == image
    assert hashlib.sha256(device.image_bytes(1)).digest() == hashlib.sha256(image).digest()

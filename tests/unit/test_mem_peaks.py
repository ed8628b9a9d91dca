"""Memory regressions on the flash path: what one update allocates, measured with tracemalloc.

The flash path's Python peak once rose from 22 to 60 MiB unnoticed: a bounded read passed the
48 MiB package cap to ``BufferedReader.read``, which allocates its whole argument up front. These
tests pin the allocation peak of each step to a multiple of the data it handles, so such a buffer
(or a copy of the image per chunk) fails here instead of on an eight-device bench. They measure
bytes, never time; each budget is justified where it is set.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from bmsflasher.core.resources import resource_path
from bmsflasher.firmware.files import read_capped
from bmsflasher.firmware.package import MAX_PACKAGE_BYTES, read_package
from bmsflasher.procedure.package_loading import build_keyring, load_package
from bmsflasher.protocols.smp.target import SmpTarget, SpeedOptions
from bmsflasher.protocols.uds.download import zlib_stream

T = TypeVar("T")

DEMO_PACKAGE = resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg")
DEMO_PUBLIC_KEY = resource_path("demo", "demo-key.pub.pem")
BAUD = 921_600
SIM_START_TIMEOUT_S = 30.0
SIM_STOP_TIMEOUT_S = 10.0


def traced_peak(call: Callable[[], T]) -> tuple[T, int]:
    """Run ``call``; returns its result and the bytes it allocated at its peak (tracemalloc).

    Measured above what was allocated before the call, so objects the test built beforehand (the
    image, the package bytes) do not count. Works whether or not tracing is already on
    (``python -X tracemalloc``) and leaves it as it found it.
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = call()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return result, peak


@pytest.fixture(scope="module")
def demo_image() -> bytes:
    """The 256 KiB image inside the demo package (what a device receives)."""
    return read_package(DEMO_PACKAGE.read_bytes()).image_bytes


# --- bounded file reads ------------------------------------------------------------------------
def test_a_small_file_under_a_large_cap_costs_its_size_not_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "small.bin"
    path.write_bytes(b"k" * 1024)
    data, peak = traced_peak(lambda: read_capped(path, MAX_PACKAGE_BYTES))
    assert data == b"k" * 1024
    # 64 KiB: the file plus Python's bookkeeping; the old read reserved the whole 48 MiB cap.
    assert peak < 64 * 1024, f"{peak} bytes allocated to read a 1 KiB file"


@pytest.mark.parametrize(("size", "fits"), [(0, True), (4095, True), (4096, True), (4097, False)])
def test_the_cap_is_exact_at_its_boundary(tmp_path: Path, size: int, fits: bool) -> None:
    path = tmp_path / "file.bin"
    path.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
    expected = path.read_bytes()
    assert read_capped(path, 4096) == (expected if fits else None)


# --- package verification ----------------------------------------------------------------------
def test_verifying_the_demo_package_allocates_a_small_multiple_of_its_image(
    tmp_path: Path, demo_image: bytes
) -> None:
    keyring = build_keyring([DEMO_PUBLIC_KEY], folder=tmp_path / "no-user-keys")
    load_package(DEMO_PACKAGE, keyring)  # imports and key parsing happen once, outside the measurement
    package, peak = traced_peak(lambda: load_package(DEMO_PACKAGE, keyring))
    assert package.image == demo_image
    # Budget 3x the image: the package file (0.4x: the demo image compresses), the inflated image
    # and one transient copy while its blocks are joined make 2.4x (measured); the rest is room for
    # bookkeeping. A buffer sized by the 48 MiB cap was 190x, and inflating the image in one read
    # (zlib's doubling output blocks, then their copy) 3.4x: both fail.
    assert peak <= 3 * len(demo_image), f"peak {peak / len(demo_image):.2f}x the image"


# --- UDS compression ---------------------------------------------------------------------------
def test_the_sliced_zlib_stream_is_the_same_bytes_as_zlib_compress(demo_image: bytes) -> None:
    for data in (demo_image, demo_image[4093:], b"\xff" * 100_000, b""):
        assert zlib_stream(memoryview(data)) == zlib.compress(data, 9)


def test_the_sliced_zlib_stream_allocates_less_than_compressing_the_whole_image(demo_image: bytes) -> None:
    view = memoryview(demo_image)
    _, whole_peak = traced_peak(lambda: zlib.compress(demo_image, 9))
    payload, sliced_peak = traced_peak(lambda: zlib_stream(view))
    # The peer is measured in the same run: compressing at once holds zlib's output blocks
    # (32 + 64 + 256 KiB here) and their copy; slices hold the result and deflate's own state.
    assert sliced_peak < whole_peak - len(payload), (sliced_peak, whole_peak, len(payload))


# --- SMP upload to a device in another process ----------------------------------------------
def _listening_port(log: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + SIM_START_TIMEOUT_S
    while time.monotonic() < deadline:
        for line in log.read_bytes().splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                event = json.loads(line)
                if isinstance(event, dict) and event.get("event") == "listening":
                    return str(event["port"])
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"the virtual BMS did not start (exit {process.poll()})")


@pytest.fixture
def sim_port(tmp_path: Path) -> Iterator[str]:
    """A virtual BMS in its own process (its flash and buffers are not traced here), on a pty."""
    log = tmp_path / "sim.jsonl"
    command = [
        sys.executable, "-m", "bmsflasher.cli.main", "sim", "--protocol", "smp", "--link", "pty",
        "--baud", str(BAUD), "--json", "--erase-ms", "0", "--state", str(tmp_path / "bms.flash"),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
    try:
        yield _listening_port(log, process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=SIM_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=SIM_STOP_TIMEOUT_S)


def test_an_smp_upload_never_holds_a_copy_of_the_image(sim_port: str, demo_image: bytes) -> None:
    # The standard image upload (the compressed one, BMS command 18, is measured by bench_memory)
    plain = SpeedOptions(switch_rate=False, compress=False)
    with SmpTarget.connect(sim_port, BAUD, speed=plain) as target:
        target.identify()
        result, peak = traced_peak(lambda: target.upload(demo_image))
    assert result.total_bytes == len(demo_image)
    assert result.match is not False
    # Budget half the image: only the chunks in flight are encoded (a window of at most 8 frames
    # of a few KiB, CBOR then base64 lines), measured 0.1x. One copy of the image (slicing it
    # whole, encoding every chunk up front, bytes concatenation of a growing buffer) is >= 1x.
    assert peak < len(demo_image) // 2, f"peak {peak / len(demo_image):.2f}x the image"

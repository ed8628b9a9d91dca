"""Protocol fuzzing of both servers of the virtual BMS: 0 crashes, 0 hangs.

* SMP: hostile request messages (random bytes, valid headers with random groups, commands and CBOR
  bodies, mutations of real requests) go into the server's request handler, and hostile bytes
  (random, broken base64 lines, frames of lying lengths) go through the real pty into the
  firmware's serial receiver. The handler must answer with a well-formed SMP response or nothing,
  within its time bound; after the garbage the device must still answer a real echo on the pty.
* UDS: random and mutated CAN frames (every ISO-TP frame type, lying lengths, wrong sequence
  numbers, random service requests) are sent on the paced virtual CAN bus to the server; no server
  thread may die and the node must still answer TesterPresent afterwards.

A crash is any exception escaping a server thread (recorded with ``threading.excepthook``) or
raised by the handler; a hang is a call that does not return in time or a node that stops answering.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import can
import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rel_figures import record

from bmsflasher.protocols.smp.framing import encode_frame
from bmsflasher.protocols.smp.target import SmpTarget
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.smp.server import SmpServer
from bmsflasher.sim.wire import can_frontend
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd

FAST_EXAMPLES = 150
SLOW_EXAMPLES = 3000
HANDLE_LIMIT_S = 2.0
SMP_HEADER = struct.Struct(">BBHHBB")
REQUEST_ID, RESPONSE_ID = 0x7E0, 0x7E8


@pytest.fixture
def thread_crashes() -> Iterator[list[str]]:
    """Exceptions that escape any thread while the test runs (a server thread dying is a crash)."""
    crashes: list[str] = []
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        crashes.append(
            f"{args.thread.name if args.thread else '?'}: {args.exc_type.__name__}: {args.exc_value}"
        )

    threading.excepthook = hook
    yield crashes
    threading.excepthook = previous


def quiet_device() -> VirtualBms:
    return VirtualBms.create(SimOptions(erase_time_s_per_sector=0.0, time_scale=0.0, boot_time_s=0.0))


# --- SMP ---------------------------------------------------------------------------------------------
cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats() | st.text(max_size=20)
    | st.binary(max_size=64),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
known_keys = st.sampled_from(
    ["d", "off", "len", "data", "sha", "image", "hash", "confirm", "slot", "name", "val"]
)
bodies = st.dictionaries(known_keys | st.text(max_size=6), cbor_values, max_size=6)


@st.composite
def smp_messages(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=300))
    body = draw(bodies)
    try:
        payload = cbor2.dumps(body)
    except (ValueError, TypeError, OverflowError):
        payload = b"\xa0"
    if kind == 2:  # truncated or extended payload
        payload = payload[: draw(st.integers(0, len(payload)))] + draw(st.binary(max_size=8))
    op = draw(st.integers(0, 7) | st.sampled_from([0, 2]))
    version = draw(st.integers(0, 3))
    group = draw(st.sampled_from([0, 1, 64, 9, 2, 3]) | st.integers(0, 0xFFFF))
    command = draw(st.integers(0, 10) | st.integers(0, 255))
    length = len(payload) if kind != 3 else draw(st.integers(0, 0xFFFF))
    header = SMP_HEADER.pack(
        (version << 3) | op, draw(st.integers(0, 255)), length, group, draw(st.integers(0, 255)), command
    )
    return header + payload


def check_smp_response(message: bytes) -> None:
    assert len(message) >= SMP_HEADER.size, message
    op_ver, _flags, length, _group, _seq, _command = SMP_HEADER.unpack_from(message)
    assert op_ver & 0x07 in (1, 3), f"a response must have op 1 or 3: {message[:8].hex()}"
    assert length == len(message) - SMP_HEADER.size
    body = cbor2.loads(message[SMP_HEADER.size :])
    assert isinstance(body, dict)


def fuzz_smp_handler(examples: int) -> int:
    device = quiet_device()
    server = SmpServer(device)
    handled = [0]

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(smp_messages())
    def one(message: bytes) -> None:
        started = time.monotonic()
        outcome = server.handle(message)
        assert time.monotonic() - started < HANDLE_LIMIT_S, "the SMP handler hung"
        handled[0] += 1
        if outcome is not None:
            check_smp_response(outcome.response)
            if outcome.reset_after:
                device.reset()

    try:
        one()
    finally:
        device.close()
    return handled[0]


def garbage_on_the_wire(examples: int, seed: int) -> tuple[int, bool]:
    """Write hostile bytes into the sim's pty, then check a real client still gets an echo."""
    import random

    rng = random.Random(seed)
    device = quiet_device()
    sent = 0
    try:
        with SerialFrontEnd(device, FrontEndOptions(baud=921_600)) as front:
            fd = os.open(front.port, os.O_RDWR | os.O_NOCTTY)
            try:
                for _ in range(examples):
                    choice = rng.random()
                    if choice < 0.3:
                        chunk = rng.randbytes(rng.randrange(1, 200))
                    elif choice < 0.6:  # a frame start followed by base64 of random bytes
                        chunk = b"\x06\x09" + rng.randbytes(rng.randrange(0, 120)).hex().encode() + b"\n"
                    else:  # a well-framed message with random content and a lying length
                        message = rng.randbytes(rng.randrange(0, 300))
                        chunk = encode_frame(message)
                        if rng.random() < 0.5:
                            cut = rng.randrange(len(chunk))
                            chunk = chunk[:cut] + bytes([rng.randrange(256)]) + chunk[cut + 1 :]
                    os.write(fd, chunk)
                    sent += len(chunk)
            finally:
                os.close(fd)
            time.sleep(1.0)  # let the UART drain the garbage at line rate
            with SmpTarget.connect(front.port, 921_600) as target:
                alive = target.ping() < 5.0
    finally:
        device.close()
    return sent, alive


def test_smp_handler_fuzz_fast(thread_crashes: list[str]) -> None:
    handled = fuzz_smp_handler(FAST_EXAMPLES)
    assert handled >= FAST_EXAMPLES // 2
    assert not thread_crashes


def test_smp_wire_garbage_fast(thread_crashes: list[str]) -> None:
    sent, alive = garbage_on_the_wire(40, seed=1)
    assert sent > 0
    assert alive
    assert not thread_crashes, thread_crashes


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_smp_server_fuzz_full(thread_crashes: list[str]) -> None:
    started = time.monotonic()
    handled = fuzz_smp_handler(SLOW_EXAMPLES)
    wire = [garbage_on_the_wire(300, seed) for seed in range(1, 6)]
    dead = sum(not alive for _, alive in wire)
    record(
        "SMP server (virtual BMS): hostile request messages into the handler, hostile bytes into its pty",
        cases=handled + len(wire),
        failures=len(thread_crashes) + dead,
        claim="0 crashes (no exception escapes, every response well-formed), 0 hangs (each call < 2 s, "
        "the device still answers a real client afterwards)",
        detail=f"{handled} hypothesis messages; "
        f"{sum(s for s, _ in wire)} garbage bytes in 5 runs of 300 chunks",
        elapsed_s=time.monotonic() - started,
    )
    assert not thread_crashes, thread_crashes
    assert dead == 0


# --- UDS ---------------------------------------------------------------------------------------------
uds_services = st.sampled_from(
    [0x10, 0x11, 0x14, 0x19, 0x22, 0x27, 0x28, 0x2E, 0x31, 0x34, 0x36, 0x37, 0x3E, 0x85]
)


@st.composite
def isotp_frames(draw: st.DrawFn) -> list[tuple[int, bytes]]:
    """A short burst of CAN frames to the node (or near it), as (arbitration id, data)."""
    frames: list[tuple[int, bytes]] = []
    for _ in range(draw(st.integers(1, 4))):
        can_id = draw(st.sampled_from([REQUEST_ID, REQUEST_ID, 0x7DF]) | st.integers(0x700, 0x7FF))
        kind = draw(st.integers(0, 4))
        if kind == 0:  # single frame with a service request
            payload = bytes([draw(uds_services)]) + draw(st.binary(max_size=6))
            length = draw(st.just(len(payload)) | st.integers(0, 15))
            data = bytes([length & 0x0F]) + payload
        elif kind == 1:  # first frame announcing a (possibly lying) length
            length = draw(st.integers(0, 0xFFF))
            data = bytes([0x10 | length >> 8, length & 0xFF, draw(uds_services)]) + draw(
                st.binary(min_size=5, max_size=5)
            )
        elif kind == 2:  # consecutive frame with any sequence number
            data = bytes([0x20 | draw(st.integers(0, 15))]) + draw(st.binary(max_size=7))
        elif kind == 3:  # flow control with any status, block size and STmin
            data = bytes(
                [0x30 | draw(st.integers(0, 15)), draw(st.integers(0, 255)), draw(st.integers(0, 255))]
            )
        else:
            data = draw(st.binary(max_size=8))
        frames.append((can_id, data[:8]))
    return frames


def answers_tester_present(bus: can.BusABC, timeout_s: float = 3.0) -> bool:
    """Send TesterPresent (0x3E 0x00) until the node answers 0x7E 0x00 or the time is up."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        bus.send(can.Message(arbitration_id=REQUEST_ID, data=bytes([0x02, 0x3E, 0x00]), is_extended_id=False))
        until = time.monotonic() + 0.5
        while time.monotonic() < until:
            message = bus.recv(timeout=0.1)
            if (
                message is not None
                and message.arbitration_id == RESPONSE_ID
                and bytes(message.data[:3]) == b"\x02\x7e\x00"
            ):
                return True
    return False


def fuzz_uds_server(examples: int, channel: str) -> tuple[int, int, int]:
    """(bursts sent, liveness checks, liveness failures)."""
    device = quiet_device()
    sent = [0]
    checks = [0, 0]
    try:
        with (
            can_frontend.start(device, FrontEndOptions(channel=channel, bitrate=1_000_000), "virtual"),
            can.Bus(interface="virtual", channel=channel, receive_own_messages=False) as bus,
        ):
            assert answers_tester_present(bus), "the node does not answer before fuzzing"

            @settings(
                max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
            )
            @given(isotp_frames())
            def one(frames: list[tuple[int, bytes]]) -> None:
                for can_id, data in frames:
                    bus.send(can.Message(arbitration_id=can_id, data=data, is_extended_id=False))
                sent[0] += 1
                while bus.recv(timeout=0) is not None:
                    pass
                if sent[0] % 50 == 0:
                    checks[0] += 1
                    time.sleep(1.2)  # ISO-TP reception timeouts (N_Cr) expire first
                    if not answers_tester_present(bus):
                        checks[1] += 1

            one()
            time.sleep(1.2)
            checks[0] += 1
            if not answers_tester_present(bus):
                checks[1] += 1
    finally:
        device.close()
    return sent[0], checks[0], checks[1]


def test_uds_server_fuzz_fast(thread_crashes: list[str], tmp_path: Path) -> None:
    sent, checks, dead = fuzz_uds_server(FAST_EXAMPLES, f"fuzz-{tmp_path.name}")
    assert sent >= FAST_EXAMPLES // 2
    assert checks >= 1
    assert dead == 0
    assert not thread_crashes, thread_crashes


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_uds_server_fuzz_full(thread_crashes: list[str], tmp_path: Path) -> None:
    started = time.monotonic()
    sent, checks, dead = fuzz_uds_server(SLOW_EXAMPLES, f"fuzz-{tmp_path.name}")
    record(
        "UDS server (virtual BMS): random and mutated ISO-TP frames on the paced virtual CAN bus",
        cases=sent,
        failures=len(thread_crashes) + dead,
        claim="0 crashes (no server thread dies), 0 hangs (TesterPresent answered after every 50 bursts)",
        detail=f"{sent} hypothesis bursts of 1-4 frames, {checks} liveness checks, {dead} failed",
        elapsed_s=time.monotonic() - started,
    )
    assert not thread_crashes, thread_crashes
    assert dead == 0

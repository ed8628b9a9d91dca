"""Protocol fuzzing of both clients: garbage from a hostile peer gives a project error, in time.

* SMP client: the serial frame decoder and the response decoder take random bytes and mutated
  real frames; a hostile peer on a real pty answers every request line with garbage (random bytes,
  broken base64 frames, well-framed random messages, responses with random CBOR bodies).
* UDS client: every response decoder takes random bytes; a hostile node on a python-can virtual bus
  answers every request with random ISO-TP frames.

0 crashes means nothing but :class:`~bmsflasher.core.errors.BmsFlasherError` (the project's tree,
with a one-sentence message) ever escapes; 0 hangs means every call returns within its bound.
"""

from __future__ import annotations

import os
import random
import select
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

import can
import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rel_figures import record

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.links.can import CanLinkConfig
from bmsflasher.protocols.smp.codec import decode_response
from bmsflasher.protocols.smp.framing import FrameDecoder, encode_frame
from bmsflasher.protocols.smp.target import SmpTarget
from bmsflasher.protocols.uds import codec as uds_codec
from bmsflasher.protocols.uds.target import UdsTarget

FAST_EXAMPLES = 200
SLOW_EXAMPLES = 5000
CONNECT_BOUND_S = 30.0
SMP_HEADER = struct.Struct(">BBHHBB")


def only_project_errors(call: Callable[[], object]) -> None:
    """Run ``call``; anything but a BmsFlasherError with a one-line message is a crash."""
    error: BmsFlasherError | None = None
    try:
        call()
    except BmsFlasherError as exc:
        error = exc
    if error is not None:
        assert error.message, "a project error without a message"
        assert "\n" not in error.message


# --- decoders --------------------------------------------------------------------------------------------
def frames_of_garbage() -> st.SearchStrategy[bytes]:
    real = st.builds(
        lambda b: encode_frame(SMP_HEADER.pack(3, 0, len(b), 0, 0, 0) + b), st.binary(max_size=200)
    )
    mutated = st.tuples(real, st.integers(0, 10_000), st.integers(0, 255)).map(
        lambda t: t[0][: t[1] % max(1, len(t[0]))] + bytes([t[2]]) + t[0][t[1] % max(1, len(t[0])) + 1 :]
    )
    return st.binary(max_size=400) | real | mutated


def fuzz_smp_decoders(examples: int) -> int:
    count = [0]

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.lists(frames_of_garbage(), min_size=1, max_size=4))
    def one(chunks: list[bytes]) -> None:
        decoder = FrameDecoder()
        for chunk in chunks:
            for message in decoder.feed(chunk):
                only_project_errors(lambda m=message: decode_response(m))
            only_project_errors(lambda c=chunk: decode_response(c))
        count[0] += 1

    one()
    return count[0]


UDS_DECODERS: list[Callable[[bytes], object]] = [
    uds_codec.device_mode,
    uds_codec.slots,
    uds_codec.transport_caps,
    uds_codec.compression_methods,
    uds_codec.upload_status,
    uds_codec.pack_values,
    uds_codec.cells,
    uds_codec.temperatures,
    uds_codec.balancing,
    uds_codec.config_schema,
    uds_codec.dtc_texts,
    uds_codec.self_test,
    uds_codec.ascii_text,
    lambda data: uds_codec.decode_param(int, data, "p"),
    lambda data: uds_codec.decode_param(float, data, "p"),
    lambda data: uds_codec.decode_param(bool, data, "p"),
    lambda data: uds_codec.decode_param(str, data, "p"),
]


def fuzz_uds_decoders(examples: int) -> int:
    count = [0]

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.sampled_from(range(len(UDS_DECODERS))), st.binary(max_size=300))
    def one(index: int, data: bytes) -> None:
        only_project_errors(lambda: UDS_DECODERS[index](data))
        count[0] += 1

    one()
    return count[0]


# --- hostile peers ----------------------------------------------------------------------------------------
def hostile_smp_answer(rng: random.Random, request_line: bytes) -> bytes:
    choice = rng.random()
    if choice < 0.25:
        return rng.randbytes(rng.randrange(1, 300))
    if choice < 0.5:
        return b"\x06\x09" + rng.randbytes(rng.randrange(1, 90)).hex().encode() + b"\n"
    body: object = (
        {"rc": rng.randrange(-5, 300)} if rng.random() < 0.5 else {"images": rng.randbytes(8), "x": [1, None]}
    )
    payload = cbor2.dumps(body) if rng.random() < 0.8 else rng.randbytes(rng.randrange(0, 40))
    header = SMP_HEADER.pack(
        rng.choice([1, 3, 0, 2]), 0, len(payload), rng.randrange(0, 70), rng.randrange(256), rng.randrange(10)
    )
    return encode_frame(header + payload)


def hostile_smp_connect(seed: int) -> tuple[float, str]:
    """Connect the real SMP client to a pty whose peer answers garbage; (seconds, what happened)."""
    master, slave = os.openpty()
    name = os.ttyname(slave)
    stop = threading.Event()
    rng = random.Random(seed)

    def peer() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            try:
                line = os.read(master, 4096)
                os.write(master, hostile_smp_answer(rng, line))
            except OSError:
                return

    thread = threading.Thread(target=peer, name="rel-hostile-smp", daemon=True)
    thread.start()
    started = time.monotonic()
    outcome = "connected"
    try:
        try:
            with SmpTarget.connect(name, 115_200, reconnect_timeout_s=1.0) as target:
                only_project_errors(target.identify)
                only_project_errors(target.read_telemetry)
        except BmsFlasherError as exc:
            outcome = type(exc).__name__
    finally:
        elapsed = time.monotonic() - started
        stop.set()
        thread.join(timeout=5)
        os.close(master)
        os.close(slave)
    return elapsed, outcome


def hostile_uds_open(seed: int, channel: str) -> tuple[float, str]:
    """Open the real UDS client against a node that answers random ISO-TP frames."""
    rng = random.Random(seed)
    stop = threading.Event()
    bus = can.Bus(interface="virtual", channel=channel, receive_own_messages=False)

    def node() -> None:
        while not stop.is_set():
            message = bus.recv(timeout=0.05)
            if message is None or message.arbitration_id != 0x7E0:
                continue
            for _ in range(rng.randrange(1, 4)):
                kind = rng.randrange(4)
                data = bytes([(kind << 4) | rng.randrange(16)]) + rng.randbytes(rng.randrange(0, 8))
                if rng.random() < 0.3:  # a plausible single-frame positive or negative response
                    data = bytes(
                        [3, rng.choice([0x7F, message.data[1] + 0x40 if len(message.data) > 1 else 0x50])]
                    )
                    data += rng.randbytes(2)
                bus.send(can.Message(arbitration_id=0x7E8, data=data[:8], is_extended_id=False))

    thread = threading.Thread(target=node, name="rel-hostile-uds", daemon=True)
    thread.start()
    started = time.monotonic()
    outcome = "connected"
    try:
        try:
            target = UdsTarget.open(CanLinkConfig(interface="virtual", channel=channel, bitrate=500_000), 1)
            try:
                only_project_errors(target.identify)
                only_project_errors(target.read_telemetry)
            finally:
                target.close()
        except BmsFlasherError as exc:
            outcome = type(exc).__name__
    finally:
        elapsed = time.monotonic() - started
        stop.set()
        thread.join(timeout=5)
        bus.shutdown()
    return elapsed, outcome


# --- tests ------------------------------------------------------------------------------------------------
def test_smp_client_decoders_fast() -> None:
    assert fuzz_smp_decoders(FAST_EXAMPLES) == FAST_EXAMPLES


def test_uds_client_decoders_fast() -> None:
    assert fuzz_uds_decoders(FAST_EXAMPLES) == FAST_EXAMPLES


def test_smp_client_against_hostile_pty_fast() -> None:
    elapsed, _ = hostile_smp_connect(seed=1)
    assert elapsed < CONNECT_BOUND_S


def test_uds_client_against_hostile_node_fast(tmp_path: Path) -> None:
    elapsed, _ = hostile_uds_open(seed=1, channel=f"hostile-{tmp_path.name}")
    assert elapsed < CONNECT_BOUND_S


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_clients_fuzz_full(tmp_path: Path) -> None:
    started = time.monotonic()
    smp = fuzz_smp_decoders(SLOW_EXAMPLES)
    uds = fuzz_uds_decoders(SLOW_EXAMPLES)
    hostile_smp = [hostile_smp_connect(seed) for seed in range(1, 21)]
    hostile_uds = [hostile_uds_open(seed, f"hostile-{tmp_path.name}-{seed}") for seed in range(1, 21)]
    hangs = [t for t, _ in hostile_smp + hostile_uds if t >= CONNECT_BOUND_S]
    outcomes = sorted({o for _, o in hostile_smp + hostile_uds})
    record(
        "SMP and UDS clients: garbage into their decoders, hostile peers on a pty and on a CAN bus",
        cases=smp + uds + len(hostile_smp) + len(hostile_uds),
        failures=len(hangs),
        claim="0 crashes (only project errors escape), "
        f"0 hangs (every session ends within {CONNECT_BOUND_S:g} s)",
        detail=f"{smp} SMP frame/response inputs, {uds} UDS response inputs, 20 hostile SMP peers "
        f"(longest {max(t for t, _ in hostile_smp):.1f} s), 20 hostile UDS nodes "
        f"(longest {max(t for t, _ in hostile_uds):.1f} s); client outcomes: {', '.join(outcomes)}",
        elapsed_s=time.monotonic() - started,
    )
    assert not hangs

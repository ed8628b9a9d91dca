"""The UDS client against a scripted node on python-can's virtual bus: late answers and stalls.

On a lossy bus an answer can arrive after its request timed out, during the next request; and a
device whose flow control was lost cannot answer anything for N_Bs (1 s). The node here replays
both situations frame by frame, so the client's strict matching and its retry window are
checked on a real CAN bus with the real ISO-TP stack.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import can
import pytest
from uds_support import unique_channel

from bmsflasher.core.errors import NoResponseError
from bmsflasher.links.can import CanLink, CanLinkConfig
from bmsflasher.protocols.uds.client import UdsClient
from bmsflasher.protocols.uds.transport import IsoTpTransport

REQUEST_ID = 0x7E0
RESPONSE_ID = 0x7E8
Script = Callable[[bytes, int], list[bytes]]
"""(request payload, how many times this payload was seen) -> answers to send, in order."""


def single_frame(payload: bytes) -> can.Message:
    data = bytes([len(payload)]) + payload
    return can.Message(arbitration_id=RESPONSE_ID, data=data.ljust(8, b"\xcc"), is_extended_id=False)


@contextmanager
def scripted_node(channel: str, script: Script) -> Iterator[list[bytes]]:
    """A node answering single-frame requests as ``script`` says; yields the requests it saw."""
    bus = can.Bus(interface="virtual", channel=channel)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            message = bus.recv(0.02)
            if message is None or message.arbitration_id != REQUEST_ID:
                continue
            length = message.data[0] & 0x0F
            request = bytes(message.data[1 : 1 + length])
            seen.append(request)
            for answer in script(request, seen.count(request)):
                bus.send(single_frame(answer))

    thread = threading.Thread(target=serve, name="scripted-uds-node")
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(timeout=5.0)
        bus.shutdown()


@contextmanager
def client_on(channel: str) -> Iterator[UdsClient]:
    link = CanLink.open(CanLinkConfig(interface="virtual", channel=channel))
    client = UdsClient(IsoTpTransport(link, 1), 500_000, None)
    client.open()
    try:
        yield client
    finally:
        client.close()
        link.close()


def test_a_late_answer_for_another_did_is_discarded() -> None:
    channel = unique_channel()

    def script(request: bytes, _count: int) -> list[bytes]:
        if request == b"\x22\xfe\x06":
            # The answer to an earlier 0xFE05 read arrives first, then the real one.
            return [b"\x62\xfe\x05\x00\x05", b"\x62\xfe\x06\x00\x06"]
        return []

    with scripted_node(channel, script), client_on(channel) as client:
        assert client.read_did(0xFE06, "parameter") == b"\x00\x06"
        assert client.transport.connection.stale_answers == 1
        assert client.link_stats().timeouts == 0


def test_a_late_answer_for_another_routine_is_discarded() -> None:
    channel = unique_channel()

    def script(request: bytes, _count: int) -> list[bytes]:
        if request[:4] == b"\x31\x01\xf0\x02":
            return [b"\x71\x01\xf0\x01\x00", b"\x7f\x2e\x22", b"\x71\x01\xf0\x02\x00"]
        return []

    with scripted_node(channel, script), client_on(channel) as client:
        assert client.routine(0xF002, "confirm the running image") == b"\x00"
        assert client.transport.connection.stale_answers == 2


def test_repeatable_requests_ride_out_a_one_second_device_stall() -> None:
    channel = unique_channel()
    stalled_until: list[float] = []

    def script(request: bytes, _count: int) -> list[bytes]:
        if request == b"\x22\xf1\x8c":
            stalled_until.append(time.monotonic() + 1.2)  # as if its sender waited N_Bs
            return [b"\x62\xf1\x8cSN1"]
        if request == b"\x22\xfd\x00" and time.monotonic() > stalled_until[0]:
            return [b"\x62\xfd\x00\x01"]
        return []

    with scripted_node(channel, script) as seen, client_on(channel) as client:
        assert client.read_did(0xF18C, "serial number") == b"SN1"
        started = time.monotonic()
        assert client.read_did(0xFD00, "operating mode") == b"\x01"
        assert time.monotonic() - started < 3.0
        assert seen.count(b"\x22\xfd\x00") > 3  # more than the base three tries were needed


def test_a_node_that_never_answered_fails_fast() -> None:
    channel = unique_channel()
    with scripted_node(channel, lambda _request, _count: []) as seen, client_on(channel) as client:
        started = time.monotonic()
        with pytest.raises(NoResponseError):
            client.read_did(0xFD00, "operating mode")
        assert time.monotonic() - started < 2.0  # no stall window for an absent node
        assert seen.count(b"\x22\xfd\x00") == client.attempts_for(3, 64)

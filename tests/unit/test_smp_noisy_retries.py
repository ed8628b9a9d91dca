"""SmpSession.transact on a noisy line: corrupted answers do not use up the silent-try budget.

A scripted device on a real pty answers echo requests; for the first N requests it sends the answer
with one base64 character changed (the frame arrives, its CRC fails), as a bit error would.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import pytest
from smp import header as smphdr
from smp.os_management import EchoWriteResponse

from bmsflasher.core.errors import NoResponseError
from bmsflasher.links.serial import SerialLink
from bmsflasher.protocols.smp import messages
from bmsflasher.protocols.smp.framing import FrameDecoder, encode_frame
from bmsflasher.protocols.smp.session import DEFAULT_ATTEMPTS, MAX_NOISY_ATTEMPTS, SmpSession


class ScriptedDevice:
    """Answers every echo; the first ``garble`` answers arrive corrupted, or none when ``silent``."""

    def __init__(self, garble: int, *, silent: bool = False, drop: int = 0) -> None:
        self.master, self._slave = os.openpty()
        self.path = os.ttyname(self._slave)
        self.garble = garble
        self.silent = silent
        self.drop = drop
        """Requests after the garbled ones that never arrive (the line lost them on the way in)."""
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-scripted-smp-device")
        self._thread.start()

    def _run(self) -> None:
        decoder = FrameDecoder()
        os.set_blocking(self.master, False)
        while not self._stop.wait(0.002):
            try:
                data = os.read(self.master, 4096)
            except (BlockingIOError, OSError):
                continue
            for message in decoder.feed(data):
                self.requests += 1
                head = smphdr.Header.loads(message[: smphdr.Header.SIZE])
                if self.silent or self.garble < self.requests <= self.garble + self.drop:
                    continue
                answer = encode_frame(bytes(EchoWriteResponse(sequence=head.sequence, r="hi").BYTES))
                if self.requests <= self.garble:
                    answer = answer[:5] + (b"A" if answer[5:6] != b"A" else b"B") + answer[6:]
                os.write(self.master, answer)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


@pytest.fixture
def device_factory() -> Iterator[list[ScriptedDevice]]:
    made: list[ScriptedDevice] = []
    yield made
    for device in made:
        device.close()


def _echo(device: ScriptedDevice) -> str:
    with SerialLink.open(device.path, 921600) as link:
        session = SmpSession(link)
        response = session.transact(lambda seq: messages.echo("hi", seq), "echo", timeout_s=0.15)
        return str(response.body.get("r"))


def test_more_corrupted_answers_than_the_silent_budget_still_succeed(device_factory) -> None:
    device = ScriptedDevice(garble=DEFAULT_ATTEMPTS + 3)
    device_factory.append(device)
    assert _echo(device) == "hi"
    assert device.requests == DEFAULT_ATTEMPTS + 4


def test_a_silent_device_is_given_up_on_after_the_silent_budget(device_factory) -> None:
    device = ScriptedDevice(garble=0, silent=True)
    device_factory.append(device)
    with pytest.raises(NoResponseError, match=f"{DEFAULT_ATTEMPTS} attempts") as caught:
        _echo(device)
    assert "corrupted" not in caught.value.message
    assert device.requests == DEFAULT_ATTEMPTS


def test_a_line_that_garbles_everything_ends_at_the_ceiling_and_says_so(device_factory) -> None:
    device = ScriptedDevice(garble=1000)
    device_factory.append(device)
    with pytest.raises(NoResponseError, match="answered with corrupted frames") as caught:
        _echo(device)
    assert f"{MAX_NOISY_ATTEMPTS} attempts" in caught.value.message
    assert device.requests == MAX_NOISY_ATTEMPTS


def test_lost_requests_after_a_garbled_answer_are_retried_past_the_silent_budget(device_factory) -> None:
    """One garbled answer proves the device is there: the silent tries that follow are lost requests
    (the session-wide ratio may still look clean after a long clean upload), not a dead device."""
    device = ScriptedDevice(garble=1, drop=DEFAULT_ATTEMPTS + 2)
    device_factory.append(device)
    assert _echo(device) == "hi"
    assert device.requests == DEFAULT_ATTEMPTS + 4

"""A line with a bit error rate of 1e-3: frames sized to the line, answers fetched again in pieces.

At 1e-3 per bit a 700-byte self-test answer (about 7,500 bits on the wire) arrives intact about
one time in 1,800, so asking again cannot get it through; the device's kept answer fetched in
pieces of the size the line lets through (BMS command 19) does. Uploads start with short chunks
once the session has seen the line garble frames. Real pty, seeded faults in both directions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from bmsflasher.core.errors import NoResponseError
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.protocols.smp.target import SmpTarget
from bmsflasher.protocols.smp.upload import NOISY_CHUNK_BYTES
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd

BAUD = 921_600
BER = 1e-3
UPLOADS = {(b"\x00\x01", 1), (b"\x00\x48", 18)}
"""(group, command) of the standard upload (image 1) and the compressed one (BMS 18)."""


@pytest.fixture
def noisy() -> Iterator[tuple[VirtualBms, SerialFrontEnd]]:
    options = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0)
    with (
        VirtualBms.create(options) as device,
        SerialFrontEnd(device, FrontEndOptions(baud=BAUD, bit_error_rate=BER, seed=11)) as front,
    ):
        yield device, front


def test_long_answers_get_through_in_pieces(noisy: tuple[VirtualBms, SerialFrontEnd]) -> None:
    _device, front = noisy
    with SmpTarget.connect(front.port, BAUD) as target:
        result = target.run_self_test()
        assert result.checks  # the whole answer, reassembled and CRC-checked
        assert target.read_telemetry().cell_voltages_mv
        assert target.session.pieces_supported is True
        assert target.session.line_is_noisy()


def test_without_pieces_a_long_answer_is_lost_every_time(noisy: tuple[VirtualBms, SerialFrontEnd]) -> None:
    """The control: the same request, repeated as it was, never gets its 700-byte answer through."""
    _device, front = noisy
    with SmpTarget.connect(front.port, BAUD) as target:
        target.session.pieces_supported = False
        with pytest.raises(NoResponseError, match="corrupted frames"):
            target.run_self_test()


def test_an_upload_completes_with_the_image_intact(noisy: tuple[VirtualBms, SerialFrontEnd]) -> None:
    device, front = noisy
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    payload = hashlib.shake_256(b"noisy").digest(3000)
    image = build_image(payload, version=FirmwareVersion(1, 3, 0), security_counter=2, key=key)
    with SmpTarget.connect(front.port, BAUD) as target:
        target.read_telemetry()  # the session sees the line garble frames
        session = target.session
        sent: list[int] = []
        send = session.send

        def recording_send(message: bytes) -> None:
            if (message[4:6], message[7]) in UPLOADS:
                sent.append(len(message))
            send(message)

        session.send = recording_send  # type: ignore[method-assign]
        result = target.upload(image)
        assert result.match in (True, None)  # None: the final answer was lost; the slot hash decided
    assert device.image_bytes(1) == image
    # Sized to the line from the first frame on: no upload message near the 2 KiB buffer, and the
    # first chunk (256 bytes on a clean line) at most 128 bytes of data.
    assert sent[0] <= NOISY_CHUNK_BYTES + 120
    assert max(sent[:8]) <= NOISY_CHUNK_BYTES + 120

"""The SMP handshake that confirms a device at one baud rate: an OS-group echo with a random token.

A baud rate is only "found" when a complete SMP frame with a valid CRC16 comes back carrying the
echo of the token we sent (or a well-formed SMP error to it, from a device that disabled echo).
Mere bytes prove nothing: a device at the wrong rate, console output or another protocol all
produce bytes. Framing and message encoding are the SMP client's (``protocols.smp``); this module
only adds the probe-sized exchange with a short, hard deadline and counts what was not SMP so the
scanner can tell "silent" from "answers garbage".
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from smp import header as smphdr

from bmsflasher.core.errors import MalformedResponseError, ProtocolError
from bmsflasher.links.serial import SerialLink
from bmsflasher.protocols.smp import messages
from bmsflasher.protocols.smp.codec import check_error, decode_response
from bmsflasher.protocols.smp.framing import FrameDecoder, encode_frame

_READ_CHUNK = 512


@dataclass(frozen=True, slots=True)
class HandshakeResult:
    """What one handshake attempt saw.

    Attributes:
        confirmed: a CRC-valid SMP answer to our request arrived.
        round_trip_s: request to answer, when confirmed.
        echo_supported: False when the device answered with an SMP error (echo disabled).
        bytes_received: every byte read during the attempt.
        noise_bytes: bytes that were not part of any SMP frame.
        bad_frames: frames that started but failed base64, length or CRC checks.
        foreign_frames: CRC-valid SMP frames that did not answer our request.
    """

    confirmed: bool
    round_trip_s: float = 0.0
    echo_supported: bool = True
    bytes_received: int = 0
    noise_bytes: int = 0
    bad_frames: int = 0
    foreign_frames: int = 0

    @property
    def saw_garbage(self) -> bool:
        """Bytes arrived that were not a valid answer (wrong protocol, wrong baud, noise)."""
        return not self.confirmed and (self.noise_bytes > 0 or self.bad_frames > 0 or self.foreign_frames > 0)


def smp_echo_handshake(link: SerialLink, timeout_s: float) -> HandshakeResult:
    """Send one SMP echo on ``link`` and wait at most ``timeout_s`` for its CRC-valid answer.

    Raises:
        LinkError: the port failed (vanished, stuck); the caller reports it.
    """
    token = secrets.token_hex(4)
    sequence = secrets.randbelow(256)
    request = messages.echo(token, sequence)
    decoder = FrameDecoder()
    received = 0
    foreign = 0
    link.reset_input()
    started = time.monotonic()
    deadline = started + timeout_s
    # A newline first ends whatever partial line the device's receiver holds: junk from our tries at
    # other rates, or console output. Without it, junk plus our frame can overrun the device's line
    # buffer (127 bytes in Zephyr) before our newline arrives, and the one echo at the right rate is
    # dropped. An empty line is ignored by every MCUmgr serial receiver.
    link.write(b"\n" + encode_frame(request))
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        chunk = link.read(_READ_CHUNK, remaining)
        received += len(chunk)
        for message in decoder.feed(chunk):
            verdict = _judge(message, sequence, token)
            if verdict is None:
                foreign += 1
                continue
            return HandshakeResult(
                confirmed=True,
                round_trip_s=time.monotonic() - started,
                echo_supported=verdict,
                bytes_received=received,
                noise_bytes=decoder.stats.noise_bytes,
                bad_frames=decoder.stats.bad_frames,
                foreign_frames=foreign,
            )
    return HandshakeResult(
        confirmed=False,
        bytes_received=received,
        noise_bytes=decoder.stats.noise_bytes + _pending_noise(decoder, received),
        bad_frames=decoder.stats.bad_frames,
        foreign_frames=foreign,
    )


def _pending_noise(decoder: FrameDecoder, received: int) -> int:
    """Bytes still waiting for a newline count as noise when nothing decoded (a line-less babbler)."""
    stats = decoder.stats
    if received and stats.frames == 0 and stats.noise_bytes == 0 and stats.bad_frames == 0:
        return received
    return 0


def _judge(message: bytes, sequence: int, token: str) -> bool | None:
    """True: our echo came back; False: an SMP error answered it; None: not an answer to us."""
    try:
        response = decode_response(message)
    except MalformedResponseError:
        return None
    head = response.header
    if (
        head.group != smphdr.GroupId.OS_MANAGEMENT
        or head.command != smphdr.CommandId.OSManagement.ECHO
        or head.sequence != sequence
    ):
        return None
    try:
        check_error(response, "echo")
    except ProtocolError:
        return False
    return response.body.get("r") == token or None

"""Listen to a CAN bus without transmitting: the adapter is opened, read, and closed.

Nothing here sends a frame, so listening is safe on a running vehicle or rack: python-can only
receives (an adapter still acknowledges frames at the controller level, as every node does).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Final

from bmsflasher.canbus.dbc_telemetry import DbcTelemetryDecoder
from bmsflasher.core.types import LinkSettings, PackTelemetry
from bmsflasher.links.can import CanLink, CanLinkConfig

RECEIVE_SLICE_S: Final = 0.05


@contextlib.contextmanager
def opened_listener(settings: LinkSettings) -> Iterator[CanLink]:
    """The adapter ``settings`` name, opened for receiving, closed when the block ends."""
    link = CanLink.open(CanLinkConfig.from_settings(settings))
    try:
        yield link
    finally:
        link.close()


def decoded_samples(
    link: CanLink,
    decoder: DbcTelemetryDecoder,
    *,
    interval_s: float,
    deadline: float | None = None,
) -> Iterator[PackTelemetry]:
    """Feed received frames to ``decoder``; yield the pack every ``interval_s`` once it is complete.

    The first sample comes as soon as every cell and sensor has been heard (one multiplex cycle);
    the next ones follow every ``interval_s``. Ends at ``deadline`` (``time.monotonic``), if any.
    """
    next_at = time.monotonic()
    while deadline is None or time.monotonic() < deadline:
        wait_s = (
            RECEIVE_SLICE_S
            if deadline is None
            else max(0.0, min(RECEIVE_SLICE_S, deadline - time.monotonic()))
        )
        frame = link.recv(wait_s)
        if frame is not None:
            decoder.feed(frame)
        now = time.monotonic()
        if now >= next_at:
            sample = decoder.snapshot()
            if sample is not None:
                yield sample
                next_at = now + interval_s

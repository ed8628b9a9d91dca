"""A pack's live cells at the rate its BMUs send them: listen on the shared adapter, ask only the mute.

Asking every BMU over UDS cannot keep up with a pack: one BMU's four live-data reads take about
20 ms of round trips behind an slcan adapter, plus the ISO-TP session around them, so a 1 + 2 + 12
pack was swept 1.4 times a second; 32 BMUs would be under one. Even the cell record alone,
pipelined to every BMU at once, costs 8 frames per BMU (request, first frame, flow control, five
consecutive frames): 32 BMUs at 10 Hz would be 2560 frames a second, about 70 % of a 500 kbit/s
bus, and 320 round trips a second that Python must turn around in time. Real packs do it the
other way round: every BMU *sends* its cells cyclically (``canbus.pack_cell_frames``: four cells
per frame, 1280 frames a second for 512 cells at 10 Hz, about 35 % of the bus) and a tool only
listens.

:class:`PackCellStream` does that on one open adapter: a frame tap decodes every cell and status
frame the adapter receives (whoever reads it: this thread, or a UDS client's transport during a
fallback read) and hands out one sample per BMU and cycle. A BMU that sent no cell frame for
:data:`QUIET_AFTER_S` (a firmware without them, or a pack that holds them while a node is
updated) is asked over UDS instead, one BMU per turn, as the poll did; one that answers neither
way is reported silent, never drawn as 0 mV.

No Qt here: the GUI's engine opens it, the pack page draws its samples.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Final

import can

from bmsflasher.canbus.pack_cell_frames import PackCellAssembler
from bmsflasher.core.errors import BmsFlasherError, LinkError
from bmsflasher.core.types import DEFAULT_TESTER_ADDRESS, PackTelemetry
from bmsflasher.discovery.pack_nodes import pack_node_target
from bmsflasher.links.can import CanLink, add_frame_tap

QUIET_AFTER_S: Final = 0.5
"""A BMU without a cell frame for this long (five of its periods) is asked over UDS instead."""
RECEIVE_SLICE_S: Final = 0.02
"""How long one receive waits: the stop flag and the quiet BMUs are looked at this often."""
STOP_TIMEOUT_S: Final = 10.0

SampleCallback = Callable[[int, PackTelemetry], None]
SilentCallback = Callable[[int, BmsFlasherError], None]


class PackCellStream:
    """Live cells of every BMU in ``addresses`` on ``link`` until :meth:`stop` (it then closes the link).

    Args:
        link: the pack's open adapter; the stream is its only user while it runs, and closes it.
        addresses: the BMUs to watch.
        on_sample: called with a BMU's address and its sample (on the listening thread).
        on_silent: called with a BMU's address and why it gave no sample (same thread).
        tester_address: the tester's address for the UDS fallback reads.
        quiet_after_s: silence on the cell frames after which a BMU is asked over UDS.
    """

    def __init__(
        self,
        link: CanLink,
        addresses: Sequence[int],
        on_sample: SampleCallback,
        on_silent: SilentCallback,
        *,
        tester_address: int = DEFAULT_TESTER_ADDRESS,
        quiet_after_s: float = QUIET_AFTER_S,
    ) -> None:
        self.link = link
        self.addresses = tuple(addresses)
        self._on_sample = on_sample
        self._on_silent = on_silent
        self._tester = tester_address
        self._quiet_after_s = quiet_after_s
        self._assembler = PackCellAssembler(self.addresses)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._turn = 0
        self._polled_at: dict[int, float] = {}
        self.frame_samples = 0
        """Samples assembled from cell frames."""
        self.polled_samples = 0
        """Samples read over UDS from BMUs that sent no cell frames."""
        config = link.config
        self._remove_tap = add_frame_tap(config.interface, config.channel, self._on_frame)
        self._thread = threading.Thread(target=self._run, name="bmsflasher-pack-cells", daemon=True)
        self._thread.start()

    # --- the RackWorker surface the pack model uses ------------------------------------------------
    def stop(self) -> None:
        """Ask the thread to end (after a fallback read under way); it closes the link."""
        self._stop.set()

    def join(self, timeout_s: float = STOP_TIMEOUT_S) -> bool:
        """Wait until the link is closed, so the adapter can be opened again; True if it is."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # --- frames ------------------------------------------------------------------------------------
    def _on_frame(self, message: can.Message) -> None:
        """Every frame the adapter carries (the receiving thread's tap): cells and status decoded."""
        with self._lock:
            done = self._assembler.feed(message)
        if done is not None and not self._stop.is_set():
            self.frame_samples += 1
            self._on_sample(*done)

    def quiet(self, now: float | None = None) -> list[int]:
        """The BMUs that sent no cell frame within :attr:`quiet_after_s` (in address order)."""
        at = time.monotonic() if now is None else now
        with self._lock:
            heard = {a: self._assembler.last_frame_at(a) for a in self.addresses}
        return [a for a, last in heard.items() if last is None or at - last > self._quiet_after_s]

    def read_over_uds(self, now: float | None = None) -> list[int]:
        """The quiet BMUs whose rows come from UDS reads now (one answered within the last 2 s)."""
        at = time.monotonic() if now is None else now
        with self._lock:
            polled = dict(self._polled_at)
        recent = {a for a, last in polled.items() if at - last <= 2.0}
        return [a for a in self.quiet(at) if a in recent]

    def _run(self) -> None:
        started = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    self.link.recv(RECEIVE_SLICE_S)  # decoded by the tap
                except LinkError as error:
                    for address in self.addresses:
                        self._on_silent(address, error)
                    return
                now = time.monotonic()
                if now - started > self._quiet_after_s:
                    self._ask_one(self.quiet(now))
        finally:
            self._remove_tap()
            self.link.close()

    def _ask_one(self, quiet: list[int]) -> None:
        """Read one quiet BMU over UDS (the next in turn), so each is asked as often as the others."""
        if not quiet or self._stop.is_set():
            return
        address = quiet[self._turn % len(quiet)]
        self._turn += 1
        target = pack_node_target(self.link, address, tester_address=self._tester)
        try:
            sample = target.read_telemetry()
        except BmsFlasherError as error:
            self._on_silent(address, error)
            return
        finally:
            target.client.close()
        self.polled_samples += 1
        with self._lock:
            self._polled_at[address] = time.monotonic()
        self._on_sample(address, sample)

"""The same image to every armed module of a rack at once (unit 0), then per-module repair.

Broadcast writes reach every module and are answered by none, so the image crosses the RS485 pair
once for the whole rack (``docs/protocols/modbus.md``, "Broadcast"). Each module is armed first with
its own answered PREPARE (so a refusal is known per module), every record then goes once to unit 0,
paced by the line: the frame's wire time, the 3.5-character gap and the module's time to take a
record (the map promises 2 ms). Nothing tells the host whether a module heard a record, so each
module is then asked for its missing-records report and only those records are sent to it — which
is exactly the single-module transfer's resume path (:class:`ImageTransfer` after a PREPARE of the
same image), verify included.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from pymodbus.pdu.register_message import WriteMultipleRegistersRequest

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.i18n import t
from bmsflasher.core.target import ProgressCallback
from bmsflasher.protocols.modbus import vendor_map as vm
from bmsflasher.protocols.modbus.module_access import ModuleAccess
from bmsflasher.protocols.modbus.session import FRAME_GAP_CHARACTERS, ModbusSession
from bmsflasher.protocols.modbus.transfer import ImageTransfer, TransferReport

RECORD_TAKE_S: Final = 0.002
"""The module takes a record within 2 ms (the map's turnaround for broadcast records)."""
REBROADCAST_ROUNDS: Final = 2
"""Times the records several modules missed go out again to unit 0 before each module's own repair."""
LATENCY_MARGIN_S: Final = 0.002
"""Slack for the host's adapter: its transmit latency varies (a USB-RS485 adapter's by a millisecond
or two), and a broadcast frame that leaves less than 3.5 characters after the one before merges
with it into one CRC error at every module (records lost so are sent again, at the price of a
repair). Measured on the virtual rack with eight modules and a 32 KiB image: 2 ms lost none of
137 frames at 115200 and 1 Mbaud, 1 ms none either; the earlier 10 ms covered a bus simulation
that stalled for tens of ms under load, fixed since."""
MIN_GAP_S: Final = 0.00175
"""Above 19200 baud the serial-line specification fixes the frame gap at 1.75 ms."""
TCP_SYNC_RECORDS: Final = 4
"""Over Modbus TCP a broadcast gets no answer, and the gateway takes each one at its own pace (the
RS485 line plus the pause it allows the modules); the socket would queue the whole image ahead of
the modules' next questions, which would then time out. So every few records the client asks one
armed module a one-register question, whose answer comes back only once the gateway has forwarded
everything before it."""
RTU_OVERHEAD_BYTES: Final = 9
"""Address, function, start address, quantity, byte count and CRC around a 0x10 request's data."""

ModuleProgress = Callable[[int, int, int], None]
"""``(address, done_bytes, total_bytes)`` for one module's repair."""


@dataclass(frozen=True, slots=True)
class BroadcastReport:
    """What one broadcast did: the broadcast pass and each module's repair."""

    records_total: int
    broadcast_seconds: float
    repairs: dict[int, TransferReport]
    """Unit address → its repair transfer (``records_sent`` = records it had missed)."""
    failures: dict[int, BmsFlasherError]
    """Unit address → why it could not be armed or repaired (the others went on without it)."""
    seconds: float
    records_broadcast: int = 0
    """Records sent to unit 0, repeats included (fewer than the image's when the modules already
    held part of it: a rack update resumed after a power cut broadcasts only what some module misses)."""


def record_pause_s(record_registers: int, char_s: float, margin_s: float = LATENCY_MARGIN_S) -> float:
    """How long one broadcast record occupies the line: the frame, the gap, the module's take, slack."""
    frame_bytes = RTU_OVERHEAD_BYTES + 2 * (1 + record_registers)
    gap_s = max(FRAME_GAP_CHARACTERS * char_s, MIN_GAP_S if char_s < 11 / 19200 else 0.0)
    return frame_bytes * char_s + gap_s + RECORD_TAKE_S + margin_s


class BroadcastTransfer:
    """Arms modules, broadcasts one image to all of them, repairs each one's gaps and verifies it.

    Args:
        broadcast: a session on the shared line whose requests go to unit 0.
        modules: one access per module (their sessions share the line), in the order to repair.
        margin_s: slack added to each record's line time (see :data:`LATENCY_MARGIN_S`).
    """

    def __init__(
        self, broadcast: ModbusSession, modules: Sequence[ModuleAccess], *, margin_s: float = LATENCY_MARGIN_S
    ) -> None:
        self._broadcast = broadcast
        self._modules = tuple(modules)
        self._margin_s = margin_s
        self._sync: ModuleAccess | None = None

    def run(
        self, slot: int, image: bytes, on_progress: ModuleProgress | None = None, *, char_s: float
    ) -> BroadcastReport:
        """Put ``image`` into ``slot`` of every module; each ends verified or in ``failures``.

        One module's refusal or silence never stops the others: a module that cannot be armed gets
        no records (it would refuse them), one whose repair fails is named with its error.
        """
        started = time.monotonic()
        record_bytes = self._modules[0].record_bytes
        total = math.ceil(len(image) / record_bytes)
        failures: dict[int, BmsFlasherError] = {}
        armed: list[ModuleAccess] = []
        wanted: set[int] = set()
        for access in self._modules:
            try:
                wanted.update(ImageTransfer(access).prepare(slot, image))
            except BmsFlasherError as exc:
                failures[access.session.address] = exc
            else:
                armed.append(access)
        pause_s = record_pause_s(self._modules[0].record_registers, char_s, self._margin_s)
        broadcast_started = time.monotonic()
        # Only what some module misses: all of it for a new upload, the rest after a power cut.
        broadcast = sorted(wanted) if armed else []
        self._sync = armed[0] if armed and self._broadcast.tcp else None
        self._send_all(broadcast, image, pause_s, armed, on_progress)
        sent = len(broadcast)
        reports = self._reports(armed, slot, image, failures)
        for _round in range(REBROADCAST_ROUNDS):
            shared = _shared_gaps(reports)
            if not shared:
                break
            self._send_all(shared, image, pause_s, (), None)
            sent += len(shared)
            reports = self._reports(armed, slot, image, failures)
        broadcast_seconds = time.monotonic() - broadcast_started
        repairs: dict[int, TransferReport] = {}
        for access in armed:
            try:
                repairs[access.session.address] = self.repair(
                    access, slot, image, on_progress, missing=reports.get(access.session.address)
                )
            except BmsFlasherError as exc:
                failures[access.session.address] = exc
        return BroadcastReport(
            total, broadcast_seconds, repairs, failures, time.monotonic() - started, records_broadcast=sent
        )

    def _send_all(
        self,
        records: Sequence[int] | range,
        image: bytes,
        pause_s: float,
        armed: Sequence[ModuleAccess],
        on_progress: ModuleProgress | None,
    ) -> None:
        """Each of ``records`` once to unit 0, one line time apart (never catching up after a late one)."""
        record_bytes = self._modules[0].record_bytes
        for number, record in enumerate(records, start=1):
            data = image[record * record_bytes : (record + 1) * record_bytes]
            padded = data + b"\x00" * (len(data) % 2)
            values = [record, *(int.from_bytes(padded[i : i + 2], "big") for i in range(0, len(padded), 2))]
            self._broadcast.broadcast(
                WriteMultipleRegistersRequest(address=vm.WINDOW, registers=values), pause_s
            )
            if on_progress is not None:
                done = min(len(image), (record + 1) * record_bytes)
                for access in armed:
                    on_progress(access.session.address, done, len(image))
            if self._sync is not None and number % TCP_SYNC_RECORDS == 0:
                self._wait_for_gateway(self._sync)
        self._broadcast.wait_quiet()  # the modules' own sessions talk next
        if self._sync is not None:
            self._wait_for_gateway(self._sync)

    @staticmethod
    def _wait_for_gateway(access: ModuleAccess) -> None:
        """One answered question through the gateway: everything sent before it has been forwarded.

        A module that does not answer it is not the broadcast's concern (its report says so).
        """
        with contextlib.suppress(BmsFlasherError):
            access.read(vm.IDENTITY, 1, t("the identity read"), attempts=1)

    @staticmethod
    def _reports(
        armed: list[ModuleAccess], slot: int, image: bytes, failures: dict[int, BmsFlasherError]
    ) -> dict[int, list[int]]:
        """Each armed module's missing records (its status, and file 2 only when records are missing).

        Read once per module and handed to its repair, which then does not prepare again. A module
        that lost its upload (it rebooted) is prepared again, which keeps what its flash holds; one
        that cannot be reached joins ``failures`` and leaves ``armed``.
        """
        reports: dict[int, list[int]] = {}
        for access in list(armed):
            transfer = ImageTransfer(access)
            try:
                missing = transfer.report(image)
                reports[access.session.address] = (
                    transfer.prepare(slot, image) if missing is None else missing
                )
            except BmsFlasherError as exc:
                failures[access.session.address] = exc
                armed.remove(access)
        return reports

    @staticmethod
    def repair(
        access: ModuleAccess,
        slot: int,
        image: bytes,
        on_progress: ModuleProgress | None = None,
        *,
        missing: list[int] | None = None,
    ) -> TransferReport:
        """Send one module only the records its missing-records report names, then have it verify.

        ``missing`` is that report when it was just read (None: prepare again and read it).
        """
        address = access.session.address
        progress: ProgressCallback | None = (
            None if on_progress is None else lambda done, total: on_progress(address, done, total)
        )
        return ImageTransfer(access).run(slot, image, progress, missing=missing)


def _shared_gaps(reports: dict[int, list[int]]) -> list[int]:
    """Records that two or more modules miss (lost on the line, not by one module): sent again to all."""
    misses: Counter[int] = Counter()
    for missing in reports.values():
        misses.update(missing)
    return sorted(record for record, count in misses.items() if count >= min(2, len(reports)))

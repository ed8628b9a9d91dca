"""One shared CAN bus timeline for the virtual BMS nodes and the emulated adapters.

Real CAN is a single shared medium: one frame at a time, lowest identifier wins arbitration, and
every frame occupies the wire for its exact bit length (header, data, CRC, the stuff bits the
controller inserts, the ACK/EOF trailer and the 3-bit interframe space). Throughput figures are
only honest if the emulation charges exactly that, in both directions, on one timeline. This
module computes frame lengths bit-exactly for classic CAN (real CRC-15 and dynamic stuffing)
and to ISO 11898-1:2015 rules for CAN FD, and runs the bus: ports queue frames, the bus thread
arbitrates, waits the frame's air time, then delivers it to every other port.

Faults are seeded so a failing test can be replayed: ``error_rate`` destroys frames with an error
frame part-way through (the sender's controller retransmits automatically, as on a real bus: it
only costs bus time), ``drop_rate`` loses frames for all receivers (an adapter overrun, a receiver
missing a frame), ``corrupt_rate`` flips one data bit that the link CRC did not catch (what
end-to-end hashes exist for).
"""

from __future__ import annotations

import functools
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import can

#: Interframe space: 3 recessive bits between frames.
IFS_BITS: Final[int] = 3
#: Error flag (6) + error delimiter (8) + interframe space (3) after a destroyed frame.
ERROR_FRAME_BITS: Final[int] = 17
#: Fixed-form tail of a classic frame: CRC delimiter, ACK slot, ACK delimiter, 7 EOF bits.
_CLASSIC_TAIL_BITS: Final[int] = 1 + 1 + 1 + 7
_CRC15_POLY: Final[int] = 0x4599
_FD_LENGTHS: Final[tuple[int, ...]] = (0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64)

FrameListener = Callable[[can.Message], None]


def _dlc_of(length: int) -> int:
    """The DLC code of a payload length (identity up to 8, the FD table above)."""
    if length <= 8:
        return length
    return _FD_LENGTHS.index(length)


def _crc15(bits: str) -> int:
    """CAN CRC-15 over a string of '0'/'1' (ISO 11898-1 polynomial 0x4599)."""
    crc = 0
    for bit in bits:
        feedback = (crc >> 14) & 1
        crc = (crc << 1) & 0x7FFF
        if feedback ^ (bit == "1"):
            crc ^= _CRC15_POLY
    return crc


def _crc15_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 7
        for _ in range(8):
            crc = ((crc << 1) ^ _CRC15_POLY) if crc & 0x4000 else (crc << 1)
            crc &= 0x7FFF
        table.append(crc)
    return tuple(table)


_CRC15_TABLE: Final[tuple[int, ...]] = _crc15_table()


def crc15_bits_then_bytes(head_bits: str, data: bytes) -> int:
    """CRC-15 of ``head_bits`` followed by ``data``: bitwise for the unaligned head, table for bytes."""
    crc = _crc15(head_bits)
    for byte in data:
        crc = ((crc << 8) ^ _CRC15_TABLE[((crc >> 7) ^ byte) & 0xFF]) & 0x7FFF
    return crc


def count_stuff_bits(bits: str) -> int:
    """Number of stuff bits a CAN controller inserts into ``bits`` (after 5 equal bits, one opposite).

    The inserted bit itself starts the next run, which is why this cannot be a simple regex count.
    """
    if not bits:
        return 0
    stuffed = 0
    previous = bits[0]
    run = 1
    for bit in bits[1:]:
        if bit == previous:
            run += 1
        else:
            previous = bit
            run = 1
        if run == 5:
            stuffed += 1
            previous = "0" if previous == "1" else "1"
            run = 1
    return stuffed


def _header_bits(arbitration_id: int, extended: bool, remote: bool, fd: bool, brs: bool) -> str:
    """Bits from SOF through the control field up to the DLC (FD: up to and including BRS, ESI)."""
    if extended:
        base = f"{(arbitration_id >> 18) & 0x7FF:011b}"
        low = f"{arbitration_id & 0x3FFFF:018b}"
        if fd:  # SRR, IDE, ID-low, RRS, FDF, res, BRS, ESI
            return f"0{base}11{low}010{int(brs)}0"
        return f"0{base}11{low}{int(remote)}00"  # SRR, IDE, ID-low, RTR, r1, r0
    ident = f"{arbitration_id & 0x7FF:011b}"
    if fd:  # RRS, IDE, FDF, res, BRS, ESI
        return f"0{ident}0010{int(brs)}0"
    return f"0{ident}{int(remote)}00"  # RTR, IDE, r0


@dataclass(frozen=True, slots=True)
class FrameTiming:
    """How long one frame holds the bus, split by bit-rate phase (bits incl. stuffing and IFS)."""

    nominal_bits: int
    data_bits: int

    def duration_s(self, bitrate: int, data_bitrate: int) -> float:
        """Air time at the given nominal and data bit rates (data rate used only for FD+BRS)."""
        return self.nominal_bits / bitrate + (self.data_bits / data_bitrate if self.data_bits else 0.0)

    @property
    def total_bits(self) -> int:
        return self.nominal_bits + self.data_bits


_BYTE_BITS: Final[tuple[str, ...]] = tuple(f"{value:08b}" for value in range(256))


def _stuff_step(state: tuple[str, int], bits: str) -> tuple[tuple[str, int], int]:
    """Run the stuffing rule over ``bits`` from ``state`` (last bit, run length 1..4)."""
    previous, run = state
    stuffed = 0
    for bit in bits:
        if bit == previous:
            run += 1
        else:
            previous, run = bit, 1
        if run == 5:
            stuffed += 1
            previous, run = ("0" if previous == "1" else "1"), 1
    return (previous, run), stuffed


def _stuff_table() -> tuple[dict[tuple[str, int], tuple[tuple[str, int], int]], ...]:
    """For every byte value: stuffing state before → (state after, stuff bits inserted)."""
    states = [(bit, run) for bit in "01" for run in range(1, 5)]
    return tuple({state: _stuff_step(state, _BYTE_BITS[value]) for state in states} for value in range(256))


_STUFF_TABLE: Final = _stuff_table()


@functools.lru_cache(maxsize=256)
def _classic_header(
    arbitration_id: int, extended: bool, remote: bool, dlc: int
) -> tuple[int, int, tuple[str, int], int]:
    """(header bits incl. DLC, CRC state after them, stuffing state after them, stuff bits in them)."""
    head = _header_bits(arbitration_id, extended, remote, fd=False, brs=False) + f"{dlc:04b}"
    state, stuffed = _stuff_step((head[0], 1), head[1:])
    return len(head), _crc15(head), state, stuffed


def _classic_timing(message: can.Message, data: bytes) -> FrameTiming:
    """Classic frame length via cached header state and per-byte tables (hot path of the bus)."""
    remote = bool(message.is_remote_frame)
    length = 0 if remote else len(data)
    dlc = message.dlc if remote else length
    head_len, crc, state, stuffed = _classic_header(
        message.arbitration_id, bool(message.is_extended_id), remote, dlc
    )
    for byte in data[:length]:
        crc = ((crc << 8) ^ _CRC15_TABLE[((crc >> 7) ^ byte) & 0xFF]) & 0x7FFF
        state, extra = _STUFF_TABLE[byte][state]
        stuffed += extra
    _, extra = _stuff_step(state, f"{crc:015b}")
    stuffed += extra
    bits = head_len + 8 * length + 15 + stuffed + _CLASSIC_TAIL_BITS + IFS_BITS
    return FrameTiming(nominal_bits=bits, data_bits=0)


def frame_timing(message: can.Message) -> FrameTiming:
    """Exact bus occupancy of ``message``.

    Classic frames: the real bit sequence with its CRC-15, dynamically stuffed, plus the fixed
    tail and interframe space. FD frames: dynamic stuffing of the header and data, the stuff-count
    field, CRC-17/21 with its fixed stuff bits (one per 4 bits) — the CRC value itself is taken as
    unstuffed, which is exact for the fixed-stuffed CRC field. With BRS the bits from the BRS bit
    to the CRC delimiter run at the data rate.
    """
    data = bytes(message.data) if message.data is not None else b""
    if not message.is_fd:
        return _classic_timing(message, data)
    length = 0 if message.is_remote_frame else len(data)
    dlc = message.dlc if message.is_remote_frame else _dlc_of(length)
    fd = bool(message.is_fd)
    brs = fd and bool(message.bitrate_switch)
    header = _header_bits(
        message.arbitration_id, bool(message.is_extended_id), message.is_remote_frame, fd, brs
    )
    payload = "".join(_BYTE_BITS[byte] for byte in data[:length])
    body = f"{header}{dlc:04b}{payload}"
    crc_len = 17 if length <= 16 else 21
    dynamic = count_stuff_bits(body)
    stuff_count_field = 4  # 3-bit gray-coded count + parity
    fixed_stuff = (stuff_count_field + crc_len) // 4 + 1
    crc_field = stuff_count_field + crc_len + fixed_stuff
    trailer = _CLASSIC_TAIL_BITS + IFS_BITS  # CRC delimiter .. IFS
    if not brs:
        return FrameTiming(nominal_bits=len(body) + dynamic + crc_field + trailer, data_bits=0)
    # The arbitration phase ends with the BRS bit; the data phase (ESI on) runs to the CRC delimiter.
    nominal_part = header[:-1]
    nominal_stuff = count_stuff_bits(nominal_part)
    data_part = len(body) - len(nominal_part)
    data_stuff = dynamic - nominal_stuff
    return FrameTiming(
        nominal_bits=len(nominal_part) + nominal_stuff + trailer,
        data_bits=data_part + data_stuff + crc_field,
    )


def isotp_classic_ceiling_bytes_per_s(bitrate: int, samples: int = 2000, seed: int = 1) -> float:
    """The ISO-TP payload ceiling of classic CAN: 7 payload bytes per consecutive frame.

    Uses the mean exact length of consecutive frames carrying random (i.e. compressed-like) data,
    11-bit identifiers, DLC 8: about 116 bits, so about 30 kB/s at 500 kbit/s and 60 kB/s at 1 Mbit/s.
    """
    rng = random.Random(seed)
    total_bits = 0
    for index in range(samples):
        data = bytes([0x20 | (index & 0x0F)]) + rng.randbytes(7)
        msg = can.Message(arbitration_id=0x7E0, data=data, is_extended_id=False)
        total_bits += frame_timing(msg).total_bits
    mean_bits = total_bits / samples
    return bitrate / mean_bits * 7


@dataclass(slots=True)
class BusStats:
    """What happened on the bus (for diagnostics and benchmarks)."""

    frames: int = 0
    bits: int = 0
    busy_s: float = 0.0
    dropped: int = 0
    corrupted: int = 0
    error_frames: int = 0
    #: CAN FD frames that went on the wire (of ``frames``), those with the bit-rate switch, and
    #: FD frames by data length (CAN_DL): evidence that a transfer really used FD with BRS.
    fd_frames: int = 0
    brs_frames: int = 0
    fd_lengths: dict[int, int] = field(default_factory=dict)


def _flip(message: can.Message, bit: int) -> can.Message:
    """A copy of ``message`` with one data bit inverted."""
    data = bytearray(message.data)
    data[bit // 8] ^= 1 << (bit % 8)
    return can.Message(
        arbitration_id=message.arbitration_id,
        is_extended_id=message.is_extended_id,
        is_fd=message.is_fd,
        bitrate_switch=message.bitrate_switch,
        data=bytes(data),
    )


@dataclass(slots=True)
class _Slot:
    """One frame placed on the timeline, with the faults decided for it."""

    sender: BusPort
    message: can.Message
    start: float
    end: float
    bits: int
    destroyed: bool
    dropped: bool
    flip_bit: int


_BATCH_WINDOW_S: Final = 0.0005
_MAX_BATCH: Final = 16


class BusPort:
    """One node's attachment to the bus: a bounded transmit FIFO and a receive callback.

    ``send`` blocks while the FIFO is full, like a CAN controller whose mailboxes are all taken;
    that back-pressure is what makes an upstream USB link (the slcan adapter's pty) slow down.
    """

    def __init__(self, bus: CanBusTimeline, name: str, on_frame: FrameListener, tx_depth: int) -> None:
        self._bus = bus
        self.name = name
        self.on_frame = on_frame
        self.tx_depth = tx_depth
        self.pending: deque[tuple[float, can.Message]] = deque()
        self.bitrate_ok = True
        self.attached = True

    def send(self, message: can.Message, timeout_s: float = 1.0) -> bool:
        """Queue one frame for the bus; False if the FIFO stayed full for ``timeout_s``."""
        return self._bus.enqueue(self, [message], timeout_s) == 1

    def send_many(self, messages: list[can.Message], timeout_s: float = 1.0) -> int:
        """Queue frames in order (one lock round for many); returns how many were queued."""
        return self._bus.enqueue(self, messages, timeout_s)

    def detach(self) -> None:
        """Leave the bus (node powered off, adapter unplugged); queued frames are discarded."""
        self._bus.detach(self)


class CanBusTimeline:
    """The shared medium: arbitration, exact air time and delivery, on one thread.

    Args:
        bitrate: nominal bit rate in bit/s; 0 means "no pacing" (instant delivery, for fast tests).
        data_bitrate: CAN-FD data-phase bit rate (defaults to the nominal rate).
        drop_rate: probability that a frame is lost for every receiver.
        error_rate: probability that a frame is destroyed by an error frame and retransmitted.
        corrupt_rate: probability that a frame reaches receivers with one data bit flipped.
        seed: seed of the fault generator (reproducible faults).
    """

    _CATCH_UP_S: Final[float] = 0.05

    def __init__(
        self,
        bitrate: int,
        data_bitrate: int = 0,
        *,
        drop_rate: float = 0.0,
        error_rate: float = 0.0,
        corrupt_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        if bitrate < 0 or data_bitrate < 0:
            raise ValueError("bit rates must not be negative")
        if not all(0.0 <= rate < 1.0 for rate in (drop_rate, error_rate, corrupt_rate)):
            raise ValueError("fault rates must be in [0, 1)")
        self.error_rate = error_rate
        self.bitrate = bitrate
        self.data_bitrate = data_bitrate or bitrate
        self.drop_rate = drop_rate
        self.corrupt_rate = corrupt_rate
        self._rng = random.Random(seed)
        self._ports: list[BusPort] = []
        self._cond = threading.Condition()
        self._stopping = False
        self._free_at = time.monotonic()
        self.stats = BusStats()
        self._thread = threading.Thread(target=self._run, name="sim-can-bus", daemon=True)
        self._thread.start()

    # --- ports ----------------------------------------------------------------------------------
    def attach(self, name: str, on_frame: FrameListener, tx_depth: int = 64) -> BusPort:
        """Connect a node; ``on_frame`` runs on the bus thread and must not block."""
        port = BusPort(self, name, on_frame, tx_depth)
        with self._cond:
            self._ports.append(port)
        return port

    def detach(self, port: BusPort) -> None:
        with self._cond:
            port.attached = False
            port.pending.clear()
            if port in self._ports:
                self._ports.remove(port)
            self._cond.notify_all()

    def set_faults(
        self,
        drop_rate: float | None = None,
        corrupt_rate: float | None = None,
        error_rate: float | None = None,
    ) -> None:
        """Change fault rates while running (tests inject faults mid-transfer)."""
        with self._cond:
            if drop_rate is not None:
                self.drop_rate = drop_rate
            if error_rate is not None:
                self.error_rate = error_rate
            if corrupt_rate is not None:
                self.corrupt_rate = corrupt_rate

    def enqueue(self, port: BusPort, messages: list[can.Message], timeout_s: float) -> int:
        """Append frames to a port's FIFO, waiting for room; returns how many were queued."""
        deadline = time.monotonic() + timeout_s
        queued = 0
        with self._cond:
            for message in messages:
                while len(port.pending) >= port.tx_depth and port.attached and not self._stopping:
                    self._cond.notify_all()
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return queued
                    self._cond.wait(remaining)
                if not port.attached or self._stopping:
                    return queued
                port.pending.append((time.monotonic(), message))
                queued += 1
            self._cond.notify_all()
        return queued

    # --- the bus thread -------------------------------------------------------------------------
    def _arbitrate(self, ready_by: float | None) -> tuple[BusPort, float] | None:
        """The port whose head frame wins the bus next and when it starts (None: nothing ready).

        Among ports with a frame ready when the bus frees up, the lowest identifier wins. With
        ``ready_by`` only frames already queued by that time count (batch look-ahead).
        """
        candidates = [p for p in self._ports if p.pending]
        if not candidates:
            return None
        start = max(self._free_at, min(p.pending[0][0] for p in candidates))
        if ready_by is not None and start > ready_by:
            return None
        ready = [p for p in candidates if p.pending[0][0] <= start]

        def priority(port: BusPort) -> tuple[int, int, int]:
            msg = port.pending[0][1]
            if msg.is_extended_id:
                return ((msg.arbitration_id >> 18) & 0x7FF, 1, msg.arbitration_id & 0x3FFFF)
            return (msg.arbitration_id & 0x7FF, 0, 0)

        return min(ready, key=priority), start

    def _take(self, ready_by: float | None, window_end: float | None) -> _Slot | None:
        """Pop the next frame onto the timeline (and decide its faults); None if none fits."""
        picked = self._arbitrate(ready_by)
        if picked is None:
            return None
        port, start = picked
        message = port.pending[0][1]
        if window_end is not None and start + self._air_time(message, None)[0] > window_end:
            return None  # checked before any fault is drawn, so faults stay reproducible per seed
        destroyed = self.error_rate > 0 and self._rng.random() < self.error_rate
        destroyed_at = self._rng.random() if destroyed else None
        air_s, bits = self._air_time(message, destroyed_at)
        end = start + air_s
        if not destroyed:  # a destroyed frame stays at the head: the controller retransmits it
            port.pending.popleft()
            if len(port.pending) <= port.tx_depth // 2:
                # Wake a blocked sender only once half its FIFO is free: it then refills a batch,
                # instead of being woken (and taking the GIL) for every single frame.
                self._cond.notify_all()
        drop = not destroyed and self.drop_rate > 0 and self._rng.random() < self.drop_rate
        corrupt = not (destroyed or drop) and self.corrupt_rate > 0 and self._rng.random() < self.corrupt_rate
        flip_bit = self._rng.randrange(max(1, len(message.data) * 8)) if corrupt else -1
        self._free_at = end
        return _Slot(port, message, start, end, bits, destroyed, drop, flip_bit)

    def _next_batch(self) -> list[_Slot] | None:
        """The next frames on the timeline, delivered together at the last one's end.

        The first frame, plus those that follow it back to back within :data:`_BATCH_WINDOW_S`:
        one wake-up per batch instead of per frame, and never a delivery before a frame's end.
        """
        with self._cond:
            first = None
            while not self._stopping:
                self._free_at = max(self._free_at, time.monotonic() - self._CATCH_UP_S)
                first = self._take(None, None)
                if first is not None:
                    break
                self._cond.wait(0.1)
            if first is None:
                return None
            batch = [first]
            window_end = first.end + _BATCH_WINDOW_S
            while not batch[-1].destroyed and len(batch) < _MAX_BATCH:
                following = self._take(batch[-1].end, window_end)
                if following is None:
                    break
                batch.append(following)
            return batch

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            delay = batch[-1].end - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            for slot in batch:
                self._deliver(slot)

    def _deliver(self, slot: _Slot) -> None:
        self.stats.busy_s += slot.end - slot.start
        self.stats.bits += slot.bits
        if slot.destroyed:
            self.stats.error_frames += 1
            return
        self.stats.frames += 1
        if slot.message.is_fd:
            self._count_fd(slot.message)
        if not slot.sender.bitrate_ok:
            return  # a node at the wrong bit rate only produces error frames: nobody receives it
        if slot.dropped:
            self.stats.dropped += 1
            return
        message = slot.message
        if slot.flip_bit >= 0 and message.data:
            self.stats.corrupted += 1
            message = _flip(message, slot.flip_bit)
        for port in self._ports:
            if port is not slot.sender and port.attached and port.bitrate_ok:
                port.on_frame(message)

    def _count_fd(self, message: can.Message) -> None:
        stats = self.stats
        stats.fd_frames += 1
        stats.brs_frames += bool(message.bitrate_switch)
        length = len(message.data)
        stats.fd_lengths[length] = stats.fd_lengths.get(length, 0) + 1

    def _air_time(self, message: can.Message, destroyed_at: float | None) -> tuple[float, int]:
        """(seconds, bits) a frame holds the bus, or the part sent before an error frame destroyed it."""
        if not self.bitrate:
            return 0.0, 0
        timing = frame_timing(message)
        duration = timing.duration_s(self.bitrate, self.data_bitrate)
        if destroyed_at is None:
            return duration, timing.total_bits
        bits = round(timing.total_bits * destroyed_at) + ERROR_FRAME_BITS
        return duration * destroyed_at + ERROR_FRAME_BITS / self.bitrate, bits

    def close(self) -> None:
        """Stop the bus thread (waits for it)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=2.0)

    def __enter__(self) -> CanBusTimeline:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

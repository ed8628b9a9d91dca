"""The UART between the virtual BMS and its port: line-rate pacing, baud mismatch, bit errors, drops.

The port is a pty where the system has them and a loopback TCP socket where it does not (both
:class:`~bmsflasher.sim.wire.device_port.DevicePort`). Either moves bytes at memory speed; a UART
does not. This wire charges every byte its 8N1 time (10 bit periods) **in both directions**: bytes
the tool writes are taken off the port no faster than its configured baud rate allows (the rest
waits in the OS buffer, as in a USB-serial adapter's FIFO), and the device's answers are put on
the port at the device's own baud rate. The device side
has a bounded receive FIFO (2 KiB by default): when the device cannot keep up (all its frame
buffers busy) the FIFO fills and further bytes are lost — an overrun, exactly what a host that
ignores the device's buffer count causes on real hardware.

When the tool's baud rate differs from the device's, bytes are re-sampled bit by bit by a UART
receiver model (start-bit edge detection, mid-bit sampling, stop-bit check), which yields the
plausible junk a real mismatch produces — never silence, never clean data. Bit flips and byte drops
are injected from a seeded generator so a failing run can be replayed. A TCP socket carries no baud
rate, so over TCP the host's rate is taken to be the device's: pacing, no mismatch.

An adapter or cable that cannot hold a rate (``max_baud``: a cheap USB-serial bridge, a long RS485
run) garbles whatever is sent faster: edges smear into neighbouring bits, so the bit error rate
rises steeply with the ratio to the highest rate it holds (:func:`overspeed_bit_error_rate`). The
device's rate may change while the wire runs (a negotiated switch: :meth:`SerialWire.set_device_baud`).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from bmsflasher.sim.wire.device_port import DevicePort

BITS_PER_BYTE_8N1: Final = 10
DEFAULT_RX_FIFO_BYTES: Final = 2048
TICK_S: Final = 0.001
_MAX_IO_BYTES: Final = 65536
_FIFO_SLICE_BYTES: Final = 64
HOST_FIFO_BYTES: Final = 65536
"""Bytes the host side buffers when the tool does not read (a USB-serial adapter plus the OS)."""
OVERSPEED_MAX_BER: Final = 0.25


def overspeed_bit_error_rate(baud: int, max_baud: int | None) -> float:
    """Bit error rate of a line driven at ``baud`` that holds at most ``max_baud`` (None: any).

    0 up to the limit; 2 % at 10 % above it, 20 % at twice it (no frame survives either), capped at
    25 %: a rate the cable cannot hold never looks clean, and nothing is ever silent either.
    """
    if max_baud is None or baud <= max_baud:
        return 0.0
    return min(OVERSPEED_MAX_BER, 0.2 * (baud / max_baud - 1.0))


def uart_resample(data: bytes, tx_baud: int, rx_baud: int) -> bytes:
    """What a UART at ``rx_baud`` receives when ``data`` is sent back-to-back at ``tx_baud`` (8N1).

    The line idles high before and after ``data``. The receiver waits for a falling edge, samples
    each bit in the middle of its own bit period and accepts the byte whatever the stop bit says
    (most MCU drivers pass framing-error bytes on), then looks for the next falling edge.
    """
    if tx_baud == rx_baud or not data:
        return bytes(data)
    t_tx = 1.0 / tx_baud
    t_rx = 1.0 / rx_baud
    total_bits = len(data) * BITS_PER_BYTE_8N1
    end_s = total_bits * t_tx

    def level(t: float) -> int:
        index = int(t / t_tx)
        if index < 0 or index >= total_bits:
            return 1
        byte_index, pos = divmod(index, BITS_PER_BYTE_8N1)
        if pos == 0:
            return 0
        if pos == 9:
            return 1
        return (data[byte_index] >> (pos - 1)) & 1

    def next_falling_edge(t: float) -> float | None:
        if level(t) == 0:
            return t
        index = int(t / t_tx) + 1
        while index < total_bits:
            if index % BITS_PER_BYTE_8N1 == 0 or level(index * t_tx) == 0:
                return index * t_tx
            index += 1
        return None

    out = bytearray()
    t = 0.0
    while t < end_s:
        start = next_falling_edge(t)
        if start is None:
            break
        value = 0
        for bit in range(8):
            value |= level(start + (1.5 + bit) * t_rx) << bit
        out.append(value)
        t = start + 9.5 * t_rx  # the stop-bit sample; a new start bit may begin right after
    return bytes(out)


@dataclass(frozen=True, slots=True)
class WireFaults:
    """Seeded line faults.

    Attributes:
        bit_error_rate: probability per data bit of a flip (both directions).
        drop_rate: probability per byte of being lost (both directions).
        seed: seed of the fault generator.
    """

    bit_error_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int = 0


@dataclass
class WireStats:
    """What the wire did, for diagnostics and tests."""

    rx_bytes: int = 0
    tx_bytes: int = 0
    bits_flipped: int = 0
    bytes_dropped: int = 0
    rx_overrun_bytes: int = 0
    garbled_chunks: int = 0
    tx_discarded_bytes: int = 0


class FaultInjector:
    """Applies seeded bit flips and byte drops to a byte stream."""

    def __init__(self, faults: WireFaults, stats: WireStats) -> None:
        self._faults = faults
        self._stats = stats
        self._rng = random.Random(faults.seed)

    def apply(self, data: bytes) -> bytes:
        """Return ``data`` with this chunk's share of flips and drops."""
        if not data:
            return data
        ber = self._faults.bit_error_rate
        if ber > 0:
            buffer = bytearray(data)
            for position in self._positions(len(buffer) * 8, ber):
                buffer[position // 8] ^= 1 << (position % 8)
                self._stats.bits_flipped += 1
            data = bytes(buffer)
        if self._faults.drop_rate > 0:
            drops = set(self._positions(len(data), self._faults.drop_rate))
            if drops:
                self._stats.bytes_dropped += len(drops)
                data = bytes(b for i, b in enumerate(data) if i not in drops)
        return data

    def _positions(self, count: int, probability: float) -> list[int]:
        """Indices in ``range(count)`` hit with independent ``probability`` (geometric skipping)."""
        if probability >= 1.0:
            return list(range(count))
        log_q = math.log1p(-probability)
        hits: list[int] = []
        position = -1
        while True:
            position += 1 + int(math.log1p(-self._rng.random()) / log_q)
            if position >= count:
                return hits
            hits.append(position)


RxConsumer = Callable[[bytearray], None]
"""The device's receiver: consumes what it can from the front of the FIFO (deleting it)."""


class SerialWire:
    """Moves bytes between the port and the device at line rate, with faults; owns one thread.

    Args:
        port: the pty or the TCP port the tool opens.
        device_baud: the device UART's configured rate.
        consumer: called on the wire thread whenever the RX FIFO holds bytes.
        faults: injected line faults.
        rx_fifo_bytes: device receive FIFO capacity; bytes beyond it are lost (overrun).
        max_baud: the highest rate the adapter and cable hold (None: any); faster bytes are garbled.
    """

    def __init__(
        self,
        port: DevicePort,
        *,
        device_baud: int,
        consumer: RxConsumer,
        faults: WireFaults = WireFaults(),
        rx_fifo_bytes: int = DEFAULT_RX_FIFO_BYTES,
        max_baud: int | None = None,
    ) -> None:
        if device_baud <= 0:
            raise ValueError(f"device baud rate {device_baud} must be positive")
        self._port = port
        self._device_baud = device_baud
        self._consumer = consumer
        self.stats = WireStats()
        self._rx_faults = FaultInjector(faults, self.stats)
        self._tx_faults = FaultInjector(
            WireFaults(faults.bit_error_rate, faults.drop_rate, faults.seed + 1), self.stats
        )
        self._max_baud = max_baud
        self._overspeed_rx = random.Random(faults.seed + 2)
        self._overspeed_tx = random.Random(faults.seed + 3)
        self._fifo = bytearray()
        self._host_side = bytearray()  # the host adapter's FIFO: sent, not yet taken by the host
        self._fifo_capacity = rx_fifo_bytes
        self._tx = bytearray()
        self._tx_lock = threading.Lock()
        self._tx_empty = threading.Condition(self._tx_lock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def device_baud(self) -> int:
        return self._device_baud

    def set_device_baud(self, baud: int) -> None:
        """The device's UART changes rate (a negotiated switch, its timeout, a reset)."""
        if baud <= 0:
            raise ValueError(f"device baud rate {baud} must be positive")
        with self._tx_lock:
            self._device_baud = baud

    def host_baud(self) -> int | None:
        """The baud rate the tool set on its end of the port (None while unplugged)."""
        return self._port.host_baud()

    def start(self) -> None:
        """Start the wire thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sim-smp-wire", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop and join the wire thread (bounded)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def send(self, data: bytes) -> None:
        """Queue device → host bytes; they leave at the device's baud rate."""
        with self._tx_lock:
            self._tx.extend(data)

    def wait_tx_drained(self, timeout_s: float) -> bool:
        """Block until every queued byte has left the device (or ``timeout_s``); True if drained."""
        deadline = time.monotonic() + timeout_s
        with self._tx_empty:
            while self._tx:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._tx_empty.wait(remaining)
        return True

    def discard_tx(self) -> None:
        """Forget queued TX bytes (the link dropped: a cable pull or a reboot)."""
        with self._tx_lock:
            self.stats.tx_discarded_bytes += len(self._tx)
            self._tx.clear()
            self._tx_empty.notify_all()

    # --- the wire thread -------------------------------------------------------------------------
    def _run(self) -> None:
        rx_clock = tx_clock = time.monotonic()
        generation = -1
        while not self._stop.is_set():
            with self._port.lock:
                attached = self._port.host_attached()
                if attached and self._port.generation != generation:
                    generation = self._port.generation
                    rx_clock = tx_clock = time.monotonic()
                    self._fifo.clear()
                    self._host_side.clear()
                active = False
                if not attached:
                    self.discard_tx()
                    self._fifo.clear()
                    self._host_side.clear()
                else:
                    host_baud = self._current_host_baud()
                    now = time.monotonic()
                    rx_clock, active = self._receive(host_baud, now, rx_clock)
                    tx_clock = self._transmit(host_baud, now, tx_clock)
                    self._deliver_to_host()
            if self._fifo:
                self._consumer(self._fifo)
            self._idle_wait(active)

    def _current_host_baud(self) -> int:
        """The host's rate right now (read from the pty every time: a scan changes it at any moment)."""
        return self._port.host_baud() or self._device_baud

    def _receive(self, host_baud: int, now: float, clock: float) -> tuple[float, bool]:
        """Take the bytes whose wire time has elapsed; returns (new clock, line busy)."""
        rate = host_baud / BITS_PER_BYTE_8N1
        credit = int((now - clock) * rate)
        if credit <= 0:
            return clock, True  # a byte is still on its way: come back after a tick, do not spin
        data = self._port.read(min(credit, _MAX_IO_BYTES))
        # Fewer bytes than the line could carry: the line went idle, and idle time is not credit.
        clock = now if len(data) < credit else clock + len(data) / rate
        if not data:
            return clock, False
        self.stats.rx_bytes += len(data)
        # The host sets its rate (tcsetattr at open) before it writes, so the rate in force *after*
        # the read is the one these bytes were sent at. The rate read before the read may be stale
        # when the host reopened at another baud in between (a scan walking its table): using it
        # garbled a correct request whenever this thread was preempted between the two calls.
        sent_at_baud = self._current_host_baud()
        if sent_at_baud != self._device_baud:
            data = uart_resample(data, sent_at_baud, self._device_baud)
            self.stats.garbled_chunks += 1
        data = self._rx_faults.apply(data)
        data = self._overspeed(data, sent_at_baud, self._overspeed_rx)
        # The bytes arrived one by one over the elapsed time while the firmware's receiver drained
        # the FIFO; a late wire thread must not turn its own delay into an overrun. So feed the FIFO
        # in small slices and let the receiver drain between them: bytes are lost only when the
        # receiver is really stalled (no free frame buffer).
        for start in range(0, len(data), _FIFO_SLICE_BYTES):
            piece = data[start : start + _FIFO_SLICE_BYTES]
            room = self._fifo_capacity - len(self._fifo)
            if len(piece) > room:
                self.stats.rx_overrun_bytes += len(piece) - max(room, 0)
                piece = piece[: max(room, 0)]
            self._fifo.extend(piece)
            self._consumer(self._fifo)
        return clock, True

    def _overspeed(self, data: bytes, baud: int, rng: random.Random) -> bytes:
        """``data`` as a line that cannot hold ``baud`` delivers it (unchanged within the limit)."""
        ber = overspeed_bit_error_rate(baud, self._max_baud)
        if ber <= 0 or not data:
            return data
        buffer = bytearray(data)
        for index in range(len(buffer)):
            for bit in range(8):
                if rng.random() < ber:
                    buffer[index] ^= 1 << bit
                    self.stats.bits_flipped += 1
        return bytes(buffer)

    def _transmit(self, host_baud: int, now: float, clock: float) -> float:
        with self._tx_lock:
            device_baud = self._device_baud
            rate = device_baud / BITS_PER_BYTE_8N1
            if not self._tx:
                return now
            credit = int((now - clock) * rate)
            if credit <= 0:
                return clock
            chunk = bytes(self._tx[:credit])
            del self._tx[: len(chunk)]
            if not self._tx:
                self._tx_empty.notify_all()
        clock += len(chunk) / rate
        self.stats.tx_bytes += len(chunk)
        if host_baud != device_baud:
            chunk = uart_resample(chunk, device_baud, host_baud)
        chunk = self._overspeed(self._tx_faults.apply(chunk), device_baud, self._overspeed_tx)
        self._host_side.extend(chunk)
        return clock

    def _deliver_to_host(self) -> None:
        """Move bytes from the adapter's FIFO into the port as far as the host's buffer takes them."""
        if not self._host_side:
            return
        written = self._port.write(self._host_side)
        del self._host_side[:written]
        if len(self._host_side) > HOST_FIFO_BYTES:  # the adapter's FIFO overflows: oldest bytes lost
            excess = len(self._host_side) - HOST_FIFO_BYTES
            self.stats.tx_discarded_bytes += excess
            del self._host_side[:excess]

    def _idle_wait(self, rx_active: bool) -> None:
        with self._tx_lock:
            busy = bool(self._tx) or rx_active or bool(self._fifo)
        if busy:
            time.sleep(TICK_S)
            return
        self._port.wait_readable(TICK_S)

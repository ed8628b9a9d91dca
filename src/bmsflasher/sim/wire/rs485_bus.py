"""An RS485 multi-drop bus: one host, N Modbus RTU modules daisy-chained on one pair, in real time.

The host end is what the tool opens (a pty whose termios settings say the host's baud rate, parity
and stop bits — :mod:`~bmsflasher.sim.wire.rs485_pty` — or the serial side of the Modbus TCP
gateway). Every byte anyone sends becomes a :class:`~bmsflasher.sim.wire.rs485_line.Transmission`
on one timeline, paced at its sender's line rate; receivers read the timeline at their own settings
(:class:`~bmsflasher.sim.wire.rs485_line.UartReceiver`), so what a real bus does follows:

* **half duplex**: a module answers only after the request's frame ended (3.5 characters of
  silence at the rack's settings, 1.75 ms above 19200 baud) and its own turnaround, and holds its
  answer while the host is still sending; the host's adapter does not hear the bus while it sends;
* **line rate**: the host receives each character when its last stop bit ends;
* **garbling**: a host at another baud rate, parity or stop-bit count reads (and sends) junk;
* **per-module rates**: a module that negotiated another rate with the tool (the vendor line-rate
  block, ``sim/modbus/line_rate.py``) receives and answers at that rate, the others at the bus's;
  a module's receiver at one rate reads a frame sent at another as junk (parity, CRC errors);
* **cable limit** (``max_baud``): whatever is driven faster than the cable holds has bits flipped at
  the serial wire's overspeed error rate, so a negotiated rate above it fails its proof;
* **frames by address**: the modules' receiver checks parity (a frame with a parity error is
  dropped, as the serial-line spec requires) and the CRC; unit 0 reaches every module and none
  answers; the others reach the modules with that address;
* **faults** (:class:`BusFaults`, changeable while running): two modules with one address both
  answer (their bits collide: CRC errors at the host), a module answering late, a daisy chain
  broken after module K (the rest hear and say nothing), an adapter that echoes the host's bytes.

Each module runs its own firmware thread (a broadcast write takes one module's time, not N), which
calls the module's Modbus application layer through :class:`BusModule`. This module imports nothing
platform-specific.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final, Protocol

from bmsflasher.sim.errors import SimError
from bmsflasher.sim.wire.rs485_line import LineSettings, RxChar, Transmission, UartReceiver
from bmsflasher.sim.wire.rtu_framing import BROADCAST_ADDRESS, parse_rtu, rtu_frame
from bmsflasher.sim.wire.serial_port import overspeed_bit_error_rate

TICK_S: Final = 0.0005
"""Longest sleep while anything is on the line (a character at 115200 baud lasts 87 us)."""
IDLE_WAIT_S: Final = 0.001
MIN_TURNAROUND_S: Final = 0.0003
"""Time from a request's frame end (or the end of the module's own work) to its answer's first bit."""
TURNAROUND_STEP_CHARS: Final = 0.37
"""Each module along the chain answers this many characters later than the one before: two modules
sharing an address never start in step, so their bits really collide."""
MAX_HOST_BACKLOG_S: Final = 0.5
"""The adapter takes no more from the host while this much sending time is queued (its FIFO is full)."""
_KEEP_HISTORY_S: Final = 1.0
_POLL_S: Final = 0.1
_READ_BYTES: Final = 4096


class BusModule(Protocol):
    """One module's Modbus application layer: the seam to ``sim.modbus`` (no framing, no timing)."""

    address: int

    def handle(self, pdu: bytes, /, *, broadcast: bool) -> bytes | None:
        """The response PDU to a request PDU, or None (broadcasts are executed, never answered)."""
        ...

    def late_by_s(self) -> float:
        """Extra delay this module adds before answering."""
        ...


class BusHost(Protocol):
    """The host's end of the bus: what the tool (or the TCP gateway's serial side) sends and hears."""

    @property
    def lock(self) -> threading.RLock:
        """Held by the bus while it moves bytes, so the end cannot close mid-call."""
        ...

    def host_attached(self) -> bool:
        """Whether a host end exists (a plugged pty); the bus idles otherwise."""
        ...

    def host_line(self) -> LineSettings | None:
        """The host's current line settings; None when they cannot be seen (the rack's are assumed)."""
        ...

    def read(self, max_bytes: int) -> bytes:
        """Bytes the host handed to its adapter since the last call; ``b""`` when none."""
        ...

    def deliver(self, data: bytes, end_s: float) -> None:
        """Bytes the host's adapter received (the last ended at ``end_s``); ``b""`` flushes only."""
        ...

    def wait_readable(self, timeout_s: float) -> None:
        """Sleep until the host may have sent something, at most ``timeout_s``."""
        ...


@dataclass
class BusFaults:
    """Faults of the bus, read live by the bus thread (tests flip them while it runs).

    Attributes:
        echo: the host's adapter hears its own transmission (the host reads its request back).
        chain_break_after: modules at chain positions ``>= chain_break_after`` are cut off (None: intact).
        late_s: extra answer delay per chain position (0-based), in seconds.
        max_baud: the fastest rate the cable and adapters hold (None: any); faster is garbled.
    """

    echo: bool = False
    chain_break_after: int | None = None
    late_s: dict[int, float] = field(default_factory=dict)
    max_baud: int | None = None

    def reachable(self, index: int) -> bool:
        return self.chain_break_after is None or index < self.chain_break_after


@dataclass
class BusStats:
    """What the bus saw, as the modules' and the host's diagnostics would count it."""

    host_bytes_sent: int = 0
    host_bytes_received: int = 0
    echo_bytes: int = 0
    frames_from_host: int = 0
    parity_errors: int = 0
    """Frames the modules dropped for a character with wrong parity."""
    crc_errors: int = 0
    """Frames the modules dropped for a bad CRC (or a wrong length)."""
    broadcasts: int = 0
    requests: int = 0
    """Frames with a good CRC addressed to a unit (reached or not)."""
    answers: int = 0
    unanswered: int = 0
    """Addressed frames no reachable module answered (no such address, cut off, or powered off)."""


@dataclass
class SlotStats:
    """One module's own counters."""

    requests: int = 0
    broadcasts: int = 0
    answers: int = 0


@dataclass(slots=True)
class _Exchange:
    """The answers to one request, put on the line together once every module it reached has one.

    Two modules with one address run the same firmware: they answer after the same processing
    time, so their bits collide. Their threads, though, finish at whatever moment the scheduler
    lets them; answering from each thread as it finishes could put one answer wholly after the
    other (two clean answers). So the last module to finish puts them all on the line.
    """

    pending: int = 0
    ready: list[tuple[_Slot, bytes]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Request:
    pdu: bytes
    address: int
    broadcast: bool
    exchange: _Exchange = field(default_factory=_Exchange)


@dataclass(slots=True)
class _ModuleReceiver:
    """The modules' receiver at one line setting (the bus's, or a rate one module negotiated)."""

    rx: UartReceiver
    frame: list[RxChar] = field(default_factory=list)


def _module_line_baud(module: BusModule, now: float) -> int | None:
    """The rate ``module``'s UART runs at (None: the bus's; a module without the hook never switches)."""
    line_baud = getattr(module, "line_baud", None)
    return line_baud(now) if callable(line_baud) else None


class _Slot:
    """A module at one position of the daisy chain, with its firmware thread's queue."""

    def __init__(self, index: int, module: BusModule) -> None:
        self.index = index
        self.module = module
        self.requests: queue.Queue[_Request] = queue.Queue()
        self.stats = SlotStats()
        self.thread: threading.Thread | None = None
        self.answer_end_s = 0.0
        """When this module's last answer leaves the line: its UART sends one answer after another."""


class Rs485Bus:
    """The rack's bus. Use as a context manager or call :meth:`start` / :meth:`stop`.

    Args:
        host: the host's end (pty or gateway).
        modules: the modules in daisy-chain order (position 0 is nearest the host).
        settings: the modules' line settings.
        faults: initial faults (kept and read live).
        seed: fixes the bits read where two drivers disagree.
    """

    def __init__(
        self,
        host: BusHost,
        modules: Sequence[BusModule],
        settings: LineSettings,
        *,
        faults: BusFaults | None = None,
        seed: int = 0,
    ) -> None:
        self._host = host
        self._settings = settings
        self.faults = faults or BusFaults()
        self.stats = BusStats()
        self._slots = [_Slot(index, module) for index, module in enumerate(modules)]
        self._lock = threading.Lock()
        self._transmissions: list[Transmission] = []
        self._host_tx: Transmission | None = None
        self._working = 0
        """Requests handed to modules and not yet answered (the bus polls closely meanwhile)."""
        self._seed = seed
        self._receivers: dict[LineSettings, _ModuleReceiver] = {
            settings: _ModuleReceiver(UartReceiver(settings, seed=seed))
        }
        self._host_rx = UartReceiver(settings, seed=seed + 1)
        self._noise = random.Random(seed + 2)
        self._decoded_until = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------
    @property
    def settings(self) -> LineSettings:
        return self._settings

    @property
    def modules(self) -> tuple[BusModule, ...]:
        return tuple(slot.module for slot in self._slots)

    @property
    def decoded_until(self) -> float:
        """Everything on the line before this time has been delivered to the host."""
        return self._decoded_until

    def slot_stats(self, index: int) -> SlotStats:
        return self._slots[index].stats

    def turnaround_s(self, index: int) -> float:
        """How long module ``index`` takes from a request's end to its answer's first bit."""
        return MIN_TURNAROUND_S + TURNAROUND_STEP_CHARS * (index % 8) * self._settings.char_time_s

    def start(self) -> Rs485Bus:
        """Start the bus thread and one firmware thread per module (a second call does nothing)."""
        if self._thread is not None:
            return self
        for slot in self._slots:
            slot.thread = threading.Thread(
                target=self._serve, args=(slot,), name=f"sim-rs485-module{slot.index + 1}", daemon=True
            )
            slot.thread.start()
        self._decoded_until = time.monotonic()
        self._rewind_receivers(self._decoded_until)
        self._thread = threading.Thread(target=self._run, name="sim-rs485-bus", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop and join every thread (bounded)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        for slot in self._slots:
            if slot.thread is not None:
                slot.thread.join(timeout=5.0)
                slot.thread = None

    def __enter__(self) -> Rs485Bus:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- the modules' firmware threads -----------------------------------------------------------
    def _serve(self, slot: _Slot) -> None:
        while not self._stop.is_set():
            try:
                request = slot.requests.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            try:
                response = slot.module.handle(request.pdu, broadcast=request.broadcast)
            except SimError:
                response = None  # powered off after a power cut: a dead module says nothing
            frame = None if request.broadcast or response is None else rtu_frame(request.address, response)
            delay = slot.module.late_by_s() + self.faults.late_s.get(slot.index, 0.0)
            try:
                self._finish(request.exchange, slot, None if delay > 0 else frame)
                if frame is None or delay <= 0:
                    continue
                if self._stop.wait(delay):
                    return
                with self._lock:
                    self._start_answers([(slot, frame)])
            finally:
                with self._lock:
                    self._working -= 1

    def _finish(self, exchange: _Exchange, slot: _Slot, frame: bytes | None) -> None:
        """One module is done with a request; the last one puts every answer on the line."""
        with self._lock:
            if frame is not None and self.faults.reachable(slot.index):
                exchange.ready.append((slot, frame))
            exchange.pending -= 1
            if exchange.pending <= 0 and exchange.ready:
                self._start_answers(exchange.ready)

    def _start_answers(self, answers: list[tuple[_Slot, bytes]]) -> None:
        """Put answers on the line from a module's thread, each its turnaround after now (lock held).

        Done here rather than on the bus thread's next pass, so an answer starts one turnaround
        after the module finished (as a real module's UART does), not a polling tick later. It
        starts after now, so what the receivers already handed over never changes. An answer
        ready while the host is still sending waits for the host's end (half duplex).
        """
        now = time.monotonic()
        host_tx = self._host_tx
        for slot, frame in answers:
            if not self.faults.reachable(slot.index):
                continue
            turnaround = self.turnaround_s(slot.index)
            start = now + turnaround
            if host_tx is not None and host_tx.end_s > now:
                start = max(start, host_tx.end_s + turnaround)
            start = max(start, slot.answer_end_s + turnaround)  # a late answer still going out
            line = self._slot_line(slot, start)
            answer = Transmission(start, line, self._overspeed(frame, line), f"module:{slot.index}")
            self._transmissions.append(answer)
            slot.answer_end_s = answer.end_s
            answer_left = getattr(slot.module, "answer_left", None)
            if callable(answer_left):
                answer_left(answer.end_s)  # a rate switch the module accepted starts after its answer
            slot.stats.answers += 1
            self.stats.answers += 1

    # --- the bus thread --------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            wake_at: float | None = None
            with self._host.lock:
                if self._host.host_attached():
                    wake_at = self._step()
                else:
                    self._idle()
            if wake_at is None:
                self._host.wait_readable(IDLE_WAIT_S)
                continue
            # Sleep to the next moment something happens on the line (a frame's end, its gap;
            # a tick while the host hears characters, so they reach it as they end), and wake
            # early for the host's bytes: a fixed tick after each event cost ~1 ms of every
            # request at 115200 baud, and ticking through a host's long frame most of the CPU.
            pause = wake_at - time.monotonic()
            if pause <= 0:
                continue
            if self._host_backlogged(time.monotonic()):
                time.sleep(pause)  # the host's bytes wait in the OS: readable would spin
            else:
                self._host.wait_readable(pause)

    def _host_backlogged(self, now: float) -> bool:
        host_tx = self._host_tx
        return host_tx is not None and host_tx.end_s - now > MAX_HOST_BACKLOG_S

    def _idle(self) -> None:
        """No host end: the line is dead; drop everything in flight."""
        with self._lock:
            self._transmissions.clear()
            self._host_tx = None
            self._decoded_until = time.monotonic()
            self._rewind_receivers(self._decoded_until)

    def _step(self) -> float | None:
        """One pass: take the host's bytes, decode for modules and host.

        Returns:
            when the next pass is due (a frame ending, a frame gap elapsing; a tick on while a
            module works on a request or the host hears characters), or None when the line is quiet.
        """
        now = time.monotonic()
        self._take_host_bytes(now)
        with self._lock:
            transmissions = list(self._transmissions)
            working = self._working > 0
        self._decode_for_modules(transmissions, now)
        self._decode_for_host(transmissions, now)
        self._decoded_until = now
        self._prune(now)
        gap = self._settings.frame_gap_s
        due = [moment for tx in transmissions for moment in (tx.end_s, tx.end_s + gap) if moment > now]
        for receiver in self._receivers.values():
            frame_gap = receiver.rx.settings.frame_gap_s
            if receiver.frame and receiver.frame[-1].end_s + frame_gap > now:
                due.append(receiver.frame[-1].end_s + frame_gap)
        host_hears = self.faults.echo or any(not tx.from_host and tx.end_s > now for tx in transmissions)
        if working or host_hears:
            due.append(now + TICK_S)
        return min(due) if due else None

    def _take_host_bytes(self, now: float) -> None:
        host_tx = self._host_tx
        if host_tx is not None and host_tx.end_s - now > MAX_HOST_BACKLOG_S:
            return  # the adapter's FIFO is full: the rest waits in the OS buffer
        data = self._host.read(_READ_BYTES)
        if not data:
            return
        # The host sets its line (tcsetattr at open) before it writes, so the settings in force
        # after the read are the ones these bytes were sent with.
        line = self._host.host_line() or self._settings
        self.stats.host_bytes_sent += len(data)
        data = bytes(self._overspeed(data, line))
        with self._lock:
            if host_tx is not None and host_tx.settings == line and host_tx.end_s >= now:
                host_tx.data.extend(data)  # still sending: the new bytes follow back to back
                return
            start = now if host_tx is None else max(now, host_tx.end_s)
            self._host_tx = Transmission(start, line, bytearray(data), "host")
            self._transmissions.append(self._host_tx)

    def _decode_for_modules(self, transmissions: list[Transmission], now: float) -> None:
        """The modules' receivers (one per line setting in use): characters into frames, into requests.

        The modules listen for the host: another module's answer reaches them only where it
        collides with the host's sending (a late answer over the next request garbles it). The one
        that answered does not hear its own answer (its receiver is off while it drives the pair),
        and the others ignore an answer's address; so a host that starts its next request a little
        under 3.5 characters after an answer (pymodbus polls for the end of an answer every 4
        characters, less than the fixed 1.75 ms above 19200 baud) is not merged with that answer.
        """
        self._follow_module_rates(now)
        for line, receiver in list(self._receivers.items()):
            self._decode_at(receiver, line, transmissions, now)

    def _follow_module_rates(self, now: float) -> None:
        """A receiver for every line setting a reachable module runs at; idle unused ones go."""
        in_use = {self._settings} | {self._slot_line(slot, now) for slot in self._slots}
        for line in in_use - self._receivers.keys():
            receiver = UartReceiver(line, seed=self._seed, hunt_s=now)
            self._receivers[line] = _ModuleReceiver(receiver)
        for line in [line for line, r in self._receivers.items() if line not in in_use and not r.frame]:
            del self._receivers[line]

    def _decode_at(
        self, receiver: _ModuleReceiver, line: LineSettings, transmissions: list[Transmission], now: float
    ) -> None:
        gap = line.frame_gap_s
        recent = _after(transmissions, receiver.rx.hunt_s)
        hosts = [tx for tx in recent if tx.from_host]
        heard = [
            tx for tx in recent if tx.from_host or any(host.overlaps(tx.start_s, tx.end_s) for host in hosts)
        ]
        chars, arriving = receiver.rx.receive(heard, now)
        for char in chars:
            if receiver.frame and char.start_s - receiver.frame[-1].end_s >= gap:
                self._dispatch(receiver.frame, transmissions, line)
                receiver.frame = []
            receiver.frame.append(char)
        if not receiver.frame:
            return
        last = receiver.frame[-1].end_s
        if (arriving is None or arriving - last >= gap) and now >= last + gap:
            self._dispatch(receiver.frame, transmissions, line)
            receiver.frame = []

    def _slot_line(self, slot: _Slot, now: float) -> LineSettings:
        """The line settings module ``slot`` runs at ``now`` (the bus's, unless it negotiated a rate)."""
        baud = _module_line_baud(slot.module, now)
        if baud is None or baud == self._settings.baud:
            return self._settings
        return replace(self._settings, baud=baud)

    def _overspeed(self, data: bytes | bytearray, line: LineSettings) -> bytearray:
        """``data`` as a cable that holds ``max_baud`` carries it at ``line``'s rate (bits flipped above)."""
        ber = overspeed_bit_error_rate(line.baud, self.faults.max_baud)
        out = bytearray(data)
        if ber <= 0:
            return out
        for index in range(len(out)):
            for bit in range(8):
                if self._noise.random() < ber:
                    out[index] ^= 1 << bit
        return out

    def _rewind_receivers(self, at_s: float) -> None:
        for receiver in self._receivers.values():
            receiver.frame.clear()
            receiver.rx.hunt_s = at_s
        self._host_rx.hunt_s = at_s

    def _dispatch(self, frame: list[RxChar], transmissions: list[Transmission], line: LineSettings) -> None:
        """A frame ended: hand a valid request to the modules at ``line`` it addresses."""
        start, end = frame[0].start_s, frame[-1].end_s
        if not any(tx.from_host and tx.overlaps(start, end) for tx in transmissions):
            return  # a module's answer: no module takes another module's answer as a request
        if line != self._settings and not any(self._slot_line(slot, end) == line for slot in self._slots):
            return  # the rate's last module went back meanwhile
        self.stats.frames_from_host += 1
        if any(char.parity_error for char in frame):
            self.stats.parity_errors += 1
            return
        parsed = parse_rtu(bytes(char.value for char in frame))
        if parsed is None:
            self.stats.crc_errors += 1
            return
        request = _Request(parsed.pdu, parsed.address, parsed.address == BROADCAST_ADDRESS)
        reached = [
            slot
            for slot in self._slots
            if self.faults.reachable(slot.index)
            and (request.broadcast or slot.module.address == request.address)
            and self._slot_line(slot, end) == line
        ]
        if line != self._settings and not reached:
            return  # a frame for the modules at the bus rate, read at this module's rate: not a request
        if request.broadcast:
            self.stats.broadcasts += 1
        else:
            self.stats.requests += 1
        with self._lock:
            request.exchange.pending = len(reached)
            self._working += len(reached)
        for slot in reached:
            if request.broadcast:
                slot.stats.broadcasts += 1
            else:
                slot.stats.requests += 1
            slot.requests.put(request)
        if not request.broadcast and not reached:
            self.stats.unanswered += 1

    def _decode_for_host(self, transmissions: list[Transmission], now: float) -> None:
        """The host adapter's receiver, at the host's current settings."""
        self._host_rx.settings = self._host.host_line() or self._settings
        echo = self.faults.echo
        recent = _after(transmissions, self._host_rx.hunt_s)
        heard = recent if echo else [tx for tx in recent if not tx.from_host]
        chars, _arriving = self._host_rx.receive(heard, now)
        received = bytearray()
        last_end = now
        hosts = [tx for tx in recent if tx.from_host]
        for char in chars:
            while_sending = any(tx.overlaps(char.start_s, char.end_s) for tx in hosts)
            if while_sending and not echo:
                continue  # the adapter's receiver is off while it sends
            if while_sending:
                self.stats.echo_bytes += 1
            received.append(char.value)
            last_end = char.end_s
        if received:
            self.stats.host_bytes_received += len(received)
        self._host.deliver(bytes(received), last_end)

    def _prune(self, now: float) -> None:
        hunts = [receiver.rx.hunt_s for receiver in self._receivers.values()]
        horizon = min(*hunts, self._host_rx.hunt_s, now) - _KEEP_HISTORY_S
        with self._lock:
            self._transmissions = [tx for tx in self._transmissions if tx.end_s > horizon]
            if self._host_tx is not None and self._host_tx.end_s <= horizon:
                self._host_tx = None


def _after(transmissions: list[Transmission], hunt_s: float) -> list[Transmission]:
    """The transmissions still on the line at a receiver's hunt point.

    The history kept for a second is irrelevant to a receiver (it never looks back), so each pass
    costs the few transmissions that matter.
    """
    return [tx for tx in transmissions if tx.end_s > hunt_s]

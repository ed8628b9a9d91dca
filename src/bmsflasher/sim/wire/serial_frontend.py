"""``bmsflasher sim --protocol smp --link pty|tcp``: the virtual BMS on a serial port.

Wires the pieces together: the port the tool opens (a pty, :mod:`~bmsflasher.sim.wire.pty_link`, or
where there are none a loopback TCP socket, :mod:`~bmsflasher.sim.wire.tcp_port`), the paced and faulty UART
(:mod:`~bmsflasher.sim.wire.serial_port`), the firmware's SMP receiver and frame buffers
(:mod:`~bmsflasher.sim.smp.transport`) and the request handler (:mod:`~bmsflasher.sim.smp.server`),
plus one worker thread that answers requests in order — the firmware's SMP thread. Flash work
(uploads, erases, the swap at reset) runs there, so the UART keeps receiving meanwhile.

A reset makes the port vanish and come back under a new ``/dev/pts/N`` (a USB device re-enumerating
while it reboots); the symlink the JSON line names stays valid. Over TCP the reset closes the
host's connection and the same ``socket://`` URL accepts again once the device is back.
:meth:`SerialFrontEnd.pull_cable` does the same on demand (and SIGUSR1 does it when run from the
command line, where the system has that signal).

This module loads where ``termios`` does not (Windows): the pty module is imported only when a
front-end is built without a port of its own.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Final

from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimPoweredOffError
from bmsflasher.sim.smp.link_rate import LinkRate
from bmsflasher.sim.smp.server import DEFAULT_BUF_COUNT, DEFAULT_BUF_SIZE, SmpServer
from bmsflasher.sim.smp.transport import FrameBufferPool, SmpSerialReceiver, encode_frame
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_port import DEFAULT_RX_FIFO_BYTES, SerialWire, WireFaults

if TYPE_CHECKING:
    from bmsflasher.sim.wire.device_port import DevicePort

REENUMERATION_DELAY_S: Final = 0.3
"""How long the port is gone while the device reboots (USB disconnect → enumerate)."""
CABLE_PULL_SIGNAL_S: Final = 1.0
RESET_DELAY_S: Final = 0.25
"""Time between the answer to an OS reset and the reboot (Zephyr's CONFIG_MCUMGR_GRP_OS_RESET_MS)."""
_DRAIN_LIMIT_S: Final = 10.0
_POLL_S: Final = 0.1
_RATE_POLL_S: Final = 0.02

EmitJson = Callable[[dict[str, object]], None]


@dataclass(frozen=True, slots=True)
class SerialDeviceSettings:
    """The device's serial-side configuration (what its firmware was built with).

    Attributes:
        buf_size: SMP frame buffer size (MCUmgr parameter ``buf_size``).
        buf_count: number of SMP frame buffers (MCUmgr parameter ``buf_count``).
        rx_fifo_bytes: UART receive FIFO between the wire and the SMP receiver.
        reenumerate_on_reset: the port vanishes and reappears at every reboot (USB CDC); False for
            a UART behind a separate USB-serial adapter, whose port stays.
        program_s_per_byte: flash programming time per uploaded byte (0: instant). Internal MCU
            flash programs about 100 KB/s (nRF52: 41 us per word; STM32G4: ~80 us per double word).
        serves_during_reset_delay: keep answering requests during the reset delay, as Zephyr does
            (its OS reset runs from delayed work while the SMP thread goes on): a tool that asks
            at once after the reset is answered by the firmware that is about to go. False: the
            SMP thread waits the delay out silently.
    """

    buf_size: int = DEFAULT_BUF_SIZE
    buf_count: int = DEFAULT_BUF_COUNT
    rx_fifo_bytes: int = DEFAULT_RX_FIFO_BYTES
    reenumerate_on_reset: bool = True
    program_s_per_byte: float = 0.0
    rate_switch: bool = True
    serves_during_reset_delay: bool = False


class SerialFrontEnd:
    """One virtual BMS served over a serial port. Use as a context manager or call start()/stop().

    Args:
        device: the virtual BMS.
        options: front-end options (baud, link path, faults, response delay, seed).
        settings: serial-side configuration of the device firmware.
        port: the port to serve on; None makes a pty (POSIX) with ``options.link_path``. The
            front-end owns the port from here on and closes it in :meth:`stop`.
    """

    def __init__(
        self,
        device: VirtualBms,
        options: FrontEndOptions | None = None,
        settings: SerialDeviceSettings | None = None,
        *,
        port: DevicePort | None = None,
    ) -> None:
        options = options or FrontEndOptions()
        settings = settings or SerialDeviceSettings()
        self._device = device
        self._options = options
        self._settings = settings
        if port is None:
            from bmsflasher.sim.wire.pty_link import PtyPort  # POSIX only (termios)

            port = PtyPort(options.link_path)
        self._port: DevicePort = port
        self._pool = FrameBufferPool(settings.buf_count)
        self._requests: queue.Queue[bytes] = queue.Queue()
        self._link_rate = LinkRate(options.baud) if settings.rate_switch else None
        self._receiver = SmpSerialReceiver(self._pool, settings.buf_size, self._frame_received)
        self._wire = SerialWire(
            self._port,
            device_baud=options.baud,
            consumer=self._receiver,
            faults=WireFaults(options.bit_error_rate, options.drop_rate, options.seed),
            rx_fifo_bytes=settings.rx_fifo_bytes,
            max_baud=options.max_baud,
        )
        self._server = SmpServer(
            device,
            buf_size=settings.buf_size,
            buf_count=settings.buf_count,
            program_s_per_byte=settings.program_s_per_byte,
            link_rate=self._link_rate,
        )
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._rebooting = threading.Event()
        self._timers: list[threading.Timer] = []
        self._timers_lock = threading.Lock()
        self.requests_answered = 0
        self.answered_generation = 0
        """The port generation (pty plug-in, TCP connection) in which the device last answered."""

    # --- lifecycle -------------------------------------------------------------------------------
    @property
    def port(self) -> str:
        """What the tool opens: a symlink to the current pty, or ``socket://127.0.0.1:PORT``."""
        return self._port.path

    @property
    def baud(self) -> int:
        return self._options.baud

    @property
    def settings(self) -> SerialDeviceSettings:
        return self._settings

    @property
    def server(self) -> SmpServer:
        return self._server

    @property
    def wire(self) -> SerialWire:
        return self._wire

    @property
    def receiver(self) -> SmpSerialReceiver:
        return self._receiver

    @property
    def link_rate(self) -> LinkRate | None:
        """The UART's negotiated rate (None: a firmware without the switch)."""
        return self._link_rate

    def _frame_received(self, message: bytes) -> None:
        """The UART driver's receive hook: a valid frame keeps a faster rate alive."""
        if self._link_rate is not None:
            self._link_rate.frame_received()
        self._requests.put(message)

    def _apply_rate(self, baud: int | None) -> None:
        if baud is not None:
            self._wire.set_device_baud(baud)

    def _on_reset_rate(self) -> None:
        """Every reset starts the UART at its boot rate."""
        if self._link_rate is not None:
            self._link_rate.reset()
            self._wire.set_device_baud(self._link_rate.current)

    def start(self) -> SerialFrontEnd:
        """Plug the port in and start the wire and the SMP thread (a second call does nothing)."""
        if self._worker is not None:
            return self
        self._port.plug()
        self._device.add_reset_listener(self._on_device_reset)
        self._device.add_reset_listener(self._on_reset_rate)
        self._wire.start()
        self._worker = threading.Thread(target=self._serve, name="sim-smp-server", daemon=True)
        self._worker.start()
        return self

    def stop(self) -> None:
        """Stop every thread, unplug and clean up (bounded)."""
        self._stop.set()
        with self._timers_lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
            timer.join(timeout=2.0)
        if self._worker is not None:
            self._worker.join(timeout=_DRAIN_LIMIT_S)
            self._worker = None
        self._wire.stop()
        self._device.remove_reset_listener(self._on_device_reset)
        self._device.remove_reset_listener(self._on_reset_rate)
        self._port.close()

    def __enter__(self) -> SerialFrontEnd:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- faults ----------------------------------------------------------------------------------
    def pull_cable(self, replug_after_s: float | None = None) -> None:
        """Unplug the port now; plug it back (as a new pty) after ``replug_after_s`` if given."""
        self._port.unplug()
        self._wire.discard_tx()
        if replug_after_s is not None:
            self._schedule(replug_after_s, self.plug_cable)

    def plug_cable(self) -> None:
        """Plug the port back in (a new pty behind the same symlink; the TCP port accepts again)."""
        if not self._stop.is_set():
            self._port.plug()

    def _schedule(self, delay_s: float, action: Callable[[], None]) -> None:
        timer = threading.Timer(delay_s, action)
        timer.name = "sim-smp-replug"
        timer.daemon = True
        with self._timers_lock:
            self._timers = [t for t in self._timers if t.is_alive()]
            self._timers.append(timer)
        timer.start()

    # --- the firmware's SMP thread ---------------------------------------------------------------
    def _serve(self) -> None:
        reboot_at: float | None = None  # a reset answered while serving through its delay
        while not self._stop.is_set():
            if reboot_at is not None and time.monotonic() >= reboot_at:
                reboot_at = None
                self._reboot()
                continue
            if self._link_rate is not None:
                self._apply_rate(self._link_rate.tick())  # the proof and idle timeouts
            wait_s = (
                _RATE_POLL_S
                if reboot_at is None
                else max(0.001, min(_RATE_POLL_S, reboot_at - time.monotonic()))
            )
            try:
                message = self._requests.get(timeout=wait_s)
            except queue.Empty:
                continue
            try:
                if self._options.response_delay_s > 0:
                    time.sleep(self._options.response_delay_s)
                outcome = self._server.handle(message)
            finally:
                self._pool.release()
            if outcome is None:
                continue
            self._wire.send(encode_frame(outcome.response))
            self.requests_answered += 1
            self.answered_generation = self._port.generation
            if self._link_rate is not None and self._link_rate.has_pending_switch():
                # The answer leaves at the old rate; only then does the UART switch (esptool's pitfall).
                self._wire.wait_tx_drained(_DRAIN_LIMIT_S)
                self._apply_rate(self._link_rate.take_pending_switch())
            if outcome.reset_after and self._settings.serves_during_reset_delay:
                if reboot_at is None:
                    reboot_at = time.monotonic() + RESET_DELAY_S
                continue
            if outcome.reset_after:
                self._wire.wait_tx_drained(_DRAIN_LIMIT_S)
                # Zephyr reboots CONFIG_MCUMGR_GRP_OS_RESET_MS (250 ms) after answering, so the
                # host reads the answer before the USB port goes away.
                self._stop.wait(RESET_DELAY_S)
                self._reboot()

    def _reboot(self) -> None:
        """The device resets: with USB the port vanishes during the reboot and enumerates again."""
        self._rebooting.set()
        try:
            if self._settings.reenumerate_on_reset:
                self._port.unplug()
            self._drop_pending_requests()
            # The supply may drop during the reboot (a power-cut test): the device then stays silent
            # until it is powered on again, and this thread must live on to serve it then.
            with contextlib.suppress(SimPoweredOffError):
                self._device.reset()
        finally:
            self._rebooting.clear()
            if self._settings.reenumerate_on_reset:
                self._schedule(REENUMERATION_DELAY_S, self.plug_cable)

    def _on_device_reset(self) -> None:
        """A reset caused elsewhere (power cycle, another front-end): the USB port re-enumerates too."""
        if self._rebooting.is_set() or not self._settings.reenumerate_on_reset or self._stop.is_set():
            return
        self.pull_cable(replug_after_s=REENUMERATION_DELAY_S)

    def _drop_pending_requests(self) -> None:
        while True:
            try:
                self._requests.get_nowait()
            except queue.Empty:
                return
            self._pool.release()


def announcement(front_end: SerialFrontEnd, link: str) -> dict[str, object]:
    """The ``listening`` JSON line: what a script or the demo bench needs to open the port."""
    return {
        "event": "listening",
        "protocol": "smp",
        "link": link,
        "port": front_end.port,
        "baud": front_end.baud,
        "buf_size": front_end.settings.buf_size,
        "buf_count": front_end.settings.buf_count,
    }


def serve(
    front_end: SerialFrontEnd, listening: dict[str, object], emit_json: EmitJson, stop: threading.Event
) -> None:
    """Start ``front_end``, announce ``listening`` and serve until ``stop`` is set.

    Once per port generation (a pty plugged in, a TCP host connected) the first answer is announced
    as ``{"event": "answering", "port": ..., "generation": N}``: whoever started the device (the
    demo bench) can tell that a host really talks to it. SIGUSR1 (command line, where the system
    has it) pulls the cable for one second.
    """
    with front_end:
        previous: object = None
        in_main = threading.current_thread() is threading.main_thread()
        usr1 = getattr(signal, "SIGUSR1", None)
        if in_main and usr1 is not None:

            def on_usr1(_signum: int, _frame: FrameType | None) -> None:
                front_end.pull_cable(replug_after_s=CABLE_PULL_SIGNAL_S)

            previous = signal.signal(usr1, on_usr1)
        try:
            emit_json(listening)
            announced = 0
            while not stop.wait(_POLL_S):
                generation = front_end.answered_generation
                if generation != announced:
                    announced = generation
                    emit_json({"event": "answering", "port": front_end.port, "generation": generation})
        finally:
            if in_main and usr1 is not None and previous is not None:
                with contextlib.suppress(ValueError, TypeError):
                    signal.signal(usr1, previous)  # type: ignore[arg-type]


def run(device: VirtualBms, options: FrontEndOptions, emit_json: EmitJson, stop: threading.Event) -> None:
    """Launcher for ``bmsflasher sim --protocol smp --link pty`` (see docs/design/sim-api.md).

    Announces ``{"event": "listening", "protocol": "smp", "link": "pty", "port": ..., "baud": ...}``
    and serves until ``stop`` is set. SIGUSR1 (command line only) pulls the cable for one second.
    """
    front_end = SerialFrontEnd(device, options)
    serve(front_end, announcement(front_end, "pty"), emit_json, stop)

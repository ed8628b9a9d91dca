r"""An emulated LAWICEL/slcan USB-CAN adapter (CANable-like) on a pseudo-terminal.

The tool opens the pty's slave path with python-can's real ``slcan`` driver, exactly as it would
open ``/dev/ttyACM0`` with a CANable plugged in; this side answers the ASCII protocol and moves
frames between the pty and the shared :class:`~bmsflasher.sim.wire.can_bus.CanBusTimeline`.

Implemented commands (what python-can's driver and common tools send):

====================  ==========================================================================
``O`` / ``L`` / ``C``  open / open listen-only / close the channel
``S0``..``S8``         nominal bit rate 10k..1M (``S9`` = 83.3k as python-can knows it)
``sBBBBBB``            SJA1000 BTR0/BTR1 register bit rate (8 MHz clock), e.g. ``s031C``
``Y2`` / ``Y5``        CAN-FD data bit rate 2 / 5 Mbit/s (CANable 2 firmware)
``V`` / ``v`` / ``N``  hardware+software version, firmware version, serial number
``F``                  status flags (bit 3 = data overrun: frames lost towards the host,
                       bit 7 = bus error: a BRS frame at the wrong data rate)
``Z0``/``Z1``, ``M``,  timestamps off/on, acceptance code/mask: accepted, no effect
``m``, ``X``
``t`` ``T`` ``r``      classic data / remote frames (11/29-bit); silent like CANable firmware,
                       or ``z`` / ``Z`` (LAWICEL) with ``acknowledge_frames``
``R`` ``d`` ``D``
``b`` ``B``            CAN-FD frames without / with bit-rate switch
====================  ==========================================================================

CAN-FD frames with the bit-rate switch (``b``/``B``) need a data rate set with ``Y``: without one
they are refused with BEL; at a data rate other than the bus's they never reach the bus (the
status flags report a bus error) and the adapter hears no BRS frame from the bus either.

A command is answered with ``\r`` (OK) or ``\a`` (error). Frames the adapter receives from the
bus are written to the host only while the channel is open. A bit-rate mismatch with the bus
behaves like the real thing: the adapter's frames only cause error frames and it hears nothing.

:meth:`SlcanAdapter.unplug` and :meth:`SlcanAdapter.replug` emulate pulling the USB cable: the pty
disappears (the tool's reads fail with an I/O error) and a new one appears behind the same stable
symlink, like ``/dev/serial/by-id/...`` on Linux.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from pathlib import Path
from typing import Final

import can

from bmsflasher.sim.wire.can_bus import BusPort, CanBusTimeline

_OK: Final[bytes] = b"\r"
_ERROR: Final[bytes] = b"\a"
_BITRATE_CODES: Final[dict[str, int]] = {
    "0": 10_000,
    "1": 20_000,
    "2": 50_000,
    "3": 100_000,
    "4": 125_000,
    "5": 250_000,
    "6": 500_000,
    "7": 750_000,
    "8": 1_000_000,
    "9": 83_300,
}
_DATA_BITRATE_CODES: Final[dict[str, int]] = {"2": 2_000_000, "5": 5_000_000}
_FD_LENGTHS: Final[tuple[int, ...]] = (0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64)
_SJA1000_CLOCK_HZ: Final[int] = 8_000_000
_FLAG_DATA_OVERRUN: Final[int] = 0x08
_FLAG_BUS_ERROR: Final[int] = 0x80
_WRITE_WAIT_S: Final[float] = 0.005
_HOST_VERSION: Final[str] = "V1013"
_FIRMWARE_VERSION: Final[str] = "v1013"


class SlcanProtocolError(ValueError):
    """A command line the adapter does not understand (answered with BEL)."""


def bitrate_from_btr(btr: str) -> int:
    """Bit rate of SJA1000 BTR0/BTR1 registers (hex ``xxyy``) at the 8 MHz slcan clock."""
    if len(btr) < 4:
        raise SlcanProtocolError(f"BTR value '{btr}' is too short")
    btr0, btr1 = int(btr[0:2], 16), int(btr[2:4], 16)
    brp = (btr0 & 0x3F) + 1
    tseg1 = (btr1 & 0x0F) + 1
    tseg2 = ((btr1 >> 4) & 0x07) + 1
    return round(_SJA1000_CLOCK_HZ / (2 * brp * (1 + tseg1 + tseg2)))


def parse_frame(line: str) -> can.Message:
    """Decode one slcan frame command (``t``, ``T``, ``r``, ``R``, ``d``, ``D``, ``b``, ``B``)."""
    kind = line[0]
    extended = kind in "TRDB"
    id_len = 8 if extended else 3
    try:
        arbitration_id = int(line[1 : 1 + id_len], 16)
        dlc_char = line[1 + id_len]
        if kind in "dDbB":
            length = _FD_LENGTHS[int(dlc_char, 16)]
        else:
            length = int(dlc_char)
            if length > 8:
                raise SlcanProtocolError(f"DLC {length} is above 8 for a classic frame")
        data_hex = line[2 + id_len :]
        remote = kind in "rR"
        data = b"" if remote else bytes.fromhex(data_hex[: length * 2])
    except (ValueError, IndexError) as exc:
        raise SlcanProtocolError(f"malformed frame command '{line}'") from exc
    if not remote and len(data) != length:
        raise SlcanProtocolError(f"frame command '{line}' carries fewer bytes than its DLC")
    limit = 0x1FFFFFFF if extended else 0x7FF
    if arbitration_id > limit:
        raise SlcanProtocolError(f"identifier 0x{arbitration_id:X} is out of range")
    return can.Message(
        arbitration_id=arbitration_id,
        is_extended_id=extended,
        is_remote_frame=remote,
        is_fd=kind in "dDbB",
        bitrate_switch=kind in "bB",
        dlc=length,
        data=data,
    )


def format_frame(message: can.Message) -> bytes:
    """Encode a received frame as the slcan line the host driver expects."""
    data = bytes(message.data or b"")
    if message.is_fd:
        kind = "b" if message.bitrate_switch else "d"
        if message.is_extended_id:
            kind = kind.upper()
        dlc = f"{_FD_LENGTHS.index(len(data)):X}"
    elif message.is_remote_frame:
        kind = "R" if message.is_extended_id else "r"
        dlc = str(message.dlc)
        data = b""
    else:
        kind = "T" if message.is_extended_id else "t"
        dlc = str(len(data))
    ident = f"{message.arbitration_id:08X}" if message.is_extended_id else f"{message.arbitration_id:03X}"
    return f"{kind}{ident}{dlc}{data.hex().upper()}\r".encode("ascii")


class SlcanAdapter:
    """A CANable-like adapter: a pty on the host side, a port on the shared bus on the other.

    Args:
        bus: the shared bus timeline.
        link_path: optional stable symlink to the current pty (survives unplug/replug).
        serial_number: what ``N`` answers (up to 4 characters in LAWICEL; longer is tolerated).
        tx_depth: frames the adapter buffers towards the bus before it stops reading the host.
        acknowledge_frames: answer every transmitted frame with ``z``/``Z`` as LAWICEL adapters
            do; CANable firmware stays silent (the default), which halves the host's read load.
    """

    def __init__(
        self,
        bus: CanBusTimeline,
        *,
        link_path: Path | None = None,
        serial_number: str = "SIM1",
        tx_depth: int = 32,
        acknowledge_frames: bool = False,
    ) -> None:
        self._acknowledge = acknowledge_frames
        self._bus = bus
        self._link_path = link_path
        self._serial_number = serial_number
        self._tx_depth = tx_depth
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._master = -1
        self._slave = -1
        self._tty_path = ""
        self._port: BusPort | None = None
        self._thread: threading.Thread | None = None
        self._open = False
        self._bitrate = 0
        self._data_bitrate = 0
        self._flags = 0
        self.frames_to_host = 0
        self.frames_from_host = 0
        self.plug_count = 0
        self._plug()

    # --- public -------------------------------------------------------------------------------
    @property
    def path(self) -> str:
        """What the tool opens: the stable symlink if one was requested, else the pty itself."""
        return str(self._link_path) if self._link_path is not None else self._tty_path

    @property
    def tty_path(self) -> str:
        """The current pty slave (changes at every replug, like a re-enumerated USB device)."""
        return self._tty_path

    @property
    def plugged(self) -> bool:
        return self._master >= 0

    @property
    def channel_open(self) -> bool:
        return self._open

    def unplug(self) -> None:
        """Pull the USB cable: the pty vanishes and the adapter leaves the bus."""
        with self._lock:
            self._unplug_locked()

    def replug(self) -> None:
        """Plug the adapter back in: a new pty (new path) behind the same stable symlink."""
        with self._lock:
            if self._master >= 0:
                return
        self._plug()

    def close(self) -> None:
        """Unplug for good and stop the reader thread."""
        with self._lock:
            self._unplug_locked()

    # --- plugging -----------------------------------------------------------------------------
    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        with self._lock:
            self._master, self._slave = master, slave
            self._tty_path = os.ttyname(slave)
            self._open = False
            self._bitrate = 0
            self._data_bitrate = 0
            self._flags = 0
            self._stop = threading.Event()
            self._port = self._bus.attach(f"slcan:{self._tty_path}", self._on_bus_frame, self._tx_depth)
            self._port.bitrate_ok = False  # silent until the host sets a matching bit rate and opens
            if self._link_path is not None:
                with contextlib.suppress(FileNotFoundError):
                    self._link_path.unlink()
                self._link_path.symlink_to(self._tty_path)
            self.plug_count += 1
            self._thread = threading.Thread(
                target=self._read_loop, args=(master, self._stop), name="sim-slcan-reader", daemon=True
            )
            self._thread.start()

    def _unplug_locked(self) -> None:
        if self._master < 0:
            return
        self._stop.set()
        if self._port is not None:
            self._port.detach()
            self._port = None
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        self._thread = None
        with self._write_lock:
            for fd in (self._master, self._slave):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._master = self._slave = -1
        if self._link_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._link_path.unlink()
        self._open = False

    # --- host → adapter -----------------------------------------------------------------------
    def _read_loop(self, master: int, stop: threading.Event) -> None:
        pending = b""
        while not stop.is_set():
            try:
                readable, _, _ = select.select([master], [], [], 0.1)
            except (OSError, ValueError):
                return
            if not readable:
                continue
            try:
                chunk = os.read(master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                return  # fd closed by unplug
            pending += chunk
            lines = pending.split(b"\r")
            pending = lines.pop()  # an incomplete last line waits for the next chunk
            self._handle_lines(lines, stop)

    def _handle_lines(self, lines: list[bytes], stop: threading.Event) -> None:
        """Handle one read's worth of commands; frames go to the bus in batches, replies in one write."""
        replies = bytearray()
        batch: list[can.Message] = []
        for raw in lines:
            if stop.is_set():
                return
            line = raw.decode("ascii", errors="replace").strip("\n")
            if line and line[0] in "tTrRdDbB" and self._open:
                try:
                    message = parse_frame(line)
                    if not self._data_phase_ok(message):
                        replies += self._refuse_data_phase()
                        continue
                    batch.append(message)
                    if self._acknowledge:
                        replies += b"Z\r" if line[0] in "TRDB" else b"z\r"
                except SlcanProtocolError:
                    replies += _ERROR
                continue
            replies += self._flush_batch(batch)
            replies += self._handle_line(line)
        replies += self._flush_batch(batch)
        if replies:
            self._write(bytes(replies), wait_s=0.5)

    def _flush_batch(self, batch: list[can.Message]) -> bytes:
        """Queue parsed frames on the bus (blocking while the adapter's FIFO is full)."""
        if not batch:
            return b""
        port = self._port
        sent = port.send_many(batch, timeout_s=1.0) if port is not None else 0
        self.frames_from_host += sent
        lost = len(batch) - sent
        batch.clear()
        return _ERROR * lost

    def _handle_line(self, line: str) -> bytes:
        if not line:
            return _OK
        command = line[0]
        try:
            if command in "tTrRdDbB":
                return self._handle_frame(line)
            return self._handle_command(command, line[1:])
        except SlcanProtocolError:
            return _ERROR

    def _handle_command(self, command: str, argument: str) -> bytes:
        if command in "OL":
            if self._open or not self._bitrate:
                return _ERROR
            self._open = True
            self._update_bitrate_match()
            return _OK
        if command == "C":
            self._open = False
            self._update_bitrate_match()
            return _OK
        if command == "S":
            if self._open or argument not in _BITRATE_CODES:
                return _ERROR
            self._bitrate = _BITRATE_CODES[argument]
            return _OK
        if command == "s":
            if self._open:
                return _ERROR
            self._bitrate = bitrate_from_btr(argument)
            return _OK
        if command == "Y":
            if self._open or argument not in _DATA_BITRATE_CODES:
                return _ERROR
            self._data_bitrate = _DATA_BITRATE_CODES[argument]
            return _OK
        if command == "V":
            return f"{_HOST_VERSION}\r".encode()
        if command == "v":
            return f"{_FIRMWARE_VERSION}\r".encode()
        if command == "N":
            return f"N{self._serial_number}\r".encode()
        if command == "F":
            flags, self._flags = self._flags, 0
            return f"F{flags:02X}\r".encode()
        if command in "ZMmX":
            return _OK
        return _ERROR

    def _update_bitrate_match(self) -> None:
        port = self._port
        if port is None:
            return
        nominal_ok = self._bus.bitrate in (self._bitrate, 0)
        port.bitrate_ok = self._open and nominal_ok

    def _handle_frame(self, line: str) -> bytes:
        if not self._open:
            return _ERROR
        message = parse_frame(line)
        if not self._data_phase_ok(message):
            return self._refuse_data_phase()
        port = self._port
        if port is None:
            return _ERROR
        # Blocks while the adapter's FIFO is full: the host's writes then back up in the pty.
        if not port.send(message, timeout_s=1.0):
            return _ERROR
        self.frames_from_host += 1
        if not self._acknowledge:
            return b""
        return b"Z\r" if message.is_extended_id else b"z\r"

    def _data_phase_ok(self, message: can.Message) -> bool:
        """Can this adapter take part in ``message``'s data phase (FD with bit-rate switch)?

        Frames without BRS run at the nominal rate only. With BRS the adapter needs a data rate
        (``Y2``/``Y5``) equal to the bus's; a CANable at another data rate cannot sample the data
        phase, so it neither sends such frames nor hears them.
        """
        if not (message.is_fd and message.bitrate_switch):
            return True
        bus_rate = self._bus.data_bitrate if self._bus.bitrate else 0
        return bool(self._data_bitrate) and bus_rate in (self._data_bitrate, 0)

    def _refuse_data_phase(self) -> bytes:
        """A BRS frame the adapter cannot send: BEL without a data rate, else a bus error flag."""
        if not self._data_bitrate:
            return _ERROR
        self._flags |= _FLAG_BUS_ERROR
        return b""

    # --- adapter → host -----------------------------------------------------------------------
    def _on_bus_frame(self, message: can.Message) -> None:
        if not self._open or not self._data_phase_ok(message):
            return
        if self._write(format_frame(message), wait_s=_WRITE_WAIT_S):
            self.frames_to_host += 1
        else:
            self._flags |= _FLAG_DATA_OVERRUN

    def _write(self, data: bytes, wait_s: float) -> bool:
        """Write a whole line to the host or nothing (a full host buffer drops the frame)."""
        with self._write_lock:
            master = self._master
            if master < 0:
                return False
            view = memoryview(data)
            while view:
                try:
                    _, writable, _ = select.select([], [master], [], wait_s)
                    if not writable:
                        return False
                    written = os.write(master, view)
                except BlockingIOError:
                    continue
                except OSError:
                    return False
                view = view[written:]
            return True

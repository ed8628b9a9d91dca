"""A Modbus TCP gateway in front of the rack: Ethernet on one side, the RS485 bus on the other.

Like the serial-to-Ethernet gateways sold for battery racks, it listens on TCP (here 127.0.0.1
only: a device that takes firmware is never put on the workshop network), takes Modbus TCP
requests (MBAP header: transaction id, protocol id 0, length, unit id; then the PDU), and for each
one sends an RTU frame on the bus as its master, waits for the module's answer and returns its PDU
under the same transaction id. The bus is the same :class:`~bmsflasher.sim.wire.rs485_bus.Rs485Bus`
the pty serves — same pacing, same faults — with the gateway's serial side at the rack's settings.

As real gateways do:

* unit id 0 is a broadcast: it goes on the bus and nobody, not even the gateway, answers;
* a unit id outside the gateway's configured addresses gets exception 0x0A (gateway path
  unavailable) without touching the bus;
* a configured unit that gives no valid answer in time (silent, cut off, late, or its answer
  garbled by a collision) gets exception 0x0B (gateway target device failed to respond);
* requests from several connections are served one at a time on the bus (it is half duplex);
* a malformed MBAP header (protocol id not 0, impossible length) closes that connection.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterable
from typing import Final

from bmsflasher.sim.wire.rs485_bus import Rs485Bus
from bmsflasher.sim.wire.rs485_line import LineSettings
from bmsflasher.sim.wire.rtu_framing import BROADCAST_ADDRESS, MAX_PDU_BYTES, parse_rtu, rtu_frame
from bmsflasher.sim.wire.tcp_port import LOOPBACK, listen_on_loopback

MBAP: Final = struct.Struct(">HHHB")
EXCEPTION_PATH_UNAVAILABLE: Final = 0x0A
EXCEPTION_TARGET_NO_RESPONSE: Final = 0x0B
BROADCAST_TURNAROUND_S: Final = 0.05
"""Pause after a broadcast before the next request (the modules are busy executing it)."""
_ACCEPT_POLL_S: Final = 0.1
_WAIT_TICK_S: Final = 0.0005


class GatewayHost:
    """The gateway's serial side as the bus's host end: it sends whole frames, collects what comes back."""

    def __init__(self, settings: LineSettings) -> None:
        self._settings = settings
        self._lock = threading.RLock()
        self._changed = threading.Condition(threading.Lock())
        self._outgoing = bytearray()
        self._received = bytearray()
        self._last_end_s = 0.0

    @property
    def lock(self) -> threading.RLock:
        return self._lock

    def host_attached(self) -> bool:
        return True

    def host_line(self) -> LineSettings:
        return self._settings

    def read(self, max_bytes: int) -> bytes:
        with self._changed:
            data = bytes(self._outgoing[:max_bytes])
            del self._outgoing[:max_bytes]
            return data

    def deliver(self, data: bytes, end_s: float) -> None:
        if not data:
            return
        with self._changed:
            self._received.extend(data)
            self._last_end_s = end_s
            self._changed.notify_all()

    def wait_readable(self, timeout_s: float) -> None:
        with self._changed:
            if not self._outgoing:
                self._changed.wait(timeout_s)

    # --- the gateway's side ----------------------------------------------------------------------
    def send(self, frame: bytes) -> None:
        """Start a transaction: forget stale bytes and hand ``frame`` to the adapter."""
        with self._changed:
            self._received.clear()
            self._outgoing.extend(frame)
            self._changed.notify_all()

    def received(self) -> tuple[bytes, float]:
        """What came back so far, and when its last byte ended on the line."""
        with self._changed:
            return bytes(self._received), self._last_end_s

    def wait_change(self, timeout_s: float) -> None:
        with self._changed:
            self._changed.wait(timeout_s)


class ModbusTcpGateway:
    """Serves Modbus TCP on 127.0.0.1 and forwards every request onto ``bus`` through ``host``.

    Args:
        bus: the rack's bus, whose host end is ``host`` (started separately).
        host: the gateway's serial side.
        addresses: the unit ids the gateway routes to the bus (its configured table).
        timeout_s: how long to wait for a module's answer before exception 0x0B.
        tcp_port: the port to listen on; 0 lets the OS choose (see :attr:`tcp_port`).

    Raises:
        OSError: the port cannot be listened on.
    """

    def __init__(
        self,
        bus: Rs485Bus,
        host: GatewayHost,
        addresses: Iterable[int],
        *,
        timeout_s: float,
        tcp_port: int = 0,
    ) -> None:
        self._bus = bus
        self._host = host
        self._addresses = frozenset(addresses)
        self._timeout_s = timeout_s
        self._listener = listen_on_loopback(tcp_port)
        self._listener.settimeout(_ACCEPT_POLL_S)
        self._tcp_port = int(self._listener.getsockname()[1])
        self._bus_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._clients: set[socket.socket] = set()
        self._clients_lock = threading.Lock()
        self.transactions = 0
        self.exceptions: dict[int, int] = {}
        """Exception code -> how many times the gateway answered it itself."""

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def tcp_port(self) -> int:
        return self._tcp_port

    def start(self) -> ModbusTcpGateway:
        thread = threading.Thread(target=self._accept_loop, name="sim-modbus-gateway", daemon=True)
        self._threads.append(thread)
        thread.start()
        return self

    def stop(self) -> None:
        """Stop listening, close every connection, join the threads (bounded)."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._clients_lock:
            clients = list(self._clients)
        for client in clients:
            _hang_up(client)
        for thread in self._threads:
            thread.join(timeout=2.0)

    def __enter__(self) -> ModbusTcpGateway:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # --- one request -----------------------------------------------------------------------------
    def transact(self, unit: int, pdu: bytes) -> bytes | None:
        """Forward a request PDU to ``unit``: the response PDU (maybe an exception); None for a broadcast."""
        if unit != BROADCAST_ADDRESS and unit not in self._addresses:
            return self._exception(pdu, EXCEPTION_PATH_UNAVAILABLE)
        settings = self._bus.settings
        frame = rtu_frame(unit, pdu)
        with self._bus_lock:
            self.transactions += 1
            self._host.send(frame)
            sent_by = time.monotonic() + len(frame) * settings.char_time_s + settings.frame_gap_s
            if unit == BROADCAST_ADDRESS:
                self._wait_line_past(sent_by + BROADCAST_TURNAROUND_S)
                return None
            reply = self._collect_answer(sent_by + self._timeout_s)
        parsed = parse_rtu(reply)
        if parsed is None or parsed.address != unit or not parsed.pdu or (parsed.pdu[0] & 0x7F) != pdu[0]:
            return self._exception(pdu, EXCEPTION_TARGET_NO_RESPONSE)
        return parsed.pdu

    def _collect_answer(self, deadline: float) -> bytes:
        """The answer frame: bytes until 3.5 characters of silence, or nothing by ``deadline``."""
        gap = self._bus.settings.frame_gap_s
        while not self._stop.is_set():
            data, last_end = self._host.received()
            now = time.monotonic()
            if data:
                quiet_since = last_end + gap
                if now >= quiet_since and self._bus.decoded_until >= quiet_since:
                    return data
            elif now >= deadline:
                return b""
            self._host.wait_change(_WAIT_TICK_S)
        return b""

    def _wait_line_past(self, moment: float) -> None:
        while not self._stop.is_set() and self._bus.decoded_until < moment:
            time.sleep(_WAIT_TICK_S)

    def _exception(self, pdu: bytes, code: int) -> bytes:
        self.exceptions[code] = self.exceptions.get(code, 0) + 1
        return bytes([(pdu[0] | 0x80) & 0xFF, code])

    # --- TCP -------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with contextlib.suppress(OSError):
                client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._clients_lock:
                self._clients.add(client)
            thread = threading.Thread(
                target=self._serve_client, args=(client,), name="sim-modbus-tcp", daemon=True
            )
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()

    def _serve_client(self, client: socket.socket) -> None:
        try:
            while not self._stop.is_set():
                header = _receive_exactly(client, MBAP.size)
                if header is None:
                    return
                transaction, protocol, length, unit = MBAP.unpack(header)
                if protocol != 0 or not 2 <= length <= MAX_PDU_BYTES + 1:
                    return  # not Modbus: drop the connection, as the spec's server does
                pdu = _receive_exactly(client, length - 1)
                if pdu is None:
                    return
                response = self.transact(unit, pdu)
                if response is None:
                    continue
                client.sendall(MBAP.pack(transaction, 0, len(response) + 1, unit) + response)
        except OSError:
            return
        finally:
            with self._clients_lock:
                self._clients.discard(client)
            _hang_up(client)


def _receive_exactly(client: socket.socket, count: int) -> bytes | None:
    data = bytearray()
    while len(data) < count:
        chunk = client.recv(count - len(data))
        if not chunk:
            return None
        data.extend(chunk)
    return bytes(data)


def _hang_up(client: socket.socket) -> None:
    with contextlib.suppress(OSError):
        client.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        client.close()

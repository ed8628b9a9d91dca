"""Serve virtual BMS nodes over UDS on CAN: python-can ``virtual`` channel or an emulated slcan adapter.

``bmsflasher sim --protocol uds --link virtual|slcan`` calls :func:`run`; tests and the GUI demo call
:func:`start` and keep the returned :class:`CanSimulation` (in-process). Both put every node and the
host-side attachment on one :class:`~bmsflasher.sim.wire.can_bus.CanBusTimeline`, so frames in both
directions are paced at the configured bit rate.

``virtual``: the tool opens ``can.Bus(interface="virtual", channel=<channel>)`` in the same process;
a gateway on that channel carries its frames onto the paced bus and back.

``--broadcast`` adds the first node's cyclic broadcasts (:mod:`~bmsflasher.sim.wire.can_broadcast`);
``--replay FILE`` adds a node that replays a bus log (:mod:`~bmsflasher.sim.wire.replay_node`),
beside the nodes or, with ``--replay-only``, instead of them.

``slcan``: the tool opens ``can.Bus(interface="slcan", channel=<pty path>, bitrate=<bitrate>)`` from
any process. When :func:`run` serves an slcan adapter from the main thread, ``SIGUSR1`` pulls the
adapter's USB cable and ``SIGUSR2`` plugs it back in (fault injection from another process).
"""

from __future__ import annotations

import signal
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import Any, Final

import can

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.types import CanAddressing
from bmsflasher.sim.uds.server import (
    FUNCTIONAL_REQUEST_ID,
    MAX_NODES,
    ServerIds,
    UdsDevice,
    UdsServer,
    UdsServerConfig,
    server_ids,
)
from bmsflasher.sim.wire.can_broadcast import BroadcastNode
from bmsflasher.sim.wire.can_bus import BusPort, CanBusTimeline
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.replay_node import ReplayNode
from bmsflasher.sim.wire.slcan_adapter import SlcanAdapter

LINKS: Final = ("virtual", "slcan")
_SLCAN_BITRATES: Final = frozenset(
    {10_000, 20_000, 50_000, 83_300, 100_000, 125_000, 250_000, 500_000, 750_000, 1_000_000}
)
#: CAN-FD data-phase rates of the slcan protocol (CANable 2.0 firmware ``Y2`` / ``Y5``).
_SLCAN_DATA_BITRATES: Final = frozenset({2_000_000, 5_000_000})


class _VirtualGateway:
    """Bridges a python-can ``virtual`` channel (the tool's side) onto the paced bus."""

    def __init__(self, bus: CanBusTimeline, channel: str, fd: bool) -> None:
        self._can = can.Bus(interface="virtual", channel=channel, receive_own_messages=False)
        self._port: BusPort = bus.attach(f"virtual:{channel}", self._to_host, tx_depth=4096)
        self._stop = threading.Event()
        self._fd = fd
        self._thread = threading.Thread(target=self._from_host, name="sim-can-virtual", daemon=True)
        self._thread.start()

    def _to_host(self, message: can.Message) -> None:
        self._can.send(message)

    def _from_host(self) -> None:
        while not self._stop.is_set():
            message = self._can.recv(timeout=0.05)
            if message is not None:
                self._port.send(message, timeout_s=1.0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._port.detach()
        self._can.shutdown()


@dataclass
class CanSimulation:
    """A running UDS-on-CAN simulation: the bus, one server per node, and the host attachment."""

    link: str
    bus: CanBusTimeline
    servers: list[UdsServer]
    channel: str
    interface: str
    adapter: SlcanAdapter | None = None
    gateway: _VirtualGateway | None = None
    owned_devices: list[Any] = field(default_factory=list)
    broadcaster: BroadcastNode | None = None
    replay: ReplayNode | None = None
    _temp_dir: tempfile.TemporaryDirectory[str] | None = None
    _closed: bool = False

    def connection(self) -> dict[str, object]:
        """What a client needs to connect: the JSON line ``bmsflasher sim --json`` prints."""
        return {
            "protocol": "uds",
            "interface": self.interface,
            "channel": self.channel,
            "bitrate": self.bus.bitrate,
            "data_bitrate": self.bus.data_bitrate if self.servers and self.servers[0].config.fd else 0,
            "fd": bool(self.servers and self.servers[0].config.fd),
            "functional_id": self.servers[0].ids.functional_id if self.servers else FUNCTIONAL_REQUEST_ID,
            "addressing": str(
                self.servers[0].config.addressing if self.servers else CanAddressing.NORMAL_11BIT
            ),
            "nodes": [_node_json(server) for server in self.servers],
            "broadcast": self.broadcaster is not None,
            "replay": None if self.replay is None else str(self.replay.path),
        }

    def add_node(self, device: UdsDevice, config: UdsServerConfig) -> UdsServer:
        """Put one more node on the running bus, in any addressing (a mixed 11-bit/29-bit bus).

        The node is served until :meth:`close`; the caller keeps owning ``device``.

        Raises:
            BmsFlasherError: the node's identifiers are invalid or already taken on this bus.
        """
        ids = _checked_ids(config)
        taken = {(s.ids.extended_id, s.request_id) for s in self.servers}
        if (ids.extended_id, ids.request_id) in taken:
            raise BmsFlasherError(f"a node already answers requests on 0x{ids.request_id:X}")
        server = UdsServer(device, self.bus, config)
        self.servers.append(server)
        return server

    def close(self) -> None:
        """Stop serving, leave the bus, remove the adapter's pty. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for node in (self.replay, self.broadcaster):
            if node is not None:
                node.close()
        for server in self.servers:
            server.close()
        if self.adapter is not None:
            self.adapter.close()
        if self.gateway is not None:
            self.gateway.close()
        self.bus.close()
        for device in self.owned_devices:
            device.close()
        if self._temp_dir is not None:
            self._temp_dir.cleanup()

    def __enter__(self) -> CanSimulation:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _node_json(server: UdsServer) -> dict[str, object]:
    """One node of the ``listening`` line; 29-bit nodes also name their addressing and tester.

    11-bit entries keep their original three keys, so scripts written for them still match.
    """
    entry: dict[str, object] = {
        "node": server.config.node,
        "request_id": server.request_id,
        "response_id": server.response_id,
    }
    if server.config.addressing is CanAddressing.NORMAL_FIXED_29BIT:
        entry["addressing"] = str(server.config.addressing)
        entry["tester_address"] = server.config.tester_address
    return entry


def _extra_devices(device: UdsDevice, options: FrontEndOptions) -> tuple[list[UdsDevice], list[Any]]:
    """The devices for nodes 2..N: given ones first, then new ones derived from the first device."""
    devices: list[UdsDevice] = [device, *options.extra_devices]
    owned: list[Any] = []
    missing = options.nodes - len(devices)
    if missing > 0:
        from bmsflasher.sim.device.virtual_bms import VirtualBms

        base = getattr(device, "options", None)
        if base is None:
            raise BmsFlasherError("more nodes were requested than devices were given")
        for index in range(missing):
            number = len(devices) + 1
            state = base.state_file
            extra_state = state.with_name(f"{state.stem}.node{number}{state.suffix}") if state else None
            extra = VirtualBms.create(
                replace(base, seed=base.seed + 1000 * (index + 1), serial_number=None, state_file=extra_state)
            )
            devices.append(extra)
            owned.append(extra)
    return devices[: options.nodes], owned


def start(
    device: UdsDevice,
    options: FrontEndOptions,
    link: str = "virtual",
    *,
    server_config: UdsServerConfig | None = None,
) -> CanSimulation:
    """Start serving ``device`` (and ``options.extra_devices``) over UDS on the chosen CAN link.

    Raises:
        BmsFlasherError: an option cannot be served (unknown link, node numbers, bit rate).
    """
    if link not in LINKS:
        raise BmsFlasherError(f"the CAN link must be one of {', '.join(LINKS)}, not '{link}'")
    if options.addressing is CanAddressing.NORMAL_11BIT and (
        not options.nodes >= 1 or options.node_id + options.nodes - 1 > MAX_NODES or options.node_id < 1
    ):
        raise BmsFlasherError(f"UDS nodes must be numbered within 1..{MAX_NODES}")
    if link == "slcan" and options.bitrate not in _SLCAN_BITRATES:
        raise BmsFlasherError(f"an slcan adapter cannot run at {options.bitrate} bit/s")
    if link == "slcan" and options.fd and options.data_bitrate not in _SLCAN_DATA_BITRATES:
        raise BmsFlasherError(
            f"an slcan adapter cannot run its CAN-FD data phase at {options.data_bitrate} bit/s"
            " (CANable 2.0 offers 2000000 and 5000000)"
        )
    base_config = replace(
        server_config or UdsServerConfig(fd=options.fd, response_delay_s=options.response_delay_s),
        addressing=options.addressing,
        tester_address=options.tester_address,
    )
    first = options.node_id if options.addressing is CanAddressing.NORMAL_11BIT else options.node_address
    for index in range(options.nodes):
        _checked_ids(replace(base_config, node=first + index))
    devices, owned = _extra_devices(device, options)
    bus = CanBusTimeline(
        options.bitrate,
        options.data_bitrate if options.fd else 0,
        drop_rate=options.drop_rate,
        error_rate=_frame_error_rate(options.bit_error_rate),
        seed=options.seed,
    )
    servers: list[UdsServer] = []
    extras: dict[str, Any] = {}
    try:
        for index, node_device in enumerate([] if options.replay_only else devices):
            servers.append(UdsServer(node_device, bus, replace(base_config, node=first + index)))
        if options.broadcast and not options.replay_only:
            extras["broadcaster"] = BroadcastNode(bus, device)
        if options.replay is not None:
            extras["replay"] = ReplayNode(bus, options.replay, loop=options.replay_loop)
        if link == "virtual":
            gateway = _VirtualGateway(bus, options.channel, options.fd)
            return CanSimulation(
                "virtual",
                bus,
                servers,
                options.channel,
                "virtual",
                gateway=gateway,
                owned_devices=owned,
                **extras,
            )
        temp_dir: tempfile.TemporaryDirectory[str] | None = None
        if options.link_path:
            link_path = Path(options.link_path)
        else:
            temp_dir = tempfile.TemporaryDirectory(prefix="bmsflasher-slcan-")
            link_path = Path(temp_dir.name) / "slcan0"
        adapter = SlcanAdapter(bus, link_path=link_path)
        return CanSimulation(
            "slcan",
            bus,
            servers,
            adapter.path,
            "slcan",
            adapter=adapter,
            owned_devices=owned,
            _temp_dir=temp_dir,
            **extras,
        )
    except BaseException:
        for node in extras.values():
            node.close()
        for server in servers:
            server.close()
        bus.close()
        for extra in owned:
            extra.close()
        raise


def _checked_ids(config: UdsServerConfig) -> ServerIds:
    """The node's identifiers, or one clear sentence on why the node cannot be addressed."""
    try:
        return server_ids(config.addressing, config.node, config.tester_address)
    except ValueError as exc:
        raise BmsFlasherError(f"the UDS node cannot be served: {exc}") from exc


def _frame_error_rate(bit_error_rate: float) -> float:
    """Probability that a typical 8-byte frame (~116 bits) suffers at least one bit error."""
    if bit_error_rate <= 0:
        return 0.0
    return min(0.5, 1.0 - (1.0 - bit_error_rate) ** 116)


EmitJson = Callable[[dict[str, object]], None]


def run_virtual(
    device: UdsDevice, options: FrontEndOptions, emit_json: EmitJson, stop: threading.Event
) -> None:
    """``bmsflasher sim --protocol uds --link virtual``: serve until ``stop`` is set."""
    _serve(device, options, "virtual", emit_json, stop)


def run_slcan(
    device: UdsDevice, options: FrontEndOptions, emit_json: EmitJson, stop: threading.Event
) -> None:
    """``bmsflasher sim --protocol uds --link slcan``: serve until ``stop`` is set.

    From the main thread, ``SIGUSR1`` unplugs the emulated adapter and ``SIGUSR2`` plugs it back.
    """
    _serve(device, options, "slcan", emit_json, stop)


def _serve(
    device: UdsDevice, options: FrontEndOptions, link: str, emit_json: EmitJson, stop: threading.Event
) -> None:
    """Start, announce the connection with one ``listening`` event, serve until ``stop``.

    On the way out one ``bus`` event reports what the bus carried (frames, CAN-FD and BRS frames
    by data length), so a test in another process can check what really went over the wire.
    """
    with start(device, options, link) as simulation:
        emit_json({"event": "listening", "link": link, **simulation.connection()})
        restore = _install_cable_signals(simulation)
        try:
            while not stop.wait(0.2):
                pass
        finally:
            restore()
        emit_json({"event": "bus", **_bus_summary(simulation)})


def _bus_summary(simulation: CanSimulation) -> dict[str, object]:
    """What the bus carried while serving (frames, FD/BRS frames by length): evidence for tests."""
    stats = simulation.bus.stats
    return {
        "frames": stats.frames,
        "bits": stats.bits,
        "busy_s": round(stats.busy_s, 6),
        "error_frames": stats.error_frames,
        "dropped": stats.dropped,
        "fd_frames": stats.fd_frames,
        "brs_frames": stats.brs_frames,
        "fd_lengths": {str(length): count for length, count in sorted(stats.fd_lengths.items())},
        "broadcast_frames": simulation.broadcaster.frames_sent if simulation.broadcaster else 0,
        "replayed_frames": simulation.replay.frames_sent if simulation.replay else 0,
    }


def _install_cable_signals(simulation: CanSimulation) -> Callable[[], None]:
    """SIGUSR1/SIGUSR2 unplug/replug the slcan adapter (only possible from the main thread)."""
    adapter = simulation.adapter
    if (
        adapter is None
        or threading.current_thread() is not threading.main_thread()
        or not hasattr(signal, "SIGUSR1")
    ):
        return lambda: None

    def unplug(_signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=adapter.unplug, name="sim-slcan-unplug", daemon=True).start()

    def replug(_signum: int, _frame: FrameType | None) -> None:
        threading.Thread(target=adapter.replug, name="sim-slcan-replug", daemon=True).start()

    previous = (signal.signal(signal.SIGUSR1, unplug), signal.signal(signal.SIGUSR2, replug))

    def restore() -> None:
        signal.signal(signal.SIGUSR1, previous[0])
        signal.signal(signal.SIGUSR2, previous[1])

    return restore


def serve_with_cable_signals(simulation: CanSimulation, emit_json: EmitJson, stop: threading.Event) -> None:
    """Serve a started simulation until ``stop``, then report what the bus carried (``bus`` event).

    The virtual pack's serving loop: from the main thread SIGUSR1/SIGUSR2 pull and replug the adapter.
    """
    restore = _install_cable_signals(simulation)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        restore()
    emit_json({"event": "bus", **_bus_summary(simulation)})

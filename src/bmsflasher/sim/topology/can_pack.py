"""Serve a virtual pack over UDS on one CAN bus behind one emulated slcan adapter (or ``virtual``).

Every node is a whole virtual BMS with its own UDS server, at its own 29-bit normal fixed address
(``spec.py``); all of them, the pack's status traffic (``pack_link.py``) and the adapter share one
:class:`~bmsflasher.sim.wire.can_bus.CanBusTimeline`, so frames are paced and arbitrated as on a
real pack bus. ``bmsflasher sim --protocol uds --topology …`` calls :func:`run`; tests call
:func:`start` and keep the :class:`CanPack`.

Nodes are built (or restored from their state files) in parallel: each boot takes the options'
``boot_time_s``, and a pack of 15 must still start in a second or two.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Final

from bmsflasher.core.types import CanAddressing
from bmsflasher.firmware.demo_pack_models import Tier
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.topology.pack_link import PackLink
from bmsflasher.sim.topology.pack_node import PackNodeBms, PackRole
from bmsflasher.sim.topology.peers import PeerTable
from bmsflasher.sim.topology.spec import NodeSpec, PackTopology, node_specs
from bmsflasher.sim.wire.can_frontend import CanSimulation, EmitJson, serve_with_cable_signals
from bmsflasher.sim.wire.can_frontend import start as start_can
from bmsflasher.sim.wire.frontend_options import FrontEndOptions

_BUILD_THREADS: Final = 8


@dataclass
class CanPack:
    """A running pack: the CAN simulation (bus, servers, adapter), its nodes and their traffic."""

    simulation: CanSimulation
    specs: list[NodeSpec]
    nodes: list[PackNodeBms]
    link: PackLink
    _closed: bool = field(default=False)

    def connection(self) -> dict[str, object]:
        """The ``listening`` line: the adapter's link plus every node (address, model, serial, ids)."""
        line = self.simulation.connection()
        entries = []
        for spec, node, server in zip(self.specs, self.nodes, self.simulation.servers, strict=True):
            identity = node.identity()
            entries.append(
                {
                    "address": spec.address,
                    "tier": str(spec.tier),
                    "name": spec.name,
                    "model": identity.model,
                    "serial": identity.serial_number,
                    "hardware": identity.hardware_revision,
                    "firmware": str(identity.firmware_version) if identity.firmware_version else None,
                    "addressing": str(CanAddressing.NORMAL_FIXED_29BIT),
                    "tester_address": server.config.tester_address,
                    "request_id": server.request_id,
                    "response_id": server.response_id,
                    "functional_id": server.ids.functional_id,
                    "state_file": str(spec.options.state_file) if spec.options.state_file else None,
                }
            )
        return {**line, "topology": str(_topology_of(self.specs)), "nodes": entries}

    def close(self) -> None:
        """Stop the traffic, the servers and the adapter, then release every state file."""
        if self._closed:
            return
        self._closed = True
        self.link.close()
        self.simulation.close()
        for node in self.nodes:
            node.close()

    def __enter__(self) -> CanPack:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _topology_of(specs: list[NodeSpec]) -> PackTopology:
    counts = {str(spec.tier): 0 for spec in specs}
    for spec in specs:
        counts[str(spec.tier)] += 1
    return PackTopology(counts.get("bcu", 0), counts.get("bmc", 0), counts.get("bmu", 0))


def build_nodes(specs: list[NodeSpec]) -> list[PackNodeBms]:
    """Create (or restore) every node in parallel and give each its pack role.

    Raises:
        SimError: a node's options or state file cannot be used (every node built is closed).
    """
    peers = {spec.address: spec.tier for spec in specs}
    with ThreadPoolExecutor(max_workers=_BUILD_THREADS, thread_name_prefix="sim-pack-build") as pool:
        futures = [pool.submit(PackNodeBms.create, spec.options) for spec in specs]
    nodes: list[PackNodeBms] = []
    failure: BaseException | None = None
    for future in futures:
        try:
            nodes.append(future.result())
        except BaseException as exc:  # noqa: BLE001 -- re-raised once every built node is closed
            failure = failure or exc
    if failure is not None:
        for node in nodes:
            node.close()
        raise failure
    module_cells = sum(spec.model.cells for spec in specs if spec.tier is Tier.BMU)
    for spec, node in zip(specs, nodes, strict=True):
        span = module_cells if spec.tier is Tier.BCU else 0
        node.join_pack(
            PackRole(spec.tier, spec.model.model, spec.address, PeerTable(spec.address, peers), span)
        )
    return nodes


def start(topology: PackTopology, base: SimOptions, options: FrontEndOptions, link: str = "slcan") -> CanPack:
    """Build the pack and serve it on ``link`` (``slcan`` or ``virtual``).

    ``options`` gives the bus (bit rate, faults, adapter path, tester address); its node numbering
    and addressing are replaced by the pack's own.

    Raises:
        SimError / BmsFlasherError: a node or the link cannot be served.
    """
    specs = node_specs(topology, base)
    nodes = build_nodes(specs)
    simulation: CanSimulation | None = None
    try:
        first = replace(
            options,
            nodes=1,
            extra_devices=(),
            addressing=CanAddressing.NORMAL_FIXED_29BIT,
            node_address=specs[0].address,
        )
        simulation = start_can(nodes[0], first, link)
        base_config = simulation.servers[0].config
        for spec, node in zip(specs[1:], nodes[1:], strict=True):
            simulation.add_node(node, replace(base_config, node=spec.address))
        return CanPack(simulation, specs, nodes, PackLink(simulation.bus, nodes))
    except BaseException:
        if simulation is not None:
            simulation.close()
        for node in nodes:
            node.close()
        raise


def node_event(spec: NodeSpec, node: PackNodeBms, address: int) -> dict[str, object]:
    """One node's ``device`` line (``address``: its CAN address, or its unit address on a rack)."""
    identity = node.identity()
    return {
        "event": "device",
        "address": address,
        "tier": str(spec.tier),
        "name": spec.name,
        "model": identity.model,
        "serial": identity.serial_number,
        "hardware": identity.hardware_revision,
        "firmware": str(identity.firmware_version) if identity.firmware_version else None,
        "mode": identity.mode.value,
        "state_file": str(spec.options.state_file) if spec.options.state_file else None,
    }


def describe(topology: PackTopology, base: SimOptions, emit_json: EmitJson) -> None:
    """``sim --topology … --info``: build (or restore) every node, print its ``device`` line, close."""
    specs = node_specs(topology, base)
    nodes = build_nodes(specs)
    try:
        for spec, node in zip(specs, nodes, strict=True):
            emit_json(node_event(spec, node, spec.address))
    finally:
        for node in nodes:
            node.close()


def run(
    topology: PackTopology,
    base: SimOptions,
    options: FrontEndOptions,
    *,
    link: str,
    emit_json: EmitJson,
    stop: threading.Event,
) -> None:
    """``bmsflasher sim --protocol uds --topology …``: announce the pack, serve until ``stop``.

    From the main thread ``SIGUSR1`` unplugs the emulated adapter and ``SIGUSR2`` plugs it back (the
    single device's cable pull); on the way out one ``bus`` event says what the bus carried.
    """
    with start(topology, base, options, link) as pack:
        for spec, node in zip(pack.specs, pack.nodes, strict=True):
            emit_json(node_event(spec, node, spec.address))
        emit_json({"event": "listening", "link": link, **pack.connection()})
        serve_with_cable_signals(pack.simulation, emit_json, stop)

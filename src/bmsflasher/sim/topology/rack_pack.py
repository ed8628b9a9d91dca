"""Serve a virtual pack as an RS485 rack: every node a Modbus module, the pack's own CAN inside.

``bmsflasher sim --protocol modbus --link pty|tcp --topology …`` puts the same nodes as the CAN
pack (BCU, BMCs, BMUs: their models, serial numbers, state files) on the rack's RS485 bus at unit
addresses 1, 2, 3, … in pack order (the BCU is unit 1), served by ``sim/modbus`` exactly like the
rack's modules. The nodes still talk to each other on an internal CAN bus of their own (the pack's
status frames, ``pack_link``), so the BCU's pack values and version checks work as on the CAN pack;
the tool only sees the RS485 side.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.topology.can_pack import build_nodes, node_event
from bmsflasher.sim.topology.pack_link import PackLink
from bmsflasher.sim.topology.spec import PackTopology, node_specs
from bmsflasher.sim.wire.can_bus import CanBusTimeline
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.rack_frontend import EmitJson, run_pty, run_tcp

INTERNAL_BITRATE = 500_000
"""The pack's internal CAN bus between its nodes (the tool never opens it)."""


def run(
    topology: PackTopology,
    base: SimOptions,
    options: FrontEndOptions,
    *,
    link: str,
    emit_json: EmitJson,
    stop: threading.Event,
) -> None:
    """Announce every node, then serve the rack on ``link`` (``pty`` or ``tcp``) until ``stop``."""
    specs = node_specs(topology, base)
    nodes = build_nodes(specs)
    bus = CanBusTimeline(INTERNAL_BITRATE, seed=options.seed)
    # Status frames only: the BMUs' cell frames would be heard by no one on this internal bus (the
    # rack's tool reads the modules over RS485) and would cost the rack's line its CPU time.
    traffic = PackLink(bus, nodes, cell_period_s=0.0)
    try:
        entries = []
        for spec, node in zip(specs, nodes, strict=True):
            identity = node.identity()
            entry: dict[str, object] = {
                "address": spec.position + 1,
                "tier": str(spec.tier),
                "name": spec.name,
                "model": identity.model,
                "serial": identity.serial_number,
                "hardware": identity.hardware_revision,
                "firmware": str(identity.firmware_version) if identity.firmware_version else None,
                "state_file": str(spec.options.state_file) if spec.options.state_file else None,
            }
            entries.append(entry)
            emit_json(node_event(spec, node, spec.position + 1))

        def announce(event: dict[str, object]) -> None:
            if event.get("event") == "listening":
                event = {**event, "topology": str(topology), "nodes": entries}
            emit_json(event)

        addresses = tuple(spec.position + 1 for spec in specs)
        rack_options = replace(
            options, extra_devices=tuple(nodes[1:]), rack=replace(options.rack, addresses=addresses)
        )
        launcher = run_tcp if link == "tcp" else run_pty
        launcher(nodes[0], rack_options, announce, stop)
    finally:
        traffic.close()
        bus.close()
        for node in nodes:
            node.close()

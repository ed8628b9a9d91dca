"""The virtual pack's parts without a process: topology strings, node specs, status frames, peers.

The pack itself runs in-process on an unpaced bus (bit rate 0) for the BCU's logic; the
cross-process proof through the slcan pty is ``tests/integration/test_pack_slcan_xproc.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.demo_pack_models import Tier
from bmsflasher.sim.device.scenarios import full_update, make_image
from bmsflasher.sim.errors import SimError
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.topology.can_pack import build_nodes
from bmsflasher.sim.topology.pack_link import PackLink
from bmsflasher.sim.topology.pack_node import INCOMPATIBLE_NODE_DTC, accepted_series
from bmsflasher.sim.topology.peers import FRESH_S, PeerTable
from bmsflasher.sim.topology.spec import PackTopology, node_specs, node_state_file, parse_topology
from bmsflasher.sim.topology.status_frames import NodeStatus, decode_status, sender_of, status_frame
from bmsflasher.sim.wire.can_bus import CanBusTimeline


def test_topology_strings() -> None:
    assert parse_topology("bcu=1,bmc=2,bmu=12") == PackTopology(1, 2, 12)
    assert parse_topology(" BMU = 3 , bcu=1") == PackTopology(1, 0, 3)
    for bad in ("bcu=1,bcu=2", "bcu", "bcu=1,xyz=2", "bmu=65", "bcu=0", ""):
        with pytest.raises(SimError):
            parse_topology(bad)


def test_node_specs_give_tier_blocks_models_serials_and_state_files(tmp_path: Path) -> None:
    specs = node_specs(PackTopology(1, 2, 12), SimOptions(seed=4, state_file=tmp_path))
    assert [s.address for s in specs] == [0x10, 0x20, 0x21, *range(0x40, 0x4C)]
    assert [s.model.model for s in specs[:4]] == ["VBCU-1", "VBMC-4", "VBMC-4", "VBMU-16"]
    assert specs[3].options.cells == 16
    assert {s.options.hardware_revision for s in specs} == {"A"}
    assert len({s.options.serial_number for s in specs}) == 15
    assert specs[-1].options.serial_number == "VB2400004-BMU12"
    assert specs[-1].options.state_file == tmp_path / "bmu12.state"
    assert node_state_file(tmp_path / "pack.state", "bcu1") == tmp_path / "pack.state.bcu1"
    assert node_state_file(None, "bcu1") is None


def test_status_frames_round_trip_and_name_their_sender() -> None:
    status = NodeStatus(53_120, -2_500, 61.5, FirmwareVersion(1, 2, 3))
    frame = status_frame(0x4B, status)
    assert frame.arbitration_id == 0x18FF504B
    assert frame.is_extended_id
    assert sender_of(frame) == 0x4B
    assert decode_status(bytes(frame.data)) == status
    frame.arbitration_id = 0x18DAF14B  # a UDS response is no status frame
    assert sender_of(frame) is None
    with pytest.raises(ValueError, match="8 data bytes"):
        decode_status(b"\x00" * 7)


def test_peer_table_counts_frames_errors_and_forgets_silent_peers() -> None:
    table = PeerTable(0x10, {0x10: Tier.BCU, 0x40: Tier.BMU, 0x41: Tier.BMU})
    data = bytes(status_frame(0x40, NodeStatus(50_000, 0, 50.0, FirmwareVersion(1, 0, 0))).data)
    now = time.monotonic()
    table.on_status(0x40, data, now)
    table.on_status(0x41, data[:5], now)  # malformed
    table.on_status(0x10, data, now)  # its own frame: not a peer's
    counters = table.counters()
    assert (counters.frames_from_peers, counters.frame_errors, counters.peers_expected) == (1, 1, 2)
    assert [r.address for r in table.heard(now)] == [0x40]
    assert table.heard(now + FRESH_S + 0.1) == []


def test_accepted_series_come_from_the_bcu_image_or_the_demo_table() -> None:
    assert accepted_series("healthy") == frozenset({(1, 0), (1, 1)})
    assert accepted_series("bcu-accepts:1.0, 2.3") == frozenset({(1, 0), (2, 3)})


def test_bcu_sums_its_bmus_and_rejects_a_foreign_series() -> None:
    base = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0, time_scale=0.0)
    specs = node_specs(PackTopology(1, 0, 3), base)
    nodes = build_nodes(specs)
    bus = CanBusTimeline(0)
    link = PackLink(bus, nodes, period_s=0.02)
    try:
        bcu, bmus = nodes[0], nodes[1:]
        deadline = time.monotonic() + 2.0
        while bcu.role.peers.counters().peers_heard < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        total = sum(b.telemetry().pack_voltage_mv for b in bmus)
        assert bcu.telemetry().pack_voltage_mv == pytest.approx(total, rel=0.005)
        assert bcu.identity().model == "VBCU-1"
        assert bcu.self_test().passed
        # A BMU on a series the BCU does not accept: its frames now carry 1.2.0.
        table = bcu.role.peers
        frame = status_frame(0x41, NodeStatus(50_000, 0, 50.0, FirmwareVersion(1, 2, 0)))
        link.close()
        table.on_status(0x41, bytes(frame.data))
        bcu.evaluate_pack()
        assert INCOMPATIBLE_NODE_DTC in {dtc.code for dtc in bcu.dtcs()}
        assert [c.name for c in bcu.self_test().checks if not c.passed] == ["pack_node_versions"]
    finally:
        link.close()
        bus.close()
        for node in nodes:
            node.close()


def test_a_bcu_image_declares_the_series_it_accepts() -> None:
    base = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0, time_scale=0.0)
    nodes = build_nodes(node_specs(PackTopology(1, 0, 1), base))
    try:
        bcu = nodes[0]
        table = bcu.role.peers
        frame = status_frame(0x40, NodeStatus(50_000, 0, 50.0, FirmwareVersion(1, 1, 0)))
        table.on_status(0x40, bytes(frame.data))
        assert bcu.rejected_nodes() == []  # the factory BCU accepts 1.0 and 1.1
        full_update(bcu, make_image("1.0.5", security_counter=1, behaviour="bcu-accepts:1.0"))
        assert bcu.behaviour == "bcu-accepts:1.0"
        table.on_status(0x40, bytes(frame.data))
        assert [r.address for r in bcu.rejected_nodes()] == [0x40]
        assert not bcu.self_test().passed
    finally:
        for node in nodes:
            node.close()

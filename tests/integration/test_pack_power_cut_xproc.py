"""Cross-process: ``kill -9`` of a virtual pack is a power cut of every node at once.

Restarting ``sim --topology`` on the same ``--state`` folder brings back every node's flash: an
image confirmed before the cut stays, a test boot that was not confirmed is reverted by each
node's own MCUboot, serial numbers are kept.
"""

from __future__ import annotations

from pathlib import Path

from pack_support import PackProcess, update_node

from bmsflasher.discovery.pack_nodes import discover_pack_nodes, open_pack_node
from bmsflasher.firmware.demo_pack_models import Tier

REVERT_DTC = 0xD20101
TOPOLOGY = "bcu=1,bmc=2,bmu=3"  # every tier; the 15-node pack's start is proven in test_pack_slcan_xproc


def test_kill_9_is_a_power_cut_of_the_whole_pack(tmp_path: Path) -> None:
    state = tmp_path / "pack"
    state.mkdir()
    with PackProcess(TOPOLOGY, state=state) as pack:
        serials = [n["serial"] for n in pack.nodes]
        confirmed = int(str(pack.node("bmu3")["address"]))
        on_test = int(str(pack.node("bmc2")["address"]))
        update_node(pack, confirmed, "1.1.0", confirm=True)
        update_node(pack, on_test, "1.1.0", confirm=False)
        pack.kill()
    assert sorted(path.name for path in state.iterdir()) == sorted(
        f"{tier}{n}.state"
        for tier, count in (("bcu", 1), ("bmc", 2), ("bmu", 3))
        for n in range(1, count + 1)
    )
    with PackProcess(TOPOLOGY, state=state) as pack:
        assert [n["serial"] for n in pack.nodes] == serials
        nodes = {n.address: n for n in discover_pack_nodes(pack.link_config(), expected_nodes=6)}
        assert len(nodes) == 6
        assert str(nodes[confirmed].version) == "1.1.0"  # confirmed before the cut: kept
        assert str(nodes[on_test].version) == "1.0.0"  # on test at the cut: MCUboot reverted it
        assert nodes[on_test].tier is Tier.BMC
        others = {str(n.version) for a, n in nodes.items() if a not in (confirmed, on_test)}
        assert others == {"1.0.0"}
        target = open_pack_node(pack.link_config(), nodes[on_test])
        try:
            assert target.identify().serial_number == nodes[on_test].serial
            assert REVERT_DTC in {dtc.code for dtc in target.read_dtcs()}  # the node says why
        finally:
            target.close()

"""Cross-process: the pack's BCU checks the firmware of the nodes it hears (through the slcan pty).

A BMU test-booted on a series the BCU does not accept (1.2.0: the demo BCU accepts 1.0 and 1.1)
makes the BCU raise DTC D30101 and fail its self-test's ``pack_node_versions`` check; once the BMU
is back on 1.0.0 the code is only stored and the self-test passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pack_support import PackProcess, open_node, update_node

from bmsflasher.core.types import Dtc
from bmsflasher.protocols.uds.target import UdsTarget

INCOMPATIBLE_NODE_DTC = 0xD30101


def _dtcs_once(
    target: UdsTarget, ready: Callable[[dict[int, Dtc]], bool], timeout_s: float = 3.0
) -> dict[int, Dtc]:
    """The node's DTCs once ``ready`` holds (the BCU judges the next status frame it hears)."""
    deadline = time.monotonic() + timeout_s
    while True:
        codes = {dtc.code: dtc for dtc in target.read_dtcs()}
        if ready(codes) or time.monotonic() > deadline:
            return codes
        time.sleep(0.05)


def test_a_bmu_version_the_bcu_does_not_accept_raises_its_dtc_and_fails_its_self_test() -> None:
    with PackProcess() as pack:
        bcu_address = int(str(pack.node("bcu1")["address"]))
        bmu_address = int(str(pack.node("bmu5")["address"]))
        update_node(pack, bmu_address, "1.2.0", confirm=False)  # a series no demo BCU accepts
        bcu = open_node(pack, bcu_address)
        try:
            dtcs = _dtcs_once(bcu, lambda codes: INCOMPATIBLE_NODE_DTC in codes)
            assert dtcs[INCOMPATIBLE_NODE_DTC].status & 0x01  # testFailed: active now
            assert f"0x{bmu_address:02X}" in dtcs[INCOMPATIBLE_NODE_DTC].description
            result = bcu.run_self_test()
            failed = [check.name for check in result.checks if not check.passed]
            assert failed == ["pack_node_versions"]
        finally:
            bcu.close()
        # The BMU's test boot is never confirmed: its reset reverts it, and the BCU accepts the pack again.
        target = open_node(pack, bmu_address)
        try:
            target.reset()
            assert str(target.reconnect(10.0).firmware_version) == "1.0.0"
        finally:
            target.close()
        bcu = open_node(pack, bcu_address)
        try:
            dtcs = _dtcs_once(bcu, lambda codes: not codes[INCOMPATIBLE_NODE_DTC].status & 0x01)
            assert dtcs[INCOMPATIBLE_NODE_DTC].status & 0x08  # stored (confirmed), no longer active
            assert bcu.run_self_test().passed
        finally:
            bcu.close()

"""Issue 14: UDS seed/key unlocks only the battery selected when connecting, and every unlock is recorded.

A rogue node on the bus used to collect a valid key for another battery's serial: the client
computed the key for whatever serial the node reported. Here a second virtual BMS, claiming
another battery's serial, takes over the selected battery's node address on the same slcan bus
(through python-can's own slcan driver); the tool must not even ask it for a seed, let alone send
it a key, and must say why. Every unlock that does happen lands in the service history.
"""

from __future__ import annotations

from pathlib import Path

import can
import pytest
from proc_support import HEALTHY, sim_options, uds_bench

from bmsflasher.core.errors import SecurityAccessDeniedError
from bmsflasher.core.events import LogLine
from bmsflasher.core.target import SecurityUnlock
from bmsflasher.procedure import State
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.uds.server_config import UdsServerConfig

ROGUE_SERIAL = "VB7777777"  # another battery's serial, claimed by the rogue node
NODE1_REQUEST_ID = 0x7E0


def security_access_requests(frames: list[can.Message]) -> list[bytes]:
    """The SecurityAccess requests (seed 27 01, key 27 02) sent to node 1: their first two payload bytes."""
    found = []
    for frame in frames:
        data = bytes(frame.data)
        if frame.arbitration_id != NODE1_REQUEST_ID or not data:
            continue
        kind = data[0] >> 4
        head = data[1:3] if kind == 0 else data[2:4] if kind == 1 else b""  # single / first frame
        if head[:1] == b"\x27":
            found.append(head)
    return found


def test_a_rogue_node_claiming_another_serial_gets_no_seed_request_and_no_key(tmp_path: Path) -> None:
    rogue_dir = tmp_path / "rogue"
    rogue_dir.mkdir()
    rogue = VirtualBms.create(sim_options(rogue_dir, serial_number=ROGUE_SERIAL, seed=77))
    try:
        with uds_bench(tmp_path) as bench:
            target = bench.connect()
            unlocks: list[SecurityUnlock] = []
            target.add_unlock_listener(unlocks.append)
            selected = target.identify().serial_number
            assert selected == bench.device.serial_number != ROGUE_SERIAL
            target.set_balancing(0, True)  # a legitimate unlock of the selected battery
            assert [(u.serial_number, u.operation) for u in unlocks] == [(selected, "a balancing command")]

            # The rogue node takes over node 1 on the same bus and claims another battery's serial.
            simulation = bench.can  # type: ignore[attr-defined]
            original = simulation.servers.pop(0)
            original.close()
            simulation.add_node(rogue, UdsServerConfig(node=1))
            frames: list[can.Message] = []
            sniffer = simulation.bus.attach("sniffer", frames.append)
            try:
                # as after a reboot: the tool reconnects and reads the identity the node now claims
                assert target.reconnect(5.0).serial_number == ROGUE_SERIAL
                with pytest.raises(SecurityAccessDeniedError) as refused:
                    target.set_balancing(0, False)
            finally:
                sniffer.detach()
            assert not rogue.telemetry().balancing[0]  # nothing was done on the rogue either
    finally:
        rogue.close()
    message = str(refused.value)
    assert f"now reports serial {ROGUE_SERIAL}, not {selected}" in message
    assert "no security key is computed for another battery" in message
    assert refused.value.hint
    assert security_access_requests(frames) == []  # neither a seed request nor a key went to the rogue
    assert len(unlocks) == 1  # the refused attempt is no unlock


def test_every_unlock_of_an_update_is_in_the_service_record(tmp_path: Path) -> None:
    with uds_bench(tmp_path) as bench:
        serial = bench.device.serial_number
        result = bench.flash(HEALTHY)
        assert result.outcome is State.UPDATED, result.reason
        assert result.session_id is not None
        steps = bench.db.session_detail(result.session_id).steps
    unlocks = [s for s in steps if s.step == "security_access"]
    operations = [s.detail for s in unlocks]
    # the download (programming session) and the self-test's balancing check (extended session)
    assert " for the firmware download at " in operations[0], operations
    assert any(" for a balancing command at " in d for d in operations[1:]), operations
    for step in unlocks:
        assert step.ok is True
        assert step.detail.startswith(f"Security access unlocked on battery {serial} for ")
        assert step.detail.endswith(" UTC.")
    logged = [e.message for e in bench.events if isinstance(e, LogLine)]
    assert [d for d in logged if d.startswith("Security access unlocked")] == operations

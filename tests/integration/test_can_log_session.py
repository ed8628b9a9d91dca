"""The bus recorded while an update runs (the GUI's diagnostics page), kept with the session's report.

The engine the GUI drives updates a virtual BMS over UDS on a python-can ``virtual`` channel while
the BMS broadcasts; with "record the CAN bus during updates" on, the adapter's frames — the UDS
transfer and the broadcasts, across the update's reconnects — land in the session's folder as a
candump log, and a saved report takes the log with it. The log is size-capped and rotated.
"""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import can
import pytest
from can_tools_support import read_log

from bmsflasher.canbus.bus_recorder import RotatingBusLog
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import LinkSettings
from bmsflasher.gui.engine import Engine, UpdateOptions
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire import can_frontend
from bmsflasher.sim.wire.frontend_options import FrontEndOptions

PACKAGE = resource_path("demo", "packages", "VBMS-16-1.0.1.bmspkg")


@pytest.mark.slow  # a whole update (~10 s): beyond the fast suite's budget
def test_an_update_s_bus_log_is_kept_with_its_session_and_report(tmp_path: Path) -> None:
    channel = f"session-log-{uuid.uuid4().hex[:8]}"
    engine = Engine(
        db_path=tmp_path / "history.db",
        trusted_keys=[resource_path("demo", "demo-key.pub.pem")],
        journal_dir=tmp_path / "journal",
    )
    engine.record_bus_during_updates = True
    engine.bus_logs_dir = tmp_path / "reports"
    options = SimOptions(state_file=tmp_path / "bms.state", erase_time_s_per_sector=0, soc_pct=55.0)
    with VirtualBms.create(options) as device:
        simulation = can_frontend.start(
            device, FrontEndOptions(channel=channel, broadcast=True, bitrate=1_000_000), "virtual"
        )
        try:
            target = engine.open_target(
                LinkSettings(kind="can", interface="virtual", channel=channel, bitrate=1_000_000, node=1)
            )
            try:
                package = engine.check_package(PACKAGE, target.identify())
                assert package.ok, package
                outcome = engine.run_update(target, package, UpdateOptions(), lambda _event: None)
            finally:
                target.close()
        finally:
            simulation.close()
    assert outcome.ok, outcome
    assert outcome.session_id is not None
    (log,) = engine.session_bus_logs(outcome.session_id)
    ids = Counter(message.arbitration_id for message in read_log(log))
    assert ids[0x7E0] > 100  # the tool's requests: the whole transfer
    assert ids[0x7E8] > 10  # the device's answers
    assert ids[0x351] > 0  # and the broadcasts the adapter heard beside them
    report = tmp_path / "out" / "update.html"
    report.parent.mkdir()
    engine.save_report(outcome.session_id, report)
    assert (report.parent / "update-bus.log").read_bytes() == log.read_bytes()


def test_the_log_is_capped_and_rotated_and_every_part_reads_back(tmp_path: Path) -> None:
    log = RotatingBusLog(tmp_path / "session", max_bytes=4096, keep=2)
    frames = [
        can.Message(arbitration_id=i % 0x7FF, is_extended_id=False, data=[i % 256] * 8) for i in range(1000)
    ]
    for frame in frames:
        log.write(frame)
    log.close()
    assert log.rotations > 2
    parts = [log.part(2), log.part(1), log.path]
    assert not log.part(3).exists()  # the oldest beyond `keep` is gone
    kept = [message for part in parts for message in read_log(part)]
    assert all(part.stat().st_size < 4096 + 64 * 60 for part in parts)  # the cap, plus one check's worth
    tail = [bytes(frame.data) + frame.arbitration_id.to_bytes(2, "big") for frame in frames[-len(kept) :]]
    assert [bytes(m.data) + m.arbitration_id.to_bytes(2, "big") for m in kept] == tail  # newest, in order

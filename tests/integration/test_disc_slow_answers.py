"""Slow devices: a late echo is missed at the default answer time, found with --answer-timeout-s,
and the remembered baud is waited on longer so a warm scan does not walk the table for a slow answer.

The virtual BMS's serial front-end delays every answer by ``response_delay_s`` (a slow device or a
network serial server); the scanner talks to it through a real pty.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bmsflasher.cli.main import main
from bmsflasher.discovery import AdapterStatus, ScanCache, ScanRequest, SerialProbeSettings, scan
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd

DELAY_S = 0.6
"""Longer than the default 0.25 s answer time, shorter than the remembered rate's 4 × 0.25 s."""


def test_a_slow_device_is_missed_by_default_and_found_with_a_longer_answer_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (
        VirtualBms.create(SimOptions(seed=81)) as device,
        SerialFrontEnd(device, FrontEndOptions(baud=115200, response_delay_s=DELAY_S)) as port,
    ):
        port.start()
        hasty = scan(
            ScanRequest(ports=(port.port,), bauds=(115200,), use_cache=False, identify=False),
            cache=ScanCache(tmp_path / "unused.json", enabled=False),
        )
        (missed,) = hasty.reports
        assert missed.status is not AdapterStatus.FOUND
        code = main(
            ["scan", "--port", port.port, "--bauds", "115200", "--no-cache", "--no-identify",
             "--answer-timeout-s", "1.5", "--json"]
        )  # fmt: skip
    assert code == 0
    (adapter,) = json.loads(capsys.readouterr().out)["adapters"]
    assert adapter["status"] == "found"
    assert adapter["devices"][0]["link"]["baud"] == 115200


def test_the_remembered_baud_gets_patience_so_a_slow_answer_does_not_walk_the_table(tmp_path: Path) -> None:
    cache = ScanCache(tmp_path / "cache.json")
    patient = SerialProbeSettings(attempt_timeout_s=1.5)
    link_path = str(tmp_path / "ttyBMS")  # a stable name, as a udev symlink gives a real adapter
    with VirtualBms.create(SimOptions(seed=82)) as device:
        with SerialFrontEnd(device, FrontEndOptions(baud=57600, link_path=link_path)) as port:
            port.start()
            cold = scan(ScanRequest(ports=(port.port,), identify=False, serial=patient), cache=cache)
        assert cold.reports[0].status is AdapterStatus.FOUND
        with SerialFrontEnd(
            device, FrontEndOptions(baud=57600, response_delay_s=DELAY_S, link_path=link_path)
        ) as slow_port:
            slow_port.start()
            warm = scan(ScanRequest(ports=(slow_port.port,), identify=False), cache=cache)
    (report,) = warm.reports
    assert report.status is AdapterStatus.FOUND, report.message
    assert report.used_cache
    assert report.attempts == 1

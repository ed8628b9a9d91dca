"""A rack of eight modules updated by one broadcast, through the virtual RS485 bus on a pty.

The image crosses the pair once (unit 0); a module that misses broadcast frames gets exactly the
records its missing-records report names, and a module whose new firmware fails its self-test is
rolled back alone while the other seven are confirmed on the new version.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from modbus_support import pty_modules, signed_image, sim_options, small_package
from test_modbus_update import DEMO_PUB, run_cli

from bmsflasher.core.types import FirmwareVersion
from bmsflasher.procedure.results import EXIT_ROLLED_BACK
from bmsflasher.records import RecordsDb
from bmsflasher.sim.modbus.module import ModbusModule

pytestmark = pytest.mark.skipif(not hasattr(__import__("os"), "openpty"), reason="needs ptys")

ADDRESSES = tuple(range(1, 9))
DEAF = 2  # chain position of the module that misses every 5th broadcast frame
FAILING = 5  # chain position of the module whose bleed circuit breaks under 1.1.0
BAUD = 115_200
"""The fastest standard RS485 rate; above it the simulation's own cost per broadcast, eight modules
taking every record in one Python process, outgrows the pacing a real module needs."""


def test_a_rack_is_updated_by_broadcast_with_one_module_repaired_and_one_rolled_back(
    tmp_path: Path, data_home: Path
) -> None:
    del data_home
    package = small_package(tmp_path, "1.1.0")
    db_path = tmp_path / "history.sqlite3"
    with pty_modules(ADDRESSES, baud=BAUD, sim=sim_options(noise_mv=0.0)) as (bench, _host):
        modules = bench.rack.modules
        deaf, failing = modules[DEAF], modules[FAILING]
        assert isinstance(deaf, ModbusModule)
        assert isinstance(failing, ModbusModule)
        deaf.miss_broadcasts(5)
        failing.fail_self_test_under("1.1.0")
        link = bench.link
        code, out, err = run_cli(
            "rack-update", str(package), "--port", link.port, "--baud", str(link.baud),
            "--parity", link.parity, "--stopbits", str(link.stopbits), "--addresses", "1-8",
            "--trust", str(DEMO_PUB), "--db", str(db_path), "--yes", "--json",
        )  # fmt: skip
        identities = [device.identity() for device in bench.devices]
        broadcasts = bench.rack.bus.stats.broadcasts
        missed = deaf.missed_broadcasts

    assert code == EXIT_ROLLED_BACK, out + err
    report = json.loads(out)
    by_address = {m["address"]: m for m in report["modules"]}
    records = math.ceil(len(signed_image("1.1.0", 16 * 1024)) / 238)  # small_package's image
    # Every record crossed the pair to unit 0 (records lost on the line by every module go out to
    # unit 0 again); the deaf module alone gets the records only it missed, and no others.
    assert broadcasts >= records
    assert missed > 0
    deaf_repaired = by_address[DEAF + 1]["repaired_records"]
    others = [m["repaired_records"] for a, m in by_address.items() if a != DEAF + 1]
    assert 0 < deaf_repaired <= missed + max(others)
    assert max(others) < deaf_repaired
    for index, identity in enumerate(identities):
        if index == FAILING:
            assert by_address[index + 1]["outcome"] == "rolled_back", by_address[index + 1]
            assert identity.firmware_version == FirmwareVersion(1, 0, 0)
        else:
            assert by_address[index + 1]["outcome"] == "updated", by_address[index + 1]
            assert identity.firmware_version == FirmwareVersion(1, 1, 0)
            assert next(s for s in identity.slots if s.active).confirmed
    db = RecordsDb.open(db_path)
    try:
        sessions = db.sessions()
    finally:
        db.close()
    assert len(sessions) == len(ADDRESSES)  # one service session per module

"""The Modbus search's plan, address lists, frames and remembered settings (no I/O)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.discovery.cache import CachedSetting, ScanCache
from bmsflasher.discovery.modbus_probe import Framing, parse_addresses, plan_framings
from bmsflasher.discovery.modbus_wire import crc16, rtu_request, tcp_request


def test_the_likeliest_framings_come_first_and_every_one_is_tried() -> None:
    plan = [f.text for f in plan_framings()]
    assert plan[:3] == ["19200 8E1", "19200 8N1", "9600 8N1"]
    assert len(plan) == len(set(plan)) == 5 * 4
    assert {"115200 8O1", "57600 8N2", "38400 8E1"} <= set(plan)


def test_a_pty_tries_8n1_and_8e1_once() -> None:
    plan = [f.text for f in plan_framings(pty=True)]
    assert plan[:2] == ["19200 8E1", "9600 8N1"]
    assert "19200 8N1" not in plan
    assert len(plan) == 5 * 3


def test_the_remembered_framing_is_tried_first_and_only_once() -> None:
    plan = plan_framings(cached=Framing(57600, "O", 1, from_cache=True))
    assert plan[0].text == "57600 8O1"
    assert plan[0].from_cache
    assert [f.text for f in plan].count("57600 8O1") == 1


def test_address_lists() -> None:
    assert parse_addresses("1-4") == (1, 2, 3, 4)
    assert parse_addresses("5, 1-2,5") == (5, 1, 2)
    for wrong in ("0-3", "7-2", "248", "a-b", ""):
        with pytest.raises(ConfigValidationError):
            parse_addresses(wrong)


def test_probe_frames() -> None:
    assert crc16(b"123456789") == 0x4B37  # the Modbus CRC-16 check value
    assert rtu_request(1).startswith(bytes.fromhex("01039c400002"))
    body = rtu_request(1)[:-2]
    assert rtu_request(1)[-2:] == crc16(body).to_bytes(2, "little")
    assert tcp_request(7, 0x1234).hex() == "123400000006" + "07" + "039c400002"


def test_the_cache_remembers_a_bus(tmp_path: Path) -> None:
    cache = ScanCache(tmp_path / "c.json")
    bus = CachedSetting(protocol="modbus", baud=19200, parity="E", stopbits=1, node_count=2, addresses=(3, 9))
    cache.put("serial:/dev/ttyUSB0", bus)
    cache.save()
    again = ScanCache(tmp_path / "c.json").get("serial:/dev/ttyUSB0")
    assert again is not None
    assert (again.baud, again.parity, again.stopbits, again.addresses) == (19200, "E", 1, (3, 9))
    assert CachedSetting.from_json({**bus.to_json(), "addresses": [0]}) is None
    assert CachedSetting.from_json({**bus.to_json(), "parity": "X"}) is None

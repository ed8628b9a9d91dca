"""The rack builder: addresses, one state file per module, and the device's power-cut proof per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmsflasher.cli.main import main
from bmsflasher.sim.device.scenarios import (
    fast_options,
    finish_update,
    full_update,
    make_image,
    running_hash,
    small_geometry,
)
from bmsflasher.sim.errors import SimError, SimPoweredOffError
from bmsflasher.sim.flash.images import parse_image
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.modbus_rack import (
    create_rack_devices,
    late_by_index,
    module_options,
    parse_addresses,
    rack_addresses,
)


def test_address_lists_keep_chain_order_and_repeats() -> None:
    assert parse_addresses("1-4,7,7") == (1, 2, 3, 4, 7, 7)
    assert parse_addresses(" 0x10 , 3 ") == (16, 3)
    for bad in ("", "1,,2", "0", "248", "5-3", "a-b", "1-300"):
        with pytest.raises(ValueError):
            parse_addresses(bad)


def test_rack_addresses_from_a_count_or_a_list() -> None:
    assert rack_addresses(None, 1) == (1,)
    assert rack_addresses(4, 10) == (10, 11, 12, 13)
    assert rack_addresses(None, 1, (3, 3, 9)) == (3, 3, 9)
    assert rack_addresses(3, 1, (3, 3, 9)) == (3, 3, 9)
    with pytest.raises(SimError, match="--addresses names 3 modules"):
        rack_addresses(2, 1, (3, 3, 9))
    with pytest.raises(SimError, match="run past the last unit address 247"):
        rack_addresses(10, 240)
    assert late_by_index((1, 2, 2, 3), ((2, 0.5), (3, 0.1))) == {1: 0.5, 2: 0.5, 3: 0.1}


def test_every_module_has_its_own_seed_serial_and_state_file(tmp_path: Path) -> None:
    base = SimOptions(state_file=tmp_path / "rack.state", serial_number="RACK", seed=5)
    first, second = module_options(base, 0), module_options(base, 1)
    assert first.state_file == tmp_path / "rack.state"
    assert second.state_file == tmp_path / "rack.module2.state"
    assert (first.serial_number, second.serial_number) == ("RACK", "RACK-2")
    assert (first.seed, second.seed) == (5, 6)
    folder = SimOptions(state_file=tmp_path)
    assert module_options(folder, 0).state_file == tmp_path / "module1.state"
    assert module_options(folder, 2).state_file == tmp_path / "module3.state"


def test_the_command_line_checks_the_rack_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sim", "--protocol", "modbus", "--addresses", "1,300"])
    assert "not within the unit addresses 1..247" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sim", "--protocol", "modbus", "--late", "3"])
    assert "is not ADDRESS:SECONDS" in capsys.readouterr().err
    refusals = {
        "--late names address 9, which no module has": ["--modules", "2", "--late", "9:1"],
        "--chain-break-after 3 is beyond the 2 modules": ["--modules", "2", "--chain-break-after", "3"],
        "--modules 3 but --addresses names 2 modules": ["--modules", "3", "--addresses", "1,2"],
    }
    for sentence, options in refusals.items():
        assert main(["sim", "--protocol", "modbus", *options]) != 0
        assert sentence in capsys.readouterr().err


def test_info_lists_every_module_with_its_address(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(
        ["sim", "--protocol", "modbus", "--info", "--json", "--addresses", "4,9", "--state", str(tmp_path)]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert '"address": 4' in out
    assert '"address": 9' in out
    assert (tmp_path / "module1.state").exists()
    assert (tmp_path / "module2.state").exists()


@pytest.mark.parametrize("fault", ["cut", "tear"])
def test_a_power_cut_in_one_module_is_that_modules_own_and_it_recovers(tmp_path: Path, fault: str) -> None:
    geometry = small_geometry()
    old = make_image("1.0.0", security_counter=1, code_size=5000)
    new = make_image("1.1.0", security_counter=2, code_size=7300)
    factory = tmp_path / "factory.img"
    factory.write_bytes(old)
    base = fast_options(factory, geometry, state_file=tmp_path / "rack.state")
    devices = create_rack_devices(base, 3)
    try:
        images = [device.flash.snapshot() for device in devices]
        victim = devices[1]
        ops = victim.flash.ops_done
        # Mid-upload (the power goes before operation k, or during it with only part landing): the
        # device's own proof says the old image keeps running and the upload resumes.
        if fault == "cut":
            victim.flash.faults.cut_before_op = ops + 7
        else:
            victim.flash.faults.tear_op = ops + 7
        with pytest.raises(SimPoweredOffError):
            full_update(victim, new)
        assert not victim.powered
        assert devices[0].powered
        assert devices[2].powered
    finally:
        for device in devices:
            device.close()
    devices = create_rack_devices(base, 3)  # the rack's supply comes back: every module from its file
    try:
        assert [running_hash(device) for device in devices] == [parse_image(old).image_hash] * 3
        assert devices[0].flash.snapshot() == images[0]
        assert devices[2].flash.snapshot() == images[2]
        finish_update(devices[1], new)
        assert running_hash(devices[1]) == parse_image(new).image_hash
    finally:
        for device in devices:
            device.close()

"""The flash model: granularity, operation counting, cuts, torn operations, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmsflasher.sim.errors import SimStateFileError
from bmsflasher.sim.flash.faults import PowerCut
from bmsflasher.sim.flash.memory import Flash, FlashProgramError
from bmsflasher.sim.options import FlashGeometry

GEOMETRY = FlashGeometry(sector_size=1024, write_size=8, slot_sectors=4)


def test_new_flash_is_erased_and_counts_operations() -> None:
    flash = Flash(GEOMETRY)
    assert flash.is_erased(0, GEOMETRY.total_size)
    flash.write(0, b"12345678")
    flash.erase_sector(1024)
    assert flash.ops_done == 2
    assert flash.read(0, 8) == b"12345678"


def test_write_granularity_and_programmed_bytes_are_enforced() -> None:
    flash = Flash(GEOMETRY)
    with pytest.raises(FlashProgramError, match="granularity"):
        flash.write(4, b"12345678")
    with pytest.raises(FlashProgramError, match="granularity"):
        flash.write(0, b"123")
    flash.write(0, b"12345678")
    with pytest.raises(FlashProgramError, match="not erased"):
        flash.write(0, b"ABCDEFGH")
    with pytest.raises(FlashProgramError, match="sector aligned"):
        flash.erase_sector(100)
    with pytest.raises(FlashProgramError, match="outside"):
        flash.read(GEOMETRY.total_size - 4, 8)


def test_power_cut_before_an_operation_leaves_it_undone() -> None:
    flash = Flash(GEOMETRY)
    flash.faults.cut_before_op = 2
    flash.write(0, b"AAAAAAAA")
    with pytest.raises(PowerCut) as cut:
        flash.write(8, b"BBBBBBBB")
    assert cut.value.op_index == 2
    assert not cut.value.torn
    assert flash.is_erased(8, 8)
    assert flash.ops_done == 1


def test_torn_write_lands_a_prefix_and_a_partly_programmed_byte() -> None:
    flash = Flash(GEOMETRY, seed=3)
    flash.faults.tear_op = 1
    flash.faults.tear_keep_bytes = 5
    with pytest.raises(PowerCut) as cut:
        flash.write(0, b"\x00" * 16)
    assert cut.value.torn
    data = flash.read(0, 16)
    assert data[:5] == b"\x00" * 5
    assert data[6:] == b"\xff" * 10  # nothing after the byte in progress


def test_torn_erase_leaves_a_mix_of_old_and_erased_bytes() -> None:
    flash = Flash(GEOMETRY, seed=1)
    flash.write(0, b"\x00" * 1024)
    flash.faults.tear_op = 2
    with pytest.raises(PowerCut):
        flash.erase_sector(0)
    data = flash.read(0, 1024)
    assert 0 < data.count(0xFF) < 1024


def test_bit_flips_change_exactly_the_reported_bits() -> None:
    flash = Flash(GEOMETRY, seed=7)
    before = flash.read(0, 1024)
    flipped = flash.flip_bits(3, 0, 1024)
    after = flash.read(0, 1024)
    changed = sum(bin(a ^ b).count("1") for a, b in zip(before, after, strict=True))
    assert len(flipped) == 3
    assert changed in (1, 3)  # two flips of the same bit cancel out


def test_state_file_persists_every_finished_operation(tmp_path: Path) -> None:
    path = tmp_path / "flash.bin"
    flash = Flash(GEOMETRY, state_file=path)
    assert flash.created
    flash.write(16, b"persists")
    flash.close()
    again = Flash(GEOMETRY, state_file=path)
    assert not again.created
    assert again.read(16, 8) == b"persists"
    again.close()


def test_state_file_of_another_geometry_or_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "flash.bin"
    Flash(GEOMETRY, state_file=path).close()
    with pytest.raises(SimStateFileError, match="another geometry"):
        Flash(FlashGeometry(sector_size=1024, write_size=8, slot_sectors=5), state_file=path)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"hello world" * 10)
    with pytest.raises(SimStateFileError, match="not a virtual BMS state file"):
        Flash(GEOMETRY, state_file=junk)


def test_invalid_geometry_is_refused() -> None:
    with pytest.raises(ValueError, match="power of two"):
        FlashGeometry(sector_size=1000).validate()
    with pytest.raises(ValueError, match="write size"):
        FlashGeometry(write_size=3).validate()

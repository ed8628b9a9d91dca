"""The boot-state log: last valid record wins, torn records never count, sectors rotate."""

from __future__ import annotations

import pytest

from bmsflasher.sim.flash.bootstate import BootState, BootStateStore, SwapRequest
from bmsflasher.sim.flash.faults import PowerCut
from bmsflasher.sim.flash.memory import Flash
from bmsflasher.sim.options import FlashGeometry

GEOMETRY = FlashGeometry(sector_size=512, write_size=8, slot_sectors=2)


def states(count: int) -> list[BootState]:
    return [BootState(security_counter=i, request=SwapRequest(i % 3)) for i in range(1, count + 1)]


def test_blank_area_gives_the_default_state() -> None:
    store = BootStateStore(Flash(GEOMETRY))
    assert store.load() == BootState()
    assert store.blank


def test_many_saves_rotate_sectors_and_reload_the_last() -> None:
    flash = Flash(GEOMETRY)
    store = BootStateStore(flash)
    store.load()
    for state in states(50):  # 8 records per 512-byte sector: several rotations
        store.save(state)
    assert BootStateStore(flash).load() == states(50)[-1]


def save_all(store: BootStateStore, sequence: list[BootState], done: list[BootState]) -> None:
    for state in sequence:
        store.save(state)
        done.append(state)


@pytest.mark.parametrize("tear", [False, True])
def test_a_cut_at_any_operation_leaves_the_old_or_the_new_state(tear: bool) -> None:
    sequence = states(20)
    probe = Flash(GEOMETRY)
    store = BootStateStore(probe)
    store.load()
    for state in sequence:
        store.save(state)
    total = probe.ops_done
    for k in range(1, total + 1):
        flash = Flash(GEOMETRY, seed=k)
        store = BootStateStore(flash)
        store.load()
        if tear:
            flash.faults.tear_op = k
        else:
            flash.faults.cut_before_op = k
        done: list[BootState] = [BootState()]
        with pytest.raises(PowerCut):
            save_all(store, sequence, done)
        flash.faults.clear()
        found = BootStateStore(flash).load()
        attempted = sequence[len(done) - 1]
        assert found in (done[-1], attempted), f"op {k}"
        # and appending after a torn record still works
        after = BootStateStore(flash)
        after.load()
        after.save(BootState(security_counter=999))
        assert BootStateStore(flash).load().security_counter == 999

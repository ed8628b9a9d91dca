"""The virtual BMS's reboot takes the time it declares: one start per reset, erases at their declared time.

The guarded-update benchmark (benchmarks/bench_overhead.py) reads the device's reboot as a fixed
cost, so the simulation must not add time of its own: a boot attempt is charged when the MCU
starts (a reset, or a watchdog reset after a crash), not again when the bootloader goes on to the
image after a swap in the same run; and a run of erases takes the declared time per erase, not
that plus each sleep's overshoot and the Python work between them.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from bmsflasher.core.types import DeviceMode
from bmsflasher.sim.device.scenarios import fast_options, make_image, small_geometry, upload
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.flash.memory import Flash
from bmsflasher.sim.options import FlashGeometry

BOOT_S = 0.15
ERASE_S = 0.005


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("images") / "factory.img"
    path.write_bytes(make_image("1.0.0", security_counter=1, code_size=3000))
    return path


def _timed_reset(factory: Path, image: bytes) -> tuple[VirtualBms, float]:
    options = replace(fast_options(factory, small_geometry()), boot_time_s=BOOT_S)
    device = VirtualBms.create(options)
    upload(device, image)
    device.mark_pending()
    started = time.monotonic()
    device.reset()
    return device, time.monotonic() - started


def test_a_test_swap_costs_one_start_not_one_per_bootloader_pass(factory: Path) -> None:
    device, elapsed = _timed_reset(factory, make_image("1.1.0", security_counter=2, code_size=4100))
    try:
        assert str(device.identity().firmware_version) == "1.1.0"
        assert elapsed >= BOOT_S
        # Charging the pass after the swap as another start took 2 x BOOT_S (0.30 s).
        assert elapsed < 1.8 * BOOT_S, f"one reset with a swap took {elapsed:.3f} s"
    finally:
        device.close()


def test_every_crash_restart_still_costs_a_start(factory: Path) -> None:
    boot_loop = make_image("1.2.1", security_counter=2, code_size=3000, behaviour="boot-loop")
    device, elapsed = _timed_reset(factory, boot_loop)
    try:
        assert device.mode is DeviceMode.APPLICATION
        assert str(device.identity().firmware_version) == "1.0.0"  # reverted after 3 crashes
        assert elapsed >= 4 * BOOT_S  # the reset's start and one per watchdog reset after each crash
    finally:
        device.close()


def _busy(seconds: float) -> None:
    """Work between two erases (a swap copies a sector), without yielding the CPU."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


def test_a_run_of_erases_takes_its_declared_time() -> None:
    geometry = FlashGeometry(sector_size=1024, write_size=8, slot_sectors=32)
    flash = Flash(geometry, erase_time_s_per_sector=ERASE_S)
    count = 40
    started = time.monotonic()
    for index in range(count):
        flash.erase_sector(index * geometry.sector_size)
        _busy(0.001)
    elapsed = time.monotonic() - started
    assert elapsed >= (count - 1) * ERASE_S
    # Sleeping the declared time per erase added the 1 ms between them: at least 40 x 6 ms = 0.24 s.
    assert elapsed < count * (ERASE_S + 0.001) - 0.005, f"{count} erases took {elapsed:.3f} s"


def test_an_erase_after_an_idle_spell_takes_its_whole_time() -> None:
    geometry = FlashGeometry(sector_size=1024, write_size=8, slot_sectors=4)
    flash = Flash(geometry, erase_time_s_per_sector=ERASE_S)
    flash.erase_sector(0)
    time.sleep(0.05)  # idle: no credit is banked for the erases to come
    started = time.monotonic()
    flash.erase_sector(geometry.sector_size)
    assert time.monotonic() - started >= ERASE_S

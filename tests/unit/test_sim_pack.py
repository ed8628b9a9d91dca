"""The pack model and the firmware's measurement/protection logic."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bmsflasher.core.types import Alarm, DtcSeverity
from bmsflasher.sim.device.pack import PackModel, PackScenario, ocv_mv, sensor_count
from bmsflasher.sim.device.scenarios import fast_options, make_image, small_geometry
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimParameterError
from bmsflasher.sim.options import Chemistry, SimOptions


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pack") / "factory.img"
    path.write_bytes(make_image("1.0.0", security_counter=1, code_size=2000))
    return path


@pytest.fixture
def options(factory: Path) -> SimOptions:
    return fast_options(factory, small_geometry())


@pytest.fixture
def device(options: SimOptions) -> Iterator[VirtualBms]:
    dev = VirtualBms.create(options)
    yield dev
    dev.close()


def scenario(**changes: object) -> PackScenario:
    base = PackScenario(16, Chemistry.LFP, 60.0, 96.0, 25.0, 0.0, 1.0, None, None, 1)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_ocv_curves_are_monotonic_and_chemistry_specific() -> None:
    for chemistry in Chemistry:
        values = [ocv_mv(chemistry, soc) for soc in range(0, 101, 5)]
        assert values == sorted(values)
    assert 3250 < ocv_mv(Chemistry.LFP, 50) < 3350
    assert 3650 < ocv_mv(Chemistry.NMC, 50) < 3800
    assert ocv_mv(Chemistry.NMC, 100) == 4200


def test_same_seed_same_readings_other_seed_differs() -> None:
    def run(seed: int) -> tuple[float, ...]:
        model = PackModel(scenario(seed=seed, load_a=20))
        model.advance(600)
        return model.read().cell_mv

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_discharge_lowers_soc_by_coulomb_counting() -> None:
    model = PackModel(scenario(load_a=48.0))  # 48 A from 96 Ah usable: 50 %/h
    model.advance(1800)
    assert model.read().counted_soc_pct == pytest.approx(35.0, abs=0.01)
    assert model.read().current_a == -48.0


def test_weak_cell_sags_most_under_load() -> None:
    model = PackModel(scenario(weak_cell=3, load_a=50, chemistry=Chemistry.NMC, noise_mv=0))
    model.advance(3000)
    cells = model.read().cell_mv
    assert min(range(16), key=lambda i: cells[i]) == 3


def test_extreme_cell_counts_and_sensors() -> None:
    assert sensor_count(1) == 2
    assert sensor_count(16) == 4
    assert sensor_count(512) == 16
    big = PackModel(scenario(cells=512))
    big.advance(5)
    assert len(big.read().cell_mv) == 512
    with pytest.raises(ValueError, match=r"1\.\.512"):
        PackModel(scenario(cells=0))


def test_telemetry_reports_pack(device: VirtualBms) -> None:
    sample = device.telemetry()
    assert sample.cell_count == 16
    assert sample.pack_voltage_mv == sample.cell_sum_mv
    assert len(sample.temperatures_c) == 4
    assert sample.soc_pct == pytest.approx(60, abs=0.01)
    assert sample.soh_pct == 96.0
    assert not sample.alarms


def test_failed_sensor_reads_none_and_raises_sensor_fault(options: SimOptions) -> None:
    with VirtualBms.create(replace(options, failed_sensor=2)) as dev:
        sample = dev.telemetry()
        assert sample.temperatures_c[2] is None
        assert Alarm.SENSOR_FAULT in sample.alarms
        assert not dev.self_test().passed
        dtc = next(d for d in dev.dtcs() if d.description.startswith("Temperature sensor"))
        assert dtc.status & 0x01
        assert dtc.severity is DtcSeverity.WARNING


def test_alarms_latch_dtcs_until_cleared(device: VirtualBms) -> None:
    device.set_parameters({"cell_overvoltage_mv": 3300, "cell_undervoltage_mv": 2500})
    assert Alarm.CELL_OVERVOLTAGE in device.telemetry().alarms
    device.set_parameters({"cell_overvoltage_mv": 3650})
    assert not device.telemetry().alarms
    stored = {d.code: d for d in device.dtcs()}
    dtc = stored[0xD10101]
    assert dtc.severity is DtcSeverity.CRITICAL
    assert not dtc.status & 0x01  # no longer failing
    assert dtc.status & 0x08  # but confirmed/stored
    device.clear_dtcs()
    assert device.dtcs() == []


def test_hot_ambient_raises_overtemperature(options: SimOptions) -> None:
    with VirtualBms.create(replace(options, ambient_c=70.0)) as dev:
        assert Alarm.OVERTEMPERATURE in dev.telemetry().alarms


def test_time_moves_with_the_sim_clock(options: SimOptions) -> None:
    with VirtualBms.create(replace(options, load_a=96.0)) as dev:
        dev.advance_time(360)  # 96 A for 6 min from 96 Ah: -10 %
        assert dev.telemetry().soc_pct == pytest.approx(50.0, abs=0.05)
        assert dev.telemetry().current_ma == -96000
        dev.set_load(-48.0)
        dev.advance_time(360)
        assert dev.telemetry().soc_pct == pytest.approx(55.0, abs=0.05)


def test_balancing_flags_follow_imbalance_and_forcing(options: SimOptions) -> None:
    with VirtualBms.create(replace(options, weak_cell=5, soc_pct=97.0, chemistry=Chemistry.NMC)) as dev:
        dev.set_parameters({"balance_start_mv": 3500, "balance_delta_mv": 5})
        dev.advance_time(1)
        flags = dev.telemetry().balancing
        assert not flags[5]  # the weak (lowest) cell is never bled
        assert sum(flags) > 0
        dev.set_parameters({"balancing_enabled": False})
        dev.set_balancing(5, True)
        dev.advance_time(1)
        flags = dev.telemetry().balancing
        assert flags[5]
        assert sum(flags) == 1
        with pytest.raises(SimParameterError, match="cell 99"):
            dev.set_balancing(99, True)

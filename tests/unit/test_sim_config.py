"""Typed configuration: validation, persistence, survival of updates, and torn saves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.sim.device.scenarios import fast_options, full_update, make_image, small_geometry
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimParameterError, SimPoweredOffError


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "factory.img"
    path.write_bytes(make_image("1.0.0", security_counter=1, code_size=2500))
    return path


@pytest.fixture
def device(factory: Path) -> Iterator[VirtualBms]:
    dev = VirtualBms.create(fast_options(factory, small_geometry()))
    yield dev
    dev.close()


def test_schema_is_ordered_typed_and_versioned(device: VirtualBms) -> None:
    schema = device.config_schema()
    names = list(schema)
    assert names[0] == "cell_overvoltage_mv"
    assert schema["cell_overvoltage_mv"].kind is int
    assert schema["cell_overvoltage_mv"].unit == "mV"
    assert not schema["serial_number"].writable
    config = device.config()
    assert config.schema_version == 1
    assert set(config.parameters) == set(schema)
    assert config.parameters["cell_overvoltage_mv"] == 3650  # LFP default


@pytest.mark.parametrize(
    ("values", "parameter", "message"),
    [
        ({"nonsense": 1}, "nonsense", "there is no parameter"),
        ({"serial_number": "X"}, "serial_number", "read-only"),
        ({"cell_overvoltage_mv": 9000}, "cell_overvoltage_mv", "outside 2500..4500"),
        ({"cell_overvoltage_mv": "high"}, "cell_overvoltage_mv", "must be a number"),
        ({"cell_overvoltage_mv": 3600.5}, "cell_overvoltage_mv", "whole number"),
        ({"balancing_enabled": 1}, "balancing_enabled", "true or false"),
        ({"can_bitrate": 333_000}, "can_bitrate", "one of"),
        ({"voltage_gain": float("nan")}, "voltage_gain", "finite"),
        ({"cell_undervoltage_mv": 3500, "cell_overvoltage_mv": 3400}, "cell_undervoltage_mv", "below"),
    ],
)
def test_invalid_values_name_the_parameter(
    device: VirtualBms, values: dict[str, object], parameter: str, message: str
) -> None:
    before = device.config()
    with pytest.raises(SimParameterError, match=message) as error:
        device.set_parameters(values)  # type: ignore[arg-type]
    assert error.value.parameter == parameter
    assert isinstance(error.value, ConfigValidationError)
    assert device.config() == before  # nothing staged


def test_staged_values_are_lost_on_reset_unless_saved(device: VirtualBms) -> None:
    device.set_parameters({"balance_delta_mv": 30})
    assert device.config().parameters["balance_delta_mv"] == 30
    assert device.saved_config().parameters["balance_delta_mv"] == 10
    device.reset()
    assert device.config().parameters["balance_delta_mv"] == 10
    device.set_parameters({"balance_delta_mv": 30, "voltage_gain": 1.01})
    device.save_config()
    device.reset()
    assert device.config().parameters["balance_delta_mv"] == 30
    assert device.config().parameters["voltage_gain"] == 1.01


def test_config_survives_update_revert_and_rollback(device: VirtualBms) -> None:
    device.set_parameters({"can_node_id": 77})
    device.save_config()
    full_update(device, make_image("1.0.1", security_counter=1, code_size=2600))
    assert device.config().parameters["can_node_id"] == 77
    device.rollback()
    device.reset()
    assert str(device.identity().firmware_version) == "1.0.0"
    assert device.config().parameters["can_node_id"] == 77


def test_calibration_gain_changes_reported_voltages(device: VirtualBms) -> None:
    device.advance_time(0)
    before = device.telemetry().pack_voltage_mv
    device.set_parameters({"voltage_gain": 1.02})
    after = device.telemetry().pack_voltage_mv
    assert after == pytest.approx(before * 1.02, rel=0.002)


@pytest.mark.parametrize("tear", [False, True], ids=["cut", "torn"])
def test_torn_config_saves_never_mix_old_and_new(factory: Path, tear: bool) -> None:
    old_values = {"balance_delta_mv": 11, "capacity_ah": 111.0, "can_node_id": 11, "voltage_gain": 0.99}
    new_values = {"balance_delta_mv": 22, "capacity_ah": 222.0, "can_node_id": 22, "voltage_gain": 1.01}
    with VirtualBms.create(fast_options(factory, small_geometry())) as probe:
        probe.set_parameters(old_values)
        probe.save_config()
        start_flash = probe.flash.snapshot()
        old = dict(probe.saved_config().parameters)
        start = probe.flash.ops_done
        probe.set_parameters(new_values)
        probe.save_config()
        new = dict(probe.saved_config().parameters)
        # Save a few times so both A and B sectors are exercised.
        ops_per_save = probe.flash.ops_done - start
    assert ops_per_save >= 2
    for rounds in (1, 2, 3):
        for k in range(1, ops_per_save + 1):
            dev = VirtualBms.create(fast_options(factory, small_geometry()), flash_contents=start_flash)
            try:
                for _ in range(rounds - 1):  # move the newest record to the other sector first
                    dev.set_parameters(old_values)
                    dev.save_config()
                dev.set_parameters(new_values)
                op = dev.flash.ops_done + k
                if tear:
                    dev.flash.faults.tear_op = op
                else:
                    dev.flash.faults.cut_before_op = op
                with pytest.raises(SimPoweredOffError):
                    dev.save_config()
                dev.flash.faults.clear()
                dev.power_on()
                found = dict(dev.saved_config().parameters)
                assert found in (old, new), f"round {rounds} op {k}: mixed configuration"
            finally:
                dev.close()

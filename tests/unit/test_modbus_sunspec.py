"""The tool's SunSpec decoding against pysunspec2's own, on the virtual module's registers.

The tool lays out and scales points itself from the published model JSON; pysunspec2's device model
(the SunSpec Alliance's reference code) decodes the same registers independently. Every point of
models 1, 802 and 805 must come out the same — a wrong offset, a scale factor applied twice or a
not-implemented value read as a number would differ. The chain walk and the live data built from
the decoded models are checked too.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator

import pytest
from sunspec2 import device as reference

from bmsflasher.core.errors import MalformedResponseError, UnsupportedOperationError
from bmsflasher.protocols.modbus.live_data import identity_from_common, telemetry_from
from bmsflasher.protocols.modbus.sunspec import (
    ModelLocation,
    decode_model,
    find_chain,
    model_definition,
    read_model,
)
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.modbus.module import ModbusModule, create_module
from bmsflasher.sim.options import SimOptions


@pytest.fixture
def module() -> Iterator[ModbusModule]:
    options = SimOptions(
        time_scale=0.0, noise_mv=0.0, erase_time_s_per_sector=0.0, boot_time_s=0.0, load_a=-12.5
    )
    with VirtualBms.create(options) as bms:
        built = create_module(bms, 1)
        yield built
        built.close()


def registers(module: ModbusModule):  # type: ignore[no-untyped-def]
    def read(address: int, count: int) -> list[int]:
        answer = module.handle(struct.pack(">BHH", 3, address, count), broadcast=False)
        assert answer is not None
        if answer[0] & 0x80:
            raise UnsupportedOperationError("exception")
        return list(struct.unpack(f">{count}H", answer[2:]))

    return read


def _same(ours: object, theirs: object) -> bool:
    if isinstance(ours, float) or isinstance(theirs, float):
        return ours is not None and theirs is not None and math.isclose(ours, theirs, abs_tol=1e-9)  # type: ignore[arg-type]
    return ours == theirs


def test_the_chain_is_found_at_40000_and_walked_to_its_end(module: ModbusModule) -> None:
    chain = find_chain(registers(module))
    assert chain == (
        ModelLocation(1, 40002, 66),
        ModelLocation(802, 40070, 62),
        ModelLocation(805, 40134, 106),
    )


@pytest.mark.parametrize("model_id", [1, 802, 805])
def test_every_point_decodes_as_pysunspec2_decodes_it(module: ModbusModule, model_id: int) -> None:
    read = registers(module)
    location = next(m for m in find_chain(read) if m.model_id == model_id)
    raw = read_model(read, location)
    definition = model_definition(model_id)
    assert definition is not None
    ours = decode_model(definition, raw)
    theirs = reference.Model(model_id, model_len=location.length, data=struct.pack(f">{len(raw)}H", *raw))
    expected = theirs.get_dict(computed=True)
    compared = 0
    for name, value in ours.points.items():
        if name in ("ID", "L") or name.endswith("_SF"):
            continue
        assert _same(value, expected.get(name)), (name, value, expected.get(name))
        compared += 1
    assert compared >= 5
    if model_id == 805:
        cells = expected["lithium-ion-module-cell"]
        assert len(ours.repeats) == len(cells) == 16
        for mine, their in zip(ours.repeats, cells, strict=True):
            assert all(_same(mine[key], their[key]) for key in ("CellV", "CellTmp", "CellSt"))


def test_live_data_from_the_decoded_models(module: ModbusModule) -> None:
    read = registers(module)
    models = {}
    for location in find_chain(read):
        definition = model_definition(location.model_id)
        assert definition is not None
        models[location.model_id] = decode_model(definition, read_model(read, location))
    expected = module.device.telemetry()
    telemetry = telemetry_from(models)
    assert telemetry.cell_voltages_mv == expected.cell_voltages_mv
    assert telemetry.soc_pct == expected.soc_pct
    assert telemetry.soh_pct == expected.soh_pct
    assert telemetry.current_ma == expected.current_ma == 12_500  # charging; A_SF -1: 0.1 A steps
    assert abs(telemetry.pack_voltage_mv - expected.pack_voltage_mv) <= 5
    assert len(telemetry.temperatures_c) == 16  # one per cell without the vendor's sensor block
    identity = identity_from_common(models[1])
    assert (identity.model, identity.serial_number, str(identity.firmware_version)) == (
        "VBMS-16",
        module.device.serial_number,
        "1.0.0",
    )


def test_not_implemented_values_and_their_scale_factors_read_as_absent() -> None:
    definition = model_definition(802)
    assert definition is not None
    registers = [0] * definition.fixed_size
    registers[0:2] = [802, definition.fixed_size - 2]
    registers[11] = 5000  # SoC
    registers[56] = 0x8000  # SoC_SF not implemented: SoC cannot be read
    registers[44] = 0x8000  # A (int16) not implemented
    registers[13] = 0xFFFF  # SoH (uint16) not implemented
    points = decode_model(definition, registers).points
    assert points["SoC"] is None
    assert points["A"] is None
    assert points["SoH"] is None


def test_a_chain_without_an_end_or_a_marker_is_refused() -> None:
    with pytest.raises(UnsupportedOperationError, match="no SunSpec register map"):
        find_chain(lambda _address, count: [0] * count)
    endless = {40000: [0x5375, 0x6E53]}

    def read(address: int, count: int) -> list[int]:
        return endless.get(address, [1, 0])[:count]  # model 1 of length 0, for ever

    with pytest.raises(MalformedResponseError, match="does not end"):
        find_chain(read)

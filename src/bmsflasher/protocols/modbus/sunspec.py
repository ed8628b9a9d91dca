"""SunSpec on any Modbus device: find the "SunS" marker, walk the model chain, decode models by their JSON.

Nothing here knows a register address of a model: point order, sizes, types, scale factors and
repeating groups come from the SunSpec Alliance's model definitions that ``pysunspec2`` ships
(``sunspec2/models/json/model_<id>.json``, read from the installed package, never from the working
folder), point sizes from pysunspec2's own type table. Values come out scaled (``value × 10^sf``)
and a not-implemented value (``0x8000`` int16, ``0xFFFF`` uint16, all-NUL string, …) comes out None,
so the live view works with any SunSpec storage battery, not only ours.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Final

from sunspec2 import mdef

from bmsflasher.core.errors import DeviceRejectedError, MalformedResponseError, UnsupportedOperationError
from bmsflasher.core.i18n import t

BASE_ADDRESSES: Final = (40000, 0, 50000)
"""Where SunSpec devices put their marker, in the order the specification suggests trying them."""
MARKER: Final = b"SunS"
END_MODEL: Final = 0xFFFF
MAX_MODELS: Final = 64
"""A chain longer than this is a device bug (or a loop), not a device."""
MAX_READ_REGISTERS: Final = 125
_SIGNED: Final = {"int16": 16, "sunssf": 16, "int32": 32, "int64": 64}
_UNSIGNED: Final = {"uint16", "enum16", "bitfield16", "count", "uint32", "enum32", "bitfield32", "uint64"}
_ACCUMULATORS: Final = {"acc16", "acc32", "acc64", "ipaddr"}

ReadRegisters = Callable[[int, int], list[int]]
"""Read ``count`` holding registers from ``address`` (raising the project's errors)."""
PointValue = float | int | str | None


@dataclass(frozen=True, slots=True)
class PointDef:
    """One point of a model definition: where it sits in its group and how it scales."""

    name: str
    kind: str
    offset: int
    size: int
    sf: str | None


@dataclass(frozen=True, slots=True)
class ModelDef:
    """A model's fixed points (ID and L first) and its one repeating group, if it has one."""

    model_id: int
    fixed: tuple[PointDef, ...]
    fixed_size: int
    group: tuple[PointDef, ...]
    group_size: int


@dataclass(frozen=True, slots=True)
class ModelLocation:
    """A model found in the chain: its ID's register and its length L."""

    model_id: int
    address: int
    length: int


@dataclass(frozen=True, slots=True)
class DecodedModel:
    """A model's values (scaled, None when not implemented) and one dict per repeating group."""

    model_id: int
    points: Mapping[str, PointValue]
    repeats: tuple[Mapping[str, PointValue], ...] = field(default_factory=tuple)


def _point_defs(definitions: list[dict[str, object]]) -> tuple[tuple[PointDef, ...], int]:
    points, offset = [], 0
    for definition in definitions:
        kind = str(definition["type"])
        size = mdef.point_type_info[kind]["len"] or int(str(definition.get("size", 0)))
        sf = definition.get("sf")
        points.append(
            PointDef(str(definition["name"]), kind, offset, int(size), str(sf) if sf is not None else None)
        )
        offset += int(size)
    return tuple(points), offset


@cache
def model_definition(model_id: int) -> ModelDef | None:
    """The definition of SunSpec model ``model_id`` from pysunspec2's JSON, or None for an unknown model."""
    path = resources.files("sunspec2").joinpath("models", "json", f"model_{model_id}.json")
    try:
        definition = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    group = definition["group"]
    fixed, fixed_size = _point_defs(group["points"])
    groups = group.get("groups") or []
    repeat, repeat_size = _point_defs(groups[0]["points"]) if groups else ((), 0)
    return ModelDef(model_id, fixed, fixed_size, repeat, repeat_size)


def read_block(read: ReadRegisters, address: int, count: int) -> list[int]:
    """``count`` registers from ``address``, in reads of at most 125."""
    registers: list[int] = []
    while len(registers) < count:
        piece = min(MAX_READ_REGISTERS, count - len(registers))
        registers += read(address + len(registers), piece)
    return registers


def find_chain(read: ReadRegisters) -> tuple[ModelLocation, ...]:
    """Find the "SunS" marker (40000, then 0, then 50000) and list the models of its chain.

    Raises:
        UnsupportedOperationError: no base address holds the marker.
        MalformedResponseError: the chain runs past the register space or never ends.
    """
    for base in BASE_ADDRESSES:
        try:
            marker = read(base, 2)
        except (UnsupportedOperationError, DeviceRejectedError):
            continue  # exception 02/03: nothing at this base
        if b"".join(v.to_bytes(2, "big") for v in marker) == MARKER:
            return _walk(read, base + 2)
    raise UnsupportedOperationError(
        t('The device publishes no SunSpec register map (no "SunS" marker at 40000, 0 or 50000).')
    )


def _walk(read: ReadRegisters, address: int) -> tuple[ModelLocation, ...]:
    models: list[ModelLocation] = []
    for _ in range(MAX_MODELS):
        if address + 2 > 0x10000:
            break
        model_id, length = read(address, 2)
        if model_id == END_MODEL:
            return tuple(models)
        models.append(ModelLocation(model_id, address, length))
        address += 2 + length
    raise MalformedResponseError(t("The device's SunSpec model chain does not end where the registers do."))


def read_model(read: ReadRegisters, location: ModelLocation) -> list[int]:
    """Every register of a model, its ID and L included."""
    return read_block(read, location.address, location.length + 2)


def decode_model(definition: ModelDef, registers: list[int]) -> DecodedModel:
    """A model's registers as values: raw points decoded, scale factors applied, repeats split.

    Raises:
        MalformedResponseError: the model is shorter than its fixed points.
    """
    if len(registers) < definition.fixed_size:
        raise MalformedResponseError(
            t("SunSpec model {model} is shorter than its definition.", model=definition.model_id)
        )
    raw = {p.name: _raw_value(p, registers) for p in definition.fixed}
    points = {p.name: _scaled(p, raw[p.name], raw) for p in definition.fixed if p.kind != "pad"}
    repeats: list[dict[str, PointValue]] = []
    if definition.group_size:
        count = (len(registers) - definition.fixed_size) // definition.group_size
        for index in range(count):
            start = definition.fixed_size + index * definition.group_size
            chunk = registers[start : start + definition.group_size]
            group_raw = {p.name: _raw_value(p, chunk) for p in definition.group}
            scope = {**raw, **group_raw}
            repeats.append({p.name: _scaled(p, group_raw[p.name], scope) for p in definition.group})
    return DecodedModel(definition.model_id, points, tuple(repeats))


def _raw_value(point: PointDef, registers: list[int]) -> PointValue:
    """The point's value before scaling; None for SunSpec's "not implemented"."""
    words = registers[point.offset : point.offset + point.size]
    data = b"".join(w.to_bytes(2, "big") for w in words)
    if point.kind == "string":
        text = data.split(b"\x00", 1)[0].decode(errors="replace")
        return text or None
    number = int.from_bytes(data, "big") if data else 0
    if point.kind in _SIGNED:
        bits = _SIGNED[point.kind]
        return None if number == 1 << (bits - 1) else number - (1 << bits) * (number >> (bits - 1))
    if point.kind in _UNSIGNED:
        return None if number == (1 << (16 * point.size)) - 1 else number
    if point.kind in _ACCUMULATORS:
        return None if number == 0 else number
    if point.kind == "float32":
        value = struct.unpack(">f", data)[0]
        return None if math.isnan(value) else float(value)
    return number


def _scaled(point: PointDef, value: PointValue, scope: Mapping[str, PointValue]) -> PointValue:
    """``value × 10^sf`` where the point has a scale factor (a number, or a sunssf point's value)."""
    if point.sf is None or value is None or isinstance(value, str):
        return value
    try:
        sf: PointValue = int(point.sf)
    except ValueError:
        sf = scope.get(point.sf)
    if not isinstance(sf, int):
        return None  # the scale factor is not implemented: the value cannot be read
    return value * 10**sf if sf >= 0 else round(value * 10.0**sf, -sf)

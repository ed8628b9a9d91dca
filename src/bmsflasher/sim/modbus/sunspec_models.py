"""SunSpec information models as the module lays them out: read from the SunSpec Alliance's JSON.

The point order, sizes, types and scale-factor names come from the model definitions ``pysunspec2``
ships (``sunspec2/models/json/model_<id>.json``); nothing here lists a register by hand. A model is
its fixed points, optionally followed by one repeating group (model 805's per-cell group); the
module fills a point with a number or text and this module turns it into registers, writing the
SunSpec "not implemented" value for a point left empty.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from bmsflasher.sim.errors import SimError

_SIZES: Final = {
    "int16": 1, "uint16": 1, "count": 1, "acc16": 1, "enum16": 1, "bitfield16": 1, "pad": 1, "sunssf": 1,
    "int32": 2, "uint32": 2, "acc32": 2, "enum32": 2, "bitfield32": 2, "ipaddr": 2, "float32": 2,
    "int64": 4, "uint64": 4, "acc64": 4, "float64": 4, "eui48": 4, "ipv6addr": 8,
}  # fmt: skip
_UNSIGNED_NOT_IMPLEMENTED: Final = {
    "uint16": 0xFFFF, "enum16": 0xFFFF, "bitfield16": 0xFFFF, "count": 0xFFFF, "acc16": 0,
    "uint32": 0xFFFFFFFF, "enum32": 0xFFFFFFFF, "bitfield32": 0xFFFFFFFF, "acc32": 0, "ipaddr": 0,
    "uint64": 0xFFFFFFFFFFFFFFFF, "acc64": 0, "pad": 0,
}  # fmt: skip
_SIGNED: Final = {"int16": 16, "sunssf": 16, "int32": 32, "int64": 64}
Value = int | str | None


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a model: where it sits (registers from the model's start) and what it holds."""

    name: str
    kind: str
    offset: int
    size: int
    writable: bool


@dataclass(frozen=True, slots=True)
class ModelLayout:
    """A model's fixed points (ID and L included) and its repeating group's points, if any."""

    model_id: int
    fixed: tuple[Point, ...]
    fixed_size: int
    group: tuple[Point, ...]
    group_size: int

    def length(self, repeats: int = 0) -> int:
        """The model's L: every register after ID and L."""
        return self.fixed_size - 2 + repeats * self.group_size


def _points(definitions: list[dict[str, object]]) -> tuple[tuple[Point, ...], int]:
    points, offset = [], 0
    for definition in definitions:
        kind = str(definition["type"])
        size = int(str(definition["size"])) if kind == "string" else _SIZES[kind]
        writable = definition.get("access") == "RW"
        points.append(Point(str(definition["name"]), kind, offset, size, writable))
        offset += size
    return tuple(points), offset


@cache
def model_layout(model_id: int) -> ModelLayout:
    """The layout of SunSpec model ``model_id`` from its published JSON definition.

    Raises:
        SimError: pysunspec2 does not ship the model, or it has more than one repeating group.
    """
    path = resources.files("sunspec2").joinpath("models", "json", f"model_{model_id}.json")
    try:
        definition = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SimError(f"SunSpec model {model_id} is not available: {exc}") from exc
    group = definition["group"]
    fixed, fixed_size = _points(group["points"])
    groups = group.get("groups", [])
    if len(groups) > 1:
        raise SimError(f"SunSpec model {model_id} has more than one repeating group")
    repeat, repeat_size = _points(groups[0]["points"]) if groups else ((), 0)
    return ModelLayout(model_id, fixed, fixed_size, repeat, repeat_size)


def encode_point(point: Point, value: Value) -> list[int]:
    """``value`` as the point's registers; None gives SunSpec's "not implemented" value."""
    if point.kind == "string":
        raw = (
            (value if isinstance(value, str) else "").encode()[: 2 * point.size].ljust(2 * point.size, b"\0")
        )
        return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    bits = 16 * point.size
    if point.kind in _SIGNED:
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        number = low if value is None else max(low + 1, min(high, int(value)))  # low = not implemented
        raw_value = number & ((1 << bits) - 1)
    elif point.kind in _UNSIGNED_NOT_IMPLEMENTED:
        missing = _UNSIGNED_NOT_IMPLEMENTED[point.kind]
        ceiling = (1 << bits) - (2 if missing else 1)
        raw_value = missing if value is None else max(0, min(ceiling, int(value)))
    elif point.kind == "float32":
        raw_value = 0x7FC00000 if value is None else struct.unpack(">I", struct.pack(">f", float(value)))[0]
    else:
        raise SimError(f"SunSpec point type {point.kind} is not used by this module")
    return [(raw_value >> (16 * (point.size - 1 - i))) & 0xFFFF for i in range(point.size)]


def encode_points(points: tuple[Point, ...], values: Mapping[str, Value]) -> list[int]:
    """Every point in order, each from ``values`` (absent: not implemented)."""
    registers: list[int] = []
    for point in points:
        registers += encode_point(point, values.get(point.name))
    return registers

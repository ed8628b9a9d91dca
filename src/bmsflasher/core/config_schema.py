"""What a device says its configuration parameters accept: the protocol-neutral schema.

UDS describes its parameters in DID 0xFD20 (and 0xFD21 for allowed values), SMP in the BMS
group's schema command; both are read into this one shape by ``Target.read_config_schema``, so
the GUI's configuration page, and anything else that must know a parameter's unit, range,
allowed values and whether it may be written, never asks which wire it talks over.

:func:`checked_schema` is the one place a device's claims about its schema are checked (as
``core.identity_checks`` does for identities): names and units are printable and short, a range
is not upside down, allowed values have the parameter's type. Pure Python, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from bmsflasher.core.errors import MalformedResponseError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import ParameterValue

PARAMETER_KINDS: Final[dict[str, type]] = {"bool": bool, "int": int, "float": float, "str": str}
"""The value types a parameter can have, by the names SMP schemas use."""
MAX_PARAMETERS: Final = 4096
"""A schema longer than this is a device bug or a hostile peer, not a configuration."""
MAX_NAME_CHARS: Final = 64
MAX_UNIT_CHARS: Final = 16
MAX_DESCRIPTION_CHARS: Final = 256
MAX_CHOICES: Final = 64


@dataclass(frozen=True, slots=True)
class ParameterSpec:
    """One configuration parameter as the device describes it.

    Attributes:
        name: the device's identifier (``cell_overvoltage_mv``); front-ends translate it.
        kind: ``int``, ``float``, ``bool`` or ``str``: the type its value keeps.
        unit: display unit ("mV", "°C"; "" for none), the same in every language.
        minimum: lowest allowed value (numbers), None when the device gives none.
        maximum: highest allowed value (numbers), None when the device gives none.
        choices: the only values allowed, when the device lists them (bit rates); else empty.
        writable: False for values set at the factory (serial number, cell count).
        description: the device's own sentence (device text, English) where its protocol carries
            one (SMP); "" otherwise.
    """

    name: str
    kind: type
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[ParameterValue, ...] = ()
    writable: bool = True
    description: str = ""


@dataclass(frozen=True, slots=True)
class ConfigSchema:
    """Every parameter of a device (in the device's order) and the schema's version."""

    version: int
    parameters: Mapping[str, ParameterSpec] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, version: int, specs: Iterable[ParameterSpec]) -> ConfigSchema:
        """A schema from its entries, in their order (a later duplicate name is refused)."""
        parameters: dict[str, ParameterSpec] = {}
        for spec in specs:
            if spec.name in parameters:
                raise MalformedResponseError(
                    t("The device's configuration schema names the parameter {name} twice.", name=spec.name)
                )
            parameters[spec.name] = spec
        return cls(version, MappingProxyType(parameters))

    def writable(self) -> dict[str, bool]:
        """Parameter name → whether the device lets it be written (the write policy's question)."""
        return {name: spec.writable for name, spec in self.parameters.items()}


def _text_ok(text: str, limit: int) -> bool:
    return len(text) <= limit and (text == "" or text.isprintable())


def _bound(value: float | None) -> bool:
    return value is None or math.isfinite(value)


def check_parameter(spec: ParameterSpec) -> ParameterSpec:
    """``spec`` when its claims are plausible; otherwise one sentence naming what is wrong.

    Raises:
        MalformedResponseError: an empty, unprintable or oversize name or unit, an unknown kind,
            a non-finite or upside-down range, or allowed values of another type.
    """
    if not spec.name or not _text_ok(spec.name, MAX_NAME_CHARS):
        raise MalformedResponseError(
            t(
                "The device's configuration schema holds a parameter name that is empty, unprintable or "
                "longer than {limit} characters: {name}.",
                limit=MAX_NAME_CHARS,
                name=ascii(spec.name[:MAX_NAME_CHARS]),
            )
        )
    problem = None
    if spec.kind not in PARAMETER_KINDS.values():
        problem = t("its type is not a flag, a whole number, a number or text")
    elif not _text_ok(spec.unit, MAX_UNIT_CHARS):
        problem = t("its unit is unprintable or longer than {limit} characters", limit=MAX_UNIT_CHARS)
    elif not _bound(spec.minimum) or not _bound(spec.maximum):
        problem = t("its range is not a pair of finite numbers")
    elif spec.minimum is not None and spec.maximum is not None and spec.minimum > spec.maximum:
        problem = t("its minimum is above its maximum")
    elif len(spec.choices) > MAX_CHOICES or not all(_is_kind(c, spec.kind) for c in spec.choices):
        problem = t("its allowed values are not values of its type")
    elif len(spec.description) > MAX_DESCRIPTION_CHARS:
        problem = t("its description is longer than {limit} characters", limit=MAX_DESCRIPTION_CHARS)
    if problem is not None:
        raise MalformedResponseError(
            t(
                "The device's configuration schema describes the parameter {name} implausibly: {problem}.",
                name=spec.name,
                problem=problem,
            )
        )
    return spec


def checked_schema(schema: ConfigSchema) -> ConfigSchema:
    """``schema`` when every entry passes :func:`check_parameter` and it is not absurdly long.

    Raises:
        MalformedResponseError: see :func:`check_parameter`; or more than :data:`MAX_PARAMETERS`.
    """
    if len(schema.parameters) > MAX_PARAMETERS:
        raise MalformedResponseError(
            t(
                "The device's configuration schema lists {count} parameters (at most {limit} are accepted).",
                count=len(schema.parameters),
                limit=MAX_PARAMETERS,
            )
        )
    for spec in schema.parameters.values():
        check_parameter(spec)
    return schema


def _is_kind(value: object, kind: type) -> bool:
    """``value`` is a value of a parameter of ``kind`` (an int is a float value too; a flag is no number)."""
    if kind is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, int | float) and math.isfinite(value)
    return isinstance(value, kind)


__all__ = [
    "PARAMETER_KINDS",
    "ConfigSchema",
    "ParameterSpec",
    "check_parameter",
    "checked_schema",
]

"""Check a typed configuration value against the device's schema before anything is sent.

The device rejects an out-of-range value too, but only after the write went over the wire, with
an English sentence from its firmware. Checking here, against the schema the device itself
reported (type, range, allowed values), lets the configuration page say what is wrong while the
technician types, in their language, and never send a value the device would refuse.

Without a schema (a target that cannot describe its parameters) only the type is checked: the
value keeps the type the device reported (an integer stays an integer, a flag stays a flag).
Pure Python: the page turns a :class:`InvalidValueError` into a translated sentence.
"""

from __future__ import annotations

import math
from typing import Literal

from bmsflasher.core.types import ParameterValue
from bmsflasher.gui.engine import ParameterRule

ProblemKind = Literal["not_number", "not_whole", "not_flag", "below", "above", "not_choice", "read_only"]


class InvalidValueError(ValueError):
    """Why a typed value cannot be written; ``limit`` is the bound or the allowed values it broke."""

    def __init__(self, kind: ProblemKind, limit: str = "") -> None:
        super().__init__(kind, limit)
        self.kind: ProblemKind = kind
        self.limit = limit


TRUE_WORDS = frozenset({"1", "true", "yes", "on", "ja", "aan", "oui"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "nee", "uit", "non"})


def number_text(value: float) -> str:
    """A bound as the tables show it: no trailing ".0" on whole numbers."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _parse_number(text: str, whole: bool) -> int | float:
    cleaned = text.strip().replace(" ", "").replace("\u202f", "")
    if "," in cleaned and "." not in cleaned:  # "3,5" is how Dutch and French write 3.5
        cleaned = cleaned.replace(",", ".")
    try:
        number = float(cleaned)
    except ValueError:
        if whole and cleaned.lower().startswith("0x"):
            try:
                return int(cleaned, 16)
            except ValueError:
                raise InvalidValueError("not_whole") from None
        raise InvalidValueError("not_whole" if whole else "not_number") from None
    if not math.isfinite(number):
        raise InvalidValueError("not_number")
    if whole:
        if not number.is_integer():
            raise InvalidValueError("not_whole")
        return int(number)
    return number


def parse_value(text: str, like: ParameterValue, rule: ParameterRule | None = None) -> ParameterValue:
    """``text`` as the parameter's value, checked against ``rule`` when the device gave one.

    Raises:
        InvalidValueError: the text is not a value of the parameter's type, or breaks the device's range
            or list of allowed values.
    """
    kind = rule.kind if rule is not None else type(like)
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        raise InvalidValueError("not_flag")
    if kind is str:
        return text
    value = _parse_number(text, whole=kind is int)
    if rule is None:
        return value
    if rule.choices and value not in rule.choices:
        allowed = ", ".join(number_text(c) if isinstance(c, int | float) else str(c) for c in rule.choices)
        raise InvalidValueError("not_choice", allowed)
    if rule.minimum is not None and value < rule.minimum:
        raise InvalidValueError("below", number_text(rule.minimum))
    if rule.maximum is not None and value > rule.maximum:
        raise InvalidValueError("above", number_text(rule.maximum))
    return value


def check_values(
    values: dict[str, ParameterValue], rules: dict[str, ParameterRule] | None
) -> dict[str, InvalidValueError]:
    """Every value that breaks its rule (name → problem): the last check before a write is sent."""
    problems: dict[str, InvalidValueError] = {}
    for name, value in values.items():
        rule = (rules or {}).get(name)
        if rule is None:
            continue
        if not rule.writable:
            problems[name] = InvalidValueError("read_only")
            continue
        if isinstance(value, bool | str):
            continue
        try:
            parse_value(repr(value) if isinstance(value, float) else str(value), value, rule)
        except InvalidValueError as problem:
            problems[name] = problem
    return problems

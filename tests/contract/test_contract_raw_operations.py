"""A protocol implements the raw operations only; the documented list is the one the code enforces.

A third protocol joins by reading ``docs/architecture.md`` ("The target contract") and writing
exactly the operations listed there: this test keeps that list equal to what ``TargetBase``
leaves abstract, and keeps the shipped protocols from overriding the policy it owns.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import pytest

from bmsflasher.core.target import Target
from bmsflasher.protocols.base import TargetBase
from bmsflasher.protocols.modbus.target import ModbusTarget
from bmsflasher.protocols.smp.target import SmpTarget
from bmsflasher.protocols.uds.target import UdsTarget

ARCHITECTURE: Final = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
POLICY: Final = frozenset(
    {
        "identify",
        "read_config_schema",
        "write_config",
        "upload_image",
        "mark_for_test",
        "reset",
        "rollback",
        "reconnect",
        "link_stats",
        "close",
    }
)


def _documented_operations() -> set[str]:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    section = text.split("A protocol implements only these operations", 1)[1].split("Each raw operation", 1)[
        0
    ]
    return set(re.findall(r"`([a-z_]+)`", section))


def test_the_documented_operations_are_exactly_the_abstract_ones() -> None:
    assert _documented_operations() == set(TargetBase.__abstractmethods__)


def test_the_policy_is_not_left_to_the_protocols() -> None:
    assert not POLICY & set(TargetBase.__abstractmethods__)
    assert {name for name in vars(TargetBase) if not name.startswith("__")} >= POLICY


@pytest.mark.parametrize("protocol", [UdsTarget, SmpTarget, ModbusTarget])
def test_a_protocol_implements_raw_operations_only(protocol: type[TargetBase]) -> None:
    assert issubclass(protocol, TargetBase)
    assert Target in protocol.__mro__  # the interface the procedure, CLI and GUI see
    assert not protocol.__abstractmethods__
    assert not POLICY & set(vars(protocol)), "a protocol overrides behaviour the base owns"

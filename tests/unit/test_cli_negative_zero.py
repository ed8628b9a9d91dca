"""Issue 14: "-0.00 %" was printed for a calibration error that rounds to zero.

A value that rounds to zero keeps its sign in Python's formatting (``format(-0.0004, ".2f")`` is
``"-0.00"``), which reads as a (tiny) fault. Every number a sentence formats (the engine's
measurements, the CLI's telemetry line, in every language) and every number a device formatted
itself (its own self-test's values) is shown without that sign.
"""

from __future__ import annotations

import pytest

from bmsflasher.cli.render import telemetry_line
from bmsflasher.core.display_text import format_number, without_negative_zero
from bmsflasher.core.i18n import localise, t
from bmsflasher.core.types import DeviceSelfTest, PackTelemetry, SelfTestCheck
from bmsflasher.procedure.selftest import device_checks


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
def test_a_value_that_rounds_to_zero_has_no_minus_sign(language: str) -> None:
    sentence = t(
        "cells {cell_sum_mv} mV vs pack {pack_voltage_mv} mV ({deviation:.2f} %)",
        cell_sum_mv=52000,
        pack_voltage_mv=52000,
        deviation=-0.0004,
    )
    assert "-0" not in localise(sentence, language)
    assert "(0.00 %)" in str(sentence)  # the English rendering the log, JSON and records keep


def test_the_device_self_tests_own_values_lose_the_sign_of_a_zero() -> None:
    reported = DeviceSelfTest(
        (
            SelfTestCheck("voltage_calibration", True, "-0.00 %", "±0.5 %"),
            SelfTestCheck("offset", False, "-0.05 %", "-0.0..0.0 %"),
        )
    )
    calibration, offset = device_checks(reported)
    assert calibration.value == "0.00 %"
    assert offset.value == "-0.05 %"  # a real negative value keeps its sign
    assert offset.limit == "0.0..0.0 %"


def test_the_telemetry_line_shows_a_zero_current_without_minus() -> None:
    sample = PackTelemetry(
        timestamp_s=0.0,
        cell_voltages_mv=(3300, 3301),
        balancing=(False, False),
        temperatures_c=(-0.04, 25.0),
        pack_voltage_mv=6601,
        current_ma=-3,  # -0.003 A: "+0.00 A", not "-0.00 A"
        soc_pct=50.0,
        soh_pct=100.0,
    )
    line = telemetry_line(sample)
    assert "+0.00 A" in line
    assert "-0.0" not in line


@pytest.mark.parametrize(
    ("value", "spec", "shown"),
    [
        (-0.0004, ".2f", "0.00"),
        (-0.0004, "+.2f", "+0.00"),
        (-0.0, "g", "0"),
        (-0.004, ".1%", "-0.4%"),
        (-1e-9, ".3e", "-1.000e-09"),
        (float("-inf"), ".1f", "-inf"),
        (-3, "d", "-3"),
    ],
)
def test_format_number(value: float, spec: str, shown: str) -> None:
    assert format_number(value, spec) == shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("-0.00 %", "0.00 %"),
        ("error -0,0 %", "error 0,0 %"),
        ("-0.05 %", "-0.05 %"),
        ("-0.001", "-0.001"),
        ("SN-0.00", "SN-0.00"),
        ("range -0.5..-0.0 V", "range -0.5..-0.0 V"),
    ],
)
def test_without_negative_zero(text: str, shown: str) -> None:
    assert without_negative_zero(text) == shown

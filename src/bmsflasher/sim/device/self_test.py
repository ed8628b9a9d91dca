"""The running firmware's self-test after an update: calibration, sensors, balancing, integrity.

Kept apart from :class:`~bmsflasher.sim.device.virtual_bms.VirtualBms` because it is pure: it
judges one pack reading against the configuration and the running image, and the checks and their
limits are what a product owner changes, not the device's life cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from bmsflasher.core.types import DeviceSelfTest, ParameterValue, SelfTestCheck
from bmsflasher.sim.device import monitor
from bmsflasher.sim.device.behaviours import SELFTEST_FAIL, Behaviour
from bmsflasher.sim.device.pack import PackReading
from bmsflasher.sim.flash.images import ImageInfo

CALIBRATION_TOLERANCE_PCT: Final = 0.5
"""The seeds' requirement: the voltage calibration holds within ±0.5 % after an update."""


def run_self_test(
    reference_pack_mv: float,
    config: Mapping[str, ParameterValue],
    behaviour: Behaviour,
    reading: PackReading,
    running: ImageInfo | None,
) -> DeviceSelfTest:
    """Judge one reading: the reported cell sum against the independent pack measurement, and more.

    Args:
        reference_pack_mv: the pack voltage measured independently of the cell taps.
        config: the configuration in effect (calibration gains).
        behaviour: the running firmware's sim behaviour (``selftest-fail`` breaks balancing).
        reading: the pack's true values at the moment of the test.
        running: the image the bootloader verified and started, None when none runs.
    """
    cells = monitor.measure_cells(reading, config, behaviour)
    reported = sum(cells)
    error_pct = 100.0 * (reported - reference_pack_mv) / reference_pack_mv if reference_pack_mv else 100.0
    sensors_ok = all(t is not None and -40 <= t <= 125 for t in reading.temperatures_c)
    failing = behaviour.name == SELFTEST_FAIL
    checks = (
        SelfTestCheck(
            "voltage_calibration",
            abs(error_pct) <= CALIBRATION_TOLERANCE_PCT,
            f"{error_pct:+.2f} %",
            f"±{CALIBRATION_TOLERANCE_PCT} %",
            "sum of cell voltages against the independent pack-voltage measurement",
        ),
        SelfTestCheck(
            "temperature_sensors",
            sensors_ok,
            f"{sum(t is not None for t in reading.temperatures_c)}/{len(reading.temperatures_c)} reading",
            "all sensors reading -40..125 °C",
        ),
        SelfTestCheck(
            "balancing_circuit",
            not failing,
            "bleed current absent" if failing else "bleed current present",
            "bleed current present on a forced cell",
        ),
        SelfTestCheck(
            "firmware_integrity",
            running is not None,
            "image verified" if running is not None else "no image",
            "running image verified by the bootloader",
        ),
    )
    return DeviceSelfTest(checks)

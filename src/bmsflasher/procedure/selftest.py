"""Post-update self-test: does the new firmware measure, protect and talk like it should?

The device's own self-test is one voice; the tool checks independently with what it can observe
from outside, because firmware that mis-measures may also mis-report its own health:

* calibration — the sum of the cell voltages against the pack voltage within ±0.5 % (the seeds'
  figure), and optionally the pack voltage against a reference the technician measured;
* temperature sensors plausible (none open or shorted, inside a physical range) and consistent
  with each other;
* communication speed — round trips answered, none slower than the profile allows;
* balancing actuated and observed — switch one cell's balancing on, see the flag in telemetry,
  switch it off again;
* no new DTCs compared with before the update.

Evaluation is pure (plain values in, :class:`Measurement` out); measuring is a thin layer above.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.display_text import without_negative_zero
from bmsflasher.core.events import Measurement
from bmsflasher.core.i18n import joined, t
from bmsflasher.core.names import check_name
from bmsflasher.core.target import Target
from bmsflasher.core.types import DeviceSelfTest, Dtc, PackTelemetry
from bmsflasher.procedure.idle_work import IdleWork
from bmsflasher.procedure.preconditions import RoundTrip, measure_round_trips
from bmsflasher.procedure.profiles import SelfTestLimits

CALIBRATION: Final = "voltage_calibration"
REFERENCE_VOLTAGE: Final = "reference_voltage"
TEMPERATURE_SENSORS: Final = "temperature_sensors"
COMMUNICATION_SPEED: Final = "communication_speed"
BALANCING: Final = "balancing"
NEW_DTCS: Final = "new_dtcs"
DEVICE_PREFIX: Final = "device_"


def _check(name: str, value: str, limit: str, passed: bool, why: str) -> Measurement:
    return Measurement(name, value, limit, passed, why, overridable=False)


def deviation_pct(measured_mv: float, reference_mv: float) -> float:
    """Relative deviation of ``measured_mv`` from ``reference_mv`` in percent (inf for a zero reference)."""
    if reference_mv == 0:
        return float("inf")
    return abs(measured_mv - reference_mv) / abs(reference_mv) * 100.0


def check_calibration(telemetry: PackTelemetry, limits: SelfTestLimits) -> Measurement:
    """Sum of cell voltages against pack voltage within the calibration tolerance."""
    deviation = deviation_pct(telemetry.cell_sum_mv, telemetry.pack_voltage_mv)
    return _check(
        CALIBRATION,
        t(
            "cells {cell_sum_mv} mV vs pack {pack_voltage_mv} mV ({deviation:.2f} %)",
            cell_sum_mv=telemetry.cell_sum_mv,
            pack_voltage_mv=telemetry.pack_voltage_mv,
            deviation=deviation,
        ),
        f"<= {limits.calibration_tolerance_pct:g} %",
        telemetry.cell_count > 0 and deviation <= limits.calibration_tolerance_pct,
        t(
            "Cell and pack measurements that disagree mean the new firmware mis-calibrates its ADC; "
            "protections would then trip at the wrong voltage."
        ),
    )


def check_reference_voltage(
    telemetry: PackTelemetry, reference_mv: int, limits: SelfTestLimits
) -> Measurement:
    """Pack voltage against the technician's meter within the calibration tolerance."""
    deviation = deviation_pct(telemetry.pack_voltage_mv, reference_mv)
    return _check(
        REFERENCE_VOLTAGE,
        t(
            "pack {pack_voltage_mv} mV vs meter {reference_mv} mV ({deviation:.2f} %)",
            pack_voltage_mv=telemetry.pack_voltage_mv,
            reference_mv=reference_mv,
            deviation=deviation,
        ),
        f"<= {limits.calibration_tolerance_pct:g} %",
        deviation <= limits.calibration_tolerance_pct,
        t("A reference measured with a calibrated meter catches an offset the BMS cannot see in itself."),
    )


def check_temperature_sensors(telemetry: PackTelemetry, limits: SelfTestLimits) -> Measurement:
    """Every sensor reads, plausibly, and the sensors agree with each other."""
    readings = telemetry.temperatures_c
    valid = [c for c in readings if c is not None]
    failed = len(readings) - len(valid)
    spread = (max(valid) - min(valid)) if valid else 0.0
    implausible = [c for c in valid if not limits.temperature_plausible_c.contains(c)]
    if valid:
        value = t(
            "{count} sensors {low:.1f}–{high:.1f} °C, spread {spread:.1f} °C",
            count=len(valid),
            low=min(valid),
            high=max(valid),
            spread=spread,
        )
    else:
        value = t("no valid sensor")
    if failed:
        value = t("{sensors}, {failed} failed", sensors=value, failed=failed)
    passed = bool(readings) and failed == 0 and not implausible and spread <= limits.temperature_max_spread_c
    return _check(
        TEMPERATURE_SENSORS,
        value,
        t(
            "{temperature_plausible_c} °C, spread <= {temperature_max_spread_c:g} °C",
            temperature_plausible_c=limits.temperature_plausible_c,
            temperature_max_spread_c=limits.temperature_max_spread_c,
        ),
        passed,
        t(
            "Over-temperature protection relies on every sensor reading plausibly and agreeing with "
            "the others."
        ),
    )


def check_communication(round_trips: Sequence[RoundTrip], limits: SelfTestLimits) -> Measurement:
    """Every round trip answered within the limit."""
    failures = sum(1 for r in round_trips if r is None)
    good_ms = [r * 1000.0 for r in round_trips if r is not None]
    worst = max(good_ms, default=0.0)
    mean = sum(good_ms) / len(good_ms) if good_ms else 0.0
    return _check(
        COMMUNICATION_SPEED,
        t(
            "{answered}/{count} answered, mean {mean:.1f} ms, worst {worst:.1f} ms",
            answered=len(good_ms),
            count=len(round_trips),
            mean=mean,
            worst=worst,
        ),
        t(
            "all answered, <= {max_round_trip_ms:g} ms",
            max_round_trip_ms=limits.max_round_trip_ms,
        ),
        bool(round_trips) and failures == 0 and worst <= limits.max_round_trip_ms,
        t("The new firmware must keep the RS485/CAN link at the speed the pack's controller expects."),
    )


@dataclass(frozen=True, slots=True)
class BalancingObservation:
    """What telemetry showed after switching one cell's balancing on and then off."""

    cell_index: int
    seen_on: bool
    seen_off: bool
    on_after_s: float | None = None


def check_balancing(observation: BalancingObservation) -> Measurement:
    """Balancing followed both commands (on, then off)."""
    if observation.seen_on and observation.on_after_s:
        on = t("on after {seconds:.2f} s", seconds=observation.on_after_s)
    else:
        on = t("on seen") if observation.seen_on else t("never seen on")
    value = joined([on, t("off seen") if observation.seen_off else t("never seen off")], ", ")
    return _check(
        BALANCING,
        t("cell {cell}: {seen}", cell=observation.cell_index + 1, seen=value),
        t("switched on and off as commanded"),
        observation.seen_on and observation.seen_off,
        t("Balancing that does not follow commands lets cells drift apart until protections trip."),
    )


def check_new_dtcs(before: Sequence[Dtc], after: Sequence[Dtc]) -> Measurement:
    """No DTC code appears that was not stored before the update."""
    known = {d.code for d in before}
    new = [d for d in after if d.code not in known]
    value = ", ".join(f"{d.code_text} {d.description}" for d in new) if new else t("none")
    return _check(
        NEW_DTCS,
        value,
        t("no DTC that was not present before the update"),
        not new,
        t("A fault code that appears only after the update points at the new firmware."),
    )


def device_checks(result: DeviceSelfTest) -> list[Measurement]:
    """The device's own checks, as measurements (prefixed so they never clash with the tool's).

    The device formats its values itself; a value that rounded to zero loses its minus sign here
    ("-0.00 %" reads as a fault that is not there), as every number the tool formats does.
    """
    return [
        _check(
            DEVICE_PREFIX + check.name,
            without_negative_zero(check.measured),
            without_negative_zero(check.limit),
            check.passed,
            check.detail or t("Reported by the device's own self-test."),
        )
        for check in result.checks
    ]


@dataclass(frozen=True, slots=True)
class SelfTestInputs:
    """Everything observed after the update, as plain values."""

    telemetry: PackTelemetry
    round_trips: tuple[RoundTrip, ...]
    balancing: BalancingObservation | None
    dtcs_before: tuple[Dtc, ...]
    dtcs_after: tuple[Dtc, ...]
    device: DeviceSelfTest | None
    reference_mv: int | None = None


@dataclass(frozen=True, slots=True)
class SelfTestReport:
    """The result of every self-test check."""

    results: tuple[Measurement, ...]

    @property
    def failed(self) -> tuple[Measurement, ...]:
        return tuple(m for m in self.results if not m.passed)

    @property
    def passed(self) -> bool:
        return bool(self.results) and not self.failed

    def summary(self) -> str:
        """One sentence naming each failed check with its value and limit."""
        return joined(
            t("{check} is {value} (limit {limit})", check=check_name(m.name), value=m.value, limit=m.limit)
            for m in self.failed
        )


def evaluate(inputs: SelfTestInputs, limits: SelfTestLimits) -> SelfTestReport:
    """Run every host-side check and append the device's own; pure."""
    results = [check_calibration(inputs.telemetry, limits)]
    if inputs.reference_mv is not None:
        results.append(check_reference_voltage(inputs.telemetry, inputs.reference_mv, limits))
    results.append(check_temperature_sensors(inputs.telemetry, limits))
    results.append(check_communication(inputs.round_trips, limits))
    if inputs.balancing is not None:
        results.append(check_balancing(inputs.balancing))
    results.append(check_new_dtcs(inputs.dtcs_before, inputs.dtcs_after))
    if inputs.device is not None:
        results.extend(device_checks(inputs.device))
    return SelfTestReport(tuple(results))


# --- measuring -------------------------------------------------------------------------------------
def _wait_for_flag(
    target: Target,
    cell: int,
    wanted: bool,
    *,
    timeout_s: float,
    poll_s: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> float | None:
    start = clock()
    while True:
        telemetry = target.read_telemetry()
        flags = telemetry.balancing
        if cell < len(flags) and flags[cell] is wanted:
            return clock() - start
        if clock() - start >= timeout_s:
            return None
        sleep(poll_s)


BALANCING_POLL_S: Final = 0.05
"""Telemetry polls while waiting for a balancing flag: the flag is seen as soon as the device shows it."""


def observe_balancing(
    target: Target,
    cell: int,
    *,
    timeout_s: float,
    poll_s: float = BALANCING_POLL_S,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> BalancingObservation:
    """Command balancing of ``cell`` on, watch telemetry for it, command it off, watch again.

    Balancing is always commanded off at the end, even when the "on" was never seen, so the self-test
    never leaves a bleed resistor running.
    """
    on_after: float | None = None
    try:
        target.set_balancing(cell, True)
        on_after = _wait_for_flag(
            target, cell, True, timeout_s=timeout_s, poll_s=poll_s, clock=clock, sleep=sleep
        )
    finally:
        target.set_balancing(cell, False)
    off_after = _wait_for_flag(
        target, cell, False, timeout_s=timeout_s, poll_s=poll_s, clock=clock, sleep=sleep
    )
    return BalancingObservation(cell, on_after is not None, off_after is not None, on_after)


def measure(
    target: Target,
    limits: SelfTestLimits,
    dtcs_before: Sequence[Dtc],
    reference_mv: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SelfTestInputs:
    """Observe the updated device: telemetry, round trips, balancing, DTCs, its own self-test.

    The round trips are independent of the balancing check, so they run while it waits for a flag
    (:class:`~bmsflasher.procedure.idle_work.IdleWork`). The trouble codes are read after balancing
    is off again, and the device's own self-test runs last, as before: a code the balancing test
    raises must be seen, and the device tests itself with no bleed resistor on.
    """
    telemetry = target.read_telemetry()
    found: list[tuple[RoundTrip, ...]] = []
    idle = IdleWork([lambda: found.append(measure_round_trips(target, limits.round_trips))], sleep=sleep)
    cell = min(limits.balancing_cell, max(telemetry.cell_count - 1, 0))
    balancing = (
        observe_balancing(target, cell, timeout_s=limits.balancing_observe_timeout_s, sleep=idle.wait)
        if telemetry.cell_count
        else None
    )
    idle.finish()
    round_trips = found[0]
    dtcs_after = tuple(target.read_dtcs())
    device = target.run_self_test()
    return SelfTestInputs(
        telemetry=telemetry,
        round_trips=round_trips,
        balancing=balancing,
        dtcs_before=tuple(dtcs_before),
        dtcs_after=dtcs_after,
        device=device,
        reference_mv=reference_mv,
    )

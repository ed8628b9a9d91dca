"""Precondition gates: is it safe to start writing firmware to this battery now?

Each gate is a pure function from measured values to a :class:`Measurement` carrying the value,
the limit and why it matters, so the CLI, the GUI and the service report show the same evidence.
Safety gates (charge, temperature, load, hardware match, anti-rollback, bootloader, critical DTCs)
can never be overridden. Quality gates (link quality, supply stability) can, with a reason that is
recorded, because a technician on a noisy site may knowingly accept a slower or riskier transfer —
the dual-bank update still protects the battery.

Everything here runs before the first byte is written to the device.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from bmsflasher.core.errors import LinkError, PreconditionError, ProtocolError
from bmsflasher.core.events import Measurement
from bmsflasher.core.i18n import Text, joined, t
from bmsflasher.core.names import check_name, mode_name, severity_name
from bmsflasher.core.target import Target
from bmsflasher.core.types import DeviceIdentity, DeviceMode, Dtc, DtcSeverity, PackTelemetry
from bmsflasher.procedure import compatibility
from bmsflasher.procedure.idle_work import IdleWork, Job
from bmsflasher.procedure.package_facts import PackageFacts
from bmsflasher.procedure.profiles import PreconditionLimits, profile_for_model

MODEL: Final = compatibility.MODEL
HARDWARE_REVISION: Final = compatibility.HARDWARE_REVISION
DEVICE_MODE: Final = "device_mode"
BOOTLOADER_VERSION: Final = compatibility.BOOTLOADER_VERSION
ANTI_ROLLBACK: Final = compatibility.ANTI_ROLLBACK
STATE_OF_CHARGE: Final = "state_of_charge"
TEMPERATURE: Final = "temperature"
LOAD_CURRENT: Final = "load_current"
CRITICAL_DTCS: Final = "critical_dtcs"
CELL_STABILITY: Final = "cell_voltage_stability"
SUPPLY_STABILITY: Final = "supply_stability"
LINK_QUALITY: Final = "link_quality"
SIGNING_KEY: Final = "signing_key"

OVERRIDABLE: Final = frozenset({CELL_STABILITY, SUPPLY_STABILITY, LINK_QUALITY})
"""Gates a technician may override with a recorded reason; every other gate is a safety gate."""

ALL_GATES: Final = (
    MODEL,
    HARDWARE_REVISION,
    DEVICE_MODE,
    BOOTLOADER_VERSION,
    ANTI_ROLLBACK,
    STATE_OF_CHARGE,
    TEMPERATURE,
    LOAD_CURRENT,
    CRITICAL_DTCS,
    CELL_STABILITY,
    SUPPLY_STABILITY,
    LINK_QUALITY,
)

CONDITIONAL_GATES: Final = (SIGNING_KEY,)
"""Safety gates that run only when the device can tell their input (the keys its bootloader trusts)."""

_SEVERITY_RANK: Final = {DtcSeverity.INFO: 0, DtcSeverity.WARNING: 1, DtcSeverity.CRITICAL: 2}

RoundTrip = float | None
"""Duration of one round trip in seconds, or None when it failed."""


def _gate(name: str, value: str, limit: str, passed: bool, why: str) -> Measurement:
    return Measurement(name, value, limit, passed, why, overridable=name in OVERRIDABLE)


# --- identity and package gates -------------------------------------------------------------------
# Model, hardware revision, bootloader and anti-rollback are the package-compatibility gates that
# ``verify`` and the GUI's package page use too: they live in :mod:`procedure.compatibility` so the
# three front-ends cannot disagree. These wrappers keep the precondition vocabulary.
def check_model(identity: DeviceIdentity, package: PackageFacts) -> Measurement:
    """The device is the model the package was released for (safety gate)."""
    return compatibility.model_gate(identity.model, package)


def check_hardware_revision(identity: DeviceIdentity, package: PackageFacts) -> Measurement:
    """The board revision is one the package lists (safety gate)."""
    return compatibility.hardware_revision_gate(identity.hardware_revision, package)


def check_device_mode(identity: DeviceIdentity) -> Measurement:
    """The application runs, so the pack can be measured and backed up (safety gate)."""
    return _gate(
        DEVICE_MODE,
        mode_name(identity.mode.value),
        t("= {mode}", mode=mode_name(DeviceMode.APPLICATION.value)),
        identity.mode is DeviceMode.APPLICATION,
        t(
            "Battery measurements and the configuration backup need the application running; a "
            "device in recovery needs the recovery procedure instead."
        ),
    )


def check_bootloader(
    identity: DeviceIdentity, package: PackageFacts, limits: PreconditionLimits
) -> Measurement:
    """The bootloader is new enough for the package and the profile (safety gate)."""
    return compatibility.bootloader_gate(identity.bootloader_version, package, limits)


def check_anti_rollback(identity: DeviceIdentity, package: PackageFacts) -> Measurement:
    """The image's security counter is not below the device's (safety gate)."""
    return compatibility.anti_rollback_gate(identity.security_counter, package)


def _key_list(hashes: Sequence[bytes]) -> str:
    return ", ".join(h.hex()[:16] for h in hashes)


def check_signing_key(trusted: Sequence[bytes], package: PackageFacts) -> Measurement:
    """The image is signed by a key the device's bootloader trusts (safety gate).

    Run only when the device reports its trusted keys: MCUboot checks the signature after the
    whole transfer (35 s at 115200 baud), so an image it cannot accept is refused before the first
    write instead of after it.
    """
    signers = package.image_key_hashes
    return _gate(
        SIGNING_KEY,
        t("key {keys}", keys=_key_list(signers)),
        t("key {keys}", keys=_key_list(trusted)),
        any(signer in trusted for signer in signers),
        t(
            "The bootloader checks the signature only after the whole transfer and refuses an image "
            "signed by a key it does not trust."
        ),
    )


def refusal_sentence(gate: Measurement) -> Text:
    """Why a failed gate refuses the update, in one clause (the signing key gate says what would happen)."""
    if gate.name == SIGNING_KEY:
        return t(
            "the device's bootloader trusts {trusted}, but the image is signed by {signer}; it would be "
            "refused after the transfer",
            trusted=gate.limit,
            signer=gate.value,
        )
    return t(
        "{check} is {value} (limit {limit})", check=check_name(gate.name), value=gate.value, limit=gate.limit
    )


def _span(values: Sequence[float], unit: str, fmt: str = "g") -> str:
    low, high = min(values), max(values)
    if low == high:
        return f"{low:{fmt}} {unit}"
    return f"{low:{fmt}}–{high:{fmt}} {unit}"


def check_state_of_charge(samples: Sequence[PackTelemetry], limits: PreconditionLimits) -> Measurement:
    """Every sample's SOC is inside the window, 20–80 % by default (safety gate)."""
    socs = [s.soc_pct for s in samples]
    return _gate(
        STATE_OF_CHARGE,
        _span(socs, "%", ".1f"),
        f"{limits.soc_pct} %",
        all(limits.soc_pct.contains(v) for v in socs),
        t("Outside this charge window a voltage drop during the update can reset the controller mid-write."),
    )


def check_temperature(samples: Sequence[PackTelemetry], limits: PreconditionLimits) -> Measurement:
    """Every sensor in every sample reads inside the window, 0–45 °C by default (safety gate)."""
    readings = [c for s in samples for c in s.temperatures_c]
    valid = [c for c in readings if c is not None]
    failed = len(readings) - len(valid)
    if not readings:
        return _gate(
            TEMPERATURE,
            t("no sensors"),
            f"{limits.temperature_c} °C",
            False,
            _TEMPERATURE_WHY,
        )
    value: str = _span(valid, "°C", ".1f") if valid else t("no valid reading")
    if failed:
        value = t("{readings} ({failed} failed sensor readings)", readings=value, failed=failed)
    passed = failed == 0 and all(limits.temperature_c.contains(c) for c in valid)
    return _gate(
        TEMPERATURE,
        value,
        t("{temperature_c} °C on every sensor", temperature_c=limits.temperature_c),
        passed,
        _TEMPERATURE_WHY,
    )


_TEMPERATURE_WHY: Final = t(
    "Extreme heat or cold can corrupt flash writes or damage cells; every sensor must read in range."
)


def check_load_current(samples: Sequence[PackTelemetry], limits: PreconditionLimits) -> Measurement:
    """The pack is at rest: no sample's current exceeds the limit (safety gate)."""
    worst = max(abs(s.current_ma) for s in samples)
    return _gate(
        LOAD_CURRENT,
        f"{worst} mA",
        f"|I| <= {limits.max_abs_current_ma} mA",
        worst <= limits.max_abs_current_ma,
        t("Protections pause while the controller reboots; the pack must not be charging or under load."),
    )


def check_critical_dtcs(dtcs: Sequence[Dtc], limits: PreconditionLimits) -> Measurement:
    """No stored DTC at or above the blocking severity (safety gate)."""
    threshold = _SEVERITY_RANK[limits.critical_dtc_severity]
    blocking = [d for d in dtcs if _SEVERITY_RANK[d.severity] >= threshold]
    value = ", ".join(f"{d.code_text} {d.description}" for d in blocking) if blocking else t("none")
    return _gate(
        CRITICAL_DTCS,
        value,
        t(
            "no {severity} DTCs",
            severity=severity_name(limits.critical_dtc_severity.value),
        ),
        not blocking,
        t("A critical fault means the battery needs repair first; an update would hide the evidence."),
    )


def check_cell_stability(samples: Sequence[PackTelemetry], limits: PreconditionLimits) -> Measurement:
    """No cell voltage moves more than the limit over the window (overridable)."""
    cell_count = min(s.cell_count for s in samples)
    drifts = [
        max(s.cell_voltages_mv[i] for s in samples) - min(s.cell_voltages_mv[i] for s in samples)
        for i in range(cell_count)
    ]
    worst = max(drifts, default=0)
    return _gate(
        CELL_STABILITY,
        t("{worst} mV over {count} samples", worst=worst, count=len(samples)),
        f"<= {limits.stability.max_cell_drift_mv} mV",
        cell_count > 0 and worst <= limits.stability.max_cell_drift_mv,
        t("Cell voltages that move at rest point to a loose sense wire or a hidden load."),
    )


def check_supply_stability(samples: Sequence[PackTelemetry], limits: PreconditionLimits) -> Measurement:
    """The pack voltage moves less than the limit over the window (overridable)."""
    packs = [s.pack_voltage_mv for s in samples]
    drift = max(packs) - min(packs)
    return _gate(
        SUPPLY_STABILITY,
        t("{drift} mV over {count} samples", drift=drift, count=len(samples)),
        f"<= {limits.stability.max_pack_drift_mv} mV",
        drift <= limits.stability.max_pack_drift_mv,
        t("An unstable supply can brown out the controller during a flash write."),
    )


def check_link_quality(round_trips: Sequence[RoundTrip], limits: PreconditionLimits) -> Measurement:
    """Round trips answered, fast enough (overridable)."""
    failures = sum(1 for r in round_trips if r is None)
    good = [r * 1000.0 for r in round_trips if r is not None]
    worst_ms = max(good, default=0.0)
    value = t(
        "{failures} of {count} failed, worst {worst_ms:.1f} ms",
        failures=failures,
        count=len(round_trips),
        worst_ms=worst_ms,
    )
    passed = bool(good) and failures <= limits.link.max_failures and worst_ms <= limits.link.max_round_trip_ms
    return _gate(
        LINK_QUALITY,
        value,
        t(
            "<= {max_failures} failed, <= {max_round_trip_ms:g} ms",
            max_failures=limits.link.max_failures,
            max_round_trip_ms=limits.link.max_round_trip_ms,
        ),
        passed,
        t("Lost or slow round trips mean a bad cable or baud mismatch; the transfer would crawl or stall."),
    )


# --- evaluation ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PreconditionInputs:
    """Everything measured before an update, as plain values."""

    identity: DeviceIdentity
    samples: tuple[PackTelemetry, ...]
    dtcs: tuple[Dtc, ...]
    round_trips: tuple[RoundTrip, ...]
    trusted_key_hashes: tuple[bytes, ...] | None = None


@dataclass(frozen=True, slots=True)
class PreconditionReport:
    """All gate results, with the overrides the technician gave."""

    results: tuple[Measurement, ...]
    overrides: Mapping[str, str] = field(default_factory=dict)

    @property
    def blocking(self) -> tuple[Measurement, ...]:
        """Failed gates that were not overridden: any of these refuses the update."""
        return tuple(m for m in self.results if not m.passed and m.name not in self.overrides)

    @property
    def passed(self) -> bool:
        return not self.blocking

    def summary(self) -> str:
        """One sentence naming each blocking gate with its value and limit."""
        return joined(refusal_sentence(m) for m in self.blocking)


def validate_overrides(overrides: Mapping[str, str]) -> None:
    """Reject overrides of unknown or safety gates, and overrides without a reason, up front."""
    for name, reason in overrides.items():
        if name not in ALL_GATES and name not in CONDITIONAL_GATES:
            raise PreconditionError(
                t(
                    "'{name}' is not a precondition; overridable ones are: {gates}",
                    name=name,
                    gates=", ".join(sorted(OVERRIDABLE)),
                )
            )
        if name not in OVERRIDABLE:
            raise PreconditionError(t("'{name}' is a safety gate and cannot be overridden", name=name))
        if not reason.strip():
            raise PreconditionError(t("overriding '{name}' needs a reason, which is recorded", name=name))


def evaluate(
    inputs: PreconditionInputs,
    package: PackageFacts,
    limits: PreconditionLimits,
    overrides: Mapping[str, str] | None = None,
) -> PreconditionReport:
    """Run every gate on measured values; pure, so it is tested with plain inputs."""
    given = dict(overrides or {})
    validate_overrides(given)
    identity = inputs.identity
    fit = compatibility.assess(package, compatibility.DeviceDescription.from_identity(identity), limits)
    results: list[Measurement] = [*fit.checks[:2], check_device_mode(identity), *fit.checks[2:]]
    if inputs.trusted_key_hashes is not None and package.image_key_hashes:
        results.append(check_signing_key(inputs.trusted_key_hashes, package))
    if inputs.samples:
        samples = inputs.samples
        results += [
            check_state_of_charge(samples, limits),
            check_temperature(samples, limits),
            check_load_current(samples, limits),
            check_cell_stability(samples, limits),
            check_supply_stability(samples, limits),
        ]
    else:
        results += [
            _gate(
                name, t("not measured"), t("a telemetry reading"), False, t("The pack could not be measured.")
            )
            for name in (STATE_OF_CHARGE, TEMPERATURE, LOAD_CURRENT, CELL_STABILITY, SUPPLY_STABILITY)
        ]
    results.append(check_critical_dtcs(inputs.dtcs, limits))
    results.append(check_link_quality(inputs.round_trips, limits))
    used = {name: reason for name, reason in given.items() if any(m.name == name for m in results)}
    return PreconditionReport(tuple(results), used)


# --- measuring (read-only device access) ------------------------------------------------------------
def sample_telemetry(
    target: Target,
    samples: int,
    interval_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[PackTelemetry, ...]:
    """Read ``samples`` telemetry snapshots ``interval_s`` apart (the stability window)."""
    readings: list[PackTelemetry] = []
    for index in range(samples):
        if index:
            sleep(interval_s)
        readings.append(target.read_telemetry())
    return tuple(readings)


def measure_round_trips(target: Target, count: int) -> tuple[RoundTrip, ...]:
    """Ping ``count`` times; a ping that times out or is garbled counts as a failure, not an abort."""
    results: list[RoundTrip] = []
    for _ in range(count):
        try:
            results.append(target.ping())
        except (LinkError, ProtocolError):
            results.append(None)
    return tuple(results)


@dataclass(slots=True)
class _Reads:
    """What the jobs run in the stability window's gaps found (filled in as they run)."""

    round_trips: tuple[RoundTrip, ...] = ()
    trusted: tuple[bytes, ...] | None = None
    dtcs: tuple[Dtc, ...] = ()


def measure(
    target: Target,
    identity: DeviceIdentity,
    limits: PreconditionLimits,
    background: Sequence[Job] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> PreconditionInputs:
    """Gather the precondition inputs from a device; reads only, never writes.

    The link round trips, the trusted keys, the trouble codes and the caller's read-only
    ``background`` jobs (the engine reads the configuration backup there) run in the gaps of the
    stability window (:class:`~bmsflasher.procedure.idle_work.IdleWork`): the samples keep their
    spacing, the rest no longer waits for them. With the application not running there is no window,
    and the background jobs are left out (the device-mode gate refuses the update anyway).
    """
    reads = _Reads()

    def round_trips() -> None:
        reads.round_trips = measure_round_trips(target, limits.link.round_trips)

    def trusted() -> None:
        reads.trusted = target.trusted_key_hashes()

    def dtcs() -> None:
        reads.dtcs = tuple(target.read_dtcs())

    if identity.mode is not DeviceMode.APPLICATION:
        round_trips()
        trusted()
        return PreconditionInputs(identity, (), (), reads.round_trips, reads.trusted)
    idle = IdleWork((round_trips, trusted, dtcs, *background), sleep=sleep)
    samples = sample_telemetry(target, limits.stability.samples, limits.stability.interval_s, idle.wait)
    idle.finish()
    return PreconditionInputs(identity, samples, reads.dtcs, reads.round_trips, reads.trusted)


def preview(
    target: Target, package: PackageFacts, limits: PreconditionLimits | None = None
) -> PreconditionReport:
    """Measure and evaluate every gate now, read-only, exactly as the update will before writing.

    The GUI shows this before the technician presses "Update"; the procedure runs the same
    :func:`measure` and :func:`evaluate` again at the start of the update (the battery may have
    changed in between).
    """
    identity = target.identify()
    if limits is None:
        limits = profile_for_model(identity.model).preconditions
    return evaluate(measure(target, identity, limits), package, limits)

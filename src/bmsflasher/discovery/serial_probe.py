"""Probe one serial port: auto-baud with the SMP handshake, then identify what answered.

The port is opened exclusively (``links.serial``): a port another program holds is reported busy
at the first attempt and never touched again. Permission and not-found errors end the probe at
once too, with the guidance the link layer attached.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bmsflasher.core.errors import (
    BmsFlasherError,
    LinkError,
    PortBusyError,
    PortNotFoundError,
    PortPermissionError,
)
from bmsflasher.core.events import EventSink, LogLevel, LogLine, Progress
from bmsflasher.core.i18n import t
from bmsflasher.core.types import DeviceIdentity, DeviceMode, LinkSettings
from bmsflasher.discovery.cache import CachedSetting
from bmsflasher.discovery.candidates import SerialCandidate
from bmsflasher.discovery.parallel import ProbeContext
from bmsflasher.discovery.plan import SerialStep
from bmsflasher.discovery.results import AdapterReport, AdapterStatus, FoundDevice
from bmsflasher.discovery.smp_handshake import HandshakeResult, smp_echo_handshake
from bmsflasher.links.serial import SerialLink

PERMISSION_HINT = t(
    "On Linux install the udev rules and join the group described in drivers/linux/README.md, "
    "then unplug and replug the adapter."
)

SerialIdentifier = Callable[[LinkSettings, float], DeviceIdentity]
"""Identifies the SMP device reachable with the given settings within the timeout (the SMP client)."""


ECHO_WIRE_BYTES = 64
"""Upper bound of an echo request or answer on the wire (header, CBOR, base64, delimiters)."""


@dataclass(frozen=True, slots=True)
class SerialProbeSettings:
    """Time bounds of one serial probe.

    Attributes:
        attempt_timeout_s: how long a device may take to answer, on top of the bytes' wire time.
        identify_timeout_s: budget for reading the identity once a rate is confirmed.
    """

    attempt_timeout_s: float = 0.25
    identify_timeout_s: float = 3.0
    remembered_patience: float = 4.0

    def attempt_s(self, baud: int, *, remembered: bool = False) -> float:
        """The wait for one handshake at ``baud``: reaction time plus request and answer at 8N1.

        Slow rates need the wire time added or a device at 9600 baud (≈ 0.13 s of echo traffic)
        would be missed on a busy computer. The remembered (cached) rate is waited on
        ``remembered_patience`` times longer: the device is very likely there, so a slow answer
        (a loaded laptop, a USB hub, a network serial server) costs less than walking the whole
        table because one echo came back 0.3 s late.
        """
        reaction_s = self.attempt_timeout_s * (self.remembered_patience if remembered else 1.0)
        return reaction_s + 2 * ECHO_WIRE_BYTES * 10 / baud


@dataclass(frozen=True, slots=True)
class SerialProbeOutcome:
    """The report for the port plus the setting to remember (None when nothing was found)."""

    report: AdapterReport
    remember: CachedSetting | None


def probe_serial(
    candidate: SerialCandidate,
    steps: list[SerialStep],
    context: ProbeContext,
    *,
    settings: SerialProbeSettings,
    identifier: SerialIdentifier | None,
    emit: EventSink,
) -> SerialProbeOutcome:
    """Try each step in order until the SMP handshake confirms a device, within the context deadline."""
    started = time.monotonic()
    used_cache = bool(steps) and steps[0].from_cache
    garbage_bytes = 0
    attempts = 0

    def report(
        status: AdapterStatus, message: str, hint: str = "", devices: tuple[FoundDevice, ...] = ()
    ) -> AdapterReport:
        return AdapterReport(
            label=candidate.label,
            adapter_name=_adapter_name(candidate),
            key=candidate.cache_key,
            status=status,
            message=message,
            hint=hint,
            devices=devices,
            attempts=attempts,
            elapsed_s=time.monotonic() - started,
            used_cache=used_cache,
        )

    for index, step in enumerate(steps):
        if context.cancelled:
            return SerialProbeOutcome(
                report(
                    AdapterStatus.TIMED_OUT,
                    t(
                        "The scan time ran out on {label} after {attempts} of {count} rates.",
                        label=candidate.label,
                        attempts=attempts,
                        count=len(steps),
                    ),
                    t("Scan again with a longer --timeout-s or fewer --bauds."),
                ),
                None,
            )
        attempts += 1
        emit(Progress(step=f"scan:{candidate.cache_key}", done=index, total=len(steps)))
        emit(LogLine(LogLevel.DEBUG, f"{candidate.label}: {step.describe()}"))
        try:
            with SerialLink.open(candidate.port, step.baud) as link:
                result = smp_echo_handshake(
                    link, context.bounded(settings.attempt_s(step.baud, remembered=step.from_cache))
                )
        except PortBusyError as exc:
            return SerialProbeOutcome(report(AdapterStatus.BUSY, _sentence(exc), exc.hint or ""), None)
        except PortPermissionError as exc:
            return SerialProbeOutcome(report(AdapterStatus.PERMISSION, _sentence(exc), PERMISSION_HINT), None)
        except PortNotFoundError as exc:
            return SerialProbeOutcome(report(AdapterStatus.NOT_FOUND, _sentence(exc), exc.hint or ""), None)
        except LinkError as exc:
            return SerialProbeOutcome(report(AdapterStatus.ERROR, _sentence(exc), exc.hint or ""), None)
        if not result.confirmed:
            garbage_bytes += result.bytes_received if result.saw_garbage else 0
            continue
        device = _found(
            candidate=candidate,
            step=step,
            result=result,
            settings=settings,
            identifier=identifier,
            context=context,
        )
        emit(Progress(step=f"scan:{candidate.cache_key}", done=len(steps), total=len(steps)))
        remember = CachedSetting(protocol="smp", baud=step.baud, node_count=1)
        return SerialProbeOutcome(
            report(
                AdapterStatus.FOUND,
                t(
                    "An SMP device answers on {label} at {baud} baud.",
                    label=candidate.label,
                    baud=step.baud,
                ),
                devices=(device,),
            ),
            remember,
        )

    emit(Progress(step=f"scan:{candidate.cache_key}", done=len(steps), total=len(steps)))
    rates = ", ".join(str(step.baud) for step in steps)
    if garbage_bytes:
        return SerialProbeOutcome(
            report(
                AdapterStatus.GARBAGE,
                t(
                    "{label} sends data ({garbage_bytes} bytes) but never a valid SMP answer at {rates} "
                    "baud.",
                    label=candidate.label,
                    garbage_bytes=garbage_bytes,
                    rates=rates,
                ),
                t(
                    "Check that the device speaks MCUmgr SMP, the RS485 A/B wiring and the termination, or "
                    "try other --bauds."
                ),
            ),
            None,
        )
    return SerialProbeOutcome(
        report(
            AdapterStatus.NO_DEVICE,
            t(
                "Nothing answered on {label} at {rates} baud.",
                label=candidate.label,
                rates=rates,
            ),
            t("Check that the BMS is powered and wired to this adapter, or try other --bauds."),
        ),
        None,
    )


def _found(
    *,
    candidate: SerialCandidate,
    step: SerialStep,
    result: HandshakeResult,
    settings: SerialProbeSettings,
    identifier: SerialIdentifier | None,
    context: ProbeContext,
) -> FoundDevice:
    link = LinkSettings(kind="serial", port=candidate.port, baud=step.baud)
    identity: DeviceIdentity | None = None
    error = ""
    if identifier is not None:
        try:
            identity = identifier(link, max(0.5, context.bounded(settings.identify_timeout_s)))
        except BmsFlasherError as exc:
            error = _sentence(exc)
    elif not result.echo_supported:
        error = t("The device answered SMP but refused echo; identification is not available.")
    return FoundDevice(
        identity=identity,
        link=link,
        protocol="smp",
        mode=identity.mode if identity else DeviceMode.APPLICATION,
        adapter_key=candidate.cache_key,
        round_trip_s=result.round_trip_s,
        identify_error=error,
    )


def _adapter_name(candidate: SerialCandidate) -> str:
    adapter = candidate.adapter
    return f"{adapter.vendor} {adapter.name}".strip()


def _sentence(exc: BmsFlasherError) -> str:
    text = exc.message
    return text if text.strip().endswith((".", "!", "?")) else t("{message}.", message=text)

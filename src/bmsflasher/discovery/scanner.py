"""The device scan: gather candidates, plan each, probe all in parallel, remember what worked.

This is the one entry point the CLI (``bmsflasher scan``), the GUI's connect page and the demo use.
It is synchronous and reports through core events; a caller wanting a responsive UI runs it on a
worker thread and may stop it early with ``cancel``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from threading import Event

from bmsflasher.core.errors import BmsFlasherError, ConfigValidationError
from bmsflasher.core.events import EventSink, LogLevel, LogLine, StepFinished, StepStarted, discard
from bmsflasher.core.i18n import t
from bmsflasher.discovery.adapters import AdapterKind
from bmsflasher.discovery.cache import ScanCache
from bmsflasher.discovery.can_probe import (
    SLCAN_TTY_BAUD,
    CanIdentifier,
    CanProbeSettings,
    NodeNumbering,
    default_node_number,
    probe_can,
)
from bmsflasher.discovery.candidates import (
    CanCandidate,
    Candidate,
    SerialCandidate,
    UnusableAdapter,
    answered_as_slcan,
    enrich,
    may_be_slcan,
    parse_can_argument,
    parse_port_argument,
    serial_as_can,
)
from bmsflasher.discovery.driver_guidance import AdapterFacts, GuidanceTable, guidance_for
from bmsflasher.discovery.enumerate import (
    enumerate_can_channels,
    enumerate_serial_ports,
    linux_can_netdevs,
    linux_usb_devices,
    unusable_can_adapters,
)
from bmsflasher.discovery.modbus_probe import (
    DEFAULT_ADDRESSES,
    ModbusIdentifier,
    ModbusProbeOutcome,
    ModbusProbeSettings,
    probe_modbus_rtu,
    probe_modbus_tcp,
)
from bmsflasher.discovery.parallel import JobOutcome, ProbeContext, run_parallel
from bmsflasher.discovery.plan import (
    DEFAULT_BAUDS,
    DEFAULT_BITRATES,
    CanStep,
    SerialStep,
    check_bauds,
    check_bitrates,
    plan_can,
    plan_serial,
)
from bmsflasher.discovery.results import AdapterReport, AdapterStatus, ScanResult
from bmsflasher.discovery.serial_probe import SerialIdentifier, SerialProbeSettings, probe_serial
from bmsflasher.discovery.slcan_probe import probe_slcan

MIN_TIMEOUT_S = 0.5
MAX_TIMEOUT_S = 600.0


@dataclass(frozen=True, slots=True)
class ScanRequest:
    """What to scan and how.

    Attributes:
        ports: serial ports named by the user (paths or pyserial URLs).
        can_channels: CAN channels named by the user as ``interface:channel``.
        enumerate: also scan every port and CAN channel found on this computer; None means
            "only when the user named nothing".
        bauds: serial rates to try, in order.
        bitrates: CAN bitrates to try, in order.
        timeout_s: the whole scan's time budget.
        use_cache: try the remembered setting first and remember what worked.
        identify: read each device's identity after the handshake.
        serial: per-attempt time bounds on serial ports.
        can: per-attempt time bounds on CAN adapters.
        max_parallel: adapters probed at the same time.
        tcp_gateways: Modbus TCP gateways (``HOST:PORT``) to ask for modules.
        addresses: Modbus unit addresses to search (RS485 ports and gateways).
        addresses_named: the user narrowed ``addresses``: a warm scan sweeps them too.
        modbus: time bounds of the Modbus search.
    """

    ports: tuple[str, ...] = ()
    can_channels: tuple[str, ...] = ()
    enumerate: bool | None = None
    bauds: tuple[int, ...] = DEFAULT_BAUDS
    bitrates: tuple[int, ...] = DEFAULT_BITRATES
    timeout_s: float = 30.0
    use_cache: bool = True
    identify: bool = True
    serial: SerialProbeSettings = field(default_factory=SerialProbeSettings)
    can: CanProbeSettings = field(default_factory=CanProbeSettings)
    max_parallel: int = 16
    tcp_gateways: tuple[str, ...] = ()
    addresses: tuple[int, ...] = DEFAULT_ADDRESSES
    addresses_named: bool = False
    modbus: ModbusProbeSettings = field(default_factory=ModbusProbeSettings)

    def validated(self) -> ScanRequest:
        """Check the request's numbers; raises ConfigValidationError with one clear sentence."""
        if not MIN_TIMEOUT_S <= self.timeout_s <= MAX_TIMEOUT_S:
            raise ConfigValidationError(
                t(
                    "--timeout-s must be between {low} and {high} seconds",
                    low=MIN_TIMEOUT_S,
                    high=MAX_TIMEOUT_S,
                )
            )
        return replace(self, bauds=check_bauds(self.bauds), bitrates=check_bitrates(self.bitrates))


@dataclass(frozen=True, slots=True)
class ScanInventory:
    """The candidates a scan will probe, and adapters it can only report."""

    candidates: tuple[Candidate, ...]
    unusable: tuple[UnusableAdapter, ...] = ()


def gather(request: ScanRequest) -> ScanInventory:
    """Build the candidate list: user-named ports and channels, plus enumeration when asked."""
    named_ports = [parse_port_argument(port) for port in request.ports]
    named_can = [parse_can_argument(channel) for channel in request.can_channels]
    named_anything = named_ports or named_can or request.tcp_gateways
    do_enumerate = request.enumerate if request.enumerate is not None else not named_anything
    enumerated = enumerate_serial_ports()
    candidates: list[Candidate] = []
    seen: set[str] = set()

    def add(candidate: Candidate) -> None:
        key = candidate.label
        if key not in seen:
            seen.add(key)
            candidates.append(candidate)

    for named in named_ports:
        port = enrich(named, enumerated)
        add(serial_as_can(port) if port.adapter.kind is AdapterKind.SLCAN else port)
    for channel in named_can:
        add(_enrich_can(channel, enumerated))
    unusable: list[UnusableAdapter] = []
    if do_enumerate:
        for port in enumerated:
            if port.adapter.kind is AdapterKind.NATIVE_CAN:
                continue
            add(serial_as_can(port) if port.adapter.kind is AdapterKind.SLCAN else port)
        can_channels = enumerate_can_channels()
        for channel in can_channels:
            add(channel)
        unusable = unusable_can_adapters(linux_usb_devices(), can_channels, linux_can_netdevs())
    return ScanInventory(tuple(candidates), tuple(unusable))


def _enrich_can(candidate: CanCandidate, enumerated: list[SerialCandidate]) -> CanCandidate:
    if candidate.interface != "slcan":
        return candidate
    port = candidate.channel.partition("@")[0]
    enriched = enrich(SerialCandidate(port=port, user_added=True), enumerated)
    if enriched.usb.vid is None:
        return candidate
    return replace(candidate, adapter=enriched.adapter, usb=enriched.usb, description=enriched.description)


def plan_for(
    candidate: Candidate, request: ScanRequest, cache: ScanCache
) -> list[SerialStep] | list[CanStep]:
    """The ordered probe steps for one candidate (remembered setting first when the cache is on)."""
    cached = cache.get(candidate.cache_key) if request.use_cache else None
    if isinstance(candidate, SerialCandidate):
        cached_baud = cached.baud if cached and cached.protocol == "smp" and cached.baud else None
        return plan_serial(request.bauds, cached_baud, baud_matters=candidate.baud_matters)
    cached_bitrate = cached.bitrate if cached and cached.protocol == "uds" and cached.bitrate else None
    bitrates = request.bitrates if candidate.bitrate_matters else request.bitrates[:1]
    if candidate.interface == "slcan":
        bitrates = check_bitrates(bitrates, slcan=True)
    return plan_can(
        bitrates,
        cached_bitrate,
        can_set_bitrate=candidate.can_set_bitrate,
        fixed_bitrate=candidate.fixed_bitrate,
        supports_listen_only=candidate.supports_listen_only,
        cached_nodes=(cached.node_count or None) if cached_bitrate is not None and cached else None,
    )


class Scanner:
    """Runs scans; holds the cache and the protocol clients' identify functions.

    Args:
        cache: where last good settings live (a disabled cache for ``--no-cache``).
        serial_identifier: reads an SMP device's identity (None: handshake only).
        can_identifier: reads a UDS server's identity over an open link (None: handshake only).
        numbering: maps a UDS responder to ``LinkSettings.node``.
        guidance: driver advice for unusable adapters (None: the installed ``drivers/guidance.json``).
        os_name: the system whose advice applies (None: this one; tests pick another).
        modbus_identifier: reads a Modbus module's identity over the open link (None: addresses only).
    """

    def __init__(
        self,
        cache: ScanCache,
        *,
        serial_identifier: SerialIdentifier | None = None,
        can_identifier: CanIdentifier | None = None,
        numbering: NodeNumbering = default_node_number,
        guidance: GuidanceTable | None = None,
        os_name: str | None = None,
        modbus_identifier: ModbusIdentifier | None = None,
    ) -> None:
        self._modbus_identifier = modbus_identifier
        self._cache = cache
        self._serial_identifier = serial_identifier
        self._can_identifier = can_identifier
        self._numbering = numbering
        self._guidance = guidance
        self._os_name = os_name

    def scan(
        self,
        request: ScanRequest,
        on_event: EventSink = discard,
        cancel: Event | None = None,
        inventory: ScanInventory | None = None,
    ) -> ScanResult:
        """Probe every candidate in parallel within ``request.timeout_s`` and report on each.

        Raises:
            ConfigValidationError: the request's lists or timeout are invalid.
        """
        request = request.validated()
        started = time.monotonic()
        stock = inventory if inventory is not None else gather(request)
        on_event(StepStarted("scan", f"Scanning {len(stock.candidates)} adapter(s)"))
        jobs = [self._job(candidate, request, on_event) for candidate in stock.candidates]
        jobs.extend(self._gateway_job(gateway, request, on_event) for gateway in request.tcp_gateways)
        outcomes = run_parallel(
            jobs,
            budget_s=request.timeout_s,
            grace_s=max(request.serial.attempt_timeout_s, request.can.response_window_s) + 1.0,
            max_workers=request.max_parallel,
            cancel=cancel,
            on_done=lambda outcome: self._announce(outcome, on_event),
        )
        count = len(stock.candidates)
        reports = [
            self._guided(_report_of(candidate, outcome, request.timeout_s), _facts_of(candidate))
            for candidate, outcome in zip(stock.candidates, outcomes[:count], strict=True)
        ]
        reports.extend(
            _gateway_report(gateway, outcome, request.timeout_s)
            for gateway, outcome in zip(request.tcp_gateways, outcomes[count:], strict=True)
        )
        reports.extend(
            self._guided(_unusable_report(adapter), _facts_of(adapter)) for adapter in stock.unusable
        )
        if request.use_cache:
            self._cache.save()
        result = ScanResult(tuple(reports), time.monotonic() - started)
        on_event(
            StepFinished("scan", ok=bool(result.devices), detail=f"{len(result.devices)} device(s) found")
        )
        return result

    def _what_answers(
        self, candidate: Candidate, request: ScanRequest, context: ProbeContext, on_event: EventSink
    ) -> Candidate:
        """``candidate``, or the CAN adapter it turned out to be (an unknown port answering slcan).

        A port whose last good setting was SMP is not asked again: that is the warm path.
        """
        if not isinstance(candidate, SerialCandidate) or not may_be_slcan(candidate):
            return candidate
        cached = self._cache.get(candidate.cache_key) if request.use_cache else None
        if cached is not None and cached.protocol in ("smp", "modbus"):
            return candidate
        version = probe_slcan(candidate.port, context.bounded(request.serial.attempt_s(SLCAN_TTY_BAUD)))
        if version is None:
            return candidate
        on_event(
            LogLine(
                LogLevel.INFO,
                t(
                    "{label} answers as an slcan CAN adapter (version {version}); scanning the CAN bus "
                    "behind it.",
                    label=candidate.label,
                    version=version,
                ),
            )
        )
        return answered_as_slcan(candidate, version)

    def _job(
        self, named: Candidate, request: ScanRequest, on_event: EventSink
    ) -> Callable[[ProbeContext], AdapterReport]:
        def run(context: ProbeContext) -> AdapterReport:
            candidate = self._what_answers(named, request, context, on_event)
            try:
                steps = plan_for(candidate, request, self._cache)
            except ConfigValidationError as exc:
                return AdapterReport(
                    label=candidate.label,
                    adapter_name=candidate.adapter.name,
                    key=candidate.cache_key,
                    status=AdapterStatus.ERROR,
                    message=exc.message,
                )
            cached = self._cache.get(candidate.cache_key) if request.use_cache else None
            if isinstance(candidate, SerialCandidate) and cached is not None and cached.protocol == "modbus":
                modbus = self._modbus_rtu(candidate, request, context, on_event)
                report, remember = modbus.report, modbus.remember
            elif isinstance(candidate, SerialCandidate):
                serial_steps = [step for step in steps if isinstance(step, SerialStep)]
                outcome = probe_serial(
                    candidate,
                    serial_steps,
                    context,
                    settings=request.serial,
                    identifier=self._serial_identifier if request.identify else None,
                    emit=on_event,
                )
                report, remember = outcome.report, outcome.remember
                if _modbus_may_follow(candidate, report) and not context.cancelled:
                    modbus = self._modbus_rtu(candidate, request, context, on_event)
                    report, remember = _after_modbus(report, modbus), modbus.remember
            else:
                can_steps = [step for step in steps if isinstance(step, CanStep)]
                can_outcome = probe_can(
                    candidate,
                    can_steps,
                    context,
                    settings=request.can,
                    identifier=self._can_identifier if request.identify else None,
                    numbering=self._numbering,
                    emit=on_event,
                )
                report, remember = can_outcome.report, can_outcome.remember
            if remember is not None and request.use_cache:
                self._cache.put(candidate.cache_key, remember)
            return report

        return run

    def _modbus_rtu(
        self, candidate: SerialCandidate, request: ScanRequest, context: ProbeContext, on_event: EventSink
    ) -> ModbusProbeOutcome:
        """The Modbus RTU search on a serial port.

        The framing is searched with the first addresses of the range; the whole range × every
        framing only when the user named ``--addresses`` (otherwise every silent port would cost
        the scan's whole budget).
        """
        return probe_modbus_rtu(
            candidate.port,
            label=candidate.label,
            adapter_name=f"{candidate.adapter.vendor} {candidate.adapter.name}".strip(),
            key=candidate.cache_key,
            context=context,
            addresses=request.addresses,
            addresses_named=request.addresses_named,
            full_search=request.addresses_named,
            cached=self._cache.get(candidate.cache_key) if request.use_cache else None,
            settings=request.modbus,
            identifier=self._modbus_identifier if request.identify else None,
            emit=on_event,
        )

    def _gateway_job(
        self, gateway: str, request: ScanRequest, on_event: EventSink
    ) -> Callable[[ProbeContext], AdapterReport]:
        def run(context: ProbeContext) -> AdapterReport:
            key = f"modbus-tcp:{gateway}"
            outcome = probe_modbus_tcp(
                gateway,
                context=context,
                addresses=request.addresses,
                cached=self._cache.get(key) if request.use_cache else None,
                addresses_named=request.addresses_named,
                settings=request.modbus,
                identifier=self._modbus_identifier if request.identify else None,
                emit=on_event,
            )
            if outcome.remember is not None and request.use_cache:
                self._cache.put(key, outcome.remember)
            return outcome.report

        return run

    def _guided(self, report: AdapterReport, facts: AdapterFacts) -> AdapterReport:
        """The report with the driver guidance that fits its verdict and adapter, if any."""
        advice = guidance_for(report.status.value, facts, self._guidance, self._os_name)
        return report if advice is None else replace(report, guidance=advice)

    @staticmethod
    def _announce(outcome: JobOutcome[AdapterReport], on_event: EventSink) -> None:
        report = outcome.result
        if report is None:
            return
        level = LogLevel.INFO if report.status is AdapterStatus.FOUND else LogLevel.WARNING
        on_event(LogLine(level, t("{label}: {message}", label=report.label, message=report.message)))
        on_event(
            StepFinished(f"scan:{report.key}", ok=report.status is AdapterStatus.FOUND, detail=report.message)
        )


def _report_of(candidate: Candidate, outcome: JobOutcome[AdapterReport], budget_s: float) -> AdapterReport:
    if outcome.result is not None:
        return outcome.result
    name = f"{candidate.adapter.vendor} {candidate.adapter.name}".strip()
    if outcome.error is not None:
        error = outcome.error
        if not isinstance(error, BmsFlasherError):
            raise error  # a bug in a probe: keep its traceback
        return AdapterReport(
            label=candidate.label,
            adapter_name=name,
            key=candidate.cache_key,
            status=AdapterStatus.ERROR,
            message=error.message,
            hint=error.hint or "",
        )
    return AdapterReport(
        label=candidate.label,
        adapter_name=name,
        key=candidate.cache_key,
        status=AdapterStatus.TIMED_OUT,
        message=t(
            "{label} did not finish within the {budget_s:.1f} s budget and was abandoned.",
            label=candidate.label,
            budget_s=budget_s,
        ),
        hint=t("Unplug and replug the adapter; if it keeps hanging its driver may be faulty."),
        elapsed_s=budget_s,
    )


def _modbus_may_follow(candidate: SerialCandidate, report: AdapterReport) -> bool:
    """SMP heard nothing on an RS485-capable port: a Modbus bus may be there instead.

    Modbus modules speak only when asked, so a port that babbles is something else.

    A device's own USB CDC port is never an RS485 line, and a port that refused access or vanished
    gets no second protocol.
    """
    return candidate.baud_matters and report.status is AdapterStatus.NO_DEVICE


def _after_modbus(smp: AdapterReport, modbus: ModbusProbeOutcome) -> AdapterReport:
    """One verdict for a port silent to SMP, then asked Modbus.

    Modbus's verdict when it found modules or failed (busy, timed out), else SMP's with both
    sentences; the time is both searches' sum.
    """
    found = modbus.report
    elapsed_s = smp.elapsed_s + found.elapsed_s
    if found.status is AdapterStatus.FOUND:
        return replace(found, elapsed_s=elapsed_s)
    if found.status is AdapterStatus.NO_DEVICE:
        message = t("{smp} {modbus}", smp=smp.message, modbus=found.message)
        return replace(smp, message=message, elapsed_s=elapsed_s)
    return replace(found, elapsed_s=elapsed_s)


def _gateway_report(gateway: str, outcome: JobOutcome[AdapterReport], budget_s: float) -> AdapterReport:
    if outcome.result is not None:
        return outcome.result
    label = f"tcp://{gateway}"
    if outcome.error is not None and not isinstance(outcome.error, BmsFlasherError):
        raise outcome.error
    message = (
        outcome.error.message
        if isinstance(outcome.error, BmsFlasherError)
        else t(
            "{label} did not finish within the {budget_s:.1f} s budget and was abandoned.",
            label=label,
            budget_s=budget_s,
        )
    )
    status = AdapterStatus.ERROR if outcome.error is not None else AdapterStatus.TIMED_OUT
    return AdapterReport(
        label=label,
        adapter_name="Modbus TCP gateway",
        key=f"modbus-tcp:{gateway}",
        status=status,
        message=message,
    )


def _facts_of(thing: Candidate | UnusableAdapter) -> AdapterFacts:
    """What the guidance file matches on: USB IDs, python-can backend, adapter kind."""
    interface = thing.adapter.python_can_interface
    if isinstance(thing, CanCandidate):
        interface = thing.interface  # the backend actually used, also for channels named by hand
    return AdapterFacts(
        vid=thing.usb.vid if thing.usb.vid is not None else thing.adapter.vid,
        pid=thing.usb.pid if thing.usb.pid is not None else thing.adapter.pid,
        python_can_interface=interface,
        kind=thing.adapter.kind.value,
    )


def _unusable_report(adapter: UnusableAdapter) -> AdapterReport:
    return AdapterReport(
        label=adapter.label,
        adapter_name=f"{adapter.adapter.vendor} {adapter.adapter.name}".strip(),
        key=f"usb:{adapter.usb.id_text}@{adapter.usb.location or ''}",
        status=AdapterStatus.NO_DRIVER,
        message=t(
            "{label} is plugged in but cannot be used: {reason}.",
            label=adapter.label,
            reason=adapter.reason,
        ),
        hint=adapter.hint,
    )


def scan(
    request: ScanRequest,
    on_event: EventSink = discard,
    *,
    cache: ScanCache | None = None,
    cancel: Event | None = None,
) -> ScanResult:
    """Scan with the protocol clients' identification wired in (the convenience entry point)."""
    from bmsflasher.discovery.identify import (
        default_can_identifier,
        default_modbus_identifier,
        default_serial_identifier,
    )

    scanner = Scanner(
        cache if cache is not None else ScanCache(enabled=request.use_cache),
        serial_identifier=default_serial_identifier(),
        can_identifier=default_can_identifier(),
        modbus_identifier=default_modbus_identifier(),
    )
    return scanner.scan(request, on_event, cancel)

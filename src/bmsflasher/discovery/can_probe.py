"""Probe one CAN adapter: find the bitrate (listen-only first), then every UDS server on the bus.

Order of business (see :func:`bmsflasher.discovery.plan.plan_can`): the remembered bitrate is asked
first; otherwise the adapter listens silently at each bitrate, and a rate that carries valid frames
is the only one probed actively. Only a quiet bus gets an active sweep. Each responder is then
identified through the UDS client, on the same open adapter (an slcan port can only be opened once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bmsflasher.core.errors import (
    BmsFlasherError,
    LinkError,
    LinkTimeoutError,
    PortBusyError,
    PortNotFoundError,
    PortPermissionError,
)
from bmsflasher.core.events import EventSink, LogLevel, LogLine, Progress
from bmsflasher.core.i18n import t
from bmsflasher.core.types import (
    DEFAULT_TESTER_ADDRESS,
    CanAddressing,
    DeviceIdentity,
    DeviceMode,
    LinkSettings,
)
from bmsflasher.discovery.cache import CachedSetting
from bmsflasher.discovery.candidates import CanCandidate, channel_is_path
from bmsflasher.discovery.parallel import ProbeContext
from bmsflasher.discovery.plan import CanStep
from bmsflasher.discovery.results import AdapterReport, AdapterStatus, FoundDevice
from bmsflasher.discovery.serial_probe import PERMISSION_HINT
from bmsflasher.discovery.uds_discovery import UdsResponder, functional_tester_present, listen_for_traffic
from bmsflasher.links.can import CanLink, CanLinkConfig
from bmsflasher.links.port_lock import hold_serial_adapter
from bmsflasher.protocols.uds import ids

SLCAN_TTY_BAUD = 115200
"""Host-side baud of slcan adapters (USB CDC ignores it; UART-attached ones use 115200 by default)."""

SLCAN_SETTLE_S = 0.02
"""Pause after opening an slcan adapter: CANable-class adapters need none, unlike Arduino ones."""

CanIdentifier = Callable[[CanLink, LinkSettings, UdsResponder, float], DeviceIdentity]
"""Identifies one UDS server over an open link within the timeout (the UDS client)."""

NodeNumbering = Callable[[UdsResponder], int]
"""Maps a responder to the ``LinkSettings.node`` number the UDS client understands."""


def default_node_number(responder: UdsResponder) -> int:
    """The UDS client's node number: 11-bit node 1 is 0x7E0/0x7E8 … node 8 is 0x7E7/0x7EF.

    For 29-bit normal fixed addressing the node is the server's one-byte address (N_TA of the
    physical request 0x18DA<TA><SA>, N_SA of its response 0x18DA<SA><TA>).
    """
    if responder.addressing.extended_id:
        return (responder.request_id >> 8) & 0xFF
    return responder.request_id - ids.PHYSICAL_REQUEST_BASE + 1


def responder_addressing(responder: UdsResponder) -> tuple[CanAddressing, int]:
    """(addressing, tester address) to reach a responder again: what ``LinkSettings`` records.

    A 29-bit responder answered the tester address it was asked from: N_TA of its response.
    """
    if responder.addressing.extended_id:
        return CanAddressing.NORMAL_FIXED_29BIT, (responder.response_id >> 8) & 0xFF
    return CanAddressing.NORMAL_11BIT, DEFAULT_TESTER_ADDRESS


@dataclass(frozen=True, slots=True)
class CanProbeSettings:
    """Time bounds of one CAN probe.

    Attributes:
        listen_s: how long to listen silently for traffic at one bitrate.
        response_window_s: how long to collect answers to one functional TesterPresent.
        identify_timeout_s: budget for reading one server's identity.
        remembered_patience: the remembered (cached) bitrate's window is this many times longer,
            because the servers are very likely there and a late answer would otherwise cost a
            walk through the whole table.
    """

    listen_s: float = 0.25
    response_window_s: float = 0.25
    identify_timeout_s: float = 3.0
    remembered_patience: float = 4.0

    def window_s(self, step: CanStep) -> float:
        """The answer window for an active step: longer for the remembered bitrate."""
        return self.response_window_s * (self.remembered_patience if step.from_cache else 1.0)


@dataclass(frozen=True, slots=True)
class CanProbeOutcome:
    """The report for the adapter plus the setting to remember (None when nothing was found)."""

    report: AdapterReport
    remember: CachedSetting | None


class _Run:
    """The state of one adapter's probe: what it is, its bounds, and what was seen so far."""

    def __init__(
        self,
        candidate: CanCandidate,
        context: ProbeContext,
        settings: CanProbeSettings,
        identifier: CanIdentifier | None,
        numbering: NodeNumbering,
    ) -> None:
        self.candidate = candidate
        self.context = context
        self.settings = settings
        self.identifier = identifier
        self.numbering = numbering
        self.attempts = 0
        self.undecodable = 0
        self.traffic_bitrate: int | None = None

    def skip(self, step: CanStep) -> bool:
        """Once listening found the bus's bitrate, neither listen further nor transmit at other rates."""
        if self.traffic_bitrate is None:
            return False
        if step.listen_only:
            return True
        return step.bitrate != self.traffic_bitrate and not step.from_cache

    def run_step(self, step: CanStep) -> tuple[FoundDevice, ...]:
        """One attempt: listen, or ask every UDS server and identify those that answer."""
        with CanLink.open(_config(self.candidate, step)) as link:
            if step.listen_only:
                if listen_for_traffic(link, self.context.bounded(self.settings.listen_s)):
                    self.traffic_bitrate = step.bitrate
                return ()
            window_s = self.context.bounded(self.settings.window_s(step))
            try:
                scan = functional_tester_present(link, step.addressing, window_s, step.expected_nodes)
            except LinkTimeoutError:
                return ()  # nobody acknowledges at a wrong bitrate: the adapter's queue stays full
            self.undecodable += scan.undecodable_frames
            if scan.frames_seen and self.traffic_bitrate is None:
                self.traffic_bitrate = step.bitrate
            return tuple(self.identify(step, link, responder) for responder in scan.responders)

    def identify(self, step: CanStep, link: CanLink, responder: UdsResponder) -> FoundDevice:
        """Read one responder's identity through the UDS client (handshake-only without one)."""
        addressing, tester_address = responder_addressing(responder)
        link_settings = LinkSettings(
            kind="can",
            interface=self.candidate.interface,
            channel=self.candidate.channel,
            bitrate=step.bitrate,
            node=self.numbering(responder),
            addressing=addressing,
            tester_address=tester_address,
        )
        identity: DeviceIdentity | None = None
        error = ""
        if self.identifier is not None:
            timeout_s = max(0.5, self.context.bounded(self.settings.identify_timeout_s))
            try:
                identity = self.identifier(link, link_settings, responder, timeout_s)
            except BmsFlasherError as exc:
                error = _sentence(exc)
        return FoundDevice(
            identity=identity,
            link=link_settings,
            protocol="uds",
            mode=identity.mode if identity else DeviceMode.APPLICATION,
            adapter_key=self.candidate.cache_key,
            identify_error=error,
        )


def probe_can(
    candidate: CanCandidate,
    steps: list[CanStep],
    context: ProbeContext,
    *,
    settings: CanProbeSettings,
    identifier: CanIdentifier | None,
    numbering: NodeNumbering = default_node_number,
    emit: EventSink,
) -> CanProbeOutcome:
    """Run the CAN plan on one adapter; never exceeds the context deadline by more than one attempt."""
    started = time.monotonic()
    run = _Run(candidate, context, settings, identifier, numbering)
    used_cache = bool(steps) and steps[0].from_cache
    progress_step = f"scan:{candidate.cache_key}"

    def report(
        status: AdapterStatus, message: str, hint: str = "", devices: tuple[FoundDevice, ...] = ()
    ) -> AdapterReport:
        return AdapterReport(
            label=candidate.label,
            adapter_name=f"{candidate.adapter.vendor} {candidate.adapter.name}".strip(),
            key=candidate.cache_key,
            status=status,
            message=message,
            hint=hint,
            devices=devices,
            attempts=run.attempts,
            elapsed_s=time.monotonic() - started,
            used_cache=used_cache,
        )

    try:
        with _port_guard(candidate):
            for index, step in enumerate(steps):
                if run.skip(step):
                    continue
                if context.cancelled:
                    return CanProbeOutcome(
                        report(
                            AdapterStatus.TIMED_OUT,
                            t(
                                "The scan time ran out on {label} after {attempts} attempts.",
                                label=candidate.label,
                                attempts=run.attempts,
                            ),
                            t("Scan again with a longer --timeout-s or fewer --bitrates."),
                        ),
                        None,
                    )
                run.attempts += 1
                emit(Progress(step=progress_step, done=index, total=len(steps)))
                emit(LogLine(LogLevel.DEBUG, f"{candidate.label}: {step.describe()}"))
                found = run.run_step(step)
                if found:
                    emit(Progress(step=progress_step, done=len(steps), total=len(steps)))
                    return CanProbeOutcome(
                        report(AdapterStatus.FOUND, _found_sentence(candidate, step, found), devices=found),
                        CachedSetting(protocol="uds", bitrate=step.bitrate, node_count=len(found)),
                    )
    except PortBusyError as exc:
        return CanProbeOutcome(report(AdapterStatus.BUSY, _sentence(exc), exc.hint or ""), None)
    except PortPermissionError as exc:
        return CanProbeOutcome(report(AdapterStatus.PERMISSION, _sentence(exc), PERMISSION_HINT), None)
    except PortNotFoundError as exc:
        return CanProbeOutcome(report(AdapterStatus.NOT_FOUND, _sentence(exc), exc.hint or ""), None)
    except LinkError as exc:
        return CanProbeOutcome(report(AdapterStatus.ERROR, _sentence(exc), exc.hint or ""), None)

    emit(Progress(step=progress_step, done=len(steps), total=len(steps)))
    return CanProbeOutcome(_nothing_found(candidate, steps, run, report), None)


def _config(candidate: CanCandidate, step: CanStep) -> CanLinkConfig:
    options: dict[str, object] = {}
    if candidate.interface == "slcan":
        options["sleep_after_open"] = SLCAN_SETTLE_S
        if "@" not in candidate.channel:
            options["tty_baudrate"] = SLCAN_TTY_BAUD
    if step.listen_only:
        options["listen_only"] = True
    return CanLinkConfig(
        interface=candidate.interface,
        channel=candidate.channel,
        bitrate=step.bitrate if candidate.can_set_bitrate else 0,
        options=options,
    )


@contextmanager
def _port_guard(candidate: CanCandidate) -> Iterator[None]:
    """Hold an exclusive lock on a serial-attached adapter for the whole probe.

    Each probe step opens and closes the CAN link; the guard keeps the adapter locked in between,
    so another program cannot grab it halfway through the table. It is the same re-entrant lock
    :class:`CanLink` takes, and it never reads, so it takes no bytes from python-can.
    """
    if not channel_is_path(candidate.interface):
        yield
        return
    with hold_serial_adapter(candidate.interface, candidate.channel):
        yield


def _found_sentence(candidate: CanCandidate, step: CanStep, found: tuple[FoundDevice, ...]) -> str:
    if len(found) == 1:
        return t(
            "1 UDS server answers on {label} at {bitrate} bit/s.", label=candidate.label, bitrate=step.bitrate
        )
    return t(
        "{count} UDS servers answer on {label} at {bitrate} bit/s.",
        count=len(found),
        label=candidate.label,
        bitrate=step.bitrate,
    )


def _nothing_found(
    candidate: CanCandidate,
    steps: list[CanStep],
    tally: _Run,
    report: Callable[..., AdapterReport],
) -> AdapterReport:
    rates = ", ".join(str(rate) for rate in dict.fromkeys(step.bitrate for step in steps))
    if tally.undecodable:
        return report(
            AdapterStatus.GARBAGE,
            t(
                "Frames arrive on {label} from UDS response IDs but none is a valid UDS answer.",
                label=candidate.label,
            ),
            t("Check the addressing the BMS uses and that it speaks ISO 14229 UDS."),
        )
    if tally.traffic_bitrate is not None:
        return report(
            AdapterStatus.NO_DEVICE,
            t(
                "The bus on {label} carries traffic at {traffic_bitrate} bit/s, but no UDS server answered.",
                label=candidate.label,
                traffic_bitrate=tally.traffic_bitrate,
            ),
            t("The BMS may use other diagnostic IDs or need a gateway; check its documentation."),
        )
    return report(
        AdapterStatus.NO_DEVICE,
        t(
            "No UDS server answered on {label} at {rates} bit/s.",
            label=candidate.label,
            rates=rates,
        ),
        t(
            "Check that the BMS is powered, CAN-H/CAN-L are not swapped and the bus is terminated "
            "(120 Ω at each end)."
        ),
    )


def _sentence(exc: BmsFlasherError) -> str:
    text = exc.message
    return text if text.strip().endswith((".", "!", "?")) else t("{message}.", message=text)

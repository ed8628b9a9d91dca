"""Find a Modbus bus on an RS485 port (or behind a TCP gateway): its framing, then every module on it.

A module only answers a request that reaches it intact *and* carries its address, so at an unknown
baud/parity/stop bits and unknown addresses the search is framing × address. It is ordered the way
a technician's bus is likely set:

1. the remembered setting (the cache) with the remembered addresses, patiently: the warm path;
2. every framing in :func:`plan_framings` order (19200 8E1 is the Modbus RTU default, 9600 8N1 the
   common alternative) with the first address of the range (most racks start at 1);
3. the rest of the range, address by address over every framing, in chunks of 16 addresses (a rack
   numbered from 5 is found after 4 addresses × the framings, not after a whole sweep of the wrong
   framing). Without ``--addresses`` the range is 1…16 (:attr:`ModbusProbeSettings.last_address`):
   one rack's worth of modules (8–16) numbered from a small offset is found without options, and a
   silent port costs at most 16 questions per framing (about 10 s on a pty's 15 framings, within
   the scan's 30 s budget) instead of 247; a bus numbered above 16 needs ``--addresses``.

The first answer fixes the framing (a frame whose CRC holds cannot come from a wrong line); then the
whole address range is swept at that framing with a short answer window, and every module that
answered is identified through the Modbus client. A Linux pty cannot show even parity
(``/work/notes`` → docs/virtual-bms.md): there 8N1 and 8E1 are one attempt, and the report says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import (
    BmsFlasherError,
    ConfigValidationError,
    LinkError,
    PortBusyError,
    PortNotFoundError,
    PortPermissionError,
)
from bmsflasher.core.events import EventSink, LogLevel, LogLine, Progress
from bmsflasher.core.i18n import Text, t
from bmsflasher.core.types import DeviceIdentity, DeviceMode, LinkSettings
from bmsflasher.discovery.cache import CachedSetting
from bmsflasher.discovery.modbus_wire import Answer, ask_rtu, ask_tcp
from bmsflasher.discovery.parallel import ProbeContext
from bmsflasher.discovery.results import AdapterReport, AdapterStatus, FoundDevice
from bmsflasher.links.serial import SerialLink, is_url

DEFAULT_MODBUS_BAUDS: Final[tuple[int, ...]] = (19200, 9600, 38400, 115200, 57600)
"""RS485 rates by how often energy-storage racks ship with them (19200 is the Modbus RTU default)."""
MIN_ADDRESS: Final = 1
MAX_ADDRESS: Final = 247
DEFAULT_ADDRESSES: Final[tuple[int, ...]] = tuple(range(MIN_ADDRESS, MAX_ADDRESS + 1))
LIKELY_ADDRESSES: Final = 1
"""Addresses asked at every framing first: most racks number from 1 (``--addresses`` starts elsewhere)."""
ADDRESS_CHUNK: Final = 16
TCP_NOMINAL_BAUD: Final = 115_200
REOPEN_RETRY_S: Final = 0.01
PTY_PREFIXES: Final = ("/dev/pts/", "/dev/pty", "/dev/tty")

ModbusIdentifier = Callable[[SerialLink, LinkSettings], DeviceIdentity]
"""Reads one module's identity over the scan's open link (the Modbus client); never closes it."""


@dataclass(frozen=True, slots=True)
class Framing:
    """An RS485 line setting: baud, parity and stop bits (8 data bits always)."""

    baud: int
    parity: str
    stopbits: int
    from_cache: bool = False

    @property
    def text(self) -> str:
        return f"{self.baud} 8{self.parity}{self.stopbits}"

    def same_line(self, other: Framing) -> bool:
        return (self.baud, self.parity, self.stopbits) == (other.baud, other.parity, other.stopbits)


@dataclass(frozen=True, slots=True)
class ModbusProbeSettings:
    """Time bounds of the Modbus search.

    Attributes:
        reaction_s: how long a module may take to start answering during a sweep, beyond the wire
            time (a silent address costs this; 30 ms covers a USB adapter's latency timer).
        remembered_patience: the remembered addresses are waited on this many times longer.
        tcp_window_s: a gateway's answer (it waits on its own RS485 side before exception 0x0B).
        last_address: the end of the default address range (no ``--addresses``).
    """

    reaction_s: float = 0.03
    remembered_patience: float = 8.0
    tcp_window_s: float = 1.5
    last_address: int = 16
    """The highest address searched when the user names no ``--addresses`` (see the module docstring)."""


@dataclass(frozen=True, slots=True)
class ModbusProbeOutcome:
    """The report for the port or gateway, plus the bus setting to remember (None: nothing found)."""

    report: AdapterReport
    remember: CachedSetting | None


def parse_addresses(text: str) -> tuple[int, ...]:
    """``1-32``, ``5`` or ``1,3,10-12`` → the unit addresses, in order, each once (1…247)."""
    addresses: list[int] = []
    for part in text.replace(" ", "").split(","):
        low_text, dash, high_text = part.partition("-")
        try:
            low = int(low_text, 0)
            high = int(high_text, 0) if dash else low
        except ValueError:
            raise ConfigValidationError(
                t("--addresses takes unit addresses such as 1-32 or 1,5,9-12, not {text!r}", text=text)
            ) from None
        if not MIN_ADDRESS <= low <= high <= MAX_ADDRESS:
            raise ConfigValidationError(
                t("--addresses must lie within 1…247 (low to high), not {text!r}", text=text)
            )
        addresses.extend(range(low, high + 1))
    return tuple(dict.fromkeys(addresses))


def is_pty(port: str) -> bool:
    """A pseudo-terminal: the line's even parity is invisible there (the driver drops PARENB)."""
    real = os.path.realpath(port) if not is_url(port) else port
    return real.startswith("/dev/pts/") or real == "/dev/ptmx"


def plan_framings(
    bauds: Sequence[int] = DEFAULT_MODBUS_BAUDS, *, pty: bool = False, cached: Framing | None = None
) -> list[Framing]:
    """Every framing to try, most likely first: per baud 8E1 or 8N1 first, then the other, 8O1, 8N2.

    At 19200 even parity comes first (the Modbus RTU default), at the other rates no parity (what
    most devices ship with at 9600 and above). On a pty 8N1 and 8E1 are one attempt.
    """
    plain: list[Framing] = []
    rarer: list[Framing] = []
    for baud in bauds:
        first, second = ("E", "N") if baud == 19200 else ("N", "E")
        plain.append(Framing(baud, first, 1))
        if not pty:
            plain.append(Framing(baud, second, 1))
        rarer.extend((Framing(baud, "O", 1), Framing(baud, "N", 2)))
    ordered = plain + rarer
    if cached is not None:
        ordered = [cached] + [f for f in ordered if not f.same_line(cached)]
    return ordered


class _Search:
    """One port's search; keeps the open link between questions at the same framing."""

    def __init__(self, port: str, context: ProbeContext, settings: ModbusProbeSettings) -> None:
        self.port = port
        self.context = context
        self.settings = settings
        self.link: SerialLink | None = None
        self.framing: Framing | None = None
        self.questions = 0
        self.garbled_bytes = 0

    def at(self, framing: Framing) -> SerialLink:
        if self.link is not None and self.framing is not None and self.framing.same_line(framing):
            return self.link
        self.close()
        try:
            self.link = self._open(framing)
        except LinkError as exc:
            if isinstance(exc, PortBusyError | PortPermissionError | PortNotFoundError):
                raise
            time.sleep(REOPEN_RETRY_S)  # glibc's EINVAL right after a close on a pty: once more
            self.link = self._open(framing)
        self.framing = framing
        return self.link

    def _open(self, framing: Framing) -> SerialLink:
        return SerialLink.open(self.port, framing.baud, parity=framing.parity, stopbits=framing.stopbits)

    def ask(self, framing: Framing, address: int, *, patient: bool = False) -> bool:
        link = self.at(framing)
        reaction = self.settings.reaction_s * (self.settings.remembered_patience if patient else 1.0)
        reply = ask_rtu(
            link,
            address,
            parity=framing.parity,
            stopbits=framing.stopbits,
            reaction_s=self.context.bounded(reaction),
        )
        self.questions += 1
        if reply.answer is Answer.GARBLED:
            self.garbled_bytes += reply.bytes_received
        return reply.answer is Answer.DEVICE

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
        self.link = None
        self.framing = None


def probe_modbus_rtu(
    port: str,
    *,
    label: str,
    adapter_name: str,
    key: str,
    context: ProbeContext,
    addresses: Sequence[int],
    addresses_named: bool,
    full_search: bool,
    cached: CachedSetting | None,
    settings: ModbusProbeSettings,
    identifier: ModbusIdentifier | None,
    emit: EventSink,
    bauds: Sequence[int] = DEFAULT_MODBUS_BAUDS,
) -> ModbusProbeOutcome:
    """Search ``port`` for a Modbus RTU bus and list its modules (see the module docstring)."""
    started = time.monotonic()
    if not addresses_named:  # the bounded default range is searched whole (module docstring, step 3)
        addresses = tuple(a for a in addresses if a <= settings.last_address) or tuple(addresses[:1])
        full_search = True
    search = _Search(port, context, settings)
    pty = is_pty(port)
    remembered = _remembered(cached)
    framings = plan_framings(bauds, pty=pty, cached=remembered)
    step = f"scan:{key}"

    def report(
        status: AdapterStatus, message: Text | str, hint: Text | str = "", **kw: object
    ) -> AdapterReport:
        return AdapterReport(
            label=label,
            adapter_name=adapter_name,
            key=key,
            status=status,
            message=message,  # a Text keeps its translation (str() would flatten it to English)
            hint=hint,
            attempts=search.questions,
            elapsed_s=time.monotonic() - started,
            used_cache=remembered is not None,
            **kw,  # type: ignore[arg-type]
        )

    try:
        found = _find_framing(search, framings, remembered, cached, addresses, full_search, emit, step)
        if found is None:
            nothing = _nothing(search, report, context, full_search and addresses_named, bauds)
            return ModbusProbeOutcome(nothing, None)
        framing, first = found
        found_at = framing
        framing, two_stop_bits_too = _settle_stop_bits(search, framing, first)
        sweep = addresses if (addresses_named or remembered is None or not framing.from_cache) else ()
        answering = sorted({first, *_sweep(search, framing, sweep, first, cached, emit, step)})
        devices = tuple(_identified(search, framing, address, key, identifier) for address in answering)
    except PortBusyError as exc:
        return ModbusProbeOutcome(report(AdapterStatus.BUSY, exc.message, exc.hint or ""), None)
    except PortPermissionError as exc:
        return ModbusProbeOutcome(report(AdapterStatus.PERMISSION, exc.message, exc.hint or ""), None)
    except PortNotFoundError as exc:
        return ModbusProbeOutcome(report(AdapterStatus.NOT_FOUND, exc.message, exc.hint or ""), None)
    except LinkError as exc:
        return ModbusProbeOutcome(report(AdapterStatus.ERROR, exc.message, exc.hint or ""), None)
    finally:
        search.close()
    emit(Progress(step=step, done=1, total=1))
    message = t(
        "{count} Modbus module(s) answer on {label} at {framing} (addresses {addresses}).",
        count=len(devices),
        label=label,
        framing=framing.text,
        addresses=", ".join(str(a) for a in answering),
    )
    if two_stop_bits_too and framing.stopbits == 2:
        message = t(
            "{found} They answer {tried} as well, which a module checking parity would refuse (the "
            "ninth bit of an 8N2 character is always 1): the scan reports 8N2.",
            found=message,
            tried=found_at.text,
        )
    elif two_stop_bits_too:
        message = t(
            "{found} 8N2 reaches them too: answers cannot tell 8N1 from 8N2. The scan keeps 8N1, the "
            "more common setting, tried first; if the modules are documented as 8N2, connect with "
            "--stopbits 2.",
            found=message,
        )
    if pty and framing.parity in ("N", "E") and framing.stopbits == 1:
        message = t(
            "{found} On a pty 8N1 and 8E1 cannot be told apart: either setting reaches these modules.",
            found=message,
        )
    remember = CachedSetting(
        protocol="modbus",
        baud=framing.baud,
        parity=framing.parity,
        stopbits=framing.stopbits,
        node_count=len(answering),
        addresses=tuple(answering),
    )
    return ModbusProbeOutcome(report(AdapterStatus.FOUND, message, devices=devices), remember)


def _settle_stop_bits(search: _Search, framing: Framing, address: int) -> tuple[Framing, bool]:
    """The framing to report, and whether 8N2 answered as well (one more question at the same baud).

    A module set to 8N2 reads a host's 8E1 or 8O1 character as 8N2 (the parity bit falls where it
    expects its first stop bit; it checks no parity), and 8O1 comes before 8N2 in the plan. The
    reverse does not hold: a module checking parity refuses 8N2 characters, whose ninth bit is
    always 1. So a rack that answers both 8x1-with-parity and 8N2 is an 8N2 rack. Whether 8N1 and
    8N2 both answer depends on the receivers; the scan then keeps 8N1 and says so. A remembered
    setting is not asked again (the warm scan stays short).
    """
    if framing.from_cache or framing.stopbits != 1 or search.context.cancelled:
        return framing, False
    two_stop_bits = Framing(framing.baud, "N", 2)
    if not search.ask(two_stop_bits, address):
        return framing, False
    return (framing if framing.parity == "N" else two_stop_bits), True


def _remembered(cached: CachedSetting | None) -> Framing | None:
    if (
        cached is None
        or cached.protocol != "modbus"
        or not cached.baud
        or cached.parity not in ("N", "E", "O")
    ):
        return None
    return Framing(cached.baud, cached.parity, cached.stopbits or 1, from_cache=True)


def _find_framing(  # noqa: PLR0917 - one private step of probe_modbus_rtu
    search: _Search,
    framings: list[Framing],
    remembered: Framing | None,
    cached: CachedSetting | None,
    addresses: Sequence[int],
    full_search: bool,
    emit: EventSink,
    step: str,
) -> tuple[Framing, int] | None:
    """The framing and the first address that answered, or None (budget or plan exhausted)."""
    context = search.context
    if remembered is not None and cached is not None:
        for address in cached.addresses or addresses[:LIKELY_ADDRESSES]:
            if context.cancelled:
                return None
            if search.ask(remembered, address, patient=True):
                return remembered, address
        emit(
            LogLine(
                LogLevel.INFO,
                t(
                    "The remembered Modbus setting {framing} got no answer; searching.",
                    framing=remembered.text,
                ),
            )
        )
    likely = list(addresses[:LIKELY_ADDRESSES])
    total = len(framings)
    for index, framing in enumerate(framings):
        emit(Progress(step=step, done=index, total=total * (2 if full_search else 1)))
        emit(LogLine(LogLevel.DEBUG, f"{search.port}: Modbus {framing.text}, addresses {likely}"))
        for address in likely:
            if context.cancelled:
                return None
            if search.ask(framing, address):
                return framing, address
    if not full_search:
        return None
    rest = list(addresses[LIKELY_ADDRESSES:])
    chunks = [rest[i : i + ADDRESS_CHUNK] for i in range(0, len(rest), ADDRESS_CHUNK)]
    for number, chunk in enumerate(chunks):
        emit(Progress(step=step, done=total + (number * total) // max(len(chunks), 1), total=2 * total))
        for address in chunk:  # address by address: a rack numbered from a low offset comes first
            for framing in framings:
                if context.cancelled:
                    return None
                if search.ask(framing, address):
                    return framing, address
    return None


def _sweep(  # noqa: PLR0917 - one private step of probe_modbus_rtu
    search: _Search,
    framing: Framing,
    addresses: Sequence[int],
    first: int,
    cached: CachedSetting | None,
    emit: EventSink,
    step: str,
) -> list[int]:
    """Every address of ``addresses`` (and the remembered ones) that answers at ``framing``."""
    remembered = set(cached.addresses) if cached is not None and framing.from_cache else set()
    answering = [a for a in sorted(remembered - {first}) if search.ask(framing, a, patient=True)]
    todo = [a for a in addresses if a != first and a not in remembered]
    for index, address in enumerate(todo):
        if search.context.cancelled:
            emit(LogLine(LogLevel.WARNING, t("The scan time ran out during the Modbus address sweep.")))
            break
        if index % 16 == 0:
            emit(Progress(step=step, done=index, total=len(todo)))
        if search.ask(framing, address):
            answering.append(address)
    return answering


def _identified(
    search: _Search, framing: Framing, address: int, key: str, identifier: ModbusIdentifier | None
) -> FoundDevice:
    link = LinkSettings(
        kind="modbus",
        port=search.port,
        baud=framing.baud,
        parity=framing.parity,
        stopbits=framing.stopbits,
        address=address,
    )
    return _device(search.at(framing), link, key, identifier)


def _device(
    open_link: SerialLink, link: LinkSettings, key: str, identifier: ModbusIdentifier | None
) -> FoundDevice:
    identity: DeviceIdentity | None = None
    error = ""
    if identifier is not None:
        try:
            identity = identifier(open_link, link)
        except BmsFlasherError as exc:
            error = exc.message
    return FoundDevice(
        identity=identity,
        link=link,
        protocol="modbus",
        mode=identity.mode if identity else DeviceMode.APPLICATION,
        adapter_key=key,
        identify_error=error,
    )


def _nothing(
    search: _Search,
    report: Callable[..., AdapterReport],
    context: ProbeContext,
    full_search: bool,
    bauds: Sequence[int],
) -> AdapterReport:
    rates = ", ".join(str(b) for b in bauds)
    if context.cancelled:
        return report(
            AdapterStatus.TIMED_OUT,
            t(
                "The scan time ran out on {label} after {count} Modbus questions.",
                label=search.port,
                count=search.questions,
            ),
            t("Scan again with a longer --timeout-s or a narrower --addresses."),
        )
    if search.garbled_bytes:
        return report(
            AdapterStatus.GARBAGE,
            t(
                "{label} sends data ({garbage_bytes} bytes) but never a valid Modbus answer at {rates} "
                "baud (8N1, 8E1, 8O1, 8N2).",
                label=search.port,
                garbage_bytes=search.garbled_bytes,
                rates=rates,
            ),
            t("Check the RS485 A/B wiring and the termination, or try other --addresses."),
        )
    if not full_search:
        message = t(
            "No Modbus module answers on {label} at the first addresses at {rates} baud.",
            label=search.port,
            rates=rates,
        )
        return report(
            AdapterStatus.NO_DEVICE,
            message,
            t("Give --addresses (e.g. 1-32) to search every address of that range at every setting."),
        )
    return report(
        AdapterStatus.NO_DEVICE,
        t("No Modbus module answers on {label} at {rates} baud.", label=search.port, rates=rates),
        t("Check that the modules are powered and wired to this adapter, or try other --addresses."),
    )


def probe_modbus_tcp(
    gateway: str,
    *,
    context: ProbeContext,
    addresses: Sequence[int],
    cached: CachedSetting | None,
    addresses_named: bool,
    settings: ModbusProbeSettings,
    identifier: ModbusIdentifier | None,
    emit: EventSink,
) -> ModbusProbeOutcome:
    """Ask every unit behind a Modbus TCP gateway (remembered units first); 0x0A/0x0B = gateway alive."""
    started = time.monotonic()
    key = f"modbus-tcp:{gateway}"
    label = f"tcp://{gateway}"
    questions = 0
    alive = False
    remembered = cached.addresses if cached is not None and cached.protocol == "modbus" else ()
    order = (
        list(dict.fromkeys([*remembered, *addresses]))
        if (addresses_named or not remembered)
        else list(remembered)
    )
    answering: list[int] = []
    devices: tuple[FoundDevice, ...] = ()

    def report(status: AdapterStatus, message: Text | str, hint: Text | str = "") -> AdapterReport:
        return AdapterReport(
            label=label,
            adapter_name="Modbus TCP gateway",
            key=key,
            status=status,
            message=message,  # a Text keeps its translation (str() would flatten it to English)
            hint=hint,
            devices=devices,
            attempts=questions,
            elapsed_s=time.monotonic() - started,
            used_cache=bool(remembered),
        )

    try:
        link = SerialLink.open(f"socket://{gateway}", TCP_NOMINAL_BAUD, exclusive=False)
    except LinkError as exc:
        status = AdapterStatus.NOT_FOUND if isinstance(exc, PortNotFoundError) else AdapterStatus.ERROR
        return ModbusProbeOutcome(report(status, exc.message, exc.hint or ""), None)
    try:
        for index, address in enumerate(order):
            if context.cancelled:
                break
            if index % 16 == 0:
                emit(Progress(step=f"scan:{key}", done=index, total=len(order)))
            questions += 1
            reply = ask_tcp(
                link, address, questions & 0xFFFF, window_s=context.bounded(settings.tcp_window_s)
            )
            alive = alive or reply.answer in (Answer.GATEWAY, Answer.DEVICE)
            if reply.answer is Answer.DEVICE:
                answering.append(address)
        answering.sort()
        devices = tuple(
            _device(
                link,
                LinkSettings(kind="modbus", tcp=gateway, address=a, baud=TCP_NOMINAL_BAUD),
                key,
                identifier,
            )
            for a in answering
        )
    except LinkError as exc:
        return ModbusProbeOutcome(report(AdapterStatus.ERROR, exc.message, exc.hint or ""), None)
    finally:
        link.close()
    emit(Progress(step=f"scan:{key}", done=1, total=1))
    if devices:
        message = t(
            "{count} Modbus module(s) answer behind the gateway {label} (units {addresses}).",
            count=len(devices),
            label=label,
            addresses=", ".join(str(a) for a in answering),
        )
        remember = CachedSetting(protocol="modbus", node_count=len(answering), addresses=tuple(answering))
        return ModbusProbeOutcome(report(AdapterStatus.FOUND, message), remember)
    if context.cancelled:
        return ModbusProbeOutcome(
            report(
                AdapterStatus.TIMED_OUT,
                t(
                    "The scan time ran out on {label} after {count} Modbus questions.",
                    label=label,
                    count=questions,
                ),
                t("Scan again with a longer --timeout-s or a narrower --addresses."),
            ),
            None,
        )
    if alive:
        return ModbusProbeOutcome(
            report(
                AdapterStatus.NO_DEVICE,
                t("The gateway {label} answers, but no module behind it does.", label=label),
                t("Check the gateway's RS485 side: wiring, termination and its line settings."),
            ),
            None,
        )
    return ModbusProbeOutcome(
        report(
            AdapterStatus.NO_DEVICE,
            t("Nothing answers Modbus TCP at {label}.", label=label),
            t("Check the gateway's address and port."),
        ),
        None,
    )


def _tcp_settings(gateway: str, address: int) -> LinkSettings:
    return LinkSettings(kind="modbus", tcp=gateway, address=address, baud=TCP_NOMINAL_BAUD)

"""``bmsflasher scan``: find every BMS behind every adapter, with its link settings and identity.

Thin over :mod:`bmsflasher.discovery`: parse the arguments, show a live progress line per adapter
(rich, on stderr so ``--json`` output stays clean), print the devices and one verdict per adapter.
Exit code 0 when at least one device was found, 1 when none was.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Final

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from bmsflasher.cli.console import error_json, make_console, plain, print_json, say
from bmsflasher.cli.target_args import add_scan_link_arguments, scan_channels_from_args
from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.events import Event, StepFinished
from bmsflasher.core.events import Progress as ProgressEvent
from bmsflasher.core.i18n import t
from bmsflasher.core.names import mode_name
from bmsflasher.discovery import (
    DEFAULT_ADDRESSES,
    DEFAULT_BAUDS,
    DEFAULT_BITRATES,
    AdapterStatus,
    CanCandidate,
    Candidate,
    CanProbeSettings,
    DriverGuidance,
    ScanCache,
    ScanInventory,
    Scanner,
    ScanRequest,
    ScanResult,
    SerialProbeSettings,
    default_can_identifier,
    default_modbus_identifier,
    default_serial_identifier,
    gather,
    parse_addresses,
    plan_for,
)

NOTHING_FOUND_EXIT: Final = 1

DEFAULT_ANSWER_S: Final = 0.25
MIN_ANSWER_S: Final = 0.05
MAX_ANSWER_S: Final = 10.0
"""Bounds of ``--answer-timeout-s``: below 50 ms even a USB latency timer misses answers."""

_STATUS_WORDS: Final = {
    AdapterStatus.FOUND: t("found"),
    AdapterStatus.NO_DEVICE: t("no device"),
    AdapterStatus.GARBAGE: t("garbage"),
    AdapterStatus.BUSY: t("busy"),
    AdapterStatus.PERMISSION: t("permission"),
    AdapterStatus.NO_DRIVER: t("no driver"),
    AdapterStatus.NOT_FOUND: t("not found"),
    AdapterStatus.TIMED_OUT: t("timed out"),
    AdapterStatus.ERROR: t("error"),
}
"""An adapter verdict in words, as the verdict column shows it (JSON keeps the status value)."""

_STATUS_STYLE: Final[dict[AdapterStatus, str]] = {
    AdapterStatus.FOUND: "green",
    AdapterStatus.NO_DEVICE: "yellow",
    AdapterStatus.GARBAGE: "magenta",
    AdapterStatus.BUSY: "red",
    AdapterStatus.PERMISSION: "red",
    AdapterStatus.NO_DRIVER: "red",
    AdapterStatus.NOT_FOUND: "red",
    AdapterStatus.TIMED_OUT: "red",
    AdapterStatus.ERROR: "red",
}


def _rates(text: str) -> list[int]:
    """Parse ``115200,921600`` (or one number); one clear sentence for anything else."""
    rates: list[int] = []
    for part in text.replace(" ", ",").split(","):
        if not part:
            continue
        try:
            rates.append(int(float(part[:-1]) * 1000) if part.lower().endswith("k") else int(part, 10))
        except ValueError:
            raise argparse.ArgumentTypeError(
                say(t("'{part}' is not a rate in bit/s, e.g. 115200 or 500k", part=part))
            ) from None
    if not rates:
        raise argparse.ArgumentTypeError(say(t("give at least one rate, e.g. 115200")))
    return rates


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(say(t("'{text}' is not a number of seconds", text=text))) from None
    return value


def _answer_timeout(text: str) -> float:
    value = _timeout(text)
    if not MIN_ANSWER_S <= value <= MAX_ANSWER_S:
        raise argparse.ArgumentTypeError(
            say(
                t(
                    "--answer-timeout-s must be between {low} and {high} seconds",
                    low=MIN_ANSWER_S,
                    high=MAX_ANSWER_S,
                )
            )
        )
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``scan`` subcommand."""
    parser = subparsers.add_parser(
        "scan",
        help=say(t("find BMS on serial ports and CAN adapters (auto-baud, auto-bitrate)")),
        description=(
            say(
                t(
                    "Find every BMS reachable from this computer. Serial ports are tried at each baud rate "
                    "with an SMP handshake; CAN adapters listen for the bus bitrate, then ask every UDS "
                    "server to answer. The last good setting per adapter is remembered and tried first. "
                    "Without --port/--can every port and CAN adapter found on this computer is scanned."
                )
            )
        ),
    )
    add_scan_link_arguments(parser)
    parser.add_argument(
        "--can",
        action="append",
        default=[],
        metavar="INTERFACE:CHANNEL",
        help=say(
            t(
                "a CAN channel to scan, e.g. slcan:/dev/ttyACM0, socketcan:can0, pcan:PCAN_USBBUS1 "
                "(repeatable)"
            )
        ),
    )
    parser.add_argument(
        "--all",
        dest="enumerate",
        action="store_true",
        default=None,
        help=say(t("also scan every port and adapter found on this computer when --port/--can are given")),
    )
    parser.add_argument(
        "--bauds",
        type=_rates,
        default=None,
        metavar="LIST",
        help=say(
            t(
                "serial rates to try, in order (default {rates})",
                rates=",".join(map(str, DEFAULT_BAUDS)),
            )
        ),
    )
    parser.add_argument(
        "--bitrates",
        type=_rates,
        default=None,
        metavar="LIST",
        help=say(
            t(
                "CAN bitrates to try, in order (default {rates})",
                rates=",".join(map(str, DEFAULT_BITRATES)),
            )
        ),
    )
    parser.add_argument(
        "--timeout-s",
        type=_timeout,
        default=30.0,
        help=say(t("time budget of the whole scan (default 30; it ends as soon as every adapter is done)")),
    )
    parser.add_argument(
        "--addresses",
        type=_addresses,
        default=None,
        metavar="LIST",
        help=say(
            t(
                "Modbus unit addresses to search on RS485 ports and --tcp gateways, e.g. 1-32 or 1,5,9-12 "
                "(default 1-16 on RS485 ports, 1-247 behind a gateway)"
            )
        ),
    )
    parser.add_argument(
        "--answer-timeout-s",
        type=_answer_timeout,
        default=DEFAULT_ANSWER_S,
        metavar="S",
        help=(
            say(
                t(
                    "how long one device may take to answer a probe (default 0.25); raise it for slow links "
                    "such as network serial servers (socket://, rfc2217://) or CAN gateways"
                )
            )
        ),
    )
    parser.add_argument(
        "--no-cache", action="store_true", help=say(t("ignore and do not update remembered settings"))
    )
    parser.add_argument(
        "--no-identify", action="store_true", help=say(t("confirm devices without reading identities"))
    )
    parser.add_argument(
        "--list", action="store_true", help=say(t("only list and classify the adapters; probe nothing"))
    )
    parser.add_argument(
        "--plan", action="store_true", help=say(t("print the probe table per adapter and exit"))
    )
    parser.add_argument("--json", action="store_true", help=say(t("print the result as JSON on stdout")))
    parser.set_defaults(func=run)


def _addresses(text: str) -> tuple[int, ...]:
    """``--addresses``: argparse shows the sentence of a bad list as a usage error."""
    try:
        return parse_addresses(text)
    except ConfigValidationError as exc:
        raise argparse.ArgumentTypeError(say(exc.message)) from None


def _chosen_rates(
    single: list[int], listed: list[int] | None, default: Sequence[int], flags: str
) -> tuple[int, ...]:
    """The rates to try: ``--baud``/``--bitrate`` (repeatable) or the ``--bauds``/``--bitrates`` list."""
    if single and listed is not None:
        raise ConfigValidationError(
            t("give the rates either one by one or as a list ({flags}), not both", flags=flags)
        )
    return tuple(single or listed or default)


def run(args: argparse.Namespace) -> int:
    """Execute ``bmsflasher scan``."""
    request = ScanRequest(
        ports=tuple(args.port),
        can_channels=(*args.can, *scan_channels_from_args(args)),
        enumerate=args.enumerate,
        bauds=_chosen_rates(args.baud, args.bauds, DEFAULT_BAUDS, "--baud, --bauds"),
        bitrates=_chosen_rates(args.bitrate, args.bitrates, DEFAULT_BITRATES, "--bitrate, --bitrates"),
        timeout_s=args.timeout_s,
        use_cache=not args.no_cache,
        identify=not args.no_identify,
        serial=SerialProbeSettings(attempt_timeout_s=args.answer_timeout_s),
        can=CanProbeSettings(response_window_s=args.answer_timeout_s),
        tcp_gateways=tuple(args.tcp),
        addresses=args.addresses or DEFAULT_ADDRESSES,
        addresses_named=args.addresses is not None,
    ).validated()
    cache = ScanCache(enabled=request.use_cache)
    inventory = gather(request)
    # emoji=False: a channel such as "nosuch:x" must not print as "nosuch❌" (":x:" is an emoji code).
    out = make_console(soft_wrap=True)
    err = make_console(stderr=True)
    if args.list:
        return _print_inventory(inventory.candidates, request, cache, out, as_json=args.json, with_plan=False)
    if args.plan:
        return _print_inventory(inventory.candidates, request, cache, out, as_json=args.json, with_plan=True)
    scanner = Scanner(
        cache,
        serial_identifier=default_serial_identifier(),
        can_identifier=default_can_identifier(),
        modbus_identifier=default_modbus_identifier(),
    )
    show_progress = err.is_terminal and not args.json
    if show_progress:
        result = _scan_with_progress(scanner, request, inventory, err)
    else:
        result = scanner.scan(request, inventory=inventory)
    if args.json:
        print_json(result_json(result))
    else:
        _print_result(result, out)
    return 0 if result.devices else NOTHING_FOUND_EXIT


def result_json(result: ScanResult) -> dict[str, object]:
    """``scan --json``'s object: the result, plus the five error keys when no device was found."""
    payload = result.to_json()
    if result.devices:
        return payload
    hint = next((report.hint for report in result.reports if report.hint), None)
    message = t("No device found ({seconds:.1f} s).", seconds=result.elapsed_s)
    return error_json("NothingFound", message, hint, NOTHING_FOUND_EXIT, **payload)


def _scan_with_progress(
    scanner: Scanner,
    request: ScanRequest,
    inventory: ScanInventory,
    console: Console,
) -> ScanResult:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        tasks: dict[str, TaskID] = {
            f"scan:{candidate.cache_key}": progress.add_task(
                candidate.label, total=1, state=say(t("waiting"))
            )
            for candidate in inventory.candidates
        }
        for gateway in request.tcp_gateways:
            tasks[f"scan:modbus-tcp:{gateway}"] = progress.add_task(
                f"tcp://{gateway}", total=1, state=say(t("waiting"))
            )

        def on_event(event: Event) -> None:
            if isinstance(event, ProgressEvent) and event.step in tasks:
                progress.update(
                    tasks[event.step], completed=event.done, total=event.total or 1, state=say(t("probing"))
                )
            elif isinstance(event, StepFinished) and event.step in tasks:
                task = tasks[event.step]
                progress.update(task, completed=1, total=1, state=say(t("found") if event.ok else t("done")))

        return scanner.scan(request, on_event, inventory=inventory)


def _print_inventory(
    candidates: Sequence[Candidate],
    request: ScanRequest,
    cache: ScanCache,
    out: Console,
    *,
    as_json: bool,
    with_plan: bool,
) -> int:
    rows: list[dict[str, object]] = []
    for candidate in candidates:
        row: dict[str, object] = {
            "adapter": candidate.label,
            "kind": "can" if isinstance(candidate, CanCandidate) else "serial",
            "class": candidate.adapter.kind.value,
            "name": f"{candidate.adapter.vendor} {candidate.adapter.name}".strip(),
            "usb_id": candidate.usb.id_text,
            "usb_serial": candidate.usb.serial_number or "",
            "usb_location": candidate.usb.location or "",
            "driver": candidate.adapter.driver,
            "key": candidate.cache_key,
        }
        if with_plan:
            row["plan"] = [step.describe() for step in plan_for(candidate, request, cache)]
        rows.append(row)
    if as_json:
        print_json(rows)
        return 0
    if not rows:
        out.print(say(t("No serial ports or CAN adapters were found on this computer.")))
        return 0
    table = Table(title=say(t("Adapters")))
    for heading in (t("adapter"), t("name"), t("usb id"), t("usb serial"), t("class")):
        table.add_column(say(heading))
    for row in rows:
        columns = ("adapter", "name", "usb_id", "usb_serial", "class")
        table.add_row(*(plain(row[column]) for column in columns))
    out.print(table)
    if with_plan:
        for row in rows:
            out.print(f"[bold]{escape(str(row['adapter']))}[/bold]")
            plan = row["plan"]
            assert isinstance(plan, list)
            for index, line in enumerate(plan, 1):
                out.print(f"  {index:2d}. {escape(say(line))}")
    return 0


def _print_result(result: ScanResult, out: Console) -> None:
    if result.devices:
        table = Table(title=say(t("Devices found ({seconds:.1f} s)", seconds=result.elapsed_s)))
        for heading in (t("serial number"), t("model"), t("firmware"), t("mode"), t("protocol"), t("link")):
            table.add_column(say(heading))
        for device in result.devices:
            identity = device.identity
            unknown = t("(not reported)") if identity else t("(unidentified)")
            table.add_row(  # plain cells: what a device reports is never read as markup or controls
                plain(device.serial_number or say(unknown)),
                plain(identity.model if identity else ""),
                plain(str(identity.firmware_version) if identity and identity.firmware_version else ""),
                say(mode_name(device.mode.value)),
                device.protocol.upper(),
                plain(device.link.describe()),
            )
        out.print(table)
    else:
        out.print(say(t("No device found ({seconds:.1f} s).", seconds=result.elapsed_s)))
    for report in result.reports:
        style = _STATUS_STYLE[report.status]
        status = say(_STATUS_WORDS[report.status])
        out.print(
            f"[{style}]{escape(status):>10}[/{style}]  {escape(report.label)}: {escape(say(report.message))}"
        )
        if report.hint and report.status is not AdapterStatus.FOUND:
            out.print("            " + escape(say(t("hint: {hint}", hint=report.hint))))
        if report.guidance is not None:
            _print_guidance(report.guidance, out)
        for device in report.devices:
            if device.identify_error:
                out.print("            " + escape(say(t("note: {note}", note=device.identify_error))))


def _print_guidance(guidance: DriverGuidance, out: Console) -> None:
    """The driver guide's advice under an adapter's verdict: title, numbered steps, guide, downloads."""
    indent = " " * 12
    out.print(f"{indent}[bold]{escape(say(guidance.title))}[/bold]", highlight=False)
    for number, step in enumerate(guidance.steps, 1):
        out.print(f"{indent}  {number}. {escape(say(step))}", highlight=False)
    if guidance.doc_location:
        out.print(
            indent + escape(say(t("guide: {location}", location=guidance.doc_location))), highlight=False
        )
    for link in guidance.links:
        out.print(indent + escape(say(t("download: {link}", link=link))), highlight=False)

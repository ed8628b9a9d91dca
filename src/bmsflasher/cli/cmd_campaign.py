"""``campaign``: update every node of a pack to one release bundle, all or nothing.

Thin over :class:`bmsflasher.procedure.campaign.Campaign`: discover the pack on the CAN bus the
link options name — or, with ``--port``/``--tcp``, on its RS485 bus over Modbus
(:class:`bmsflasher.procedure.campaign_modbus.ModbusCampaign`, ``--addresses``) — verify the bundle,
run, show one progress row per node, print the result.
Exit codes: 0 every node runs the bundle's set, confirmed; 10 the pack was rolled back as a whole;
2 refused before anything was written (a node without a package, missing nodes, a gate); 3 the
bundle was rejected; 4 link, 5 protocol, 6 procedure failures (the journal is kept: run again);
1 cancelled; 130 interrupted (run the same command again: the journal decides resume or revert).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.table import Table

from bmsflasher.cli.console import (
    ask,
    error_json,
    plain,
    print_json,
    progress_console,
    require_interactive_or_yes,
    say,
)
from bmsflasher.cli.pack_line import add_addresses_argument, pack_addresses, pack_line_from_args
from bmsflasher.cli.target_args import (
    add_device_arguments,
    add_history_arguments,
    add_trust_argument,
    add_yes_argument,
    keyring_from_args,
    link_from_args,
    opened_records,
    technician_from_args,
    timeout_from_args,
)
from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.events import Event, EventSink, LogLine, Measurement, StepFinished, StepStarted
from bmsflasher.core.events import Progress as ProgressEvent
from bmsflasher.core.i18n import t
from bmsflasher.core.names import check_name, outcome_name, step_name
from bmsflasher.core.target import Target
from bmsflasher.core.types import LinkSettings
from bmsflasher.procedure.campaign import Approval, Campaign, CampaignOptions
from bmsflasher.procedure.campaign_bundle import pack_links, release_loader
from bmsflasher.procedure.campaign_modbus import ModbusCampaign, ModbusPackOpener, modbus_pack_links
from bmsflasher.procedure.campaign_nodes import NodeOpener
from bmsflasher.procedure.campaign_plan import CampaignPlan
from bmsflasher.procedure.campaign_result import CampaignResult
from bmsflasher.procedure.connect import load_security_key, open_target
from bmsflasher.procedure.states import State

EXIT_INTERRUPTED: Final = 130
_OUTCOME_ERRORS: Final = {
    State.REFUSED: "CampaignRefused",
    State.ROLLED_BACK: "CampaignRolledBack",
    State.CANCELLED: "CampaignCancelled",
    State.FAILED: "CampaignFailed",
}


class NodeRows:
    """One progress row per node (its current step and transfer bar), pack lines above them.

    The rows refresh on each event (no background refresh thread), so nothing outlives the command.
    """

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("{task.description}"),
            TextColumn("{task.fields[step]}"),
            BarColumn(),
            TextColumn("{task.fields[result]}"),
            console=console,
            auto_refresh=False,
            transient=False,
        )
        self._rows: dict[str, TaskID] = {}
        self._started = False

    def sink_for(self, serial: str) -> EventSink:
        def sink(event: Event) -> None:
            self._node_event(serial, event)

        return sink

    def _row(self, serial: str) -> TaskID:
        if not self._started:
            self._progress.start()
            self._started = True
        if serial not in self._rows:
            self._rows[serial] = self._progress.add_task(serial, total=None, step="", result="")
        return self._rows[serial]

    def _node_event(self, serial: str, event: Event) -> None:
        row = self._row(serial)
        if isinstance(event, StepStarted):
            self._progress.update(row, step=say(step_name(event.step)), result="…")
        elif isinstance(event, ProgressEvent):
            self._progress.update(row, completed=event.done, total=event.total)
        elif isinstance(event, StepFinished):
            self._progress.update(row, result="✓" if event.ok else "✗")
            if not event.ok and event.detail:
                self._progress.console.print(
                    "  " + say(t("{serial}: {detail}", serial=serial, detail=event.detail)),
                    style="red",
                    markup=False,
                    highlight=False,
                )
        self._progress.refresh()

    def pack_event(self, event: Event) -> None:
        """Phases and pack-level lines, printed above the rows."""
        console = self._progress.console if self._started else self._console
        if isinstance(event, StepStarted):
            console.print(f"▶ {say(step_name(event.step))}", style="bold", markup=False, highlight=False)
        elif isinstance(event, LogLine):
            console.print(f"  {say(event.message)}", markup=False, highlight=False, soft_wrap=True)
        elif isinstance(event, Measurement):
            mark = "✓" if event.passed else "✗"
            line = say(t("{check}: {value}", check=check_name(event.name), value=event.value))
            console.print(f"  {mark} {line}", markup=False, highlight=False)
        if self._started:
            self._progress.refresh()

    def close(self) -> None:
        if self._started:
            self._progress.stop()
            self._started = False


def _approval(args: argparse.Namespace) -> Approval | None:
    def approve(plan: CampaignPlan) -> bool:
        return ask(
            t(
                "Every gate passed. Update the {count} nodes of the pack to {release} now?",
                count=len(plan.nodes),
                release=plan.release_set.name,
            )
        )

    return None if args.yes else approve


def result_json(result: CampaignResult) -> dict[str, object]:
    """``campaign --json``: the result, plus the five error keys when the pack did not end updated."""
    payload = result.to_json()
    if result.exit_code == 0:
        return payload
    error = type(result.error).__name__ if result.error is not None else _OUTCOME_ERRORS[result.outcome]
    hint = result.error.hint if result.error is not None else None
    return error_json(error, result.reason, hint, result.exit_code, **payload)


def print_result(console: Console, result: CampaignResult) -> None:
    """The per-node table and the outcome sentence."""
    if result.nodes:
        table = Table(show_header=True, header_style="bold")
        for title in (t("node"), t("tier"), t("model"), t("before"), t("now"), t("result")):
            table.add_column(say(title))
        for node in result.nodes:
            table.add_row(
                plain(node.serial),
                node.tier.upper(),
                plain(node.model),
                node.from_version or "—",
                (node.running_version or "—") + ("" if node.confirmed in (True, None) else " *"),
                say(outcome_name(node.state)),
            )
        console.print(table)
    style = "green" if result.outcome is State.UPDATED else "red"
    console.print(say(result.reason), style=style, markup=False, highlight=False, soft_wrap=True)


def _opener(args: argparse.Namespace, security: bytes | None) -> NodeOpener:
    timeout_s = timeout_from_args(args)

    def open_node(link: LinkSettings) -> Target:
        return open_target(
            link, security=security, timeout_s=timeout_s, technician=technician_from_args(args)
        )

    return open_node


def pack_bus(args: argparse.Namespace) -> LinkSettings:
    """The CAN bus the link options name (a campaign reaches every node over it)."""
    link = link_from_args(args)
    if link.kind != "can":
        raise ConfigValidationError(
            t("a pack campaign runs over the pack's CAN bus: give --interface and --channel (or --can)")
        )
    return link


def _cmd_campaign(args: argparse.Namespace) -> int:
    bundle_path: Path = args.bundle
    keyring = keyring_from_args(args)
    line = pack_line_from_args(args)
    bus = line if line is not None else pack_bus(args)
    require_interactive_or_yes(args, "campaign")
    console = progress_console(args.json)
    rows = NodeRows(console)
    security = load_security_key(args.security_key)
    options = CampaignOptions(
        operator=args.operator,
        approve=_approval(args),
        details={"bundle_file": bundle_path.name, "link": bus.describe()},
    )
    with opened_records(args) as db, contextlib.ExitStack() as port:
        campaign: Campaign
        if line is not None:
            # One RS485 port (or gateway socket) for the whole run, closed when the command ends.
            rs485 = port.enter_context(
                contextlib.closing(ModbusPackOpener(line, reconnect_timeout_s=timeout_from_args(args)))
            )
            campaign = ModbusCampaign(
                release_loader(bundle_path, keyring),
                modbus_pack_links(rs485, pack_addresses(args)),
                rs485,
                db,
                sink=rows.pack_event,
                sink_for=rows.sink_for,
                options=options,
            )
        else:
            campaign = Campaign(
                release_loader(bundle_path, keyring),
                pack_links(bus),
                _opener(args, security),
                db,
                sink=rows.pack_event,
                sink_for=rows.sink_for,
                options=options,
            )
        try:
            result = campaign.run()
        except KeyboardInterrupt:
            rows.close()
            sentence = t(
                "Interrupted: the campaign's journal is kept; run the same command again to resume or revert "
                "the pack."
            )
            if args.json:
                print_json(error_json("Interrupted", sentence, None, EXIT_INTERRUPTED))
            else:
                print(say(sentence), file=sys.stderr)
            return EXIT_INTERRUPTED
        finally:
            rows.close()
    if args.json:
        print_json(result_json(result))
    else:
        print_result(console, result)
    return result.exit_code


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``campaign``."""
    parser = subparsers.add_parser(
        "campaign",
        help=say(t("update every node of a pack to one release bundle (exit 0 all updated, 10 rolled back)")),
        description=say(
            t(
                "Discover the pack's nodes on the CAN bus, match each to the bundle, check every node's "
                "preconditions, back up every configuration, transfer in the bundle's tier order, test-boot "
                "and self-test every node and the pack, then confirm all; if anything fails before the "
                "confirm, every node returns to its previous firmware. Exit codes: 0 every node updated and "
                "confirmed, 10 the pack was rolled back as a whole, 2 refused before anything was written, 3 "
                "bundle rejected, 4 link failure, 5 protocol failure, 6 procedure failure, 1 cancelled."
            )
        )
        + "\n\n"
        + say(
            t(
                "A pack wired as a rack is reached over its RS485 bus (--port, or a Modbus TCP gateway with "
                "--tcp): its nodes are looked for at --addresses, a package that several nodes take is sent "
                "once to all of them by broadcast, and every other step is the same."
            )
        ),
    )
    parser.add_argument("bundle", type=Path, metavar="BUNDLE", help=say(t("the .bmsbundle release bundle")))
    add_device_arguments(parser, json_help=t("print the result as JSON on stdout (progress goes to stderr)"))
    add_addresses_argument(parser)
    add_trust_argument(parser)
    add_history_arguments(parser)
    add_yes_argument(parser)
    parser.set_defaults(func=_cmd_campaign)


def run_pack_rollback(args: argparse.Namespace) -> int:
    """``rollback --all``: every node of the pack back on its previous firmware (exit 0), or nothing.

    A refusal (a node that cannot go back: nothing written) exits 2; a rollback that stopped at a
    node exits with that node's error code.
    """
    from bmsflasher.procedure.campaign_rollback import rollback_pack

    line = pack_line_from_args(args)
    bus = line if line is not None else pack_bus(args)
    require_interactive_or_yes(args, "rollback --all")
    if not args.yes and not ask(t("Return every node of the pack on this bus to its previous firmware?")):
        sentence = t("Rollback cancelled.")
        if args.json:
            print_json(error_json("Declined", sentence, None, 1))
        else:
            print(say(sentence), file=sys.stderr)
        return 1
    console = progress_console(args.json)
    rows = NodeRows(console)
    security = load_security_key(args.security_key)
    with opened_records(args) as db, contextlib.ExitStack() as port:
        discover, opener = pack_links(bus), _opener(args, security)
        if line is not None:  # the pack's RS485 line: one port for every node, closed at the end
            rs485 = port.enter_context(
                contextlib.closing(ModbusPackOpener(line, reconnect_timeout_s=timeout_from_args(args)))
            )
            discover, opener = modbus_pack_links(rs485, pack_addresses(args)), rs485
        try:
            result = rollback_pack(
                discover,
                opener,
                db,
                sink=rows.pack_event,
                sink_for=rows.sink_for,
                operator=args.operator,
            )
        finally:
            rows.close()
    code = 0 if result.outcome is State.ROLLED_BACK else result.exit_code
    if args.json:
        payload = result.to_json()
        payload["exit_code"] = code
        print_json(payload if code == 0 else result_json(result))
    else:
        print_result(console, result)
    return code

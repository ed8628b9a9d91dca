"""Looking at a battery without changing it: ``info``, ``monitor``, ``dtc``, ``config show|diff``.

(``dtc --clear`` is the one write: it clears the stored trouble codes after reading them.)
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from rich.table import Table

from bmsflasher.cli.console import make_console, print_json, print_json_line, say
from bmsflasher.cli.pack_line import add_addresses_argument, pack_addresses, pack_line_from_args
from bmsflasher.cli.render import (
    identity_json,
    print_config,
    print_diff,
    print_dtcs,
    print_identity,
    telemetry_line,
)
from bmsflasher.cli.target_args import (
    add_device_arguments,
    add_history_arguments,
    link_from_args,
    opened_records,
    opened_target,
)
from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.i18n import t
from bmsflasher.core.serialise import dtc_to_json, link_to_json, snapshot_to_json, telemetry_to_json
from bmsflasher.core.types import LinkSettings
from bmsflasher.discovery.pack_nodes import discover_pack_nodes, require_nodes
from bmsflasher.discovery.pack_nodes_modbus import discover_modbus_pack, require_modbus_nodes
from bmsflasher.links.can import CanLinkConfig
from bmsflasher.procedure.backup import diff_snapshots
from bmsflasher.procedure.config_service import plan_restore

EXIT_OK: Final = 0
MAX_MONITOR_INTERVAL_S: Final = 3600.0


def _cmd_info(args: argparse.Namespace) -> int:
    if args.all:
        return _cmd_info_all(args)
    with opened_target(args) as target:
        identity = target.identify()
        link = target.link.describe()
        protocol = target.protocol
    if args.json:
        print_json({**identity_json(identity), "protocol": protocol, "link": link})
    else:
        print_identity(make_console(), identity, link, protocol)
    return EXIT_OK


def _cmd_info_all(args: argparse.Namespace) -> int:
    """``info --all``: every node of a pack on the CAN bus (one functional request, then identities)."""
    line = pack_line_from_args(args)
    if line is not None:
        return _cmd_info_all_modbus(line, pack_addresses(args), json_out=args.json)
    settings = link_from_args(args)
    if settings.kind != "can":
        raise ConfigValidationError(t("info --all lists the nodes of a pack on a CAN bus: give --interface"))
    config = CanLinkConfig.from_settings(settings)
    nodes = require_nodes(
        discover_pack_nodes(config, tester_address=settings.tester_address), config.describe()
    )
    if args.json:
        print_json(
            {"link": link_to_json(settings), "count": len(nodes), "nodes": [n.to_json() for n in nodes]}
        )
        return EXIT_OK
    table = Table(title=say(t("{count} pack nodes", count=len(nodes))))
    for heading in (t("address"), t("tier"), t("model"), t("serial"), t("version"), t("state")):
        table.add_column(say(heading))
    for node in nodes:
        table.add_row(
            f"0x{node.address:02X}",
            str(node.tier).upper(),
            node.model,
            node.serial,
            str(node.version) if node.version else "-",
            node.mode.value,
        )
    make_console().print(table)
    return EXIT_OK


def _cmd_info_all_modbus(line: LinkSettings, addresses: Sequence[int], *, json_out: bool) -> int:
    """``info --all`` on an RS485 bus or a Modbus TCP gateway: every unit of ``addresses`` that answers."""
    nodes = require_modbus_nodes(discover_modbus_pack(line, addresses), line)
    if json_out:
        print_json({"link": link_to_json(line), "count": len(nodes), "nodes": [n.to_json() for n in nodes]})
        return EXIT_OK
    table = Table(title=say(t("{count} pack nodes", count=len(nodes))))
    for heading in (t("address"), t("tier"), t("model"), t("serial"), t("version"), t("state")):
        table.add_column(say(heading))
    for node in nodes:
        table.add_row(
            str(node.address),
            str(node.tier).upper() if node.tier is not None else "?",
            node.model,
            node.serial,
            str(node.version) if node.version else "-",
            node.mode.value,
        )
    make_console().print(table)
    return EXIT_OK


def _check_monitor_bounds(args: argparse.Namespace) -> float | None:
    """Validate --interval/--count/--duration; returns the duration in seconds (None: no limit)."""
    if not (0 < args.interval <= MAX_MONITOR_INTERVAL_S):  # also false for NaN
        raise ConfigValidationError(
            t(
                "--interval must be between 0 and {high:g} s, not {value}",
                high=MAX_MONITOR_INTERVAL_S,
                value=args.interval,
            )
        )
    if args.count < 0:
        raise ConfigValidationError(t("--count must be 0 (no limit) or more, not {value}", value=args.count))
    if args.duration is None:
        return None
    if not (0 < args.duration < math.inf):
        raise ConfigValidationError(
            t("--duration must be a positive number of seconds, not {value}", value=args.duration)
        )
    duration_s: float = args.duration
    return duration_s


def _cmd_monitor(args: argparse.Namespace) -> int:
    duration_s = _check_monitor_bounds(args)
    if args.dbc is not None:  # read-only: decode the BMS's own broadcasts (docs/can-tools.md)
        from bmsflasher.cli.cmd_dbc import run_dbc_monitor

        return run_dbc_monitor(args, duration_s)
    console = make_console()
    with opened_target(args) as target:
        deadline = None if duration_s is None else time.monotonic() + duration_s  # from the connection
        shown = 0
        while args.count == 0 or shown < args.count:
            if shown:
                pause_s = args.interval
                if deadline is not None:
                    pause_s = min(pause_s, deadline - time.monotonic())
                    if pause_s < 0:
                        break
                time.sleep(pause_s)
                if deadline is not None and time.monotonic() >= deadline:
                    break
            sample = target.read_telemetry()
            shown += 1
            if args.json:
                print_json_line(telemetry_to_json(sample))
            else:
                console.print(telemetry_line(sample), highlight=False, soft_wrap=True)
    return EXIT_OK


def _cmd_dtc(args: argparse.Namespace) -> int:
    with opened_target(args) as target:
        dtcs = target.read_dtcs()
        cleared = False
        if args.clear:
            target.clear_dtcs()
            cleared = True
            remaining = target.read_dtcs()
        else:
            remaining = dtcs
    if args.json:
        print_json(
            {
                "dtcs": [dtc_to_json(d) for d in dtcs],
                "cleared": cleared,
                "remaining": [dtc_to_json(d) for d in remaining],
            }
        )
        return EXIT_OK
    console = make_console()
    print_dtcs(console, dtcs)
    if cleared:
        console.print(say(t("Cleared; {count} codes remain.", count=len(remaining))))
    return EXIT_OK


def _cmd_config_diff(args: argparse.Namespace) -> int:
    with opened_records(args) as db:
        if args.against is not None:
            if args.backup is None:
                raise ConfigValidationError(t("--against needs --backup: the diff compares two backups"))
            old = db.get_backup(args.backup)
            new = db.get_backup(args.against)
            diff = diff_snapshots(
                old.snapshot,
                new.snapshot,
                t("backup {backup_id}", backup_id=old.id),
                t("backup {backup_id}", backup_id=new.id),
            )
        else:
            with opened_target(args) as target:  # what a restore would change: the backup vs the device
                diff = plan_restore(target, db, args.backup).diff
    if args.json:
        print_json(diff.to_json())
    else:
        print_diff(make_console(), diff)
    return EXIT_OK


def _cmd_config_show(args: argparse.Namespace) -> int:
    with opened_target(args) as target:
        snapshot = target.read_config()
    if args.json:
        print_json(snapshot_to_json(snapshot))
    else:
        print_config(make_console(), snapshot)
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``info``, ``monitor``, ``dtc`` and ``config``."""
    info = subparsers.add_parser("info", help=say(t("identify a device: model, serial, versions, slots")))
    add_device_arguments(info)
    info.add_argument(
        "--all",
        action="store_true",
        help=say(
            t(
                "list every node of a pack on its CAN bus or RS485 bus (--port/--tcp) (BCU, BMCs, BMUs): "
                "address, model, serial, version"
            )
        ),
    )
    add_addresses_argument(info)
    info.set_defaults(func=_cmd_info)

    monitor = subparsers.add_parser("monitor", help=say(t("show live pack telemetry")))
    add_device_arguments(monitor, json_help=t("print one JSON object per sample"))
    monitor.add_argument(
        "--interval", type=float, default=1.0, metavar="S", help=say(t("seconds between samples"))
    )
    monitor.add_argument(
        "--count", type=int, default=0, metavar="N", help=say(t("stop after N samples (0: no limit)"))
    )
    monitor.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help=say(t("stop after S seconds (default: run until --count samples or Ctrl-C)")),
    )
    monitor.add_argument(
        "--dbc",
        type=Path,
        metavar="FILE.dbc",
        help=say(t("listen without sending and decode the BMS's broadcasts with this DBC (needs --signals)")),
    )
    monitor.add_argument(
        "--signals", type=Path, metavar="MAP.json", help=say(t("with --dbc: which signals mean which values"))
    )
    monitor.set_defaults(func=_cmd_monitor)

    dtc = subparsers.add_parser("dtc", help=say(t("read (and optionally clear) diagnostic trouble codes")))
    add_device_arguments(dtc)
    dtc.add_argument("--clear", action="store_true", help=say(t("clear the stored codes after reading them")))
    dtc.set_defaults(func=_cmd_dtc)

    config = subparsers.add_parser(
        "config", help=say(t("show the configuration or diff it against a backup"))
    )
    actions = config.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    diff = actions.add_parser(
        "diff", help=say(t("differences between a backup and the device, or two backups"))
    )
    add_device_arguments(diff)
    add_history_arguments(diff)
    diff.add_argument(
        "--backup", type=int, metavar="ID", help=say(t("backup id (default: the device's latest)"))
    )
    diff.add_argument(
        "--against", type=int, metavar="ID", help=say(t("compare with this backup instead of the device"))
    )
    diff.set_defaults(func=_cmd_config_diff)
    show = actions.add_parser("show", help=say(t("print every configuration parameter")))
    add_device_arguments(show)
    show.set_defaults(func=_cmd_config_show)

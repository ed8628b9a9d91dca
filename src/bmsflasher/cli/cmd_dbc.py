"""``bmsflasher dbc export``: write the virtual BMS's broadcast DBC (and its map) for other tools.

The DBC is the one the virtual BMS encodes its cyclic frames with, so CANalyzer, SavvyCAN,
cantools or a PCAN viewer decode the demo bench's bus exactly as ``bmsflasher monitor --dbc`` does.
With ``--map FILE`` the signal map for ``monitor --signals`` is written too. With ``--topology
bcu=1,bmc=2,bmu=12`` the DBC of a pack's own traffic is written instead (``canbus/pack_dbc.py``:
each node's status frame, each BMU's 10 Hz cell frames, as the Pack page reads them).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Final

from bmsflasher.cli.console import print_json, say
from bmsflasher.core.errors import ConfigValidationError, StorageError
from bmsflasher.core.i18n import t
from bmsflasher.core.resources import resource_path

EXIT_OK: Final = 0
DBC_RESOURCE: Final = ("dbc", "vbms.dbc")
MAP_RESOURCE: Final = ("dbc", "vbms.map.json")


def _copy(source: Path, destination: Path) -> None:
    try:
        shutil.copyfile(source, destination)
    except OSError as exc:
        raise StorageError(
            t("cannot write {path}: {error}", path=destination, error=exc.strerror or exc),
            hint=t("Choose a folder you can write to."),
        ) from exc


def _write_pack_dbc(topology: str, destination: Path) -> None:
    """The DBC of a pack's own traffic (status and cell frames) for the nodes ``topology`` names."""
    from bmsflasher.canbus.pack_dbc import pack_dbc
    from bmsflasher.discovery.pack_nodes import pack_address
    from bmsflasher.sim.topology.spec import TIER_ORDER, parse_topology

    counts = parse_topology(topology)
    nodes = [(str(tier), pack_address(tier, i)) for tier in TIER_ORDER for i in range(counts.count(tier))]
    try:
        destination.write_text(pack_dbc(nodes), encoding="utf-8")
    except OSError as exc:
        raise StorageError(
            t("cannot write {path}: {error}", path=destination, error=exc.strerror or exc),
            hint=t("Choose a folder you can write to."),
        ) from exc


def _cmd_dbc_export(args: argparse.Namespace) -> int:
    written = {"dbc": str(args.out)}
    if args.topology is not None:
        if args.map is not None:
            raise ConfigValidationError(t("--map is for the single BMS's DBC, not a pack's (--topology)"))
        _write_pack_dbc(args.topology, args.out)
        if args.json:
            print_json({"ok": True, **written})
        else:
            print(say(t("written: {path}", path=args.out)))
        return EXIT_OK
    _copy(resource_path(*DBC_RESOURCE), args.out)
    if args.map is not None:
        _copy(resource_path(*MAP_RESOURCE), args.map)
        written["map"] = str(args.map)
    if args.json:
        print_json({"ok": True, **written})
    else:
        for path in written.values():
            print(say(t("written: {path}", path=path)))
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dbc export``."""
    dbc = subparsers.add_parser("dbc", help=say(t("the virtual BMS's CAN broadcast description (DBC)")))
    actions = dbc.add_subparsers(dest="dbc_action", metavar="ACTION", required=True)
    export = actions.add_parser(
        "export", help=say(t("write the virtual BMS's DBC file for third-party tools"))
    )
    export.add_argument(
        "--out", type=Path, required=True, metavar="FILE.dbc", help=say(t("where to write the DBC"))
    )
    export.add_argument(
        "--map", type=Path, metavar="MAP.json", help=say(t("also write the signal map for monitor --signals"))
    )
    export.add_argument(
        "--topology",
        metavar="bcu=1,bmc=2,bmu=12",
        help=say(t("write a pack's DBC instead: every node's status frame and every BMU's cell frames")),
    )
    export.add_argument("--json", action="store_true", help=say(t("print JSON instead of text")))
    export.set_defaults(func=_cmd_dbc_export)


def run_dbc_monitor(args: argparse.Namespace, duration_s: float | None) -> int:
    """``monitor --dbc FILE --signals MAP.json``: the live view of a BMS from its broadcasts alone.

    Listens without transmitting, decodes with the DBC and the map, and prints the same lines (or
    JSON objects) as ``monitor`` over UDS. Ends after ``--count`` samples, ``--duration`` or Ctrl-C;
    a duration that passes without one complete pack is an error (exit 5) naming what was heard.
    """
    import time

    from bmsflasher.canbus.dbc_telemetry import load_decoder
    from bmsflasher.canbus.listen import decoded_samples, opened_listener
    from bmsflasher.cli.cmd_log import can_link_from_args
    from bmsflasher.cli.console import make_console, print_json_line
    from bmsflasher.cli.render import telemetry_line
    from bmsflasher.core.errors import NoResponseError
    from bmsflasher.core.serialise import telemetry_to_json

    if args.signals is None:
        raise ConfigValidationError(t("--dbc needs --signals MAP.json: the map says which signal is which"))
    decoder = load_decoder(args.dbc, args.signals)
    link_settings = can_link_from_args(args, "monitor --dbc")
    console = make_console()
    shown = 0
    with opened_listener(link_settings) as link:
        deadline = None if duration_s is None else time.monotonic() + duration_s
        for sample in decoded_samples(link, decoder, interval_s=args.interval, deadline=deadline):
            shown += 1
            if args.json:
                print_json_line(telemetry_to_json(sample))
            else:
                console.print(telemetry_line(sample), highlight=False, soft_wrap=True)
            if args.count and shown >= args.count:
                break
    if not shown:
        raise NoResponseError(
            t(
                "no complete pack was heard in {duration_s:g} s ({decoded} frames decoded, "
                "{ignored} not in the DBC)",
                duration_s=duration_s or 0,
                decoded=decoder.frames_decoded,
                ignored=decoder.frames_ignored,
            ),
            hint=t(
                "Check the bit rate and that the BMS broadcasts; a pack with more cells than the "
                "map's signals never completes."
            ),
        )
    return EXIT_OK

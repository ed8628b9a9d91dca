"""The RS485 line (or Modbus TCP gateway) of a pack, for ``info --all`` and ``campaign``.

A pack's nodes are reached either over its CAN bus (``--interface``/``--channel`` or ``--can``)
or, wired as a rack, over one RS485 bus: ``--port PATH [--baud N] [--parity E|N|O]
[--stopbits 1|2]`` or ``--tcp HOST:PORT``, with ``--addresses`` naming the unit addresses to look
at (default 1-16). ``--address`` names one module, which a pack command does not take.
"""

from __future__ import annotations

import argparse
import dataclasses

from bmsflasher.cli.console import say
from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.i18n import t
from bmsflasher.core.link_options import CAN_SHORTHAND_DEST, modbus_link
from bmsflasher.core.types import LinkSettings
from bmsflasher.discovery.modbus_probe import parse_addresses
from bmsflasher.discovery.pack_nodes_modbus import DEFAULT_PACK_ADDRESSES

_PLACEHOLDER_UNIT = 1
"""``modbus_link`` checks one module's options; the line's own unit address is not used."""


def add_addresses_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--addresses`` (the pack's unit addresses on an RS485 bus or behind ``--tcp``)."""
    parser.add_argument(
        "--addresses",
        type=_addresses,
        default=None,
        metavar="LIST",
        help=say(
            t(
                "Modbus unit addresses of the pack's nodes on the RS485 bus or behind --tcp, e.g. 1-15 "
                "(default 1-16)"
            )
        ),
    )


def _addresses(text: str) -> tuple[int, ...]:
    """``--addresses``: argparse shows the sentence of a bad list as a usage error."""
    try:
        return parse_addresses(text)
    except ConfigValidationError as exc:
        raise argparse.ArgumentTypeError(say(exc.message)) from None


def pack_line_from_args(args: argparse.Namespace) -> LinkSettings | None:
    """The pack's RS485 line or gateway the options name; None when they name a CAN bus.

    Raises:
        ConfigValidationError: the line's options are incomplete, or ``--address`` names one module.
    """
    interface = args.interface or getattr(args, CAN_SHORTHAND_DEST, None)
    tcp = getattr(args, "tcp", None)
    if interface or not (args.port or tcp):
        return None
    if getattr(args, "address", None) is not None:
        raise ConfigValidationError(
            t("--address names one module; a pack's nodes are found with --addresses (e.g. 1-15)")
        )
    line = modbus_link(
        address=_PLACEHOLDER_UNIT,
        port=args.port,
        baud=args.baud,
        parity=getattr(args, "parity", None),
        stopbits=getattr(args, "stopbits", None),
        tcp=tcp,
    )
    assert line is not None  # an address was given
    return dataclasses.replace(line, address=0)


def pack_addresses(args: argparse.Namespace) -> tuple[int, ...]:
    """``--addresses``, or the default range."""
    chosen: tuple[int, ...] | None = getattr(args, "addresses", None)
    return chosen or DEFAULT_PACK_ADDRESSES

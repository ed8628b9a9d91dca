"""Shared command-line options: which device to talk to, and which keys to trust.

Every device command takes the same target options — ``--port PATH [--baud N]`` for a serial
(SMP) device, ``--interface NAME --channel CH [--bitrate N] [--node ID]`` for a CAN (UDS) one —
so a technician learns them once. ``--trust PUB.pem`` adds a key to the user's keyring for one run.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Final

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.target import Target
from bmsflasher.core.types import LinkSettings
from bmsflasher.firmware.keys import Keyring
from bmsflasher.procedure.connect import DEFAULT_TIMEOUT_S, load_security_key, open_target
from bmsflasher.procedure.package_loading import build_keyring

DEFAULT_BAUD: Final = 115_200
DEFAULT_BITRATE: Final = 500_000
DEFAULT_NODE: Final = 1
BAUD_RANGE: Final = (50, 12_000_000)
"""Serial rates a UART or USB bridge can run at (the same bounds as ``scan --bauds``)."""
BITRATE_RANGE: Final = (5_000, 1_000_000)
"""CAN nominal bitrates (the same bounds as ``scan --bitrates``; CAN FD's data phase is separate)."""
MAX_TIMEOUT_S: Final = 3600.0


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the serial and CAN target options (exactly one of ``--port`` / ``--interface``)."""
    group = parser.add_argument_group("device (serial: --port; CAN: --interface and --channel)")
    group.add_argument("--port", metavar="PATH", help="serial port or pyserial URL of an SMP device")
    group.add_argument(
        "--baud", type=int, default=DEFAULT_BAUD, help=f"serial baud rate (default {DEFAULT_BAUD})"
    )
    group.add_argument(
        "--interface", metavar="NAME", help="python-can interface: socketcan, slcan, pcan, virtual…"
    )
    group.add_argument("--channel", metavar="CH", help="CAN channel (e.g. can0, /dev/ttyACM0, PCAN_USBBUS1)")
    group.add_argument(
        "--bitrate",
        type=int,
        default=DEFAULT_BITRATE,
        help=f"CAN bitrate in bit/s (default {DEFAULT_BITRATE})",
    )
    group.add_argument(
        "--node", type=int, default=DEFAULT_NODE, help="BMS node number on the CAN bus (default 1)"
    )
    group.add_argument("--security-key", type=Path, metavar="FILE", help="UDS security master secret (hex)")
    group.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"seconds to wait for a port that vanished to come back (default {DEFAULT_TIMEOUT_S:g}; "
        "an update's reboot waits follow the device profile)",
    )


def add_trust_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--trust PUB.pem`` (repeatable)."""
    parser.add_argument(
        "--trust",
        type=Path,
        action="append",
        default=[],
        metavar="PUB.pem",
        help="trust this public key (or folder of keys) for this run, besides the user's keyring",
    )


def link_from_args(args: argparse.Namespace) -> LinkSettings:
    """The link settings the options describe; one clear sentence when they are incomplete."""
    port: str | None = args.port
    interface: str | None = args.interface
    if port and interface:
        raise ConfigValidationError("give either --port (serial) or --interface (CAN), not both")
    if port:
        low, high = BAUD_RANGE
        if not low <= args.baud <= high:
            raise ConfigValidationError(f"--baud must be between {low} and {high}, not {args.baud}")
        return LinkSettings(kind="serial", port=port, baud=args.baud)
    if interface:
        if not args.channel:
            raise ConfigValidationError("a CAN target needs --channel as well as --interface")
        low, high = BITRATE_RANGE
        if not low <= args.bitrate <= high:
            raise ConfigValidationError(
                f"--bitrate must be between {low} and {high} bit/s, not {args.bitrate}"
            )
        if not 0 <= args.node <= 0xFF:
            raise ConfigValidationError(f"--node must be 0..255, not {args.node}")
        return LinkSettings(
            kind="can", interface=interface, channel=str(args.channel), bitrate=args.bitrate, node=args.node
        )
    raise ConfigValidationError("choose a device with --port PATH or --interface NAME --channel CH")


def timeout_from_args(args: argparse.Namespace) -> float:
    """``--timeout`` checked: a finite number of seconds, above zero (NaN or inf would never end)."""
    timeout_s: float = args.timeout
    if not (0 < timeout_s <= MAX_TIMEOUT_S):  # also false for NaN
        raise ConfigValidationError(f"--timeout must be between 0 and {MAX_TIMEOUT_S:g} s, not {timeout_s}")
    return timeout_s


def open_from_args(args: argparse.Namespace) -> Target:
    """Open the device the options name."""
    timeout_s = timeout_from_args(args)
    link = link_from_args(args)
    security = load_security_key(args.security_key) if link.kind == "can" else None
    return open_target(link, security=security, timeout_s=timeout_s)


def keyring_from_args(args: argparse.Namespace) -> Keyring:
    """The user's keyring plus the ``--trust`` keys."""
    extra: list[Path] = list(args.trust)
    return build_keyring(extra)

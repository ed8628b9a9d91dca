"""Shared command-line options: which device to talk to, and which keys to trust.

Every device command takes the same target options — ``--port PATH [--baud N]`` for a serial
(SMP) device, ``--interface NAME --channel CH [--bitrate N] [--node ID]`` for a CAN (UDS) one —
so a technician learns them once. ``--trust PUB.pem`` adds a key to the user's keyring for one run.
A BMS on 29-bit identifiers (ISO 15765-2 normal fixed addressing, common on J1939-style truck and
industrial buses) adds ``--addressing 29bit`` and gives its address as ``--node 0x17``.
A CAN FD bus adds ``--fd`` (and ``--data-bitrate N`` for a data phase other than 2 Mbit/s): the tool
then uses 64-byte ISO-TP frames with the bit-rate switch if the BMS offers CAN FD (DID 0xFD03).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Final

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.target import Target
from bmsflasher.core.types import DEFAULT_TESTER_ADDRESS, CanAddressing, LinkSettings
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
DEFAULT_DATA_BITRATE: Final = 2_000_000
DATA_BITRATE_RANGE: Final = (1_000_000, 12_000_000)
"""CAN FD data-phase bitrates controllers offer (an slcan CANable 2.0 sets only 2 or 5 Mbit/s)."""
MAX_TIMEOUT_S: Final = 3600.0
MAX_11BIT_NODE: Final = 8
"""11-bit normal addressing numbers nodes 1..8 (0x7E0..0x7E7 / 0x7E8..0x7EF, ISO 15765-4)."""
MAX_29BIT_ADDRESS: Final = 0xFD
"""Highest one-byte address; 0xFE (null) and 0xFF (global) are reserved (SAE J1939-81)."""


def _whole_number(text: str) -> int:
    """A whole number in decimal or with a 0x/0o/0b prefix (ECU addresses are usually hex)."""
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number (e.g. 1 or 0x17)") from None


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
        "--node",
        type=_whole_number,
        default=DEFAULT_NODE,
        help="BMS node on the CAN bus: number 1..8 with 11-bit addressing (default 1), "
        "or the ECU's address (e.g. 0x17) with --addressing 29bit",
    )
    group.add_argument(
        "--addressing",
        choices=[mode.value for mode in CanAddressing],
        default=CanAddressing.NORMAL_11BIT.value,
        help="UDS CAN identifiers: 11bit normal (0x7E0/0x7E8, default) or 29bit normal fixed "
        "(0x18DA<node><tester> / 0x18DA<tester><node>)",
    )
    group.add_argument(
        "--tester-address",
        type=_whole_number,
        default=DEFAULT_TESTER_ADDRESS,
        metavar="ADDR",
        help=f"the tool's own address with --addressing 29bit (default 0x{DEFAULT_TESTER_ADDRESS:02X})",
    )
    group.add_argument(
        "--fd",
        action="store_true",
        help="open the CAN adapter in CAN FD mode (64-byte frames when the BMS offers them)",
    )
    group.add_argument(
        "--data-bitrate",
        type=int,
        default=None,
        metavar="N",
        help=f"CAN FD data-phase bitrate, with bit-rate switch (default {DEFAULT_DATA_BITRATE}; "
        "slcan: 2000000 or 5000000)",
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
        addressing = CanAddressing(getattr(args, "addressing", CanAddressing.NORMAL_11BIT))
        tester: int = getattr(args, "tester_address", DEFAULT_TESTER_ADDRESS)
        _check_node(args.node, addressing, tester)
        fd, data_bitrate = _fd_from_args(args)
        return LinkSettings(
            kind="can",
            interface=interface,
            channel=str(args.channel),
            bitrate=args.bitrate,
            node=args.node,
            addressing=addressing,
            tester_address=tester,
            fd=fd,
            data_bitrate=data_bitrate,
        )
    raise ConfigValidationError("choose a device with --port PATH or --interface NAME --channel CH")


def _check_node(node: int, addressing: CanAddressing, tester: int) -> None:
    """One clear sentence when the node cannot be addressed the way the options say."""
    if addressing is CanAddressing.NORMAL_11BIT:
        if node > MAX_11BIT_NODE:
            raise ConfigValidationError(
                f"--node must be 1..{MAX_11BIT_NODE} with 11-bit addressing, not {node}; "
                "for a 29-bit ECU address add --addressing 29bit"
            )
        return
    for option, value in (("--node", node), ("--tester-address", tester)):
        if not 0 <= value <= MAX_29BIT_ADDRESS:
            raise ConfigValidationError(
                f"{option} must be 0x00..0x{MAX_29BIT_ADDRESS:02X} with 29-bit addressing, not 0x{value:X}"
            )
    if node == tester:
        raise ConfigValidationError(
            f"--node 0x{node:02X} is the tester's own address; give the ECU's address"
        )


def _fd_from_args(args: argparse.Namespace) -> tuple[bool, int]:
    """``fd`` and ``data_bitrate`` from ``--fd`` / ``--data-bitrate``; a data rate alone is a mistake."""
    fd = bool(getattr(args, "fd", False))
    data_bitrate: int | None = getattr(args, "data_bitrate", None)
    if not fd:
        if data_bitrate is not None:
            raise ConfigValidationError("--data-bitrate needs --fd (it sets the CAN FD data phase)")
        return False, 0
    if data_bitrate is None:
        return True, DEFAULT_DATA_BITRATE
    low, high = DATA_BITRATE_RANGE
    if not low <= data_bitrate <= high:
        raise ConfigValidationError(
            f"--data-bitrate must be between {low} and {high} bit/s, not {data_bitrate}"
        )
    return True, data_bitrate


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

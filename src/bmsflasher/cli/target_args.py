"""Shared command-line options: which device to talk to, and which keys to trust.

Every device command takes the same target options — ``--port PATH [--baud N]`` for a serial
(SMP) device, ``--interface NAME --channel CH [--bitrate N] [--node ID]`` for a CAN (UDS) one, or
``--can NAME:CH`` as ``scan`` writes it — so a technician learns them once; ``scan`` reads the
same rows as what to scan (:func:`add_scan_link_arguments`). ``--trust PUB.pem`` adds a key to
the user's keyring for one run.
A BMS on 29-bit identifiers (ISO 15765-2 normal fixed addressing, common on J1939-style truck and
industrial buses) adds ``--addressing 29bit`` and gives its address as ``--node 0x17``.
A CAN FD bus adds ``--fd`` (and ``--data-bitrate N`` for a data phase other than 2 Mbit/s): the tool
then uses 64-byte ISO-TP frames with the bit-rate switch if the BMS offers CAN FD (DID 0xFD03).

The link options are the rows of :data:`bmsflasher.core.link_options.LINK_OPTIONS`, the same rows
that write a link back as options for the command that resumes an update; this module adds the
parser around them, the range checks that turn them into :class:`LinkSettings`, and the other
options device commands share (``--json``, ``--db``, ``--operator``, ``--yes``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from bmsflasher.cli.console import say
from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.events import Event, LogLine
from bmsflasher.core.i18n import t
from bmsflasher.core.link_options import (
    BAUD_RANGE,
    BITRATE_RANGE,
    CAN_SHORTHAND,
    CAN_SHORTHAND_DEST,
    DATA_BITRATE_RANGE,
    DEFAULT_DATA_BITRATE,
    LINK_OPTIONS,
    MAX_11BIT_NODE,
    MAX_29BIT_ADDRESS,
    LinkOption,
    modbus_link,
    split_can_channel,
)
from bmsflasher.core.target import Target
from bmsflasher.core.types import DEFAULT_TESTER_ADDRESS, CanAddressing, LinkSettings
from bmsflasher.firmware.bundle import bundle_file_missing
from bmsflasher.firmware.keys import Keyring
from bmsflasher.firmware.policy import package_file_missing
from bmsflasher.procedure.connect import DEFAULT_TIMEOUT_S, load_security_key, open_target
from bmsflasher.procedure.package_loading import build_keyring
from bmsflasher.procedure.unlock_records import announce_unlocks as announce_unlocks_to
from bmsflasher.protocols.base.technician import credentials_from
from bmsflasher.records import RecordsDb
from bmsflasher.records.audit_seals import CertificateSigner

MAX_TIMEOUT_S: Final = 3600.0


def _argparse_type(parse: Callable[[str], object]) -> Callable[[str], object]:
    """``parse`` as an argparse type: its ValueError sentence becomes the usage error as is.

    Built-in types keep argparse's own wording ("invalid int value: 'abc'").
    """
    if parse in (int, float, str):
        return parse

    def typed(text: str) -> object:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(say(exc.args[0]) if exc.args else str(exc)) from None

    typed.__name__ = getattr(parse, "__name__", "value")
    return typed


def _add_link_option(group: argparse._ArgumentGroup, option: LinkOption) -> None:
    if option.value is None:
        group.add_argument(option.flag, action="store_true", help=say(option.help))
        return
    group.add_argument(
        option.flag,
        type=_argparse_type(option.value),
        default=option.default,
        metavar=option.metavar,
        choices=option.choices,
        help=say(option.help),
    )


_CAN_CONFLICT: Final = t(
    "give the CAN adapter either as --can INTERFACE:CHANNEL or as --interface and --channel"
)


class _CanShorthand(argparse.Action):
    """``--can slcan:/dev/ttyACM0``: fills ``interface`` and ``channel`` as the two options would.

    The pair is kept under ``can`` too, so :func:`link_from_args` can refuse an ``--interface`` or
    ``--channel`` given after it that says something else.
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        assert isinstance(values, tuple)
        interface, channel = values
        if (namespace.interface, namespace.channel) not in ((None, None), (interface, channel)):
            raise argparse.ArgumentError(self, say(_CAN_CONFLICT))
        setattr(namespace, self.dest, values)
        namespace.interface, namespace.channel = interface, channel


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the serial and CAN target options (exactly one of ``--port`` / ``--interface`` / ``--can``)."""
    group = parser.add_argument_group(say(t("device (serial: --port; CAN: --interface and --channel)")))
    for option in LINK_OPTIONS:
        _add_link_option(group, option)
    group.add_argument(
        CAN_SHORTHAND,
        dest=CAN_SHORTHAND_DEST,
        action=_CanShorthand,
        type=_argparse_type(split_can_channel),
        default=argparse.SUPPRESS,
        metavar="INTERFACE:CHANNEL",
        help=say(t("the CAN adapter as scan names it, e.g. slcan:/dev/ttyACM0 (--interface and --channel)")),
    )
    group.add_argument(
        "--security-key", type=Path, metavar="FILE", help=say(t("UDS security master secret (hex)"))
    )
    group.add_argument(
        "--technician",
        type=Path,
        metavar="FOLDER",
        help=say(
            t(
                "the technician credentials folder (NAME.crt and NAME.pem) for devices that authenticate "
                "by certificate, also used to seal the service history (default: your own technician "
                "folder in the user configuration folder)"
            )
        ),
    )
    group.add_argument(
        "--no-rate-switch",
        action="store_true",
        help=say(
            t(
                "stay at the --baud rate: do not switch to a faster line rate the device offers "
                "(serial SMP, or one Modbus module's transfer)"
            )
        ),
    )
    group.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=say(
            t(
                "seconds to wait for a port that vanished to come back (default {default:g}; "
                "an update's reboot waits follow the device profile)",
                default=DEFAULT_TIMEOUT_S,
            )
        ),
    )


def add_scan_link_arguments(parser: argparse.ArgumentParser) -> None:
    """The link options a scan takes (rows with a ``scan_help``), each repeatable: what to scan.

    ``--port`` and ``--interface``/``--channel`` name adapters; ``--baud`` and ``--bitrate`` are the
    rates to try. Read them back with :func:`scan_channels_from_args`.
    """
    for option in LINK_OPTIONS:
        if option.scan_help is None:
            continue
        parser.add_argument(
            option.flag,
            dest=option.field,
            type=_argparse_type(option.value or str),
            action="append",
            default=[],
            metavar=option.metavar,
            help=say(option.scan_help),
        )


def scan_channels_from_args(args: argparse.Namespace) -> list[str]:
    """``--interface``/``--channel`` pairs as ``INTERFACE:CHANNEL`` (scan's ``--can`` words), in order."""
    interfaces: list[str] = args.interface
    channels: list[str] = args.channel
    if len(interfaces) != len(channels):
        raise ConfigValidationError(
            t(
                "give one --channel for each --interface ({interfaces} interfaces, {channels} channels)",
                interfaces=len(interfaces),
                channels=len(channels),
            )
        )
    return [f"{interface}:{channel}" for interface, channel in zip(interfaces, channels, strict=True)]


def add_json_argument(parser: argparse.ArgumentParser, help_text: str = "") -> None:
    """Add ``--json`` (``help_text``: a :func:`~bmsflasher.core.i18n.t` sentence, shown translated)."""
    parser.add_argument("--json", action="store_true", help=say(help_text or t("print JSON instead of text")))


def add_device_arguments(parser: argparse.ArgumentParser, *, json_help: str = "") -> None:
    """The options of every device command: the target and ``--json``."""
    add_target_arguments(parser)
    add_json_argument(parser, json_help)


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--db`` and ``--operator``: where the service record goes and who did the work."""
    parser.add_argument(
        "--db", type=Path, metavar="FILE", help=say(t("service history database (default: user data folder)"))
    )
    parser.add_argument("--operator", default="", help=say(t("technician's name for the service record")))


def add_yes_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--yes`` (answer every confirmation with yes; needed without a terminal)."""
    parser.add_argument("--yes", action="store_true", help=say(t("run without prompts")))


def add_trust_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--trust PUB.pem`` (repeatable)."""
    parser.add_argument(
        "--trust",
        type=Path,
        action="append",
        default=[],
        metavar="PUB.pem",
        help=say(t("trust this public key (or folder of keys) for this run, besides the user's keyring")),
    )


def link_from_args(args: argparse.Namespace) -> LinkSettings:
    """The link settings the options describe; one clear sentence when they are incomplete."""
    port: str | None = args.port
    interface: str | None = args.interface
    shorthand = getattr(args, CAN_SHORTHAND_DEST, None)
    if shorthand is not None and shorthand != (interface, args.channel):
        raise ConfigValidationError(_CAN_CONFLICT)
    modbus = modbus_link(
        address=getattr(args, "address", None),
        port=port,
        baud=args.baud,
        parity=getattr(args, "parity", None),
        stopbits=getattr(args, "stopbits", None),
        tcp=getattr(args, "tcp", None),
        interface=interface,
    )
    if modbus is not None:
        return modbus
    if port and interface:
        raise ConfigValidationError(t("give either --port (serial) or --interface (CAN), not both"))
    if port:
        low, high = BAUD_RANGE
        if not low <= args.baud <= high:
            raise ConfigValidationError(
                t(
                    "--baud must be between {low} and {high}, not {baud}",
                    low=low,
                    high=high,
                    baud=args.baud,
                )
            )
        return LinkSettings(kind="serial", port=port, baud=args.baud)
    if interface:
        if not args.channel:
            raise ConfigValidationError(t("a CAN target needs --channel as well as --interface"))
        low, high = BITRATE_RANGE
        if not low <= args.bitrate <= high:
            raise ConfigValidationError(
                t(
                    "--bitrate must be between {low} and {high} bit/s, not {bitrate}",
                    low=low,
                    high=high,
                    bitrate=args.bitrate,
                )
            )
        if not 0 <= args.node <= 0xFF:
            raise ConfigValidationError(t("--node must be 0..255, not {node}", node=args.node))
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
    raise ConfigValidationError(t("choose a device with --port PATH or --interface NAME --channel CH"))


def _check_node(node: int, addressing: CanAddressing, tester: int) -> None:
    """One clear sentence when the node cannot be addressed the way the options say."""
    if addressing is CanAddressing.NORMAL_11BIT:
        if node > MAX_11BIT_NODE:
            raise ConfigValidationError(
                t(
                    "--node must be 1..{high} with 11-bit addressing, not {node}; for a 29-bit ECU "
                    "address add --addressing 29bit",
                    high=MAX_11BIT_NODE,
                    node=node,
                )
            )
        return
    for option, value in (("--node", node), ("--tester-address", tester)):
        if not 0 <= value <= MAX_29BIT_ADDRESS:
            raise ConfigValidationError(
                t(
                    "{option} must be 0x00..0x{high:02X} with 29-bit addressing, not 0x{value:X}",
                    option=option,
                    high=MAX_29BIT_ADDRESS,
                    value=value,
                )
            )
    if node == tester:
        raise ConfigValidationError(
            t(
                "--node 0x{node:02X} is the tester's own address; give the ECU's address",
                node=node,
            )
        )


def _fd_from_args(args: argparse.Namespace) -> tuple[bool, int]:
    """``fd`` and ``data_bitrate`` from ``--fd`` / ``--data-bitrate``; a data rate alone is a mistake."""
    fd = bool(getattr(args, "fd", False))
    data_bitrate: int | None = getattr(args, "data_bitrate", None)
    if not fd:
        if data_bitrate is not None:
            raise ConfigValidationError(t("--data-bitrate needs --fd (it sets the CAN FD data phase)"))
        return False, 0
    if data_bitrate is None:
        return True, DEFAULT_DATA_BITRATE
    low, high = DATA_BITRATE_RANGE
    if not low <= data_bitrate <= high:
        raise ConfigValidationError(
            t(
                "--data-bitrate must be between {low} and {high} bit/s, not {data_bitrate}",
                low=low,
                high=high,
                data_bitrate=data_bitrate,
            )
        )
    return True, data_bitrate


def timeout_from_args(args: argparse.Namespace) -> float:
    """``--timeout`` checked: a finite number of seconds, above zero (NaN or inf would never end)."""
    timeout_s: float = args.timeout
    if not (0 < timeout_s <= MAX_TIMEOUT_S):  # also false for NaN
        raise ConfigValidationError(
            t(
                "--timeout must be between 0 and {high:g} s, not {value}",
                high=MAX_TIMEOUT_S,
                value=timeout_s,
            )
        )
    return timeout_s


def open_from_args(args: argparse.Namespace, *, announce_unlocks: bool = True) -> Target:
    """Open the device the options name.

    Args:
        args: the parsed command line (the link options, ``--security-key``, ``--timeout``).
        announce_unlocks: print one line on stderr for every security-access unlock of the target
            (which battery, for what, when), whether or not a service session records it; False
            for a command whose procedure already reports unlocks through its event renderer.
    """
    timeout_s = timeout_from_args(args)
    link = link_from_args(args)
    security = load_security_key(args.security_key) if link.kind == "can" else None
    target = open_target(
        link,
        security=security,
        timeout_s=timeout_s,
        technician=technician_from_args(args),
        rate_switch=not getattr(args, "no_rate_switch", False),
    )
    if announce_unlocks:
        announce_unlocks_to(target, _print_log_line)
    return target


def _print_log_line(event: Event) -> None:
    """A log line of the target on stderr (stdout may carry ``--json``)."""
    if isinstance(event, LogLine):
        print(say(event.message), file=sys.stderr)


def keyring_from_args(args: argparse.Namespace) -> Keyring:
    """The user's keyring plus the ``--trust`` keys, announced on stderr (:func:`print_trusted_keys`).

    A release file the command names (``PKG`` or ``BUNDLE``) that does not exist is said first: a
    technician who mistyped the path must not be sent to the keyring instead (exit 3 either way).
    """
    require_release_file(args)
    extra: list[Path] = list(args.trust)
    keyring = build_keyring(extra)
    print_trusted_keys(keyring, json_mode=getattr(args, "json", False))
    return keyring


def require_release_file(args: argparse.Namespace) -> None:
    """Raise the package or bundle reader's own "does not exist" error for a missing ``PKG``/``BUNDLE``."""
    package: Path | None = getattr(args, "package", None)
    if package is not None:
        require_release_path(package, bundle=False)
    bundle: Path | None = getattr(args, "bundle", None)
    if bundle is not None:
        require_release_path(bundle, bundle=True)


def require_release_path(path: Path, *, bundle: bool) -> None:
    """Raise the reader's own error (exit 3) when ``path`` does not exist, before any keyring is read."""
    if not path.exists():
        raise bundle_file_missing(path) if bundle else package_file_missing(path)


def print_trusted_keys(keyring: Keyring, *, json_mode: bool) -> None:
    """On stderr: one line per trusted key (text mode), then a warning per demo key outside a demo."""
    for line in [] if json_mode else keyring.describe():
        print(say(line), file=sys.stderr)
    for warning in keyring.warnings:
        print(say(t("warning: {warning}", warning=warning)), file=sys.stderr)


@contextlib.contextmanager
def opened_target(args: argparse.Namespace, *, announce_unlocks: bool = True) -> Iterator[Target]:
    """The device the options name, closed when the block ends (also on an error or Ctrl-C).

    Every security-access unlock is announced on stderr unless ``announce_unlocks`` is False
    (:func:`open_from_args`).
    """
    target = open_from_args(args, announce_unlocks=announce_unlocks)
    try:
        yield target
    finally:
        target.close()


def technician_from_args(args: argparse.Namespace) -> Path | None:
    """``--technician FOLDER``: a workshop keeps several technicians' credentials; None: the user's own."""
    folder: Path | None = getattr(args, "technician", None)
    return folder


def technician_sealer(folder: Path) -> CertificateSigner:
    """The credentials of ``--technician FOLDER`` as the history's sealer; refused when unusable.

    Without the option the history seals with the user's own credentials when they are usable and
    stays unsealed otherwise; a folder named on the command line that cannot seal is a mistake
    worth one sentence before anything is written, not a silently unsealed record.
    """
    credentials = credentials_from(folder)
    return CertificateSigner(credentials.chain, credentials.key)


@contextlib.contextmanager
def opened_records(args: argparse.Namespace) -> Iterator[RecordsDb]:
    """The service history ``--db`` names (the user's default one without it), closed at the end.

    With ``--technician FOLDER`` that folder's certificate seals the audit trail (the same
    credentials the device authenticated), not the user's own.
    """
    folder = technician_from_args(args)
    sealer = technician_sealer(folder) if folder is not None else None
    db = RecordsDb.open(args.db)
    if sealer is not None:
        db.use_sealer(sealer)
    try:
        yield db
    finally:
        db.close()

"""The link options, defined once: what each fills in :class:`LinkSettings` and how it is written back.

The command line reaches a device with ``--port``/``--baud`` (serial) or ``--interface``,
``--channel``, ``--bitrate``, ``--node``, ``--addressing``, ``--tester-address``, ``--fd`` and
``--data-bitrate`` (CAN), or one Modbus module with ``--address`` and either ``--port``, ``--baud``,
``--parity``, ``--stopbits`` (RTU on an RS485 bus) or ``--tcp HOST:PORT`` (a Modbus TCP gateway).
Two things need that list: the parser that reads the options, and the advice after an interrupted
update, which must print a command that reaches the *same* device the *same* way. When each kept
its own list they drifted (a new option was parsed but not repeated, so the printed command talked
to node 1 at 11-bit instead of ECU 0x17 at 29-bit). :data:`LINK_OPTIONS` is the one list;
:func:`link_argv` renders a :class:`LinkSettings` back to options, and ``cli/target_args.py``
builds the parser from the same rows. A new link option is one new row here.

``scan`` reads the same rows (those with a ``scan_help``) as "what to scan": ``--port`` and
``--interface``/``--channel`` name adapters, ``--baud`` and ``--bitrate`` the only rates to try.
The other way round, every device command also takes scan's ``--can INTERFACE:CHANNEL``
(:data:`CAN_SHORTHAND`) as a shorthand for ``--interface`` and ``--channel``, so an adapter is
named the same way in every command.

Pure: no argparse, no I/O. A value parser raises ``ValueError`` with a sentence for the technician.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import DEFAULT_TESTER_ADDRESS, CanAddressing, LinkSettings

DEFAULT_BAUD: Final = 115_200
DEFAULT_BITRATE: Final = 500_000
DEFAULT_NODE: Final = 1
DEFAULT_DATA_BITRATE: Final = 2_000_000
BAUD_RANGE: Final = (50, 12_000_000)
"""Serial rates a UART or USB bridge can run at (the same bounds as ``scan --bauds``)."""
BITRATE_RANGE: Final = (5_000, 1_000_000)
"""CAN nominal bitrates (the same bounds as ``scan --bitrates``; CAN FD's data phase is separate)."""
DATA_BITRATE_RANGE: Final = (1_000_000, 12_000_000)
"""CAN FD data-phase bitrates controllers offer (an slcan CANable 2.0 sets only 2 or 5 Mbit/s)."""
MODBUS_ADDRESS_RANGE: Final = (1, 247)
"""Modbus unit addresses of one module (0 is broadcast, 248..255 are reserved)."""
DEFAULT_MODBUS_PARITY: Final = "E"
"""Modbus over serial line makes even parity the default (specification v1.02, 2.5.1)."""
PARITIES: Final = ("N", "E", "O")
STOP_BITS: Final = ("1", "2")
MAX_11BIT_NODE: Final = 8
"""11-bit normal addressing numbers nodes 1..8 (0x7E0..0x7E7 / 0x7E8..0x7EF, ISO 15765-4)."""
MAX_29BIT_ADDRESS: Final = 0xFD
"""Highest one-byte address; 0xFE (null) and 0xFF (global) are reserved (SAE J1939-81)."""

SERIAL: Final = "serial"
CAN: Final = "can"
MODBUS: Final = "modbus"


def whole_number(text: str) -> int:
    """A whole number in decimal or with a 0x/0o/0b prefix (ECU addresses are usually hex)."""
    try:
        return int(text, 0)
    except ValueError:
        raise ValueError(t("'{text}' is not a whole number (e.g. 1 or 0x17)", text=text)) from None


def tcp_endpoint(text: str) -> str:
    """``HOST:PORT`` of a Modbus TCP gateway (port 1..65535), as typed."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(t("'{text}' is not HOST:PORT (e.g. 192.168.1.20:502)", text=text))
    return text


def _is_modbus_rtu(link: LinkSettings) -> bool:
    return link.kind == MODBUS and not link.tcp


def _is_29bit(link: LinkSettings) -> bool:
    return link.addressing is CanAddressing.NORMAL_FIXED_29BIT


def _address(value: int) -> str:
    """A one-byte CAN address as people write it (``0x17``); :func:`whole_number` reads it back."""
    return f"0x{value:02X}" if value >= 0 else str(value)


RenderedValue = str | bool | None
"""What an option contributes to argv: a value, True for a bare flag, None (or False) for nothing."""


@dataclass(frozen=True, slots=True)
class LinkOption:
    """One command-line option that fills one :class:`LinkSettings` field.

    Attributes:
        flag: the option as typed (``--data-bitrate``); its argparse destination is ``field``.
        field: the :class:`LinkSettings` attribute it fills.
        kind: the link kind that uses it (``"serial"``, ``"can"`` or ``"modbus"``); others ignore it.
        help: the help text.
        render: the option's text for a given link, or None when the command leaves it out (the
            parser's default then gives the same value back). A bare flag renders True.
        value: parses the typed text (None: a flag that takes no value).
        default: what the parsed options hold when the option is absent.
        metavar: the value's name in the usage line.
        choices: the only accepted values, when there is a fixed set.
        scan_help: what the option means to ``scan`` (repeatable there); None when a scan does
            not take it (it finds every node and addressing by itself).
        shared_with: other link kinds that use it too (``--port`` names a serial SMP device or the
            RS485 port of a Modbus module).
    """

    flag: str
    field: str
    kind: str
    help: str
    render: Callable[[LinkSettings], RenderedValue]
    value: Callable[[str], object] | None = None
    default: object = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    scan_help: str | None = None
    shared_with: tuple[str, ...] = ()

    def applies_to(self, kind: str) -> bool:
        """True when a link of ``kind`` uses this option."""
        return kind == self.kind or kind in self.shared_with


LINK_OPTIONS: Final[tuple[LinkOption, ...]] = (
    LinkOption(
        "--port", "port", SERIAL, t("serial port or pyserial URL of an SMP device"),
        render=lambda link: link.port or None, value=str, metavar="PATH", shared_with=(MODBUS,),
        scan_help=t("a serial port to scan, e.g. /dev/ttyUSB0, COM3, socket://host:port (repeatable)"),
    ),
    LinkOption(
        "--baud", "baud", SERIAL, t("serial baud rate (default {default})", default=DEFAULT_BAUD),
        render=lambda link: str(link.baud) if link.port else None, value=int, default=DEFAULT_BAUD,
        shared_with=(MODBUS,),
        scan_help=t("only try this serial rate (repeatable; the same as --bauds)"),
    ),
    LinkOption(
        "--interface", "interface", CAN, t("python-can interface: socketcan, slcan, pcan, virtual…"),
        render=lambda link: link.interface, value=str, metavar="NAME",
        scan_help=t("python-can interface of a CAN adapter to scan, with --channel (repeatable, in pairs)"),
    ),
    LinkOption(
        "--channel", "channel", CAN, t("CAN channel (e.g. can0, /dev/ttyACM0, PCAN_USBBUS1)"),
        render=lambda link: link.channel, value=str, metavar="CH",
        scan_help=t("channel of the CAN adapter named by the --interface before it"),
    ),
    LinkOption(
        "--bitrate", "bitrate", CAN, t("CAN bitrate in bit/s (default {default})", default=DEFAULT_BITRATE),
        render=lambda link: str(link.bitrate), value=int, default=DEFAULT_BITRATE,
        scan_help=t("only try this CAN bitrate (repeatable; the same as --bitrates)"),
    ),
    LinkOption(
        "--node", "node", CAN,
        t(
            "BMS node on the CAN bus: number 1..8 with 11-bit addressing (default 1), "
            "or the ECU's address (e.g. 0x17) with --addressing 29bit"
        ),
        render=lambda link: _address(link.node) if _is_29bit(link) else str(link.node),
        value=whole_number, default=DEFAULT_NODE,
    ),
    LinkOption(
        "--addressing", "addressing", CAN,
        t(
            "UDS CAN identifiers: 11bit normal (0x7E0/0x7E8, default) or 29bit normal fixed "
            "(0x18DA<node><tester> / 0x18DA<tester><node>)"
        ),
        render=lambda link: link.addressing.value if _is_29bit(link) else None,
        value=str, default=CanAddressing.NORMAL_11BIT.value,
        choices=tuple(mode.value for mode in CanAddressing),
    ),
    LinkOption(
        "--tester-address", "tester_address", CAN,
        t(
            "the tool's own address with --addressing 29bit (default 0x{default:02X})",
            default=DEFAULT_TESTER_ADDRESS,
        ),
        render=lambda link: _address(link.tester_address)
        if _is_29bit(link) or link.tester_address != DEFAULT_TESTER_ADDRESS
        else None,
        value=whole_number, default=DEFAULT_TESTER_ADDRESS, metavar="ADDR",
    ),
    LinkOption(
        "--fd", "fd", CAN,
        t("open the CAN adapter in CAN FD mode (64-byte frames when the BMS offers them)"),
        render=lambda link: link.fd, default=False,
    ),
    LinkOption(
        "--data-bitrate", "data_bitrate", CAN,
        t(
            "CAN FD data-phase bitrate, with bit-rate switch (default {default}; slcan: 2000000 or 5000000)",
            default=DEFAULT_DATA_BITRATE,
        ),
        render=lambda link: str(link.data_bitrate)
        if link.fd and link.data_bitrate != DEFAULT_DATA_BITRATE
        else None,
        value=int, metavar="N",
    ),
    LinkOption(
        "--address", "address", MODBUS,
        t("Modbus unit address of the battery module (1..247), on the RS485 bus or behind --tcp"),
        render=lambda link: str(link.address), value=whole_number, metavar="A",
    ),
    LinkOption(
        "--parity", "parity", MODBUS,
        t(
            "Modbus RTU parity: N, E or O (default {default}, the Modbus default)",
            default=DEFAULT_MODBUS_PARITY,
        ),
        render=lambda link: link.parity if _is_modbus_rtu(link) else None,
        value=str.upper, choices=PARITIES,
    ),
    LinkOption(
        "--stopbits", "stopbits", MODBUS, t("Modbus RTU stop bits: 1 or 2 (default 1)"),
        render=lambda link: str(link.stopbits) if _is_modbus_rtu(link) else None,
        value=str, choices=STOP_BITS,
    ),
    LinkOption(
        "--tcp", "tcp", MODBUS, t("Modbus TCP gateway HOST:PORT (with --address: the module's unit id)"),
        render=lambda link: link.tcp or None, value=tcp_endpoint, metavar="HOST:PORT",
        scan_help=t("a Modbus TCP gateway HOST:PORT to scan for modules (repeatable)"),
    ),
)  # fmt: skip
"""Every link option, in the order ``--help`` lists them and :func:`link_argv` writes them."""


CAN_SHORTHAND: Final = "--can"
"""``--can INTERFACE:CHANNEL``: ``scan``'s way to name a CAN adapter, a shorthand in every command."""
CAN_SHORTHAND_DEST: Final = "can"


def split_can_channel(text: str) -> tuple[str, str]:
    """``slcan:/dev/ttyACM0`` → ``("slcan", "/dev/ttyACM0")`` (the interface in lower case).

    The channel keeps everything after the first colon (``udp_multicast:ff15:7079::1``).

    Raises:
        ValueError: with a sentence for the technician, when a part is missing.
    """
    interface, sep, channel = text.strip().partition(":")
    interface = interface.strip().lower()
    channel = channel.strip()
    if not sep or not interface or not channel:
        raise ValueError(
            t(
                "--can {text!r} must be INTERFACE:CHANNEL, for example slcan:/dev/ttyACM0 or socketcan:can0",
                text=text,
            )
        )
    return interface, channel


def modbus_link(
    *,
    address: int | None,
    port: str | None,
    baud: int,
    parity: str | None,
    stopbits: str | None,
    tcp: str | None,
    interface: str | None = None,
) -> LinkSettings | None:
    """The Modbus module the options name, or None when they name none (no Modbus option given).

    Raises:
        ConfigValidationError: the Modbus options are incomplete or contradict each other.
    """
    if address is None and tcp is None and parity is None and stopbits is None:
        return None
    if address is None:
        raise ConfigValidationError(t("a Modbus module needs --address A (its unit address, 1..247)"))
    low, high = MODBUS_ADDRESS_RANGE
    if not low <= address <= high:
        raise ConfigValidationError(
            t(
                "--address must be {low}..{high} (a module's unit address), not {address}",
                low=low,
                high=high,
                address=address,
            )
        )
    if interface:
        raise ConfigValidationError(
            t("give either --interface (CAN) or --address (a Modbus module), not both")
        )
    if tcp:
        if port:
            raise ConfigValidationError(t("give either --port (RS485) or --tcp (a gateway), not both"))
        if parity is not None or stopbits is not None:
            raise ConfigValidationError(t("--parity and --stopbits set an RS485 line; --tcp has none"))
        return LinkSettings(kind=MODBUS, tcp=tcp, address=address)
    if not port:
        raise ConfigValidationError(t("a Modbus module needs --port PATH (RS485) or --tcp HOST:PORT"))
    low, high = BAUD_RANGE
    if not low <= baud <= high:
        raise ConfigValidationError(
            t("--baud must be between {low} and {high}, not {baud}", low=low, high=high, baud=baud)
        )
    return LinkSettings(
        kind=MODBUS,
        port=port,
        baud=baud,
        parity=parity or DEFAULT_MODBUS_PARITY,
        stopbits=int(stopbits or 1),
        address=address,
    )


def option_words(flag: str, value: str) -> list[str]:
    """``[flag, value]``, or ``[flag=value]`` when the value starts with '-' (it would read as an option)."""
    return [f"{flag}={value}"] if value.startswith("-") else [flag, value]


def link_argv(link: LinkSettings) -> list[str]:
    """The options that reach ``link`` again: parsing them gives back an equal :class:`LinkSettings`."""
    words: list[str] = []
    for option in LINK_OPTIONS:
        if not option.applies_to(link.kind):
            continue
        rendered = option.render(link)
        if rendered is True:
            words.append(option.flag)
        elif isinstance(rendered, str):
            words += option_words(option.flag, rendered)
    return words

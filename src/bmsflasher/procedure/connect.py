"""Open a :class:`Target` from link settings, whichever protocol the link speaks.

A serial link (USB CDC, USB-UART, RS485) speaks MCUmgr SMP; a CAN link speaks UDS on ISO-TP; a
Modbus link reaches one battery module of an energy-storage rack (Modbus RTU or TCP). The
clients are imported lazily, like python-can's interface registry: a missing CAN vendor library
fails only when a CAN target is chosen, never when a serial one is.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Final, Protocol, cast

import platformdirs

from bmsflasher.core.errors import ConfigValidationError, LinkError, NoResponseError
from bmsflasher.core.i18n import t
from bmsflasher.core.target import Target
from bmsflasher.core.types import CanAddressing, LinkSettings
from bmsflasher.discovery.cache import AdapterRateMemory, remembered_modbus_line
from bmsflasher.firmware.files import read_capped

DEFAULT_TIMEOUT_S: Final = 5.0
MAX_SECURITY_KEY_FILE_BYTES: Final = 4096
SECURITY_KEY_FILE: Final = "security-master.key"
SERIAL_KINDS: Final = frozenset({"serial"})
CAN_KINDS: Final = frozenset({"can"})
MODBUS_KINDS: Final = frozenset({"modbus"})


class _SmpConnect(Protocol):
    def __call__(
        self, port: str, baud: int, *, reconnect_timeout_s: float, speed: Any, technician: Any
    ) -> Target: ...


def user_security_key_path() -> Path:
    """Where the workshop's UDS security master secret lives: ``<user config dir>/security-master.key``."""
    return Path(platformdirs.user_config_dir("bmsflasher")) / SECURITY_KEY_FILE


def load_security_key(path: Path | None = None) -> bytes | None:
    """Read a UDS security master secret (hex text), from ``path`` or the user's configuration.

    Returns None when no path is given and the user has none; the UDS client then falls back to
    the demo secret for demo devices only.

    Raises:
        ConfigValidationError: the file exists but does not hold a hex secret of 16 bytes or more.
    """
    chosen = path or user_security_key_path()
    try:
        raw = read_capped(chosen, MAX_SECURITY_KEY_FILE_BYTES)
        if raw is None:
            raise ConfigValidationError(
                t("the security key file {path} is too large to hold a secret", path=chosen)
            )
        text = raw.decode("ascii").strip()
    except FileNotFoundError:
        if path is not None:
            raise ConfigValidationError(t("the security key file {path} does not exist", path=path)) from None
        return None
    except OSError as exc:
        raise ConfigValidationError(
            t(
                "the security key file {path} cannot be read: {reason}",
                path=chosen,
                reason=exc.strerror or exc,
            )
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigValidationError(
            t("the security key file {path} must hold a hex secret", path=chosen)
        ) from exc
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        raise ConfigValidationError(
            t("the security key file {path} must hold a hex secret", path=chosen)
        ) from None
    if len(secret) < 16:
        raise ConfigValidationError(t("the security key in {path} is shorter than 16 bytes", path=chosen))
    return secret


def _open_serial(link: LinkSettings, timeout_s: float, technician: Path | None, rate_switch: bool) -> Target:
    module = importlib.import_module("bmsflasher.protocols.smp.target")
    connect = cast(_SmpConnect, module.SmpTarget.connect)
    baud = link.baud or int(module.DEFAULT_BAUD)
    # A faster line rate is negotiated after the handshake; what held is remembered per adapter.
    speed = module.SpeedOptions(switch_rate=rate_switch, memory=AdapterRateMemory())
    credentials = importlib.import_module("bmsflasher.protocols.base.technician").credentials_from
    return connect(
        link.port,
        baud,
        reconnect_timeout_s=timeout_s,
        speed=speed,
        technician=lambda: credentials(technician),
    )


def _open_modbus(link: LinkSettings, timeout_s: float, rate_switch: bool) -> Target:
    """One battery module on an RS485 bus (Modbus RTU) or behind a gateway (Modbus TCP)."""
    module = importlib.import_module("bmsflasher.protocols.modbus.target")
    try:
        # One module on the line: it may switch to a faster rate for the transfer (never a rack's).
        line_rate = importlib.import_module("bmsflasher.protocols.modbus.line_rate")
        options = line_rate.LineRateOptions(memory=AdapterRateMemory()) if rate_switch else None
        target = module.ModbusTarget.connect(link, reconnect_timeout_s=timeout_s, line_rate=options)
    except NoResponseError as exc:
        raise _with_scanned_line_hint(exc, link) from exc
    if not isinstance(target, Target):
        raise LinkError(t("the Modbus client returned something that is not a device target"))
    return target


def _with_scanned_line_hint(exc: NoResponseError, link: LinkSettings) -> NoResponseError:
    """``exc``, or the same error whose hint names the line settings the last scan found on this port.

    Silence from a module at settings other than the ones the scan found is almost always the
    default baud/parity being used because the options were not repeated.
    """
    if not link.port:
        return exc
    found = remembered_modbus_line(link.port)
    if found is None or (found.baud, found.parity, found.stopbits) == (
        link.baud,
        link.parity,
        link.stopbits,
    ):
        return exc
    return NoResponseError(
        exc.message,
        hint=t(
            "The last scan found modules on {port} at {baud} baud {bits}: add --baud {baud} "
            "--parity {parity} --stopbits {stopbits}.",
            port=link.port,
            baud=found.baud,
            bits=f"8{found.parity}{found.stopbits}",
            parity=found.parity,
            stopbits=found.stopbits,
        ),
    )


def _open_can(
    link: LinkSettings, security: bytes | None, timeout_s: float, technician: Path | None
) -> Target:
    module = importlib.import_module("bmsflasher.protocols.uds.target")
    opener = module.open_uds_target
    try:
        target = opener(link, security=security, timeout_s=timeout_s, technician=technician)
    except NoResponseError as exc:
        # Name the settings that were tried, as the serial client does ("at 9600 baud"): a wrong
        # bitrate or node number is by far the most common cause of silence on CAN.
        raise NoResponseError(
            t(
                "No answer from {node} on {interface}:{channel} at {bitrate} bit/s. {error}",
                node=_node_text(link),
                interface=link.interface,
                channel=link.channel,
                bitrate=link.bitrate,
                error=exc.message,
            ),
            hint=exc.hint
            or t(
                "Check the bitrate, the node number, the addressing (--addressing 11bit or 29bit) "
                "and that the device is powered."
            ),
        ) from exc
    if not isinstance(target, Target):
        raise LinkError(t("the UDS client returned something that is not a device target"))
    return target


def _node_text(link: LinkSettings) -> str:
    """``node 1`` or ``29-bit node 0x17``: how the technician named the node on the command line."""
    if link.addressing is CanAddressing.NORMAL_FIXED_29BIT:
        return t("29-bit node 0x{node:02X}", node=link.node)
    return t("node {node}", node=link.node)


def open_target(
    link: LinkSettings,
    *,
    security: bytes | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    technician: Path | None = None,
    rate_switch: bool = True,
) -> Target:
    """Connect to the device behind ``link`` and return it as a protocol-neutral target.

    Args:
        link: serial (port, baud), CAN (interface, channel, bitrate, node, addressing) or Modbus
            (address, and port/baud/parity/stop bits or a TCP gateway) settings.
        security: UDS security master secret (CAN only); None uses the client's default.
        timeout_s: bound on waiting for a vanished port or a rebooting device inside the client.
        technician: the technician credentials folder (``NAME.crt`` + ``NAME.pem``, ``--technician``)
            a device that authenticates by certificate (UDS 0x29, the SMP BMS group's signed
            challenge) gets; None: the user's own folder. Read only when a device asks.
        rate_switch: negotiate a faster line rate when the device offers one (SMP after the
            handshake, a single Modbus module for its transfer); False stays at the link's rate
            (``--no-rate-switch``: an adapter or cable the negotiation misjudges).

    Raises:
        ConfigValidationError: the link settings are incomplete or of an unknown kind.
        LinkError / ProtocolError: the port or adapter cannot be opened, or nothing answers.
    """
    if link.kind in SERIAL_KINDS:
        if not link.port:
            raise ConfigValidationError(t("a serial target needs --port"))
        return _open_serial(link, timeout_s, technician, rate_switch)
    if link.kind in CAN_KINDS:
        if not link.interface or not link.channel:
            raise ConfigValidationError(t("a CAN target needs --interface and --channel"))
        return _open_can(link, security, timeout_s, technician)
    if link.kind in MODBUS_KINDS:
        if not link.port and not link.tcp:
            raise ConfigValidationError(t("a Modbus module needs --port PATH (RS485) or --tcp HOST:PORT"))
        return _open_modbus(link, timeout_s, rate_switch)
    raise ConfigValidationError(
        t("unknown link kind '{kind}'; expected serial, can or modbus", kind=link.kind)
    )

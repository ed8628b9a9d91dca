"""Wire the protocol clients' identification into the scanner.

The scanner only needs "who is at these settings"; the SMP and UDS clients know how to ask. The
clients are imported lazily so that discovery stays usable (handshake-only results) in a build
where one protocol package is absent.
"""

from __future__ import annotations

import importlib.util

from bmsflasher.core.types import DeviceIdentity, LinkSettings
from bmsflasher.discovery.can_probe import CanIdentifier
from bmsflasher.discovery.modbus_probe import ModbusIdentifier
from bmsflasher.discovery.serial_probe import SerialIdentifier
from bmsflasher.discovery.uds_discovery import UdsResponder
from bmsflasher.links.can import CanLink
from bmsflasher.links.serial import SerialLink


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def identify_smp(settings: LinkSettings, timeout_s: float) -> DeviceIdentity:
    """Open the port with the SMP client, read the identity, close.

    The client bounds every exchange itself (``timeout_s`` is the scanner's budget and is only
    informative here); automatic reconnect is off because a scan must not wait for a vanished port.
    """
    from bmsflasher.protocols.smp.target import SmpTarget, SpeedOptions

    del timeout_s
    # A scan only identifies: no faster line rate (the next command connects at the scan's rate).
    speed = SpeedOptions(switch_rate=False, compress=False)
    with SmpTarget.connect(settings.port, settings.baud, reconnect_timeout_s=0.0, speed=speed) as target:
        return target.identify()


def default_serial_identifier() -> SerialIdentifier | None:
    """Identification through the SMP client, or None when it is not available."""
    return identify_smp if _available("bmsflasher.protocols.smp.target") else None


def identify_uds(
    link: CanLink, settings: LinkSettings, responder: UdsResponder, timeout_s: float
) -> DeviceIdentity:
    """Read one node's identity with the UDS client over the scanner's already open adapter.

    Only the UDS session is closed afterwards, never the link: the scanner owns it and may still
    identify further nodes on it (an slcan port can be opened only once).

    The node is addressed as ``settings`` records it (11-bit node number, or 29-bit normal fixed
    address and tester address), so what the scan reports is exactly what connects later.

    Raises:
        ProtocolError / LinkError: the client's own errors (no answer, malformed identity).
    """
    from bmsflasher.protocols.uds.target import UdsTarget

    del timeout_s, responder  # the client bounds every request with its own P2/P2* timing
    target = UdsTarget(
        link, settings.node, addressing=settings.addressing, tester_address=settings.tester_address
    )
    try:
        return target.identify()
    finally:
        target.client.close()


def default_can_identifier() -> CanIdentifier | None:
    """Identification through the UDS client, or None when it is not available."""
    return identify_uds if _available("bmsflasher.protocols.uds.target") else None


def identify_modbus(link: SerialLink, settings: LinkSettings) -> DeviceIdentity:
    """Read one module's identity with the Modbus client over the scan's open port.

    The target is built on the scanner's link and never closed: the scanner identifies every
    module of the bus over the same port, then closes it itself.
    """
    from bmsflasher.protocols.modbus.target import ModbusTarget

    return ModbusTarget(link, settings, reconnect_timeout_s=0.0).identify()


def default_modbus_identifier() -> ModbusIdentifier | None:
    """Identification through the Modbus client, or None when it is not available."""
    return identify_modbus if _available("bmsflasher.protocols.modbus.target") else None

"""Find every node of a multi-node pack on one RS485 bus (Modbus RTU) or behind a Modbus TCP gateway.

A pack wired as a rack puts each node (BCU, BMCs, BMUs) on the RS485 pair at its own unit address
(the virtual pack: 1, 2, 3, … in pack order, the BCU first). Unlike the CAN pack's address blocks,
a unit address says nothing about the tier: the tier follows from the model the node reports
(the pack's known models, :mod:`bmsflasher.firmware.demo_pack_models`; a bundle names the others).

Discovery is the scan's own fast question (:func:`bmsflasher.discovery.modbus_wire.ask_rtu` /
``ask_tcp``: a silent address costs the wire time plus a short reaction window) at each address of
the range, then one identity read per answering unit through the Modbus client
(:func:`bmsflasher.discovery.identify.identify_modbus`), all over one open port: a pty reopened
at once may refuse its parity, and an RS485 adapter belongs to one program at a time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import NoResponseError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import DeviceIdentity, LinkSettings
from bmsflasher.discovery.identify import identify_modbus
from bmsflasher.discovery.modbus_wire import Answer, ask_rtu, ask_tcp
from bmsflasher.discovery.pack_nodes import NodeIdentityFacts
from bmsflasher.firmware.demo_pack_models import Tier, demo_model
from bmsflasher.links.serial import SerialLink
from bmsflasher.protocols.modbus.target import open_link

DEFAULT_PACK_ADDRESSES: Final = tuple(range(1, 17))
"""Without ``--addresses``: units 1…16 (a BCU, a few BMCs and a dozen BMUs numbered from 1)."""
REACTION_S: Final = 0.15
"""How long a node may take to start answering the presence question (beyond the wire time).

Longer than a scan's 30 ms (and asked twice): the range is short, and a node
whose answer comes late would be missing from the pack (a campaign then refuses it)."""
TCP_WINDOW_S: Final = 1.5
"""A gateway's answer for an absent unit (it waits on its own RS485 side before exception 0x0B)."""
PRESENCE_TRIES: Final = 2
"""A silent address is asked once more: one lost frame must not drop a node from the pack."""


@dataclass(frozen=True, slots=True)
class ModbusPackNode(NodeIdentityFacts):
    """One node of a pack on an RS485 bus, as discovery found it (the Modbus twin of ``PackNode``).

    Attributes:
        address: the node's Modbus unit address.
        tier: BCU, BMC or BMU (from its model); None for a model this tool does not know.
        link: how the node is opened (the line, or the gateway, and its unit address).
        identity: everything the node reported (model, serial, versions, mode, slots).
    """

    address: int
    tier: Tier | None
    link: LinkSettings
    identity: DeviceIdentity

    def to_json(self) -> dict[str, object]:
        """The node as ``info --all --json`` lists it (the CAN pack's keys; ``unit`` for the address)."""
        return {
            "address": self.address,
            "unit": self.address,
            "tier": str(self.tier) if self.tier is not None else None,
            "model": self.model,
            "serial": self.serial,
            "version": str(self.version) if self.version else None,
            "hardware_revision": self.hardware_revision,
            "state": self.mode.value,
            "link": self.link.describe(),
        }


def tier_of_model(model: str) -> Tier | None:
    """The tier of a pack model this tool knows; None otherwise (a bundle's entry names it then)."""
    known = demo_model(model)
    return known.tier if known is not None else None


def answering_units(
    port: SerialLink, line: LinkSettings, addresses: Sequence[int], *, reaction_s: float = REACTION_S
) -> list[int]:
    """The unit addresses of ``addresses`` that answer on the open ``port`` (in the range's order)."""
    found: list[int] = []
    transaction = 0
    for address in addresses:
        for _try in range(PRESENCE_TRIES):
            if line.tcp:
                transaction = (transaction + 1) & 0xFFFF
                reply = ask_tcp(port, address, transaction, window_s=TCP_WINDOW_S)
            else:
                reply = ask_rtu(
                    port, address, parity=line.parity, stopbits=line.stopbits, reaction_s=reaction_s
                )
            if reply.answer is Answer.DEVICE:
                found.append(address)
                break
            if reply.answer is Answer.GATEWAY:
                break  # the gateway says the unit is absent: no second question
    return found


def unit_link(line: LinkSettings, address: int) -> LinkSettings:
    """The link of the node at unit ``address`` on ``line`` (the line's own address is ignored)."""
    return dataclasses.replace(line, kind="modbus", address=address)


def discover_modbus_pack_on(
    port: SerialLink, line: LinkSettings, addresses: Sequence[int] = DEFAULT_PACK_ADDRESSES
) -> list[ModbusPackNode]:
    """Every pack node on the open ``port``, sorted by unit address (see the module docstring).

    Raises:
        LinkError: the port fails.
        ProtocolError: a unit answered the presence question but not its identity read.
    """
    nodes = []
    for address in answering_units(port, line, addresses):
        link = unit_link(line, address)
        identity = identify_modbus(port, link)
        nodes.append(ModbusPackNode(address, tier_of_model(identity.model), link, identity))
    return sorted(nodes, key=lambda node: node.address)


def discover_modbus_pack(
    line: LinkSettings, addresses: Sequence[int] = DEFAULT_PACK_ADDRESSES
) -> list[ModbusPackNode]:
    """:func:`discover_modbus_pack_on` over the line's port (or gateway socket), opened and closed here.

    Returns:
        The nodes found; an empty list when none answered (``info --all`` then raises
        :class:`~bmsflasher.core.errors.NoResponseError` through ``require_nodes``).
    """
    port = open_link(line)
    try:
        return discover_modbus_pack_on(port, line, addresses)
    finally:
        port.close()


def require_modbus_nodes(nodes: list[ModbusPackNode], line: LinkSettings) -> list[ModbusPackNode]:
    """``nodes`` when there is at least one; otherwise the "no pack node answered" error for RS485."""
    if not nodes:
        raise NoResponseError(
            t("No pack node answered on {link}.", link=line.describe()),
            hint=t("Check the line's baud rate and parity, --addresses, and that the pack is powered."),
        )
    return nodes

"""Find every node of a multi-node pack (BCU, BMCs, BMUs) on one CAN bus, and open one of them.

A pack puts all its nodes on one CAN bus in ISO 15765-2 *normal fixed* addressing (29-bit
identifiers, J1939-style one-byte addresses), each tier in its own address block:

====  =====================  ==========================================================
tier  node addresses         identifiers (tester address ``SA``, default 0xF1)
====  =====================  ==========================================================
BCU   0x10 + i (i < 16)      requests 0x18DA<addr><SA>, responses 0x18DA<SA><addr>
BMC   0x20 + i (i < 32)      functional requests (every node): 0x18DB33<SA>
BMU   0x40 + i (i < 64)      the nodes' own cyclic status frames: 0x18FF50<addr>
====  =====================  ==========================================================

(0x7E0-0x7E7 11-bit pairs stop at 8 nodes; a 1 + 2 + 12 pack needs 15.) The virtual pack
(``bmsflasher sim --topology``) keeps its own copy of this table in ``sim/topology/addressing.py``
(the simulator is an honest peer); ``docs/virtual-bms.md`` documents both.

Discovery is one functional TesterPresent (every node answers at once, within one short window)
followed by one identity read per answering node over the same open adapter, so a 15-node pack is
listed in well under two seconds on a 500 kbit/s bus.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.errors import NoResponseError
from bmsflasher.core.i18n import t
from bmsflasher.core.target import NO_RESUME, ResumePolicy
from bmsflasher.core.types import (
    DEFAULT_TESTER_ADDRESS,
    CanAddressing,
    DeviceIdentity,
    DeviceMode,
    FirmwareVersion,
)
from bmsflasher.discovery.plan import UdsAddressing
from bmsflasher.discovery.uds_discovery import functional_tester_present
from bmsflasher.firmware.demo_pack_models import Tier
from bmsflasher.links.can import CanLink, CanLinkConfig
from bmsflasher.protocols.uds.auth import Authenticator
from bmsflasher.protocols.uds.ids import node_address
from bmsflasher.protocols.uds.security import SecurityKeyProvider
from bmsflasher.protocols.uds.target import UdsOptions, UdsTarget

#: First address of each tier's block and how many nodes the block holds.
TIER_BLOCKS: Final[dict[Tier, tuple[int, int]]] = {
    Tier.BCU: (0x10, 16),
    Tier.BMC: (0x20, 32),
    Tier.BMU: (0x40, 64),
}
#: Arbitration id of a node's cyclic status frame is this base | its address (29-bit).
STATUS_FRAME_BASE: Final = 0x18FF5000
DEFAULT_WINDOW_S: Final = 0.3
"""How long the functional TesterPresent's answers are collected (stretched while answers arrive)."""


def tier_of_address(address: int) -> Tier | None:
    """The tier whose address block holds ``address``; None outside every block."""
    for tier, (first, count) in TIER_BLOCKS.items():
        if first <= address < first + count:
            return tier
    return None


def pack_address(tier: Tier, index: int) -> int:
    """The address of the ``index``-th (0-based) node of ``tier``.

    Raises:
        ValueError: the tier's block has no room for that many nodes.
    """
    first, count = TIER_BLOCKS[tier]
    if not 0 <= index < count:
        raise ValueError(t("a pack has room for {count} nodes of this tier", count=count))
    return first + index


class NodeIdentityFacts:
    """The identity facts a campaign reads from any pack node (CAN or RS485), from its ``identity``."""

    __slots__ = ()
    identity: DeviceIdentity

    @property
    def model(self) -> str:
        return self.identity.model

    @property
    def serial(self) -> str:
        return self.identity.serial_number

    @property
    def version(self) -> FirmwareVersion | None:
        """The running firmware's version (None in recovery: no valid image runs)."""
        return self.identity.firmware_version

    @property
    def hardware_revision(self) -> str:
        return self.identity.hardware_revision

    @property
    def mode(self) -> DeviceMode:
        return self.identity.mode


@dataclass(frozen=True, slots=True)
class PackNode(NodeIdentityFacts):
    """One node of a pack as discovery found it.

    Attributes:
        address: the node's one-byte address (normal fixed addressing); ``tier`` follows from it.
        tier: BCU, BMC or BMU (from the address block).
        tester_address: the tool's own address the node answered.
        request_id: the 29-bit physical request identifier (0x18DA<address><tester>).
        response_id: the 29-bit response identifier (0x18DA<tester><address>).
        functional_id: the pack's shared functional identifier (0x18DB33<tester>).
        identity: everything the node reported (model, serial, versions, mode, slots, counter).
    """

    address: int
    tier: Tier
    tester_address: int
    request_id: int
    response_id: int
    functional_id: int
    identity: DeviceIdentity

    def to_json(self) -> dict[str, object]:
        """The node as ``info --all --json`` lists it (English keys, ids as numbers)."""
        return {
            "address": self.address,
            "tier": str(self.tier),
            "model": self.model,
            "serial": self.serial,
            "version": str(self.version) if self.version else None,
            "hardware_revision": self.hardware_revision,
            "state": self.mode.value,
            "request_id": self.request_id,
            "response_id": self.response_id,
            "functional_id": self.functional_id,
        }


def _pack_addressing(tester_address: int) -> UdsAddressing:
    """Functional id and every response id a pack node can answer from."""
    addresses = [first + index for first, count in TIER_BLOCKS.values() for index in range(count)]
    functional_id = node_address(0, CanAddressing.NORMAL_FIXED_29BIT, tester_address).functional_id
    return UdsAddressing(
        name=t("pack (29-bit normal fixed)"),
        functional_id=functional_id,
        extended_id=True,
        response_ids=tuple(
            node_address(address, CanAddressing.NORMAL_FIXED_29BIT, tester_address).response_id
            for address in addresses
        ),
    )


def discover_pack_nodes_on(
    link: CanLink,
    *,
    tester_address: int = DEFAULT_TESTER_ADDRESS,
    window_s: float = DEFAULT_WINDOW_S,
    expected_nodes: int | None = None,
) -> list[PackNode]:
    """:func:`discover_pack_nodes` over an adapter the caller already opened (and keeps).

    Each node is identified through a short-lived :class:`UdsTarget` on ``link``; only its UDS
    session is closed afterwards, never the link.
    """
    scan = functional_tester_present(link, (_pack_addressing(tester_address),), window_s, expected_nodes)
    nodes: list[PackNode] = []
    for responder in scan.responders:
        address = responder.response_id & 0xFF
        tier = tier_of_address(address)
        if tier is None:
            continue
        target = pack_node_target(link, address, tester_address=tester_address)
        try:
            identity = target.identify()
        finally:
            target.client.close()
        ids = node_address(address, CanAddressing.NORMAL_FIXED_29BIT, tester_address)
        nodes.append(
            PackNode(
                address=address,
                tier=tier,
                tester_address=tester_address,
                request_id=ids.request_id,
                response_id=ids.response_id,
                functional_id=ids.functional_id,
                identity=identity,
            )
        )
    nodes.sort(key=lambda node: node.address)
    return nodes


def pack_node_addresses(
    config: CanLinkConfig,
    *,
    tester_address: int = DEFAULT_TESTER_ADDRESS,
    window_s: float = DEFAULT_WINDOW_S,
) -> list[int]:
    """The addresses of every pack node answering the functional TesterPresent, sorted; no identities.

    For a caller that identifies the nodes itself (a campaign reads every identity again anyway,
    side by side): the scan of :func:`discover_pack_nodes` without its one-by-one identity reads.
    """
    with CanLink.open(config) as link:
        scan = functional_tester_present(link, (_pack_addressing(tester_address),), window_s, None)
    addresses = {responder.response_id & 0xFF for responder in scan.responders}
    return sorted(address for address in addresses if tier_of_address(address) is not None)


def discover_pack_nodes(
    config: CanLinkConfig,
    *,
    tester_address: int = DEFAULT_TESTER_ADDRESS,
    window_s: float = DEFAULT_WINDOW_S,
    expected_nodes: int | None = None,
) -> list[PackNode]:
    """Every pack node on the CAN bus behind ``config``, sorted by address (BCU, BMCs, BMUs).

    Opens the adapter, sends one functional TesterPresent (0x18DB33<tester>), collects the answers
    of every pack address block for ``window_s`` (a little longer while answers still arrive; with
    ``expected_nodes`` it closes as soon as that many answered), reads each answering node's
    identity over UDS, and closes the adapter again. A node in the bootloader or in recovery is
    listed too (its ``mode`` says so, ``version`` is None in recovery). Nodes answering outside
    the pack's address blocks are ignored.

    Returns:
        The nodes found; an empty list when none answered (the caller decides whether that is an
        error: ``info --all`` raises :class:`NoResponseError`, a campaign refuses before writing).

    Raises:
        LinkError: the adapter cannot be opened or fails.
        ProtocolError: a node answered TesterPresent but not its identity reads.
    """
    with CanLink.open(config) as link:
        return discover_pack_nodes_on(
            link, tester_address=tester_address, window_s=window_s, expected_nodes=expected_nodes
        )


class SharedLinkUdsTarget(UdsTarget):
    """A node's :class:`UdsTarget` on an adapter it shares with the pack's other nodes.

    Closing it ends its UDS session only (keep-alive and ISO-TP threads): the adapter stays open
    for the next node. A cable pull inside one of its operations is ridden out as any UDS target
    does: it gets the adapter again from ``reopen`` (the adapter's keeper, who may have reopened it
    for another node already), or opens it itself without one; ``on_close`` hands the link it ends
    with to the keeper.
    """

    def __init__(
        self,
        link: CanLink,
        node: int,
        *,
        key_provider: SecurityKeyProvider | None = None,
        options: UdsOptions | None = None,
        addressing: CanAddressing = CanAddressing.NORMAL_FIXED_29BIT,
        tester_address: int = DEFAULT_TESTER_ADDRESS,
        resume: ResumePolicy = NO_RESUME,
        authenticator: Authenticator | None = None,
        on_close: Callable[[CanLink], None] | None = None,
        reopen: Callable[[], CanLink] | None = None,
    ) -> None:
        self._on_close = on_close
        self._reopen = reopen
        super().__init__(
            link,
            node,
            key_provider=key_provider,
            options=options,
            addressing=addressing,
            tester_address=tester_address,
            resume=resume,
            authenticator=authenticator,
        )

    def start(self) -> None:
        """What :meth:`UdsTarget.open` does after opening the adapter: capabilities, then the serial."""
        self._negotiate()
        self._select_battery()

    @property
    def can_link(self) -> CanLink:
        """The adapter this target uses now (another one than it was given after a cable pull)."""
        return self.client.transport.link

    def _open_link(self, config: CanLinkConfig) -> CanLink:
        return self._reopen() if self._reopen is not None else super()._open_link(config)

    def _close_link(self) -> None:
        try:
            self.client.close()
        finally:
            if self._on_close is not None:
                self._on_close(self.can_link)


def pack_node_target(
    link: CanLink,
    node: PackNode | int,
    *,
    tester_address: int = DEFAULT_TESTER_ADDRESS,
    key_provider: SecurityKeyProvider | None = None,
    options: UdsOptions | None = None,
    addressing: CanAddressing = CanAddressing.NORMAL_FIXED_29BIT,
    resume: ResumePolicy = NO_RESUME,
    authenticator: Authenticator | None = None,
    on_close: Callable[[CanLink], None] | None = None,
    reopen: Callable[[], CanLink] | None = None,
) -> SharedLinkUdsTarget:
    """A :class:`UdsTarget` for one node on an adapter the caller keeps open.

    ``target.close()`` (or ``target.client.close()``) ends the node's UDS session and leaves the
    adapter open. The demo pack's models get the demo security key as the single demo device does.
    Nothing is sent yet: :meth:`SharedLinkUdsTarget.start` reads what :meth:`UdsTarget.open` reads
    (a campaign's steps do); an identity read alone (discovery) needs no start.
    ``addressing`` other than 29-bit normal fixed serves 11-bit buses (``node`` is then a number).
    """
    address = node.address if isinstance(node, PackNode) else node
    if isinstance(node, PackNode):
        tester_address = node.tester_address
    return SharedLinkUdsTarget(
        link,
        address,
        key_provider=key_provider,
        options=options,
        addressing=addressing,
        tester_address=tester_address,
        resume=resume,
        authenticator=authenticator,
        on_close=on_close,
        reopen=reopen,
    )


def open_pack_node(
    config: CanLinkConfig,
    node: PackNode,
    *,
    key_provider: SecurityKeyProvider | None = None,
    options: UdsOptions | None = None,
) -> UdsTarget:
    """Open the adapter and a :class:`UdsTarget` on ``node`` (the target owns and closes the link).

    The target checks at open that the node still answers; the caller should compare
    ``target.identify().serial_number`` with ``node.serial`` before writing.

    Raises:
        LinkError: the adapter cannot be opened.
        NoResponseError: the node no longer answers at its address.
    """
    return UdsTarget.open(
        config,
        node.address,
        key_provider=key_provider,
        options=options,
        addressing=CanAddressing.NORMAL_FIXED_29BIT,
        tester_address=node.tester_address,
    )


def require_nodes(nodes: list[PackNode], link: str) -> list[PackNode]:
    """``nodes`` when there is at least one; otherwise the one "no pack node answered" error."""
    if not nodes:
        raise NoResponseError(
            t("No pack node answered on {link}.", link=link),
            hint=t("Check the bit rate, the adapter's channel and that the pack is powered."),
        )
    return nodes

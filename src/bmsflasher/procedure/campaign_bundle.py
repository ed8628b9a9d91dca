"""The campaign's inputs from the outside world: a verified bundle and the pack's nodes on the bus.

:func:`release_set` turns a :class:`~bmsflasher.firmware.bundle.Bundle` (verified against the
keyring: the bundle's signature and every package's own) into the campaign's plain
:class:`~bmsflasher.procedure.campaign_plan.ReleaseSet`; :func:`pack_links` turns the nodes
``discovery.pack_nodes`` found into the link settings a node is opened with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from bmsflasher.core.types import CanAddressing, LinkSettings
from bmsflasher.discovery.pack_nodes import PackNode, pack_node_addresses
from bmsflasher.firmware.bundle import Bundle, load_bundle
from bmsflasher.firmware.keys import Keyring
from bmsflasher.links.can import CanLinkConfig
from bmsflasher.procedure.campaign_plan import NodeRelease, ReleaseSet
from bmsflasher.procedure.package_loading import UpdatePackage, facts_of


def release_set(bundle: Bundle) -> ReleaseSet:
    """The campaign's view of a verified bundle (order, minimum nodes, one package per node type)."""
    entries = tuple(
        NodeRelease(
            tier=str(entry.tier),
            model=entry.model,
            hardware_revisions=tuple(entry.hardware_revisions),
            package=UpdatePackage(
                facts_of(entry.package, entry.package_sha256),
                entry.package.image_bytes,
                f"{bundle.source}:{entry.file}",
                entry.package.manifest.release_notes,
            ),
        )
        for entry in bundle.entries
    )
    return ReleaseSet(
        name=bundle.release,
        sha256=bundle.sha256,
        entries=entries,
        order=tuple(str(tier) for tier in bundle.order),
        minimum={str(tier): count for tier, count in bundle.minimum_nodes.items()},
    )


def release_loader(path: Path, keyring: Keyring) -> Callable[[], ReleaseSet]:
    """Verifies the bundle when the campaign's first step runs."""
    return lambda: release_set(load_bundle(path, keyring))


def node_link(can: LinkSettings, node: PackNode | int, tester_address: int | None = None) -> LinkSettings:
    """How one pack node is opened: the bus's adapter, the node's 29-bit address.

    ``node`` is a discovered node, or its address (then ``tester_address``, default the bus's).
    """
    if isinstance(node, PackNode):
        address, tester = node.address, node.tester_address
    else:
        address, tester = node, can.tester_address if tester_address is None else tester_address
    return LinkSettings(
        kind="can",
        interface=can.interface,
        channel=can.channel,
        bitrate=can.bitrate,
        data_bitrate=can.data_bitrate,
        fd=can.fd,
        node=address,
        addressing=CanAddressing.NORMAL_FIXED_29BIT,
        tester_address=tester,
    )


def pack_links(can: LinkSettings) -> Callable[[], Sequence[LinkSettings]]:
    """Discovers the pack on the bus ``can`` names (one functional TesterPresent).

    Only the answering addresses: the campaign reads every node's identity itself (side by side,
    over the adapter it keeps), so discovery's own one-by-one identity reads would be done twice.
    """

    def discover() -> Sequence[LinkSettings]:
        config = CanLinkConfig.from_settings(can)
        addresses = pack_node_addresses(config, tester_address=can.tester_address)
        return [node_link(can, address, can.tester_address) for address in addresses]

    return discover

"""What a pack campaign installs where: nodes matched to a release set, in the set's tier order.

A campaign updates every node of a pack (BCU, BMCs, BMUs) to a set of versions released together.
Matching is the first gate and reads nothing but identities: every node found must have an entry
for its model and hardware revision, and every tier must have at least the set's minimum number
of nodes. A pack that fails either is refused before anything is written, because updating part of
it would leave exactly the mixed set the campaign exists to prevent.

The release set is described by small plain types (:class:`NodeRelease`, :class:`ReleaseSet`)
rather than by the bundle file's own classes: the bundle reader (``firmware/bundle*``) converts to
them (:func:`bmsflasher.procedure.campaign_bundle.release_set`), and the decision logic here is
tested with plain values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from bmsflasher.core.errors import PreconditionError
from bmsflasher.core.i18n import joined, t
from bmsflasher.core.types import DeviceIdentity, FirmwareVersion, LinkSettings
from bmsflasher.procedure.package_loading import UpdatePackage

DEFAULT_ORDER: Final = ("bmu", "bmc", "bcu")
"""Tiers from the cells up: a BCU that checks its BMUs' versions is updated once they run the new set."""


class CampaignRefusedError(PreconditionError):
    """The pack does not fit the release set (unknown node, too few nodes); nothing was written."""


@dataclass(frozen=True, slots=True)
class NodeRelease:
    """One node type's firmware in a release set.

    Attributes:
        tier: the node's tier (``bcu``, ``bmc``, ``bmu``), which sets its place in the order.
        model: the node model the package was released for.
        hardware_revisions: the hardware revisions it fits.
        package: the verified package (facts and image bytes).
    """

    tier: str
    model: str
    hardware_revisions: tuple[str, ...]
    package: UpdatePackage

    def fits(self, identity: DeviceIdentity) -> bool:
        """True when this entry is the one for a node of this model and hardware revision."""
        return identity.model == self.model and identity.hardware_revision in self.hardware_revisions

    @property
    def version(self) -> FirmwareVersion:
        return self.package.facts.version


@dataclass(frozen=True, slots=True)
class ReleaseSet:
    """Versions released together for a whole pack.

    Attributes:
        name: how the set is shown (the bundle's name or file).
        sha256: the bundle file's SHA-256: the campaign journal's resume key.
        entries: one per node type.
        order: tiers in update order (default BMU, BMC, BCU).
        minimum: tier → fewest nodes the pack must have of it.
    """

    name: str
    sha256: str
    entries: tuple[NodeRelease, ...]
    order: tuple[str, ...] = DEFAULT_ORDER
    minimum: Mapping[str, int] = field(default_factory=dict)

    def entry_for(self, identity: DeviceIdentity) -> NodeRelease | None:
        """The entry for a node, or None when the set has none for its model and revision."""
        return next((entry for entry in self.entries if entry.fits(identity)), None)


@dataclass(frozen=True, slots=True)
class FoundNode:
    """A node as discovery left it: how to reach it and who it said it is."""

    link: LinkSettings
    identity: DeviceIdentity


@dataclass(frozen=True, slots=True)
class PlannedNode:
    """A node with the release it gets."""

    link: LinkSettings
    identity: DeviceIdentity
    release: NodeRelease

    @property
    def serial(self) -> str:
        return self.identity.serial_number

    @property
    def tier(self) -> str:
        return self.release.tier


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    """Every node of the pack with its release, in update order."""

    release_set: ReleaseSet
    nodes: tuple[PlannedNode, ...]

    @property
    def serials(self) -> tuple[str, ...]:
        return tuple(node.serial for node in self.nodes)

    def node(self, serial: str) -> PlannedNode:
        return next(node for node in self.nodes if node.serial == serial)


def _rank(order: Sequence[str], tier: str) -> int:
    return order.index(tier) if tier in order else len(order)


def plan_campaign(release_set: ReleaseSet, found: Sequence[FoundNode]) -> CampaignPlan:
    """Match every node to its entry and order them by tier; refuse a pack that does not fit.

    Within a tier, nodes keep discovery's order (the bus order), so two runs agree.

    Raises:
        CampaignRefusedError: no node found, a node without an entry in the set, a serial seen
            twice, or fewer nodes of a tier than the set's minimum.
    """
    if not found:
        raise CampaignRefusedError(t("No node of the pack answered; nothing was written."))
    planned: list[PlannedNode] = []
    unknown: list[str] = []
    seen: set[str] = set()
    for node in found:
        identity = node.identity
        if identity.serial_number in seen:
            raise CampaignRefusedError(
                t(
                    "Two nodes answer with serial {serial}; nothing was written.",
                    serial=identity.serial_number,
                )
            )
        seen.add(identity.serial_number)
        entry = release_set.entry_for(identity)
        if entry is None:
            unknown.append(
                t(
                    "{model} rev {revision} (serial {serial})",
                    model=identity.model,
                    revision=identity.hardware_revision,
                    serial=identity.serial_number,
                )
            )
            continue
        planned.append(PlannedNode(node.link, identity, entry))
    if unknown:
        raise CampaignRefusedError(
            t(
                "The release set {name} has no firmware for: {nodes}; nothing was written.",
                name=release_set.name,
                nodes=joined(unknown),
            ),
            hint=t("Use the bundle released for this pack, or replace the node with a supported one."),
        )
    short = [
        t("{tier}: {found} of at least {minimum}", tier=tier.upper(), found=count, minimum=minimum)
        for tier, minimum in sorted(
            release_set.minimum.items(), key=lambda item: _rank(release_set.order, item[0])
        )
        if (count := sum(1 for node in planned if node.tier == tier)) < minimum
    ]
    if short:
        raise CampaignRefusedError(
            t("Nodes are missing from the pack ({tiers}); nothing was written.", tiers=joined(short, ", ")),
            hint=t("Check the pack's wiring and that every node is powered, then start again."),
        )
    ordered = sorted(enumerate(planned), key=lambda item: (_rank(release_set.order, item[1].tier), item[0]))
    return CampaignPlan(release_set, tuple(node for _, node in ordered))

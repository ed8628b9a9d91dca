"""Which nodes a virtual pack has: ``bcu=1,bmc=2,bmu=12`` turned into one spec per node.

Every node gets its tier's model from the demo pack table (``firmware/demo_pack_models.py``, shared
with the demo bundles so a model name can never disagree), an address in its tier's block, a seed
and serial number of its own, and a state file of its own beside ``--state``.

Addressing (29-bit ISO 15765-2 normal fixed; the tool keeps its own copy in
``discovery/pack_nodes.py``): BCU 0x10 + i, BMC 0x20 + i, BMU 0x40 + i; a node with address A
answers physical requests on 0x18DA<A><tester> from 0x18DA<tester><A>, every node obeys the
shared functional identifier 0x18DB33<tester>, and sends its cyclic status frame on
0x18FF50<A>. On a Modbus rack the same nodes take unit addresses 1, 2, 3, … in the same order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from bmsflasher.core.i18n import t
from bmsflasher.firmware.demo_pack_models import DemoNodeModel, Tier, demo_model_for_tier
from bmsflasher.sim.errors import SimError
from bmsflasher.sim.options import SimOptions

#: First address of each tier's block and the block's size (the sim's own copy of the scheme).
TIER_BLOCKS: Final[dict[Tier, tuple[int, int]]] = {
    Tier.BCU: (0x10, 16),
    Tier.BMC: (0x20, 32),
    Tier.BMU: (0x40, 64),
}
#: Order of the nodes in a pack (and in the ``listening`` line): the BCU first, then down the tree.
TIER_ORDER: Final = (Tier.BCU, Tier.BMC, Tier.BMU)
_TERM_RE: Final = re.compile(r"^\s*(bcu|bmc|bmu)\s*=\s*(\d{1,3})\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PackTopology:
    """How many nodes of each tier a pack has (a tier may be absent: 0)."""

    bcu: int = 1
    bmc: int = 0
    bmu: int = 0

    def count(self, tier: Tier) -> int:
        return {Tier.BCU: self.bcu, Tier.BMC: self.bmc, Tier.BMU: self.bmu}[tier]

    @property
    def total(self) -> int:
        return self.bcu + self.bmc + self.bmu

    def __str__(self) -> str:
        return f"bcu={self.bcu},bmc={self.bmc},bmu={self.bmu}"


def parse_topology(text: str) -> PackTopology:
    """``bcu=1,bmc=2,bmu=12`` (any order, tiers left out have no node).

    Raises:
        SimError: a term is not ``tier=count``, a tier is named twice, a count does not fit its
            tier's address block, or the pack has no node at all.
    """
    counts: dict[Tier, int] = {}
    for term in text.split(","):
        match = _TERM_RE.match(term)
        if match is None:
            raise SimError(t("'{text}' is not a topology such as bcu=1,bmc=2,bmu=12", text=text))
        tier = Tier(match.group(1).lower())
        if tier in counts:
            raise SimError(t("the topology names {tier} twice", tier=str(tier)))
        count = int(match.group(2))
        limit = TIER_BLOCKS[tier][1]
        if count > limit:
            raise SimError(t("a pack has room for {count} nodes of this tier", count=limit))
        counts[tier] = count
    topology = PackTopology(counts.get(Tier.BCU, 0), counts.get(Tier.BMC, 0), counts.get(Tier.BMU, 0))
    if topology.total == 0:
        raise SimError(t("'{text}' is not a topology such as bcu=1,bmc=2,bmu=12", text=text))
    return topology


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node of the pack.

    Attributes:
        tier: BCU, BMC or BMU.
        number: 1-based number within its tier (BMU 1 … BMU 12).
        position: 0-based place in the whole pack (BCU first); a rack's unit address is position + 1.
        address: the node's one-byte CAN address (its tier's block start + number - 1).
        model: the demo model row (model name, cells, hardware revision).
        options: the node's own device options (seed, serial, cells, revision, state file).
    """

    tier: Tier
    number: int
    position: int
    address: int
    model: DemoNodeModel
    options: SimOptions

    @property
    def name(self) -> str:
        """``bcu1``, ``bmu12``: the node's short name (state-file suffixes, logs)."""
        return f"{self.tier}{self.number}"


def node_state_file(state: Path | None, name: str) -> Path | None:
    """Where node ``name`` keeps its flash: ``DIR/<name>.state`` in a folder, else ``FILE.<name>``."""
    if state is None:
        return None
    if state.is_dir():
        return state / f"{name}.state"
    return state.with_name(f"{state.name}.{name}")


def node_specs(topology: PackTopology, base: SimOptions) -> list[NodeSpec]:
    """One spec per node, BCU first, then BMCs, then BMUs.

    Each node's seed is ``base.seed * 1000 + position`` (so two packs with other seeds differ and
    restarts are identical), its serial ``<base serial or VB…>-<NAME>`` when new, its cell count the
    model's (at least one: a node that measures no cells still has its supply channel), its
    hardware revision the model's.
    """
    specs: list[NodeSpec] = []
    for tier in TIER_ORDER:
        model = demo_model_for_tier(tier)
        first, _size = TIER_BLOCKS[tier]
        for index in range(topology.count(tier)):
            position = len(specs)
            name = f"{tier}{index + 1}"
            serial_base = base.serial_number or base.default_serial()
            options = replace(
                base,
                seed=base.seed * 1000 + position,
                serial_number=f"{serial_base}-{name.upper()}",
                cells=max(1, model.cells),
                hardware_revision=model.hardware_revision,
                state_file=node_state_file(base.state_file, name),
            )
            specs.append(NodeSpec(tier, index + 1, position, first + index, model, options))
    return specs

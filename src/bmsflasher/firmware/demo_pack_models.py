"""The DEMO pack's node models: one shared table for the virtual pack and the demo bundles.

A real battery pack is 1 BCU (system strategy), a few BMCs (module control) and many BMUs
(cell-level data collection), each a distinct model with its own firmware. The virtual pack
(``bmsflasher.sim.topology``) builds its nodes from this table and the demo bundles
(``resources/demo/bundles``, :mod:`bmsflasher.firmware.demo_bundles`) hold one package per row, so
the two can never disagree on a model name, a tier, a cell count or a hardware revision.

Versions: every node leaves the factory on :data:`FACTORY_VERSION`; :data:`NEW_VERSION` is the set
the healthy demo bundle releases. Both keep security counter :data:`DEMO_PACK_SECURITY_COUNTER`, so
a pack on the new set may be rolled back to the factory set (``rollback --all``).

The BCU checks the firmware of the nodes under it (:func:`bcu_accepts`): a node on a series it
does not know (the ``bcu-rejects`` demo bundle's BMU 1.2.0) makes it raise a DTC and fail its
self-test. This is pure data and arithmetic: no Qt, no I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from bmsflasher.core.types import FirmwareVersion


class Tier(enum.StrEnum):
    """The three tiers of a distributed BMS, as bundles and campaigns name them (lower case)."""

    BMU = "bmu"
    """Battery monitoring unit: cell voltages and temperatures of one module."""
    BMC = "bmc"
    """Battery module controller: runs a string of BMUs."""
    BCU = "bcu"
    """Battery control unit: pack-level strategy, contactors, reports the pack to the outside."""


DEFAULT_TIER_ORDER: Final = (Tier.BMU, Tier.BMC, Tier.BCU)
"""Update order of a campaign unless a bundle says otherwise: leaves first, the pack's brain last."""


@dataclass(frozen=True, slots=True)
class DemoNodeModel:
    """One node type of the demo pack.

    Attributes:
        model: the model string the node reports and a package's manifest must name.
        tier: where the node sits in the pack.
        cells: cells the node measures (0 for nodes that measure none).
        hardware_revision: the revision every demo node of this model reports.
        image_bytes: size of the demo firmware body (small, so a 15-node campaign stays quick).
    """

    model: str
    tier: Tier
    cells: int
    hardware_revision: str
    image_bytes: int


DEMO_BCU: Final = DemoNodeModel("VBCU-1", Tier.BCU, 0, "A", 96 * 1024)
DEMO_BMC: Final = DemoNodeModel("VBMC-4", Tier.BMC, 0, "A", 64 * 1024)
DEMO_BMU: Final = DemoNodeModel("VBMU-16", Tier.BMU, 16, "A", 48 * 1024)
DEMO_PACK_MODELS: Final = (DEMO_BCU, DEMO_BMC, DEMO_BMU)
"""Every node model of the demo pack, BCU first (the order a tree view shows them)."""

FACTORY_VERSION: Final = FirmwareVersion(1, 0, 0)
NEW_VERSION: Final = FirmwareVersion(1, 1, 0)
REJECTED_BMU_VERSION: Final = FirmwareVersion(1, 2, 0)
"""The BMU version of the ``bcu-rejects`` demo bundle: a series no demo BCU accepts."""
DEMO_PACK_SECURITY_COUNTER: Final = 1
DEMO_PACK_BOOTLOADER: Final = FirmwareVersion(1, 0, 0)

BCU_ACCEPTED_SERIES: Final = frozenset({(1, 0), (1, 1)})
"""Firmware series (major, minor) of BMCs and BMUs that every demo BCU works with.

Both the factory and the new series are accepted, so a pack in the middle of a campaign (some
nodes test-booted on 1.1.0, the BCU still on 1.0.0) shows no fault; only a foreign series does.
"""


def bcu_accepts(node_version: FirmwareVersion) -> bool:
    """True when a demo BCU works with a BMC or BMU running ``node_version``."""
    return (node_version.major, node_version.minor) in BCU_ACCEPTED_SERIES


def demo_model(model: str) -> DemoNodeModel | None:
    """The demo node model called ``model``, or None."""
    return next((row for row in DEMO_PACK_MODELS if row.model == model), None)


def demo_model_for_tier(tier: Tier) -> DemoNodeModel:
    """The demo pack's (single) model of ``tier``."""
    return next(row for row in DEMO_PACK_MODELS if row.tier is tier)

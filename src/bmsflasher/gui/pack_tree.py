"""The pack as a tree of tiers: BCU, then BMCs, then BMUs, each node with its model, serial, version, state.

A pack is read as a flat list of nodes (discovery answers by address); the tree groups them by tier
so a technician sees at once whether the pack has the nodes it should (a tier's row counts them).
Model, serial and version are the nodes' own text, shown as they are in every language.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from bmsflasher.core.types import DeviceMode
from bmsflasher.gui.engine import PackNodeInfo
from bmsflasher.gui.engine_text import DEVICE_TEXT_ROLE
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.texts import fmt, mode_text

TIERS: Final = ("bcu", "bmc", "bmu")
"""Top of the pack first: the controller, its module controllers, the cell monitors."""
NODE, MODEL, SERIAL, VERSION, STATE = range(5)
SERIAL_ROLE: Final = Qt.ItemDataRole.UserRole + 1


def tier_title(tier: str) -> str:
    """The tier's full name (translated): BCU, BMC, BMU and what each does."""
    names = {
        "bcu": QCoreApplication.translate("PackTree", "BCU — pack controller"),
        "bmc": QCoreApplication.translate("PackTree", "BMC — module controllers"),
        "bmu": QCoreApplication.translate("PackTree", "BMU — cell monitors"),
    }
    return names.get(tier, tier.upper())


def state_text(mode: str) -> str:
    """A node's state as the tree shows it (its device mode, translated)."""
    try:
        return mode_text(DeviceMode(mode))
    except ValueError:
        return mode


class PackTree(RetranslateOnLanguageChange, QTreeWidget):
    """Tiers as top-level rows, nodes under them (address, model, serial, firmware, state)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pack_tree")
        self.setColumnCount(5)
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        header = self.header()
        header.setStretchLastSection(True)
        for column in range(4):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.nodes: tuple[PackNodeInfo, ...] = ()
        self.retranslate()

    def retranslate(self) -> None:
        self.setHeaderLabels(
            [
                self.tr("Node"),
                self.tr("Model"),
                self.tr("Serial number"),
                self.tr("Firmware"),
                self.tr("State"),
            ]
        )
        self.show_nodes(self.nodes)

    def show_nodes(self, nodes: tuple[PackNodeInfo, ...]) -> None:
        """Replace the tree with these nodes, grouped by tier (tiers without a node are left out)."""
        self.nodes = nodes
        self.clear()
        for tier in (*TIERS, *sorted({n.tier for n in nodes} - set(TIERS))):
            members = [node for node in nodes if node.tier == tier]
            if not members:
                continue
            top = QTreeWidgetItem(self, [fmt(self.tr("%1 (%2)"), tier_title(tier), len(members))])
            top.setFirstColumnSpanned(True)
            top.setData(NODE, SERIAL_ROLE, tier)
            for number, node in enumerate(members, start=1):
                item = QTreeWidgetItem(
                    top,
                    [
                        fmt(self.tr("%1 %2 · 0x%3"), tier.upper(), number, f"{node.address:02X}"),
                        node.model,
                        node.serial,
                        node.version or "—",
                        state_text(node.mode),
                    ],
                )
                item.setData(NODE, SERIAL_ROLE, node.serial)
                for column in (MODEL, SERIAL, VERSION):
                    item.setData(column, DEVICE_TEXT_ROLE, True)
            top.setExpanded(True)

    def node_items(self) -> list[QTreeWidgetItem]:
        """Every node row (not the tier rows), top to bottom."""
        found: list[QTreeWidgetItem] = []
        for index in range(self.topLevelItemCount()):
            top = self.topLevelItem(index)
            if top is not None:
                found.extend(
                    child for row in range(top.childCount()) if (child := top.child(row)) is not None
                )
        return found

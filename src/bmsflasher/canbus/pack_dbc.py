"""A DBC for a pack's own traffic: every node's status frame and every BMU's cell frames.

``bmsflasher dbc export --topology bcu=1,bmc=2,bmu=12 --out pack.dbc`` writes it, so CANalyzer,
SavvyCAN, cantools or a PCAN viewer decode a pack's bus as the Pack page does. A DBC gives every
message one fixed identifier, and a pack's frames carry the sender's address in theirs
(``0x18FF50<A>``, ``0x18FF51<A>``), so the file is generated for the pack's nodes: one status
message per node, one multiplexed cell message per BMU. The layouts are those of
:mod:`bmsflasher.canbus.pack_cell_frames` (cells: Intel bit order, multiplexed by ``CellGroup``;
status: big-endian fields, Motorola in DBC terms).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from bmsflasher.canbus.pack_cell_frames import (
    CELL_BITS,
    CELL_FRAME_BASE,
    CELLS_PER_FRAME,
    NO_CELL,
    STATUS_FRAME_BASE,
)

MAX_GROUPS: Final = 16
_EXTENDED: Final = 0x80000000
"""A DBC marks a 29-bit identifier by this bit in the message id."""


def _status_message(tier: str, address: int) -> list[str]:
    name = f"{tier.upper()}_{address:02X}"
    return [
        f"BO_ {_EXTENDED | STATUS_FRAME_BASE | address} {name}_Status: 8 {name}",
        ' SG_ ModuleVoltage : 7|16@0+ (0.01,0) [0|655.35] "V" Vector__XXX',
        ' SG_ ModuleCurrent : 23|16@0- (0.1,0) [-3276.8|3276.7] "A" Vector__XXX',
        ' SG_ StateOfCharge : 32|8@1+ (0.5,0) [0|100] "%" Vector__XXX',
        ' SG_ FirmwareMajor : 40|8@1+ (1,0) [0|255] "" Vector__XXX',
        ' SG_ FirmwareMinor : 48|8@1+ (1,0) [0|255] "" Vector__XXX',
        ' SG_ FirmwareRevision : 56|8@1+ (1,0) [0|255] "" Vector__XXX',
        "",
    ]


def _cells_message(address: int) -> list[str]:
    name = f"BMU_{address:02X}"
    top = NO_CELL
    lines = [
        f"BO_ {_EXTENDED | CELL_FRAME_BASE | address} {name}_Cells: 8 {name}",
        f' SG_ CellGroup M : 0|4@1+ (1,0) [0|{MAX_GROUPS - 1}] "" Vector__XXX',
        f' SG_ CellGroupLast : 4|4@1+ (1,0) [0|{MAX_GROUPS - 1}] "" Vector__XXX',
    ]
    for group in range(MAX_GROUPS):
        for slot in range(CELLS_PER_FRAME):
            cell = group * CELLS_PER_FRAME + slot
            start = 8 + slot * CELL_BITS
            lines.append(
                f' SG_ CellVoltage_{cell} m{group} : {start}|{CELL_BITS}@1+ (1,0) [0|{top}] "mV" Vector__XXX'
            )
    lines.append("")
    return lines


def pack_dbc(nodes: Iterable[tuple[str, int]]) -> str:
    """The DBC text for ``nodes`` ((tier, address) pairs, e.g. ``("bmu", 0x40)``).

    Every node gets its status message; a BMU also gets its cell message (a value of 16383 mV,
    the top of the signal, marks a slot past the BMU's last cell).
    """
    chosen = sorted(set(nodes), key=lambda node: node[1])
    lines = [
        'VERSION "bmsflasher pack traffic 1.0"',
        "",
        "NS_ :",
        "",
        "BS_:",
        "",
        "BU_: " + " ".join(f"{tier.upper()}_{address:02X}" for tier, address in chosen),
        "",
    ]
    for tier, address in chosen:
        lines += _status_message(tier, address)
        if tier == "bmu":
            lines += _cells_message(address)
    lines.append(
        'CM_ "Status frames 0x18FF50<address> every 0.25 s from every node; cell frames '
        "0x18FF51<address> every 0.1 s from every BMU, held while a node of the pack runs its "
        'bootloader.";'
    )
    return "\n".join(lines) + "\n"

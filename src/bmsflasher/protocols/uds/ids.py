"""Identifiers of the BMS UDS interface: CAN IDs, sessions, DIDs, routines, data formats.

The authoritative table is ``docs/protocols/uds.md``. These are the tool's own copy: the virtual
BMS keeps its own in ``sim/`` on purpose, so a typo on either side fails a test instead of
silently agreeing with itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from bmsflasher.core.i18n import t
from bmsflasher.core.types import DEFAULT_TESTER_ADDRESS, CanAddressing

FUNCTIONAL_REQUEST_ID: Final = 0x7DF
PHYSICAL_REQUEST_BASE: Final = 0x7E0
PHYSICAL_RESPONSE_BASE: Final = 0x7E8
MAX_NODES: Final = 8

# 29-bit normal fixed addressing (ISO 15765-2 §10.3.6): priority 6, data page 0, PF 0xDA / 0xDB.
NORMAL_FIXED_PHYSICAL_BASE: Final = 0x18DA0000
NORMAL_FIXED_FUNCTIONAL_BASE: Final = 0x18DB0000
#: N_TA of functional requests: 0x33, the legislated-OBD "all ECUs" address (ISO 15765-4).
FUNCTIONAL_TARGET_ADDRESS: Final = 0x33
#: Highest usable one-byte address; 0xFE (null) and 0xFF (global) are reserved (SAE J1939-81).
MAX_ADDRESS_29BIT: Final = 0xFD

SESSION_DEFAULT: Final = 0x01
SESSION_PROGRAMMING: Final = 0x02
SESSION_EXTENDED: Final = 0x03

SECURITY_LEVEL: Final = 0x01  # requestSeed 0x01 / sendKey 0x02
SEED_LENGTH: Final = 16
KEY_LENGTH: Final = 16

# Data identifiers.
DID_BOOT_SOFTWARE_ID: Final = 0xF180
DID_ACTIVE_SESSION: Final = 0xF186
DID_SPARE_PART_NUMBER: Final = 0xF187
DID_SOFTWARE_VERSION: Final = 0xF189
DID_SUPPLIER_ID: Final = 0xF18A
DID_SERIAL_NUMBER: Final = 0xF18C
DID_HARDWARE_NUMBER: Final = 0xF191
DID_SUPPLIER_SOFTWARE_VERSION: Final = 0xF195
DID_SYSTEM_NAME: Final = 0xF197
DID_DEVICE_MODE: Final = 0xFD00
DID_SECURITY_COUNTER: Final = 0xFD01
DID_SLOTS: Final = 0xFD02
DID_TRANSPORT: Final = 0xFD03
DID_COMPRESSION: Final = 0xFD04
DID_UPLOAD_STATUS: Final = 0xFD05
DID_TRUSTED_KEYS: Final = 0xFD06
DID_PACK: Final = 0xFD10
DID_CELLS: Final = 0xFD11
DID_TEMPERATURES: Final = 0xFD12
DID_BALANCING: Final = 0xFD13
DID_ALARMS: Final = 0xFD14
DID_CONFIG_SCHEMA: Final = 0xFD20
DID_CONFIG_CHOICES: Final = 0xFD21
DID_DTC_TEXTS: Final = 0xFD30
DID_SELF_TEST: Final = 0xFD40
DID_CONFIG_BASE: Final = 0xFE00

# Routine identifiers.
RID_CHECK_MEMORY: Final = 0x0202
RID_CHECK_PRECONDITIONS: Final = 0x0203
RID_ERASE_MEMORY: Final = 0xFF00
RID_CHECK_DEPENDENCIES: Final = 0xFF01
RID_PREPARE_DOWNLOAD: Final = 0xF000
RID_MARK_FOR_TEST: Final = 0xF001
RID_CONFIRM: Final = 0xF002
RID_ROLLBACK: Final = 0xF003
RID_SELF_TEST: Final = 0xF004
RID_SET_BALANCING: Final = 0xF005
RID_SAVE_CONFIG: Final = 0xF006

# Routine status record: first byte 0x00 = done/passed, 0x01 = refused/failed (+ reason byte).
REASON_SIGNATURE: Final = 0x01
REASON_DOWNGRADE: Final = 0x02
REASON_STATE: Final = 0x03
REASON_MODE: Final = 0x04

# RequestDownload dataFormatIdentifier compressionMethod (high nibble).
COMPRESSION_NONE: Final = 0x0
COMPRESSION_ZLIB: Final = 0x1
SLOT_BASE_ADDRESS: Final[dict[int, int]] = {0: 0x1000_0000, 1: 0x2000_0000}

DTC_STATUS_ALL: Final = 0xFF


def node_ids(node: int) -> tuple[int, int]:
    """(request ID, response ID) of a node: node 1 is 0x7E0/0x7E8, node 8 is 0x7E7/0x7EF.

    Node 0 means "the default node" (1), so ``LinkSettings()`` with no node set reaches node 1.
    """
    node = node or 1
    if not 1 <= node <= MAX_NODES:
        raise ValueError(t("UDS node {node} is outside 1..{limit}", node=node, limit=MAX_NODES))
    return PHYSICAL_REQUEST_BASE + node - 1, PHYSICAL_RESPONSE_BASE + node - 1


@dataclass(frozen=True, slots=True)
class NodeAddress:
    """The CAN identifiers the tool uses to reach one node.

    Attributes:
        addressing: 11-bit normal or 29-bit normal fixed.
        node: the node number (11-bit, 1..8) or the ECU's target address (29-bit, 0x00..0xFD).
        tester_address: the tool's source address (29-bit only; kept for logs otherwise).
        request_id: physical requests go out on this identifier.
        response_id: the node answers on this identifier.
        functional_id: functional (all-nodes) requests go out on this identifier.
    """

    addressing: CanAddressing
    node: int
    tester_address: int
    request_id: int
    response_id: int
    functional_id: int

    @property
    def extended_id(self) -> bool:
        """True when the identifiers are 29-bit (CAN extended frame format)."""
        return self.addressing is CanAddressing.NORMAL_FIXED_29BIT

    def describe(self) -> str:
        """``node 1 (0x7E0/0x7E8)`` or ``node 0x17 (0x18DA17F1/0x18DAF117)`` for messages."""
        width = 8 if self.extended_id else 3
        name = f"0x{self.node:02X}" if self.extended_id else str(self.node)
        return t(
            "node {node} ({request}/{response})",
            node=name,
            request=f"0x{self.request_id:0{width}X}",
            response=f"0x{self.response_id:0{width}X}",
        )


def node_address(
    node: int,
    addressing: CanAddressing = CanAddressing.NORMAL_11BIT,
    tester_address: int = DEFAULT_TESTER_ADDRESS,
) -> NodeAddress:
    """The identifiers of ``node`` in ``addressing``.

    11-bit normal: node 1 is 0x7E0/0x7E8 … node 8 is 0x7E7/0x7EF, functional 0x7DF; node 0 means
    node 1. 29-bit normal fixed (ISO 15765-2 §10.3.6): requests 0x18DA<TA><SA>, responses
    0x18DA<SA><TA> (the ECU's source address is the tester's target), functional 0x18DB33<SA>.

    Raises:
        ValueError: the node or tester address is outside what the addressing mode allows.
    """
    if addressing is CanAddressing.NORMAL_11BIT:
        request_id, response_id = node_ids(node)
        return NodeAddress(
            addressing, node or 1, tester_address, request_id, response_id, FUNCTIONAL_REQUEST_ID
        )
    if not 0 <= node <= MAX_ADDRESS_29BIT:
        raise ValueError(
            t(
                "the 29-bit node address 0x{node:X} is outside 0x00..0x{limit:02X}",
                node=node,
                limit=MAX_ADDRESS_29BIT,
            )
        )
    if not 0 <= tester_address <= MAX_ADDRESS_29BIT:
        raise ValueError(
            t(
                "the tester address 0x{address:X} is outside 0x00..0x{limit:02X}",
                address=tester_address,
                limit=MAX_ADDRESS_29BIT,
            )
        )
    if node == tester_address:
        raise ValueError(t("the node address 0x{node:02X} is the tester's own address", node=node))
    return NodeAddress(
        addressing,
        node,
        tester_address,
        request_id=NORMAL_FIXED_PHYSICAL_BASE | (node << 8) | tester_address,
        response_id=NORMAL_FIXED_PHYSICAL_BASE | (tester_address << 8) | node,
        functional_id=NORMAL_FIXED_FUNCTIONAL_BASE | (FUNCTIONAL_TARGET_ADDRESS << 8) | tester_address,
    )

"""Identifiers of the BMS UDS interface: CAN IDs, sessions, DIDs, routines, data formats.

The authoritative table is ``docs/protocols/uds.md``. These are the tool's own copy: the virtual
BMS keeps its own in ``sim/`` on purpose, so a typo on either side fails a test instead of
silently agreeing with itself.
"""

from __future__ import annotations

from typing import Final

FUNCTIONAL_REQUEST_ID: Final = 0x7DF
PHYSICAL_REQUEST_BASE: Final = 0x7E0
PHYSICAL_RESPONSE_BASE: Final = 0x7E8
MAX_NODES: Final = 8

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
DID_PACK: Final = 0xFD10
DID_CELLS: Final = 0xFD11
DID_TEMPERATURES: Final = 0xFD12
DID_BALANCING: Final = 0xFD13
DID_ALARMS: Final = 0xFD14
DID_CONFIG_SCHEMA: Final = 0xFD20
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
        raise ValueError(f"UDS node {node} is outside 1..{MAX_NODES}")
    return PHYSICAL_REQUEST_BASE + node - 1, PHYSICAL_RESPONSE_BASE + node - 1

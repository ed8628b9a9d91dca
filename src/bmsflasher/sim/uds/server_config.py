"""Who one virtual UDS node is on the bus and what it drives: identifiers, configuration, device API.

Kept apart from the server so the CAN front-end (``sim/wire/can_frontend.py``) and the tests can work out
a node's identifiers and build its configuration without starting a server. The 11-bit identifiers
are the OBD-style 0x7E0+n-1 / 0x7E8+n-1 pairs with functional 0x7DF; the 29-bit ones follow
ISO 15765-2 normal fixed addressing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from bmsflasher.core.types import (
    CanAddressing,
    ConfigSnapshot,
    DeviceIdentity,
    DeviceMode,
    DeviceSelfTest,
    Dtc,
    PackTelemetry,
    ParameterValue,
    SlotState,
)

FUNCTIONAL_REQUEST_ID: Final = 0x7DF
PHYSICAL_REQUEST_BASE: Final = 0x7E0
PHYSICAL_RESPONSE_BASE: Final = 0x7E8
MAX_NODES: Final = 8
# 29-bit normal fixed addressing (ISO 15765-2 §10.3.6): 0x18DA<TA><SA> physical, 0x18DB<TA><SA>
# functional, where functional requests carry N_TA 0x33 (ISO 15765-4's "all ECUs").
NORMAL_FIXED_PHYSICAL: Final = 0x18DA0000
NORMAL_FIXED_FUNCTIONAL: Final = 0x18DB0000
FUNCTIONAL_ADDRESS_29BIT: Final = 0x33
DEFAULT_TESTER_ADDRESS_29BIT: Final = 0xF1
#: One-byte addresses a node may take; 0xFE (null) and 0xFF (global) are reserved (SAE J1939-81).
MAX_ADDRESS_29BIT: Final = 0xFD


def node_ids(node: int) -> tuple[int, int]:
    """(request ID, response ID) of node 1..8: 0x7E0/0x7E8 for node 1, 0x7E7/0x7EF for node 8."""
    if not 1 <= node <= MAX_NODES:
        raise ValueError(f"UDS node {node} is outside 1..{MAX_NODES}")
    return PHYSICAL_REQUEST_BASE + node - 1, PHYSICAL_RESPONSE_BASE + node - 1


@dataclass(frozen=True, slots=True)
class ServerIds:
    """The CAN identifiers one node listens and answers on.

    Attributes:
        extended_id: 29-bit identifiers (normal fixed addressing).
        request_id: physical requests to this node.
        response_id: this node's responses.
        functional_id: functional requests this node obeys as well.
    """

    extended_id: bool
    request_id: int
    response_id: int
    functional_id: int


def server_ids(addressing: CanAddressing, node: int, tester_address: int) -> ServerIds:
    """The identifiers of a node: ``node`` is 1..8 (11-bit) or the node's own address (29-bit).

    Raises:
        ValueError: the node or tester address is outside what the addressing mode allows.
    """
    if addressing is CanAddressing.NORMAL_11BIT:
        request_id, response_id = node_ids(node)
        return ServerIds(False, request_id, response_id, FUNCTIONAL_REQUEST_ID)
    for what, value in (("node address", node), ("tester address", tester_address)):
        if not 0 <= value <= MAX_ADDRESS_29BIT:
            raise ValueError(f"the 29-bit {what} 0x{value:X} is outside 0x00..0x{MAX_ADDRESS_29BIT:02X}")
    if node == tester_address:
        raise ValueError(f"the node address 0x{node:02X} is the tester's address")
    return ServerIds(
        True,
        request_id=NORMAL_FIXED_PHYSICAL | (node << 8) | tester_address,
        response_id=NORMAL_FIXED_PHYSICAL | (tester_address << 8) | node,
        functional_id=NORMAL_FIXED_FUNCTIONAL | (FUNCTIONAL_ADDRESS_29BIT << 8) | tester_address,
    )


class UploadStatusLike(Protocol):
    """What ``VirtualBms.upload_status()`` returns."""

    slot: int
    offset: int
    total: int
    image_sha256: bytes


class UdsDevice(Protocol):
    """The part of ``sim.device.VirtualBms`` (docs/design/sim-api.md) this server drives."""

    @property
    def mode(self) -> DeviceMode: ...

    @property
    def security_secret(self) -> bytes: ...

    def identity(self) -> DeviceIdentity: ...
    def trusted_key_hashes(self) -> tuple[bytes, ...] | None: ...
    def telemetry(self) -> PackTelemetry: ...
    def config(self) -> ConfigSnapshot: ...
    def config_schema(self) -> Mapping[str, Any]: ...
    def set_parameters(self, values: Mapping[str, ParameterValue]) -> None: ...
    def save_config(self) -> None: ...
    def dtcs(self) -> list[Dtc]: ...
    def clear_dtcs(self) -> None: ...
    def slots(self) -> tuple[SlotState, ...]: ...
    def upload_begin(self, total_size: int, image_sha256: bytes, slot: int = 1) -> int: ...
    def upload_write(self, offset: int, data: bytes) -> int: ...
    def upload_status(self) -> Any: ...
    def erase_slot(self, slot: int) -> None: ...
    def verify_slot(self, slot: int) -> bool: ...
    def mark_pending(self, permanent: bool = False) -> None: ...
    def confirm(self) -> None: ...
    def rollback(self) -> None: ...
    def reset(self) -> None: ...
    def enter_bootloader(self) -> None: ...
    def add_reset_listener(self, cb: Callable[[], None]) -> None: ...
    def self_test(self) -> DeviceSelfTest: ...
    def set_balancing(self, cell: int, on: bool) -> None: ...


@dataclass(frozen=True, slots=True)
class UdsServerConfig:
    """Timing and transport parameters of one node's server.

    Attributes:
        node: node number 1..8 with 11-bit addressing, or the node's own one-byte address
            (0x00..0xFD) with 29-bit normal fixed addressing; decides the CAN identifiers.
        addressing: 11-bit normal (0x7E0+n-1 / 0x7E8+n-1, functional 0x7DF) or 29-bit normal
            fixed (0x18DA<node><tester> / 0x18DA<tester><node>, functional 0x18DB33<tester>).
        tester_address: the tester's one-byte address (29-bit only).
        fd: CAN-FD transport (64-byte frames, bit-rate switch when ``brs``).
        brs: use the bit-rate switch on FD frames.
        max_block_length: maxNumberOfBlockLength announced by RequestDownload (incl. SID+counter).
        block_size: ISO-TP block size the receiver announces in its flow control (0 = no limit).
        stmin: ISO-TP STmin byte the receiver announces (0 = back-to-back).
        p2_ms: P2server_max sent in the session response.
        p2_star_ms: P2*server_max sent in the session response.
        s3_timeout_s: non-default session falls back to default after this long without requests.
        lockout_delay_s: delay after the attempt limit before a new seed is given.
        response_delay_s: extra delay before each response (a slow device or gateway).
    """

    node: int = 1
    addressing: CanAddressing = CanAddressing.NORMAL_11BIT
    tester_address: int = DEFAULT_TESTER_ADDRESS_29BIT
    fd: bool = False
    brs: bool = True
    max_block_length: int = 4095
    block_size: int = 0
    stmin: int = 0
    p2_ms: int = 50
    p2_star_ms: int = 5000
    s3_timeout_s: float = 5.0
    lockout_delay_s: float = 10.0
    response_delay_s: float = 0.0

"""The peer of the UDS benchmark: a plain one-block-at-a-time download with udsoncan + can-isotp.

What a competent third party writes from the libraries' documentation, without the tool's own
client, transport or download engine: python-can's ``slcan`` bus, can-isotp's ``CanStack``
(default timing, ``blocking_send``, 0xCC padding; TX_DL 64 with bit-rate switch on CAN FD) and a
udsoncan ``Client`` (fixed P2 of 1 s instead of the server's 50 ms, which would not cover the wire
time of a 4 KB block). It sends one TransferData block and waits for its positive response before
the next, with the block length the device announces in its RequestDownload response, the same
as the tool. Sessions, security access, announcement and erase happen before the clock starts;
the clock covers RequestDownload .. RequestTransferExit (and the zlib compression with it), the
span the tool's ``DownloadReport.transfer_seconds`` covers. The device must then verify the
image (routine 0x0202), or the run does not count. Only the identifier constants
(``protocols/uds/ids.py``) and the demo seed/key function come from the tool: they are the
device's documented interface, not client logic.
"""

from __future__ import annotations

import hashlib
import struct
import time
import zlib
from dataclasses import dataclass
from typing import Any, cast

import can
import isotp
import udsoncan
from udsoncan.client import Client
from udsoncan.common.DataFormatIdentifier import DataFormatIdentifier
from udsoncan.common.MemoryLocation import MemoryLocation
from udsoncan.connections import PythonIsoTpConnection
from udsoncan.typing import ClientConfig

from bmsflasher.protocols.uds import ids
from bmsflasher.protocols.uds.security import demo_key_provider

_SLOT = 1
_P2_S = 1.0
_ZLIB_LEVEL = 9


class _RawDid(udsoncan.DidCodec):
    """A DID read as its raw bytes (the serial number is ASCII of any length)."""

    def encode(self, *args: Any, **kwargs: Any) -> bytes:
        return bytes(args[0])

    def decode(self, payload: bytes) -> bytes:
        return bytes(payload)

    def __len__(self) -> int:
        raise udsoncan.DidCodec.ReadAllRemainingData


@dataclass(frozen=True)
class PeerReport:
    """What the peer's download did."""

    wire_bytes: int
    blocks: int
    block_data: int
    transfer_seconds: float


def _isotp_params(fd: bool) -> dict[str, Any]:
    params: dict[str, Any] = {"tx_padding": 0xCC, "blocking_send": True}
    if fd:
        params.update({"tx_data_length": 64, "tx_data_min_length": 8, "can_fd": True, "bitrate_switch": True})
    return params


def _open_bus(channel: str, bitrate: int, data_bitrate: int) -> can.BusABC:
    bus = can.Bus(interface="slcan", channel=channel, bitrate=bitrate, sleep_after_open=0.1)
    if data_bitrate:
        bus.set_bitrate(bitrate, data_bitrate)  # type: ignore[attr-defined]  # Sn + Yn
    return bus


def _routine(client: Client, rid: int, record: bytes) -> bytes:
    response = client.routine_control(rid, 1, record)
    return bytes(response.service_data.routine_status_record or b"")


def _prepare(client: Client, image: bytes) -> int:
    record = struct.pack(">BI", _SLOT, len(image)) + hashlib.sha256(image).digest()
    status = _routine(client, ids.RID_PREPARE_DOWNLOAD, record)
    if len(status) != 5 or status[0] != 0:
        raise RuntimeError(f"the device refused the announcement: {status.hex()}")
    return int(struct.unpack(">I", status[1:5])[0])


def _setup(client: Client, image: bytes) -> None:
    """Programming session, security access, announcement and a fresh erase (untimed)."""
    serial = bytes(client.read_data_by_identifier_first(ids.DID_SERIAL_NUMBER)).decode("ascii")
    provider = demo_key_provider()

    def algo(level: int, seed: bytes, params: object) -> bytes:
        del params
        return provider.key_for(bytes(seed), serial, level)

    client.config["security_algo"] = algo
    client.change_session(ids.SESSION_EXTENDED)
    client.change_session(ids.SESSION_PROGRAMMING)
    client.unlock_security_access(ids.SECURITY_LEVEL)
    _prepare(client, image)
    erase = bytes([0x44]) + struct.pack(">II", ids.SLOT_BASE_ADDRESS[_SLOT], 0)
    if _routine(client, ids.RID_ERASE_MEMORY, erase)[:1] != b"\x00":
        raise RuntimeError("the device could not erase the slot")
    if _prepare(client, image) != 0:
        raise RuntimeError("the device did not start the download from zero after the erase")


def _transfer(client: Client, image: bytes, compress: bool) -> tuple[int, int, int]:
    """RequestDownload, one TransferData at a time, RequestTransferExit: (wire bytes, blocks, block data)."""
    payload = zlib.compress(image, _ZLIB_LEVEL) if compress else image
    method = ids.COMPRESSION_ZLIB if compress else ids.COMPRESSION_NONE
    location = MemoryLocation(
        address=ids.SLOT_BASE_ADDRESS[_SLOT], memorysize=len(image), address_format=32, memorysize_format=32
    )
    response = client.request_download(location, DataFormatIdentifier(compression=method, encryption=0))
    if response is None:  # only with suppressPosRspMsgIndicationBit, which RequestDownload lacks
        raise RuntimeError("the device did not answer RequestDownload")
    block_data = int(response.service_data.max_length) - 2  # minus SID and block sequence counter
    counter = 1
    blocks = 0
    for position in range(0, len(payload), block_data):
        client.transfer_data(counter, payload[position : position + block_data])
        counter = (counter + 1) & 0xFF
        blocks += 1
    client.request_transfer_exit()
    return len(payload), blocks, block_data


def peer_download(channel: str, bitrate: int, data_bitrate: int, image: bytes, compress: bool) -> PeerReport:
    """Download ``image`` into slot 1 of the node-1 BMS behind the slcan adapter at ``channel``.

    ``data_bitrate`` 0 means classic CAN; otherwise CAN FD with the bit-rate switch at that rate.

    Raises:
        RuntimeError: the device refused a step or did not verify the image.
    """
    bus = _open_bus(channel, bitrate, data_bitrate)
    try:
        address = isotp.Address(
            isotp.AddressingMode.Normal_11bits,
            txid=ids.PHYSICAL_REQUEST_BASE,
            rxid=ids.PHYSICAL_RESPONSE_BASE,
        )
        stack = isotp.CanStack(bus, address=address, params=_isotp_params(bool(data_bitrate)))
        config = dict(udsoncan.configs.default_client_config)
        config.update(
            {
                "data_identifiers": {"default": _RawDid},
                "use_server_timing": False,
                "p2_timeout": _P2_S,
                "server_address_format": 32,
                "server_memorysize_format": 32,
            }
        )
        with Client(PythonIsoTpConnection(stack), config=cast(ClientConfig, config)) as client:
            _setup(client, image)
            started = time.monotonic()
            wire, blocks, block_data = _transfer(client, image, compress)
            elapsed = time.monotonic() - started
            status = _routine(client, ids.RID_CHECK_MEMORY, bytes([_SLOT]))
            if status[:1] != b"\x00":
                raise RuntimeError(f"the device did not verify the peer's image: {status.hex()}")
        return PeerReport(wire, blocks, block_data, elapsed)
    finally:
        bus.shutdown()

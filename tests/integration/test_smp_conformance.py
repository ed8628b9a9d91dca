"""MCUmgr SMP conformance, checked only with independent tooling.

Two directions:

* the virtual BMS (``sim/smp/server.py`` behind a real pty) is driven by the third-party
  ``smpclient`` (``SMPClient`` + ``SMPSerialTransport``) and by raw frames built with the ``smp``
  package's own models and header encoder, never by the tool's client;
* the tool's client (``SmpTarget``) is pointed at a small, strictly-specified SMP server built here
  from the ``smp`` package (other buffer sizes, SMP version 1 errors only, no BMS group).

Expected values come from the MCUmgr specification (Zephyr ``smp_protocol.rst``,
``smp_group_0/1/3.rst``) and Zephyr's reference implementation (``smp.c``, ``img_mgmt.c``,
``img_mgmt_state.c``, ``settings_mgmt.c``, ``os_mgmt.c``): see docs/protocols/smp.md, "Conformance".
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import hashlib
import os
import select
import struct
import subprocess
import sys
import threading
import time
import tty
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import cbor2
import pytest
import serial
from smp import header as smphdr
from smp import packet as smppacket
from smp.image_management import (
    IMG_MGMT_ERR,
    ImageManagementErrorV2,
    ImageStatesReadResponse,
    ImageUploadWriteResponse,
)
from smp.os_management import OS_MGMT_RET_RC, OSManagementErrorV2
from smp.settings_management import SETTINGS_MGMT_ERR, SettingsManagementErrorV2
from smpclient import SMPClient
from smpclient.exceptions import SMPUploadError
from smpclient.generics import error, error_v2, success
from smpclient.requests.image_management import (
    ImageErase,
    ImageStatesRead,
    ImageStatesWrite,
    ImageUploadWrite,
)
from smpclient.requests.os_management import (
    BootloaderInformationRead,
    EchoWrite,
    MCUMgrParametersRead,
    OSApplicationInfoRead,
    ResetWrite,
)
from smpclient.requests.settings_management import (
    CommitSettings,
    DeleteSetting,
    LoadSettings,
    ReadSetting,
    SaveSettings,
    WriteSetting,
)
from smpclient.requests.zephyr_management import EraseStorage
from smpclient.transport.serial import SMPSerialTransport

from bmsflasher.core.errors import DeviceRejectedError, UnsupportedOperationError
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import DeviceMode, FirmwareVersion
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.protocols.smp.target import SmpTarget
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import FlashGeometry, SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd

FAST_BAUD = 921_600
SIM_OPTIONS = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0)
IMAGE_MAGIC = 0x96F3B83D
TLV_INFO_MAGIC = 0x6907
TLV_PROT_INFO_MAGIC = 0x6908
TLV_SHA256 = 0x10
BOOT_MAGIC = bytes.fromhex("77c295f360d2ef7f3552500f2cb67980")  # MCUboot's trailer magic (v1)
STATE_KEYS = {"image", "slot", "version", "hash", "bootable", "pending", "confirmed", "active", "permanent"}

T = TypeVar("T")


# --- helpers: images, parsed independently of the tool's firmware code ----------------------------
def signed_image(version: str, size: int = 20_000, *, counter: int = 2) -> bytes:
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    payload = hashlib.shake_256(f"conformance-{version}-{size}".encode()).digest(size)
    return build_image(payload, version=FirmwareVersion.parse(version), security_counter=counter, key=key)


def sha256_tlv(image: bytes) -> bytes:
    """The IMAGE_TLV_SHA256 value, found by walking the TLV areas as MCUboot's bootutil does."""
    magic, _load, hdr_size, prot_size, img_size = struct.unpack_from("<IIHHI", image)
    assert magic == IMAGE_MAGIC
    offset = hdr_size + img_size
    if prot_size:
        area_magic, area_len = struct.unpack_from("<HH", image, offset)
        assert (area_magic, area_len) == (TLV_PROT_INFO_MAGIC, prot_size)
        offset += prot_size
    area_magic, area_len = struct.unpack_from("<HH", image, offset)
    assert area_magic == TLV_INFO_MAGIC
    position, end = offset + 4, offset + area_len
    found = []
    while position < end:
        kind, length = struct.unpack_from("<HH", image, position)
        if kind == TLV_SHA256:
            found.append(image[position + 4 : position + 4 + length])
        position += 4 + length
    assert len(found) == 1, "MCUboot requires exactly one SHA256 TLV"
    # ... and it is the SHA-256 of header + body + protected TLV area (what the signature covers).
    assert found[0] == hashlib.sha256(image[: hdr_size + img_size + prot_size]).digest()
    return found[0]


# --- helpers: the virtual BMS and smpclient ------------------------------------------------------
class Bench:
    def __init__(self, options: SimOptions = SIM_OPTIONS) -> None:
        self.device = VirtualBms.create(options)
        self.front = SerialFrontEnd(self.device, FrontEndOptions(baud=FAST_BAUD)).start()

    def close(self) -> None:
        self.front.stop()
        self.device.close()


@pytest.fixture
def bench() -> Iterator[Bench]:
    rig = Bench()
    yield rig
    rig.close()


def run(factory: Callable[[], Awaitable[T]], timeout_s: float = 20.0) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(factory(), timeout_s)

    return asyncio.run(bounded())


@contextlib.asynccontextmanager
async def connected(port: str) -> AsyncIterator[tuple[SMPClient, SMPSerialTransport]]:
    transport = SMPSerialTransport(baudrate=FAST_BAUD)
    client = SMPClient(transport, port, timeout_s=3.0)
    deadline = time.monotonic() + 5.0
    while True:  # the port may be re-enumerating after a reset
        try:
            await client.connect(2.0)
            break
        except (OSError, TimeoutError):  # pyserial: the port is not back yet
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
    try:
        yield client, transport
    finally:
        await client.disconnect()


def raw_header(
    op: int, group: int, command: int, length: int, *, sequence: int = 0, version: int = 1
) -> bytes:
    """An SMP header from the ``smp`` package's own encoder."""
    return bytes(
        smphdr.Header(
            op=smphdr.OP(op),
            version=smphdr.Version(version) if version < 2 else version,  # type: ignore[arg-type]
            flags=smphdr.Flag(0),
            length=length,
            group_id=group,
            sequence=sequence,
            command_id=command,
        )
    )


def raw_request(
    op: int, group: int, command: int, body: Any, *, sequence: int = 0, version: int = 1
) -> bytes:
    payload = body if isinstance(body, bytes) else cbor2.dumps(body)
    return raw_header(op, group, command, len(payload), sequence=sequence, version=version) + payload


def packed_request(op: int, group: int, command: int, *, sequence: int, version: int) -> bytes:
    """A request the ``smp`` encoder refuses to build (a command it does not know): packed by hand
    from the specification's header layout (Res:3 Ver:2 OP:3, flags, length, group, seq, id)."""
    payload = cbor2.dumps({})
    return struct.pack(">BBHHBB", (version << 3) | op, 0, len(payload), group, sequence, command) + payload


@dataclass(frozen=True)
class Head:
    """A response header decoded by the specification's layout (``smp`` refuses unknown commands)."""

    op: int
    version: int
    flags: int
    length: int
    group_id: int
    sequence: int
    command_id: int


def split(frame: bytes) -> tuple[Head, dict[str, Any]]:
    op_ver, flags, length, group, sequence, command = struct.unpack_from(">BBHHBB", frame)
    assert op_ver >> 5 == 0  # reserved bits
    header = Head(op_ver & 7, (op_ver >> 3) & 3, flags, length, group, sequence, command)
    body = cbor2.loads(frame[smphdr.Header.SIZE :])
    assert header.length == len(frame) - smphdr.Header.SIZE
    assert isinstance(body, dict)
    return header, body


# --- OS group -------------------------------------------------------------------------------------
def test_echo_params_info_and_sequence_numbers(bench: Bench) -> None:
    async def scenario() -> None:
        async with connected(bench.front.port) as (client, transport):
            echo = await client.request(EchoWrite(d="hello BMS"))
            assert success(echo)
            assert echo.r == "hello BMS"
            params = await client.request(MCUMgrParametersRead())
            assert success(params)
            assert (params.buf_size, params.buf_count) == (2048, 4)
            # Echo is defined for read and write; the answer op is request op + 1; the sequence
            # number and command come back; flags are 0; the version is the request's.
            for op, sequence, version in ((0, 0, 1), (2, 200, 1), (0, 255, 0), (2, 17, 0)):
                frame = await transport.send_and_receive(
                    raw_request(op, 0, 0, {"d": f"s{sequence}"}, sequence=sequence, version=version)
                )
                header, body = split(frame)
                assert body == {"r": f"s{sequence}"}
                assert (header.op, header.sequence, header.group_id, header.command_id) == (
                    op + 1,
                    sequence,
                    0,
                    0,
                )
                assert (header.version, header.flags) == (version, 0)
            info = await client.request(OSApplicationInfoRead())
            assert success(info)
            assert info.output == "Zephyr"
            everything = await client.request(OSApplicationInfoRead(format="a"))
            assert success(everything)
            assert bench.device.serial_number in everything.output.split()
            bad = await client.request(OSApplicationInfoRead(format="sq"))
            assert isinstance(bad, OSManagementErrorV2)
            assert bad.err.rc == OS_MGMT_RET_RC.INVALID_FORMAT

    run(scenario)


def test_bootloader_information(bench: Bench) -> None:
    async def scenario() -> None:
        async with connected(bench.front.port) as (client, transport):
            info = await client.request(BootloaderInformationRead())
            assert success(info)
            assert info.bootloader == "MCUboot"
            frame = await transport.send_and_receive(raw_request(0, 0, 8, {"query": "mode"}))
            assert split(frame)[1] == {"mode": 3, "no-downgrade": True}  # swap without scratch
            unknown = await client.request(BootloaderInformationRead(query="colour"))
            assert isinstance(unknown, OSManagementErrorV2)
            assert unknown.err.rc == OS_MGMT_RET_RC.QUERY_YIELDS_NO_ANSWER

    run(scenario)


def test_serial_framing_on_the_wire(bench: Bench) -> None:
    """The console transport, checked byte by byte with pyserial and the standard library only."""
    request = EchoWrite(d="x" * 300, sequence=77).BYTES  # long enough for several lines
    lines = list(smppacket.encode(request, line_length=128))  # 127-byte lines, as Zephyr accepts
    assert max(len(line) for line in lines) == 127
    with serial.Serial(bench.front.port, FAST_BAUD, timeout=0.2) as port:
        port.write(b"".join(lines))
        received = b""
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            received += port.read(4096)
            if received.endswith(b"\n") and len(received) > 400:
                break
    frames = received.split(b"\n")[:-1]
    assert frames[0][:2] == b"\x06\x09"  # start of frame
    assert all(line[:2] == b"\x04\x14" for line in frames[1:])  # continuation lines
    assert all(len(line) + 1 <= 127 for line in frames)  # delimiter + base64 + newline
    decoded = b"".join(binascii.a2b_base64(line[2:]) for line in frames)
    (length,) = struct.unpack_from(">H", decoded)
    message, crc = decoded[2:-2], struct.unpack(">H", decoded[-2:])[0]
    assert length == len(message) + 2 == len(decoded) - 2  # the length counts message + CRC
    assert crc == binascii.crc_hqx(message, 0)  # CRC16-CCITT (XMODEM: poly 0x1021, init 0)
    header, body = split(message)
    assert (header.op, header.sequence, body) == (3, 77, {"r": "x" * 300})


# --- image group -----------------------------------------------------------------------------------
def test_image_state_read_format_and_hash_is_the_sha256_tlv(bench: Bench) -> None:
    async def scenario() -> None:
        async with connected(bench.front.port) as (client, transport):
            state = await client.request(ImageStatesRead())
            assert isinstance(state, ImageStatesReadResponse)
            _header, body = split(await transport.send_and_receive(raw_request(0, 1, 0, {})))
        assert set(body) == {"images", "splitStatus"}
        assert body["splitStatus"] == 0
        assert [entry["slot"] for entry in body["images"]] == [0]  # an empty slot 1 is not listed
        for entry in body["images"]:
            assert set(entry) == STATE_KEYS  # every flag present (Zephyr's non-frugal list)
            assert all(isinstance(entry[k], bool) for k in STATE_KEYS - {"image", "slot", "version", "hash"})
            assert isinstance(entry["hash"], bytes)
            assert len(entry["hash"]) == 32
            assert entry["hash"] == sha256_tlv(bench.device.image_bytes(entry["slot"]))
        primary = state.images[0]
        assert (primary.slot, primary.version, primary.active, primary.confirmed) == (0, "1.0.0", True, True)
        assert primary.pending is False
        assert primary.permanent is False

    run(scenario)


def test_smpclient_upload_test_reset_and_confirm(bench: Bench) -> None:
    image = signed_image("1.1.0", counter=1)

    async def upload_and_test() -> list[int]:
        async with connected(bench.front.port) as (client, _transport):
            offsets = [off async for off in client.upload(image)]  # sends len, sha, image, upgrade
            state = await client.request(ImageStatesRead())
            assert success(state)
            secondary = state.images[1]
            assert (secondary.slot, secondary.version, secondary.hash) == (1, "1.1.0", sha256_tlv(image))
            assert secondary.pending is False
            assert secondary.active is False
            test = await client.request(ImageStatesWrite(hash=sha256_tlv(image), confirm=False))
            assert success(test)  # the answer is the new state list
            assert (test.images[1].pending, test.images[1].permanent) == (True, False)
            again = await client.request(ImageStatesWrite(hash=sha256_tlv(image), confirm=False))
            assert success(again)  # testing the image already set for test is a no-op
            for late in (
                ImageStatesWrite(hash=sha256_tlv(image), confirm=True),
                ImageStatesWrite(confirm=True),
            ):
                refused = await client.request(late)  # nothing else while a test swap is pending
                assert isinstance(refused, ImageManagementErrorV2)
                assert refused.err.rc == IMG_MGMT_ERR.IMAGE_ALREADY_PENDING
            wrong = await client.request(ImageStatesWrite(hash=bytes(32), confirm=False))
            assert isinstance(wrong, ImageManagementErrorV2)
            assert wrong.err.rc == IMG_MGMT_ERR.HASH_NOT_FOUND
            short = await client.request(ImageStatesWrite(hash=b"\x01" * 8, confirm=False))
            assert isinstance(short, ImageManagementErrorV2)
            assert short.err.rc == IMG_MGMT_ERR.INVALID_HASH
            no_hash = await client.request(ImageStatesWrite(confirm=False))
            assert isinstance(no_hash, ImageManagementErrorV2)
            assert no_hash.err.rc == IMG_MGMT_ERR.INVALID_HASH
            assert success(await client.request(ResetWrite()))
            return offsets

    offsets = run(upload_and_test)
    assert offsets == sorted(offsets)
    assert offsets[-1] == len(image)

    async def after_reset() -> None:
        await asyncio.sleep(0.4)  # the USB port re-enumerates while the device reboots
        async with connected(bench.front.port) as (client, _transport):
            state = await client.request(ImageStatesRead())
            assert success(state)
            primary, secondary = state.images
            assert (primary.version, primary.active, primary.confirmed) == ("1.1.0", True, False)
            assert (secondary.version, secondary.confirmed) == ("1.0.0", True)  # the revert image
            assert primary.hash == sha256_tlv(image)
            own = await client.request(ImageStatesWrite(hash=primary.hash, confirm=False))
            assert isinstance(own, ImageManagementErrorV2)
            assert own.err.rc == IMG_MGMT_ERR.IMAGE_SETTING_TEST_TO_ACTIVE_DENIED
            confirmed = await client.request(ImageStatesWrite(confirm=True))  # no hash: the running image
            assert success(confirmed)
            assert confirmed.images[0].confirmed is True

    run(after_reset)
    assert bench.device.identity().firmware_version == FirmwareVersion(1, 1, 0)
    assert bench.device.image_bytes(0) == image  # swapped into the primary slot, byte for byte


def test_upload_resume_offset_mismatch_and_upgrade_only(bench: Bench) -> None:
    image = signed_image("1.2.0", size=30_000)
    sha = hashlib.sha256(image).digest()

    async def scenario() -> list[int]:
        async with connected(bench.front.port) as (client, _transport):

            async def chunk(off: int, size: int, *, first: bool = False) -> ImageUploadWriteResponse:
                extra: dict[str, Any] = {"len": len(image), "sha": sha, "image": 0} if first else {}
                answer = await client.request(
                    ImageUploadWrite(off=off, data=image[off : off + size], **extra)
                )
                assert isinstance(answer, ImageUploadWriteResponse), answer
                return answer

            assert (await chunk(0, 512, first=True)).off == 512
            assert (await chunk(512, 512)).off == 1024
            resumed = await chunk(0, 512, first=True)  # same sha while the session is held: resume
            assert (resumed.off, resumed.match) == (1024, None)
            mismatch = await chunk(4096, 512)  # not an error: dropped, the device's offset comes back
            assert (mismatch.off, mismatch.match, mismatch.rc) == (1024, None, None)
            offsets = [off async for off in client.upload(image)]  # smpclient continues at 'off'
            old = signed_image("0.9.0")
            with pytest.raises(SMPUploadError) as refused:
                async for _ in client.upload(old, upgrade=True):
                    pass
            assert "CURRENT_VERSION_IS_NEWER" in str(refused.value)
            return offsets

    offsets = run(scenario)
    assert offsets[0] == 1024
    assert offsets[-1] == len(image)
    assert bench.device.image_bytes(1) == image


def test_upload_without_sha_and_first_chunk_checks(bench: Bench) -> None:
    image = signed_image("1.3.0", size=12_000)

    async def scenario() -> None:
        async with connected(bench.front.port) as (client, transport):
            async for _ in client.upload(image, use_sha=False):  # 'sha' is optional
                pass
            cases = [
                ({"off": 0, "data": image[:16], "len": len(image)}, IMG_MGMT_ERR.INVALID_IMAGE_HEADER),
                ({"off": 0, "data": b"\0" * 64, "len": len(image)}, IMG_MGMT_ERR.INVALID_IMAGE_HEADER_MAGIC),
                ({"off": 0, "data": image[:64]}, IMG_MGMT_ERR.INVALID_LENGTH),
                (
                    {"off": 0, "data": image[:64], "len": len(image), "sha": bytes(33)},
                    IMG_MGMT_ERR.INVALID_HASH,
                ),
                ({"off": 0, "data": image[:64], "len": 1 << 30}, IMG_MGMT_ERR.INVALID_IMAGE_TOO_LARGE),
                ({"data": image[:64]}, IMG_MGMT_ERR.INVALID_OFFSET),
                ({"off": 0, "data": image[:64], "len": len(image), "image": 1}, IMG_MGMT_ERR.INVALID_SLOT),
            ]
            for body, expected in cases:
                _header, answer = split(await transport.send_and_receive(raw_request(2, 1, 1, body)))
                assert answer == {"err": {"group": 1, "rc": int(expected)}}, body
            # A continuation after the session is gone: off 0 asks the client to start again.
            _header, answer = split(
                await transport.send_and_receive(raw_request(2, 1, 1, {"off": 99, "data": b"x"}))
            )
            assert answer["off"] in (0, len(image))

    run(scenario)
    assert bench.device.image_bytes(1) == image


def test_erase(bench: Bench) -> None:
    image = signed_image("1.1.0")

    async def scenario() -> None:
        async with connected(bench.front.port) as (client, _transport):
            async for _ in client.upload(image):
                pass
            assert len((await client.request(ImageStatesRead())).images) == 2  # type: ignore[union-attr]
            assert success(await client.request(ImageErase()))  # default: slot 1
            state = await client.request(ImageStatesRead())
            assert success(state)
            assert [s.slot for s in state.images] == [0]
            running = await client.request(ImageErase(slot=0))
            assert isinstance(running, ImageManagementErrorV2)
            assert running.err.rc == IMG_MGMT_ERR.NO_FREE_SLOT
            missing = await client.request(ImageErase(slot=7))
            assert isinstance(missing, ImageManagementErrorV2)
            assert missing.err.rc == IMG_MGMT_ERR.INVALID_SLOT

    run(scenario)
    assert bench.device.image_bytes(1) == b""


# --- settings group -------------------------------------------------------------------------------
def test_settings_read_write_commit_save_load(bench: Bench) -> None:
    schema = bench.device.config_schema()
    name = next(n for n, spec in schema.items() if spec.writable and spec.kind is int)
    read_only = next(n for n, spec in schema.items() if not spec.writable)
    current = bench.device.config().parameters[name]
    maximum = schema[name].maximum
    new_value = int(current) - 1 if maximum is not None and current + 1 > maximum else int(current) + 1

    async def scenario() -> None:
        async with connected(bench.front.port) as (client, _transport):
            read = await client.request(ReadSetting(name=f"bms/{name}"))
            assert success(read)
            assert cbor2.loads(read.val) == current
            short = await client.request(ReadSetting(name=f"bms/{name}", max_size=1))
            assert success(short)
            assert short.val == cbor2.dumps(current)[:1]
            assert short.max_size is None
            big = await client.request(ReadSetting(name=f"bms/{name}", max_size=100_000))
            assert success(big)
            assert big.max_size is not None
            assert big.max_size < 100_000
            assert success(await client.request(WriteSetting(name=f"bms/{name}", val=cbor2.dumps(new_value))))
            assert success(await client.request(CommitSettings()))
            assert success(await client.request(SaveSettings()))
            assert success(await client.request(LoadSettings()))
            read = await client.request(ReadSetting(name=f"bms/{name}"))
            assert success(read)
            assert cbor2.loads(read.val) == new_value
            for request, code in (
                (ReadSetting(name="bms/no_such_parameter"), SETTINGS_MGMT_ERR.KEY_NOT_FOUND),
                (ReadSetting(name="bms/" + "x" * 80), SETTINGS_MGMT_ERR.KEY_TOO_LONG),
                (
                    WriteSetting(name=f"bms/{read_only}", val=cbor2.dumps(1)),
                    SETTINGS_MGMT_ERR.WRITE_NOT_SUPPORTED,
                ),
                (DeleteSetting(name=f"bms/{name}"), SETTINGS_MGMT_ERR.DELETE_NOT_SUPPORTED),
            ):
                answer = await client.request(request)
                assert isinstance(answer, SettingsManagementErrorV2), request
                assert answer.err.rc == code, request

    run(scenario)
    assert bench.device.saved_config().parameters[name] == new_value


# --- errors and versions --------------------------------------------------------------------------
def test_unknown_groups_bad_cbor_and_protocol_versions(bench: Bench) -> None:
    async def scenario() -> None:
        async with connected(bench.front.port) as (client, transport):

            async def ask(message: bytes) -> tuple[Head, dict[str, Any]]:
                return split(await transport.send_and_receive(message))

            # Unknown group or command: ENOTSUP (8) as a plain "rc" in both versions (not a group error).
            for group, command in ((99, 0), (64, 1), (0, 42), (1, 9)):
                for version in (0, 1):
                    header, body = await ask(packed_request(0, group, command, sequence=33, version=version))
                    assert body.get("rc") == 8
                    assert "err" not in body
                    assert (header.version, header.sequence, header.group_id) == (version, 33, group)
            storage = await client.request(EraseStorage())  # Zephyr basic group 63: not provided
            assert error(storage)
            assert storage.rc == 8
            # A body that is not a CBOR map: EINVAL (3).
            for payload in (b"\xff\xfe\xfd", cbor2.dumps([1, 2]), b"\xa1\x61"):
                _header, body = await ask(raw_request(2, 0, 0, payload))
                assert body.get("rc") == 3
            # A body shorter than the header announces: ECORRUPT (9), as Zephyr's smp.c.
            _header, body = await ask(raw_header(2, 0, 0, 20) + cbor2.dumps({"d": "x"}))
            assert body.get("rc") == 9
            # A response sent to the server is not a request: ENOTSUP.
            _header, body = await ask(raw_request(3, 0, 0, {"r": "x"}))
            assert body.get("rc") == 8
            # Group errors follow the request's version: v2 "err", v1 "rc" (translated as Zephyr does).
            v2_header, v2 = await ask(raw_request(0, 3, 0, {"name": "bms/none"}, version=1))
            assert (v2_header.version, v2) == (1, {"err": {"group": 3, "rc": 3}})
            v1_header, v1 = await ask(raw_request(0, 3, 0, {"name": "bms/none"}, version=0))
            assert v1_header.version == 0
            assert v1["rc"] == 5
            assert "err" not in v1
            _h, v1_image = await ask(raw_request(2, 1, 0, {"hash": bytes(32)}, version=0))
            assert v1_image["rc"] == 1  # HASH_NOT_FOUND has no v1 equivalent in img_mgmt: EUNKNOWN
            # Versions 2 and 3 are reserved: UNSUPPORTED_TOO_NEW (13), answered as version 2.
            new_header, new = await ask(raw_request(0, 0, 6, {}, version=2))
            assert new_header.version == 1
            assert new.get("rc") == 13
            # smpclient (SMP version 2) sees v2 errors as typed ErrorV2 models.
            unknown = await client.request(ReadSetting(name="elsewhere/key"))
            assert error_v2(unknown)
            assert unknown.err.rc == SETTINGS_MGMT_ERR.ROOT_KEY_NOT_FOUND

    run(scenario)


def test_recovery_mode_serves_the_serial_recovery_subset() -> None:
    rig = Bench(replace(SIM_OPTIONS, recovery=True))
    image = signed_image("1.2.0")
    try:

        async def scenario() -> None:
            async with connected(rig.front.port) as (client, _transport):
                assert success(await client.request(EchoWrite(d="x")))
                state = await client.request(ImageStatesRead())
                assert success(state)
                assert state.images == []
                async for _ in client.upload(image):
                    pass
                state = await client.request(ImageStatesRead())
                assert success(state)
                assert state.images[0].slot == 0
                assert state.images[0].hash == sha256_tlv(image)
                refused = await client.request(ReadSetting(name="bms/x"))
                assert error(refused)
                assert refused.rc == 8

        run(scenario)
        assert rig.device.image_bytes(0) == image
    finally:
        rig.close()


def test_imgtool_padded_image_hash_and_trailer_bytes(tmp_path: Path) -> None:
    """An ``imgtool sign --pad --confirm`` image fills the slot and ends in an MCUboot trailer.

    Uploaded in serial recovery (to the primary slot), the hash the device reports is still the
    SHA256 TLV (the trailer is outside the hashed region) and the trailer bytes reach flash. What
    the bootloader does with a trailer in slot 1 is tested in ``tests/unit/test_sim_trailer.py``.
    """
    geometry = FlashGeometry(slot_sectors=16)  # 64 KiB slots keep the padded upload short
    raw = tmp_path / "app.bin"
    raw.write_bytes(hashlib.shake_256(b"padded").digest(20_000))
    out = tmp_path / "app.signed.bin"
    imgtool = Path(sys.executable).with_name("imgtool")
    subprocess.run(
        [
            str(imgtool), "sign", "--key", str(resource_path("demo", "demo-key.pem")),
            "--header-size", "0x200", "--pad-header", "--align", "8", "--version", "1.5.0",
            "--slot-size", hex(geometry.slot_size), "--pad", "--confirm", "--security-counter", "3",
            str(raw), str(out),
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    image = out.read_bytes()
    assert len(image) == geometry.slot_size
    assert image[-16:] == BOOT_MAGIC  # the trailer: magic at the slot's end, image_ok before it
    assert image[-24] == 0x01
    rig = Bench(replace(SIM_OPTIONS, geometry=geometry, recovery=True))  # no factory image to fit
    try:

        async def scenario() -> None:
            async with connected(rig.front.port) as (client, _transport):
                offsets = [off async for off in client.upload(image)]
                assert offsets[-1] == len(image)
                state = await client.request(ImageStatesRead())
                assert success(state)
                assert (state.images[0].version, state.images[0].hash) == ("1.5.0", sha256_tlv(image))

        run(scenario)
        stored = rig.device.flash.read(geometry.slot_offset(0), geometry.slot_size)
        assert stored == image
    finally:
        rig.close()


# --- the tool's client against an independent, strictly specified server ------------------------
class StrictServer:
    """An SMP server over a pty built from the ``smp`` package and the specification only.

    Version 1 answers only (header version 0, ``rc`` errors), ``buf_size`` 512 and ``buf_count``
    1, no BMS group, Zephyr's upload and state rules for one image with two slots.
    """

    BUF_SIZE = 512
    BUF_COUNT = 1

    def __init__(self, primary: bytes) -> None:
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.port = os.ttyname(slave)
        self._slave = slave
        self.slots: list[bytes] = [primary, b""]
        self.pending: bool | None = None  # None, False (test) or True (permanent)
        self.requests: list[smphdr.Header] = []
        self.largest = 0  # longest request message (header + CBOR) received
        self._upload: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="strict-smp-server", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
        os.close(self.master)
        os.close(self._slave)

    def _serve(self) -> None:
        pending = bytearray()
        lines: list[bytes] = []
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                pending += os.read(self.master, 4096)
            except OSError:
                return
            while b"\n" in pending:
                line, _, rest = bytes(pending).partition(b"\n")
                pending = bytearray(rest)
                line += b"\n"
                if line.startswith(smppacket.START_DELIMITER):
                    lines = [line]
                elif line.startswith(smppacket.CONTINUE_DELIMITER) and lines:
                    lines.append(line)
                else:
                    continue
                message = self._complete(lines)
                if message is not None:
                    lines = []
                    answer = self._answer(message)
                    for chunk in smppacket.encode(answer, line_length=128):
                        os.write(self.master, chunk)

    @staticmethod
    def _complete(lines: list[bytes]) -> bytes | None:
        decoder = smppacket.decode()
        next(decoder)
        try:
            for line in lines:
                decoder.send(line)
        except StopIteration as done:
            return bytes(done.value)
        return None

    def _answer(self, message: bytes) -> bytes:
        header = smphdr.Header.loads(message[: smphdr.Header.SIZE])
        self.requests.append(header)
        self.largest = max(self.largest, len(message))
        body = cbor2.loads(message[smphdr.Header.SIZE :]) if header.length else {}
        handler = {
            (0, 0): lambda: {"r": body.get("d", "")},
            (0, 6): lambda: {"buf_size": self.BUF_SIZE, "buf_count": self.BUF_COUNT},
            (0, 8): lambda: {"bootloader": "MCUboot"},
            (1, 0): lambda: self._state(body, header.op),
            (1, 1): lambda: self._upload_chunk(body),
        }.get((int(header.group_id), int(header.command_id)))
        reply = handler() if handler is not None else {"rc": 8}  # ENOTSUP, also for group 72
        payload = cbor2.dumps(reply)
        out = smphdr.Header(
            op=smphdr.OP(int(header.op) + 1),
            version=smphdr.Version.V1,  # an SMP version 1 server
            flags=smphdr.Flag(0),
            length=len(payload),
            group_id=header.group_id,
            sequence=header.sequence,
            command_id=header.command_id,
        )
        return bytes(out) + payload

    def _images(self) -> list[dict[str, Any]]:
        result = []
        for slot, data in enumerate(self.slots):
            if data:
                major, minor, revision, _build = struct.unpack_from("<BBHI", data, 20)
                result.append(
                    {
                        "slot": slot,
                        "version": f"{major}.{minor}.{revision}",
                        "hash": sha256_tlv(data),
                        "active": slot == 0,
                        "confirmed": slot == 0,
                        "pending": slot == 1 and self.pending is not None,
                        "permanent": slot == 1 and self.pending is True,
                        "bootable": True,
                    }
                )
        return result

    def _state(self, body: dict[str, Any], op: int) -> dict[str, Any]:
        if op == smphdr.OP.WRITE:
            image_hash, confirm = body.get("hash", b""), body.get("confirm", False)
            if self.pending is not None and (confirm or not image_hash):
                return {"rc": 6}  # IMAGE_ALREADY_PENDING, translated for SMP version 1: EBADSTATE
            if image_hash:
                slot = next((i for i, d in enumerate(self.slots) if d and sha256_tlv(d) == image_hash), None)
                if slot is None:
                    return {"rc": 1}  # HASH_NOT_FOUND → EUNKNOWN
                if slot == 1:
                    self.pending = bool(confirm)
        return {"images": self._images(), "splitStatus": 0}

    def _upload_chunk(self, body: dict[str, Any]) -> dict[str, Any]:
        off, data = body["off"], body.get("data", b"")
        if off == 0:
            if len(data) < 32 or "len" not in body:
                return {"rc": 3}  # INVALID_IMAGE_HEADER / INVALID_LENGTH → EINVAL
            session = self._upload
            if session is not None and body.get("sha") and session["sha"] == body.get("sha"):
                return {"off": len(session["data"])}
            self._upload = {"len": body["len"], "sha": body.get("sha", b""), "data": bytearray()}
        session = self._upload
        if session is None or off != len(session["data"]):
            return {"off": 0 if session is None else len(session["data"])}
        session["data"] += data
        if len(session["data"]) < session["len"]:
            return {"off": len(session["data"])}
        self.slots[1] = bytes(session["data"])
        self._upload = None
        return {"off": session["len"], "match": hashlib.sha256(self.slots[1]).digest() == session["sha"]}


@pytest.fixture
def strict_server() -> Iterator[StrictServer]:
    server = StrictServer(signed_image("2.0.0", size=4_000))
    yield server
    server.close()


def test_tool_client_against_a_strict_v1_server_without_the_bms_group(strict_server: StrictServer) -> None:
    image = signed_image("2.1.0", size=9_000)
    with SmpTarget.connect(strict_server.port, 115_200, reconnect_timeout_s=0.0) as client:
        params = client.params()
        assert (params.buf_size, params.buf_count) == (512, 1)
        identity = client.identify()  # no BMS group: a generic MCUmgr application, not a crash
        assert identity.mode is DeviceMode.APPLICATION
        assert identity.firmware_version == FirmwareVersion(2, 0, 0)
        assert "BMS group" in identity.model
        with pytest.raises(UnsupportedOperationError, match="telemetry"):
            client.read_telemetry()
        with pytest.raises(UnsupportedOperationError):
            client.read_config()
        assert client.ping() < 1.0
        result = client.upload(image)  # one frame buffer: one chunk at a time, within 508 bytes
        assert result.match is True
        assert strict_server.slots[1] == image
        client.mark_for_test()
        assert strict_server.pending is False
        with pytest.raises(DeviceRejectedError, match="EBADSTATE"):
            client.confirm()  # a v1 'rc' error becomes a clear, named refusal
    uploads = [h for h in strict_server.requests if (h.group_id, h.command_id) == (1, 1)]
    assert len(uploads) >= len(image) // 508
    assert strict_server.largest <= StrictServer.BUF_SIZE - 4  # length prefix and CRC share the buffer
    assert all(h.version == smphdr.Version.V2 for h in strict_server.requests)  # the tool speaks v2

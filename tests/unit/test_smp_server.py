"""The virtual BMS's SMP server, driven with requests built by the `smp` package's own models."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import cbor2
import pytest
from smp.image_management import (
    ImageManagementErrorV2,
    ImageStatesReadRequest,
    ImageStatesReadResponse,
    ImageUploadWriteRequest,
)
from smp.os_management import (
    BootloaderInformationReadRequest,
    BootloaderInformationReadResponse,
    EchoWriteRequest,
    EchoWriteResponse,
    MCUMgrParametersReadRequest,
    MCUMgrParametersReadResponse,
)
from smp.settings_management import (
    ReadSettingRequest,
    ReadSettingResponse,
    SettingsManagementErrorV1,
    WriteSettingRequest,
)

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.smp.server import SmpServer


@pytest.fixture
def device() -> Iterator[VirtualBms]:
    with VirtualBms.create(SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0)) as bms:
        yield bms


@pytest.fixture
def server(device: VirtualBms) -> SmpServer:
    return SmpServer(device, buf_size=1024, buf_count=3)


def _ask(server: SmpServer, message: bytes) -> bytes:
    outcome = server.handle(message)
    assert outcome is not None
    return outcome.response


def _image(version: str = "1.1.0", size: int = 9000) -> bytes:
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    return build_image(os.urandom(size), version=FirmwareVersion.parse(version), security_counter=2, key=key)


def test_os_group(server: SmpServer) -> None:
    echo = EchoWriteResponse.loads(_ask(server, EchoWriteRequest(d="hello", sequence=41).BYTES))
    assert (echo.r, echo.header.sequence) == ("hello", 41)
    params = MCUMgrParametersReadResponse.loads(_ask(server, MCUMgrParametersReadRequest().BYTES))
    assert (params.buf_size, params.buf_count) == (1024, 3)
    info = BootloaderInformationReadResponse.loads(_ask(server, BootloaderInformationReadRequest().BYTES))
    assert info.bootloader == "MCUboot"
    # The MCUmgr specification (and Zephyr) answer the "mode" query with top-level fields.
    mode = cbor2.loads(_ask(server, BootloaderInformationReadRequest(query="mode").BYTES)[8:])
    assert mode == {"mode": 3, "no-downgrade": True}


def _raw(op: int, group: int, command: int, body: dict[str, object], *, version: int = 1) -> bytes:
    payload = cbor2.dumps(body)
    op_ver = op | (version << 3)
    return (
        bytes([op_ver, 0])
        + len(payload).to_bytes(2, "big")
        + group.to_bytes(2, "big")
        + bytes([9, command])
        + payload
    )


def test_unknown_group_and_command_are_enotsup(server: SmpServer) -> None:
    for message in (_raw(0, 99, 0, {}), _raw(0, 0, 42, {}), _raw(2, 72, 77, {})):
        answer = _ask(server, message)
        assert cbor2.loads(answer[8:])["rc"] == 8
        assert answer[6] == 9  # sequence echoed
        assert answer[0] & 0x07 in (1, 3)  # a response op


def test_error_format_follows_the_request_version(server: SmpServer) -> None:
    v2 = _ask(server, _raw(0, 3, 0, {"name": "bms/no_such_thing"}, version=1))
    assert cbor2.loads(v2[8:]) == {"err": {"group": 3, "rc": 3}}
    assert (v2[0] >> 3) & 0x03 == 1
    v1 = _ask(server, _raw(0, 3, 0, {"name": "bms/no_such_thing"}, version=0))
    assert SettingsManagementErrorV1.loads(v1).rc == 5  # ENOENT: v1 has no group errors
    assert (v1[0] >> 3) & 0x03 == 0
    too_new = _ask(server, _raw(0, 0, 6, {}, version=2))
    assert cbor2.loads(too_new[8:])["rc"] == 13


def test_settings_round_trip_keeps_the_type(server: SmpServer, device: VirtualBms) -> None:
    name = next(n for n, spec in device.config_schema().items() if spec.writable and spec.kind is int)
    current = device.config().parameters[name]
    answer = ReadSettingResponse.loads(_ask(server, ReadSettingRequest(name=f"bms/{name}").BYTES))
    assert cbor2.loads(answer.val) == current
    _ask(server, WriteSettingRequest(name=f"bms/{name}", val=cbor2.dumps(current)).BYTES)
    bad = _ask(server, WriteSettingRequest(name=f"bms/{name}", val=cbor2.dumps("text")).BYTES)
    assert cbor2.loads(bad[8:])["rc"] == 3  # EINVAL, with the device's reason
    read_only = next(n for n, spec in device.config_schema().items() if not spec.writable)
    refused = _ask(server, WriteSettingRequest(name=f"bms/{read_only}", val=cbor2.dumps(1)).BYTES)
    assert cbor2.loads(refused[8:]) == {"err": {"group": 3, "rc": 6}}


def _upload(
    server: SmpServer, image: bytes, off: int, size: int, *, first: bool = False
) -> dict[str, object]:
    if first:
        request = ImageUploadWriteRequest(
            off=off, data=image[off : off + size], len=len(image), sha=hashlib.sha256(image).digest(), image=0
        )
    else:
        request = ImageUploadWriteRequest(off=off, data=image[off : off + size])
    return dict(cbor2.loads(_ask(server, request.BYTES)[8:]))


def test_upload_wrong_offset_answers_the_expected_one_and_resume_works(server: SmpServer, device) -> None:
    image = _image()
    assert _upload(server, image, 0, 500, first=True) == {"off": 500}
    assert _upload(server, image, 1500, 500) == {"off": 500}  # a gap: dropped, expected offset given
    assert _upload(server, image, 500, 500) == {"off": 1000}
    assert _upload(server, image, 0, 500, first=True) == {"off": 1000}  # same sha at off 0: resume
    offset = 1000
    while offset < len(image):
        answer = _upload(server, image, offset, 700)
        offset = int(answer["off"])  # type: ignore[arg-type]
    assert answer == {"off": len(image), "match": True}
    assert device.image_bytes(1) == image
    state = ImageStatesReadResponse.loads(_ask(server, ImageStatesReadRequest().BYTES))
    assert [s.slot for s in state.images] == [0, 1]


def test_upload_errors_are_image_group_errors(server: SmpServer) -> None:
    image = _image()
    no_len = ImageUploadWriteRequest(off=0, data=image[:10], sha=hashlib.sha256(image).digest())
    err = ImageManagementErrorV2.loads(_ask(server, no_len.BYTES))
    assert int(err.err.rc) == 21  # INVALID_LENGTH
    huge = ImageUploadWriteRequest(off=0, data=b"", len=10**8, sha=hashlib.sha256(image).digest())
    assert int(ImageManagementErrorV2.loads(_ask(server, huge.BYTES)).err.rc) == 30


def test_recovery_answers_only_the_bootloader_subset() -> None:
    options = SimOptions(recovery=True, erase_time_s_per_sector=0.0, boot_time_s=0.0)
    with VirtualBms.create(options) as device:
        server = SmpServer(device)
        telemetry = _ask(server, _raw(0, 72, 1, {}))
        assert cbor2.loads(telemetry[8:])["rc"] == 8
        settings = _ask(server, ReadSettingRequest(name="bms/x").BYTES)
        assert cbor2.loads(settings[8:])["rc"] == 8
        assert EchoWriteResponse.loads(_ask(server, EchoWriteRequest(d="x").BYTES)).r == "x"
        image = _image()
        assert _upload(server, image, 0, len(image), first=True) == {"off": len(image), "match": True}
        assert device.image_bytes(0) == image  # recovery writes the primary slot


def test_no_power_no_answer(device: VirtualBms, server: SmpServer) -> None:
    device.power_off()
    assert server.handle(EchoWriteRequest(d="x").BYTES) is None
    assert server.handle(b"\x01\x02") is None


def test_config_schema_pages_add_up_to_the_whole_schema(server: SmpServer, device: VirtualBms) -> None:
    from bmsflasher.protocols.smp.codec import BmsCommand
    from bmsflasher.protocols.smp.messages import bms_read

    whole = cbor2.loads(_ask(server, bms_read(BmsCommand.CONFIG_SCHEMA, 1))[8:])
    assert "total" not in whole  # an unpaged request keeps the original answer
    pages: list[object] = []
    while True:
        page = cbor2.loads(_ask(server, bms_read(BmsCommand.CONFIG_SCHEMA, 2, {"start": len(pages)}))[8:])
        assert len(page["params"]) <= 1  # count defaults to one entry: a short frame
        pages.extend(page["params"])
        if len(pages) >= page["total"]:
            break
    assert pages == whole["params"]
    assert len(pages) == len(device.config_schema())
    bad = cbor2.loads(_ask(server, bms_read(BmsCommand.CONFIG_SCHEMA, 3, {"start": -1}))[8:])
    assert bad["rc"] == 3  # MGMT_ERR_EINVAL

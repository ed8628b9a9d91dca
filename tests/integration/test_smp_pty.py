"""The tool's SMP client against the virtual BMS over a real pty, paced at line rate."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bmsflasher.core.errors import LinkLostError, NoResponseError, UnsupportedOperationError
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import ConfigSnapshot, DeviceMode, FirmwareVersion
from bmsflasher.firmware.keys import load_private_key_file
from bmsflasher.firmware.mcuboot import build_image, parse_image
from bmsflasher.protocols.smp.target import SmpTarget
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd

FAST_BAUD = 921_600
SIM_OPTIONS = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0)


def signed_image(version: str, size: int = 24_000, *, counter: int = 2, seed: int = 0) -> bytes:
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    payload = hashlib.shake_256(f"{version}-{seed}".encode()).digest(size)
    return build_image(payload, version=FirmwareVersion.parse(version), security_counter=counter, key=key)


class Bench:
    """A device, its pty front-end, and a way to restart them."""

    def __init__(
        self, tmp_path: Path, options: SimOptions = SIM_OPTIONS, front: FrontEndOptions | None = None
    ):
        self.device = VirtualBms.create(options)
        self.front = SerialFrontEnd(self.device, front or FrontEndOptions(baud=FAST_BAUD)).start()

    @property
    def port(self) -> str:
        return self.front.port

    def close(self) -> None:
        self.front.stop()
        self.device.close()


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    rig = Bench(tmp_path)
    yield rig
    rig.close()


@pytest.fixture
def target(bench: Bench) -> Iterator[SmpTarget]:
    with SmpTarget.connect(bench.port, FAST_BAUD) as client:
        yield client


def test_identify_telemetry_dtcs_and_ping(bench: Bench, target: SmpTarget) -> None:
    identity = target.identify()
    expected = bench.device.identity()
    assert identity.serial_number == expected.serial_number
    assert identity.model == expected.model
    assert identity.firmware_version == expected.firmware_version
    assert identity.mode is DeviceMode.APPLICATION
    assert [s.image_hash for s in identity.slots] == [s.image_hash for s in expected.slots if s.version]
    telemetry = target.read_telemetry()
    assert telemetry.cell_count == 16
    assert abs(telemetry.cell_sum_mv - telemetry.pack_voltage_mv) < 200
    target.set_balancing(3, True)
    assert target.read_telemetry().balancing[3] is True
    target.set_balancing(3, False)
    assert isinstance(target.read_dtcs(), list)
    target.clear_dtcs()
    assert 0 < target.ping() < 0.5
    assert target.run_self_test().checks
    stats = target.link_stats()
    assert stats.requests >= 8
    assert stats.bytes_sent > 0
    assert stats.bytes_received > 0
    assert stats.timeouts == 0


def test_settings_backup_and_restore(bench: Bench, target: SmpTarget) -> None:
    backup = target.read_config()
    assert backup.parameters == dict(bench.device.config().parameters)
    _version, schema = target.config_schema()
    name = next(n for n, spec in schema.items() if spec.get("writable") and spec.get("type") == "int")
    spec = schema[name]
    changed = int(backup.parameters[name]) + 1
    if "max" in spec and changed > float(spec["max"]):  # type: ignore[arg-type]
        changed -= 2
    target.write_config(ConfigSnapshot(backup.schema_version, {name: changed}))
    assert bench.device.saved_config().parameters[name] == changed
    target.write_config(backup)  # restore, read-only parameters included (skipped)
    assert dict(bench.device.saved_config().parameters) == dict(backup.parameters)


def test_update_test_boot_confirm_and_rollback(bench: Bench, target: SmpTarget) -> None:
    image = signed_image("1.1.0", counter=1)  # same security counter as the factory image: rollback allowed
    progress: list[tuple[int, int]] = []
    result = target.upload(image, lambda done, total: progress.append((done, total)))
    assert result.match is True
    assert progress[-1] == (len(image), len(image))
    assert bench.device.image_bytes(1) == image
    target.mark_for_test()
    target.reset()
    identity = target.reconnect(10.0)
    assert identity.firmware_version == FirmwareVersion(1, 1, 0)
    assert identity.slots[0].confirmed is False  # test boot
    assert target.run_self_test().passed
    target.confirm()
    assert target.identify().slots[0].confirmed is True
    target.rollback()  # make the previous image permanent again and reboot into it
    assert target.reconnect(10.0).firmware_version == FirmwareVersion(1, 0, 0)


def test_recovery_mode_flash_of_a_unit_with_no_valid_image(tmp_path: Path) -> None:
    rig = Bench(tmp_path, replace(SIM_OPTIONS, recovery=True))
    try:
        with SmpTarget.connect(rig.port, FAST_BAUD) as client:
            identity = client.identify()
            assert identity.mode is DeviceMode.RECOVERY
            with pytest.raises(UnsupportedOperationError):
                client.read_telemetry()
            image = signed_image("1.2.0")
            client.upload(image)
            assert rig.device.image_bytes(0) == image  # the bootloader wrote the primary slot
            client.reset()
            identity = client.reconnect(10.0)
            assert identity.mode is DeviceMode.APPLICATION
            assert identity.firmware_version == FirmwareVersion(1, 2, 0)
            assert client.read_telemetry().cell_count == 16
    finally:
        rig.close()


def test_baud_mismatch_is_a_clear_no_answer_in_bounded_time(bench: Bench) -> None:
    started = time.monotonic()
    with pytest.raises(NoResponseError, match="at 9600 baud"):
        SmpTarget.connect(bench.port, 9600)
    assert time.monotonic() - started < 8.0
    assert bench.front.wire.stats.garbled_chunks > 0  # the device did hear junk, not silence


def test_bit_error_rate_1e4_still_completes_with_the_hash_verified(tmp_path: Path) -> None:
    front = FrontEndOptions(baud=FAST_BAUD, bit_error_rate=1e-4, seed=11)
    rig = Bench(tmp_path, front=front)
    try:
        with SmpTarget.connect(rig.port, FAST_BAUD) as client:
            image = signed_image("1.1.0", size=24_000)
            result = client.upload(image)  # verifies the slot's image hash after the transfer
            assert result.match is True
            assert rig.device.image_bytes(1) == image
            assert rig.front.wire.stats.bits_flipped > 10
            assert client.link_stats().retries + result.chunks_resent > 0
    finally:
        rig.close()


def test_cable_pull_mid_upload_then_resume(bench: Bench) -> None:
    image = signed_image("1.1.0", size=120_000)
    pulled = threading.Event()

    def pull_at_40_percent(done: int, total: int) -> None:
        if not pulled.is_set() and done > total * 0.4:
            pulled.set()
            bench.front.pull_cable(replug_after_s=0.5)

    with SmpTarget.connect(bench.port, FAST_BAUD, reconnect_timeout_s=0.0) as client:
        with pytest.raises(LinkLostError):
            client.upload(image, pull_at_40_percent)
        assert pulled.is_set()
        client.reconnect(10.0)  # the port re-appears as a new pty behind the same name
        result = client.upload(image)
        assert result.resumed_from > len(image) * 0.3  # resumed, not restarted
        assert result.match is True
    assert bench.device.image_bytes(1) == image


def test_cable_pull_is_survived_automatically(bench: Bench) -> None:
    image = signed_image("1.1.0", size=80_000)
    pulled = threading.Event()

    def pull_once(done: int, total: int) -> None:
        if not pulled.is_set() and done > total // 2:
            pulled.set()
            bench.front.pull_cable(replug_after_s=0.3)

    with SmpTarget.connect(bench.port, FAST_BAUD, reconnect_timeout_s=10.0) as client:
        result = client.upload(image, pull_once)
        assert pulled.is_set()
        assert result.resumed_from >= len(image) // 2 - 4096
    assert bench.device.image_bytes(1) == image


def _imgtool_sign(tmp_path: Path, version: str) -> bytes:
    raw = tmp_path / "app.bin"
    raw.write_bytes(hashlib.shake_256(b"interop").digest(30_000))
    out = tmp_path / "app.signed.bin"
    imgtool = Path(sys.executable).with_name("imgtool")
    subprocess.run(
        [
            str(imgtool), "sign",
            "--key", str(resource_path("demo", "demo-key.pem")),
            "--header-size", "0x200", "--pad-header", "--align", "8",
            "--version", version, "--slot-size", "0x40000", "--security-counter", "3",
            str(raw), str(out),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return out.read_bytes()


def test_standard_smpclient_uploads_an_imgtool_signed_image(bench: Bench, tmp_path: Path) -> None:
    from smpclient import SMPClient
    from smpclient.generics import success
    from smpclient.requests.image_management import ImageStatesRead
    from smpclient.transport.serial import SMPSerialTransport

    image = _imgtool_sign(tmp_path, "1.4.0")

    async def upload() -> list[int]:
        client = SMPClient(SMPSerialTransport(baudrate=FAST_BAUD), bench.port, timeout_s=3.0)
        await client.connect(5.0)
        try:
            offsets = [offset async for offset in client.upload(image)]
            state = await client.request(ImageStatesRead())
            assert success(state)
            assert state.images[1].hash == parse_image(image).declared_sha256
            return offsets
        finally:
            await client.disconnect()

    offsets = asyncio.run(upload())
    assert offsets[-1] == len(image)
    assert bench.device.image_bytes(1) == image
    assert bench.device.verify_slot(1)  # imgtool's signature verifies on the device
    with SmpTarget.connect(bench.port, FAST_BAUD) as client:
        client.mark_for_test()
        client.reset()
        assert client.reconnect(10.0).firmware_version == FirmwareVersion(1, 4, 0)


def test_resume_after_power_cycle_from_the_state_file(tmp_path: Path) -> None:
    options = replace(SIM_OPTIONS, state_file=tmp_path / "bms.flash")
    link = tmp_path / "ttyBMS"
    front = FrontEndOptions(baud=FAST_BAUD, link_path=str(link))
    image = signed_image("1.1.0", size=100_000)
    rig = Bench(tmp_path, options, front)
    stop_at = threading.Event()

    def cut_power(done: int, total: int) -> None:
        if not stop_at.is_set() and done > total * 0.6:
            stop_at.set()
            rig.front.pull_cable()  # power and cable gone: the process is about to stop

    try:
        with SmpTarget.connect(str(link), FAST_BAUD, reconnect_timeout_s=0.0) as client:
            with pytest.raises(LinkLostError):
                client.upload(image, cut_power)
    finally:
        rig.close()
    rig = Bench(tmp_path, options, front)  # a new process on the same flash: a power cycle
    try:
        with SmpTarget.connect(str(link), FAST_BAUD) as client:
            result = client.upload(image)
            assert result.resumed_from >= 4096  # whole sectors survived in flash
            assert rig.device.image_bytes(1) == image
    finally:
        rig.close()
    assert not os.path.exists(link)

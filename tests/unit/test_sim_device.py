"""The virtual BMS device: identity, bootloader semantics, behaviours, uploads, modes, persistence."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from bmsflasher.core.errors import DowngradeError, SignatureError
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import DeviceMode, FirmwareVersion
from bmsflasher.sim.device.dtcs import BOOT_FAILURE_DTC
from bmsflasher.sim.device.scenarios import fast_options, full_update, make_image, small_geometry, upload
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import (
    SimDowngradeError,
    SimError,
    SimImageRejectedError,
    SimModeError,
    SimPoweredOffError,
    SimStateError,
    SimUploadError,
)
from bmsflasher.sim.options import SimOptions


@dataclass(frozen=True)
class Images:
    folder: Path
    factory: Path
    v1: bytes
    v2: bytes
    v3: bytes
    boot_loop: bytes
    selftest_fail: bytes
    offset: bytes
    slow_link: bytes
    foreign: bytes


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Images:
    folder = tmp_path_factory.mktemp("images")
    v1 = make_image("1.0.0", security_counter=1, code_size=3000)
    factory = folder / "factory.img"
    factory.write_bytes(v1)
    return Images(
        folder=folder,
        factory=factory,
        v1=v1,
        v2=make_image("1.1.0", security_counter=2, code_size=4100),
        v3=make_image("2.0.0", security_counter=3, code_size=3500),
        boot_loop=make_image("1.2.1", security_counter=2, code_size=3000, behaviour="boot-loop"),
        selftest_fail=make_image("1.2.0", security_counter=2, code_size=3000, behaviour="selftest-fail"),
        offset=make_image("1.3.0", security_counter=2, code_size=3000, behaviour="voltage-offset:2.0"),
        slow_link=make_image("1.4.0", security_counter=2, code_size=3000, behaviour="slow-link"),
        foreign=make_image(
            "9.0.0",
            security_counter=9,
            code_size=3000,
            signing_key=resource_path("demo", "demo-key-ed25519.pem"),
        ),
    )


@pytest.fixture
def device(images: Images) -> Iterator[VirtualBms]:
    dev = VirtualBms.create(fast_options(images.factory, small_geometry()))
    yield dev
    dev.close()


def version(dev: VirtualBms) -> str:
    return str(dev.identity().firmware_version)


# --- identity --------------------------------------------------------------------------------
def test_new_device_identity_matches_the_factory(device: VirtualBms) -> None:
    identity = device.identity()
    assert identity.model == "VBMS-16"
    assert identity.hardware_revision == "C"
    assert identity.bootloader_version == FirmwareVersion(2, 1, 0)
    assert identity.firmware_version == FirmwareVersion(1, 0, 0)
    assert identity.mode is DeviceMode.APPLICATION
    assert identity.serial_number == "VB2400001"
    assert identity.security_counter == 1
    slot0, slot1 = identity.slots
    assert slot0.active
    assert slot0.confirmed
    assert slot0.bootable
    assert slot1.version is None
    assert device.behaviour == "healthy"


def test_default_options_use_the_shipped_demo_factory_image() -> None:
    with VirtualBms.create(replace(SimOptions(), erase_time_s_per_sector=0.0)) as dev:
        assert dev.identity().firmware_version == FirmwareVersion(1, 0, 0)
        assert dev.verify_slot(0)


def test_security_secret_is_hmac_of_the_serial(device: VirtualBms) -> None:
    master = bytes.fromhex(resource_path("demo", "security-master.key").read_text().strip())
    expected = hmac.new(master, b"VB2400001", hashlib.sha256).digest()
    assert device.security_secret == expected


def test_several_devices_at_once_are_independent(images: Images) -> None:
    base = fast_options(images.factory, small_geometry())
    first = VirtualBms.create(replace(base, seed=1))
    second = VirtualBms.create(replace(base, seed=2, cells=8))
    try:
        assert first.serial_number != second.serial_number
        assert second.identity().model == "VBMS-8"
        full_update(first, images.v2)
        assert version(first) == "1.1.0"
        assert version(second) == "1.0.0"
        assert first.security_secret != second.security_secret
    finally:
        first.close()
        second.close()


# --- MCUboot semantics -----------------------------------------------------------------------
def test_test_boot_then_confirm_raises_the_counter_only_on_confirm(
    device: VirtualBms, images: Images
) -> None:
    upload(device, images.v2)
    device.mark_pending()
    assert device.slots()[1].pending
    device.reset()
    assert version(device) == "1.1.0"
    slot0, slot1 = device.slots()
    assert not slot0.confirmed  # on test
    assert slot1.confirmed  # the image a revert would restore
    assert device.identity().security_counter == 1
    device.confirm()
    assert device.identity().security_counter == 2
    device.reset()
    assert version(device) == "1.1.0"


def test_unconfirmed_image_is_reverted_at_the_next_reset(device: VirtualBms, images: Images) -> None:
    upload(device, images.v2)
    device.mark_pending()
    device.reset()
    device.reset()
    assert version(device) == "1.0.0"
    assert device.slots()[0].confirmed
    assert device.image_bytes(1) == images.v2
    assert any(d.code == BOOT_FAILURE_DTC for d in device.dtcs())


def test_unconfirmed_image_is_reverted_after_a_power_cycle(device: VirtualBms, images: Images) -> None:
    upload(device, images.v2)
    device.mark_pending()
    device.reset()
    device.power_cycle()
    assert version(device) == "1.0.0"


def test_permanent_request_needs_no_confirm(device: VirtualBms, images: Images) -> None:
    upload(device, images.v2)
    device.mark_pending(permanent=True)
    assert device.slots()[1].permanent
    device.reset()
    assert device.slots()[0].confirmed
    assert device.identity().security_counter == 2
    device.reset()
    assert version(device) == "1.1.0"


def test_boot_loop_image_reverts_after_three_attempts(device: VirtualBms, images: Images) -> None:
    upload(device, images.boot_loop)
    device.mark_pending()
    device.reset()
    assert version(device) == "1.0.0"
    assert device.mode is DeviceMode.APPLICATION
    assert device.image_bytes(1) == images.boot_loop
    assert device.boot_state.boot_failures == 0
    assert device.identity().security_counter == 1
    assert any(d.code == BOOT_FAILURE_DTC for d in device.dtcs())


def test_permanent_boot_loop_image_falls_back_to_the_other_slot(device: VirtualBms, images: Images) -> None:
    upload(device, images.boot_loop)
    device.mark_pending(permanent=True)
    device.reset()
    assert version(device) == "1.0.0"
    assert device.identity().security_counter == 1  # never raised: the image never came up


def test_manual_rollback_and_its_anti_rollback_limit(device: VirtualBms, images: Images) -> None:
    full_update(device, images.v2)
    with pytest.raises(SimDowngradeError, match="anti-rollback"):
        device.rollback()  # v1 has counter 1 < stored 2
    # Same counter: rollback allowed
    same = make_image("1.0.1", security_counter=2, code_size=2000)
    upload(device, same)
    full_update(device, images.v3)  # v3 runs, slot 1 holds v2 (counter 2 < 3) → refused
    with pytest.raises(DowngradeError):
        device.rollback()


def test_rollback_to_an_equal_counter_image(device: VirtualBms, images: Images) -> None:
    same_counter = make_image("1.0.5", security_counter=1, code_size=2500)
    full_update(device, same_counter)
    device.rollback()
    device.reset()
    assert version(device) == "1.0.0"
    assert device.slots()[0].confirmed


def test_anti_rollback_stored_30_refuses_counter_0(images: Images) -> None:
    high = make_image("5.0.0", security_counter=30, code_size=2000)
    factory = images.folder / "factory-30.img"
    factory.write_bytes(high)
    zero = make_image("6.0.0", security_counter=0, code_size=2000)
    with VirtualBms.create(fast_options(factory, small_geometry())) as dev:
        assert dev.identity().security_counter == 30
        upload(dev, zero)
        assert not dev.verify_slot(1)
        assert "anti-rollback" in (dev.image_problem(1) or "")
        with pytest.raises(SimDowngradeError) as refused:
            dev.mark_pending()
        assert isinstance(refused.value, DowngradeError)
        assert dev.identity().security_counter == 30
        dev.reset()
        assert dev.identity().security_counter == 30
        assert str(dev.identity().firmware_version) == "5.0.0"
        # The bootloader itself refuses it too, even written straight into the primary slot.
        dev.enter_bootloader()
        upload(dev, zero, slot=0)
        dev.reset()
        assert dev.mode is DeviceMode.RECOVERY
        assert "anti-rollback" in dev.recovery_reason
        assert dev.identity().security_counter == 30


def test_foreign_signature_is_refused(device: VirtualBms, images: Images) -> None:
    upload(device, images.foreign)
    assert not device.verify_slot(1)
    with pytest.raises(SimImageRejectedError) as refused:
        device.mark_pending()
    assert isinstance(refused.value, SignatureError)


def test_bit_flip_in_the_primary_image_leaves_recovery_mode_then_recovery_upload_fixes_it(
    device: VirtualBms, images: Images
) -> None:
    g = device.flash.geometry
    device.flash.flip_bits(1, g.slot_offset(0) + 600, 100)
    device.reset()
    assert device.mode is DeviceMode.RECOVERY
    assert device.identity().firmware_version is None
    with pytest.raises(SimModeError):
        device.telemetry()
    upload(device, images.v2, slot=0)
    device.reset()
    assert device.mode is DeviceMode.APPLICATION
    assert version(device) == "1.1.0"
    assert device.identity().security_counter == 2


def test_recovery_option_starts_without_image(images: Images) -> None:
    options = replace(fast_options(images.factory, small_geometry()), recovery=True)
    with VirtualBms.create(options) as dev:
        assert dev.mode is DeviceMode.RECOVERY
        assert not dev.slots()[0].bootable
        upload(dev, images.v1, slot=0)
        dev.reset()
        assert dev.mode is DeviceMode.APPLICATION


# --- uploads ---------------------------------------------------------------------------------
def test_upload_errors_are_specific(device: VirtualBms, images: Images) -> None:
    image = images.v2
    with pytest.raises(SimUploadError, match="no upload"):
        device.upload_write(0, image[:10])
    sha = hashlib.sha256(image).digest()
    assert device.upload_begin(len(image), sha) == 0
    with pytest.raises(SimUploadError, match="expects offset 0"):
        device.upload_write(5, image[5:10])
    with pytest.raises(SimUploadError, match="does not fit"):
        device.upload_begin(10**9, sha)
    with pytest.raises(SimModeError, match="primary slot"):
        device.upload_begin(len(image), sha, slot=0)
    with pytest.raises(SimUploadError, match="slot 2"):
        device.upload_begin(len(image), sha, slot=2)
    device.upload_begin(len(image), hashlib.sha256(b"other").digest())
    with pytest.raises(SimUploadError, match="SHA-256"):
        device.upload_write(0, image)


def test_upload_resumes_in_ram_and_after_reset(device: VirtualBms, images: Images) -> None:
    image = images.v2
    sha = hashlib.sha256(image).digest()
    device.upload_begin(len(image), sha)
    device.upload_write(0, image[:2500])
    assert device.upload_status().offset == 2500
    assert device.upload_begin(len(image), sha) == 2500
    device.reset()
    assert not device.upload_status().active
    held = device.upload_begin(len(image), sha)
    assert held == 2048  # whole sectors before the one being written
    offset = held
    while offset < len(image):
        offset = device.upload_write(offset, image[offset : offset + 700])
    assert device.upload_status().complete
    assert device.verify_slot(1)


def test_uploading_again_after_a_swap_never_resumes_stale_data(device: VirtualBms, images: Images) -> None:
    # Found by the random-cuts machine: the upload record outlived the swap that moved the image.
    upload(device, images.v2)
    device.mark_pending()
    device.power_cycle()
    device.confirm()
    upload(device, images.v2)  # slot 1 now holds v1: this must start again from 0
    assert device.image_bytes(1) == images.v2
    sha = hashlib.sha256(images.v2).digest()
    assert device.upload_begin(len(images.v2), sha) == len(images.v2)


def test_cut_new_upload_never_resumes_onto_the_previous_image(device: VirtualBms, images: Images) -> None:
    # Found by the random-cuts machine: a new upload's record landed before its area was erased.
    upload(device, images.v2)
    for k in range(1, 8):
        device.flash.faults.cut_before_op = device.flash.ops_done + k
        with pytest.raises(SimPoweredOffError):
            upload(device, images.v3)
        device.flash.faults.clear()
        device.power_on()
        upload(device, images.v3)
        assert device.image_bytes(1) == images.v3
        upload(device, images.v2)


def test_upload_over_the_revert_image_is_refused_while_on_test(device: VirtualBms, images: Images) -> None:
    upload(device, images.v2)
    device.mark_pending()
    device.reset()
    with pytest.raises(SimStateError, match="on test"):
        upload(device, images.v3)
    with pytest.raises(SimStateError):
        device.erase_slot(1)


def test_erase_slot_clears_image_and_pending_request(device: VirtualBms, images: Images) -> None:
    upload(device, images.v2)
    device.mark_pending()
    device.erase_slot(1)
    assert device.slots()[1].version is None
    assert not device.slots()[1].pending
    device.reset()
    assert version(device) == "1.0.0"


def test_erase_takes_time_proportional_to_size(images: Images) -> None:
    import time

    options = replace(fast_options(images.factory, small_geometry()), erase_time_s_per_sector=0.004)
    with VirtualBms.create(options) as dev:
        upload(dev, images.v2)  # 5 sectors written
        start = time.monotonic()
        dev.erase_slot(1)
        elapsed = time.monotonic() - start
    assert 5 * 0.004 <= elapsed < 2.0


# --- behaviours and self-test ----------------------------------------------------------------
def test_healthy_self_test_passes(device: VirtualBms) -> None:
    result = device.self_test()
    assert result.passed
    assert {c.name for c in result.checks} >= {
        "voltage_calibration",
        "temperature_sensors",
        "balancing_circuit",
    }


def test_selftest_fail_behaviour_fails_its_self_test(device: VirtualBms, images: Images) -> None:
    full_update(device, images.selftest_fail)
    assert device.behaviour == "selftest-fail"
    result = device.self_test()
    assert not result.passed
    assert [c.name for c in result.checks if not c.passed] == ["balancing_circuit"]


def test_voltage_offset_behaviour_breaks_calibration_beyond_half_a_percent(
    device: VirtualBms, images: Images
) -> None:
    before = device.telemetry().pack_voltage_mv
    upload(device, images.offset)
    device.mark_pending()
    device.reset()
    after = device.telemetry().pack_voltage_mv
    assert after == pytest.approx(before * 1.02, rel=0.002)
    check = next(c for c in device.self_test().checks if c.name == "voltage_calibration")
    assert not check.passed
    assert "+2.0" in check.measured


def test_slow_link_behaviour_is_reported(device: VirtualBms, images: Images) -> None:
    full_update(device, images.slow_link)
    assert device.behaviour == "slow-link"
    device.enter_bootloader()
    assert device.behaviour == "healthy"  # the bootloader is not the application


# --- modes, power, listeners, persistence ----------------------------------------------------
def test_bootloader_mode_keeps_config_and_refuses_telemetry(device: VirtualBms) -> None:
    device.enter_bootloader()
    assert device.mode is DeviceMode.BOOTLOADER
    assert device.config().schema_version == 1
    with pytest.raises(SimModeError, match="bootloader mode"):
        device.telemetry()
    with pytest.raises(SimModeError):
        device.confirm()
    device.reset()
    assert device.mode is DeviceMode.APPLICATION


def test_power_cut_turns_the_device_off_until_power_on(device: VirtualBms, images: Images) -> None:
    device.flash.faults.cut_before_op = device.flash.ops_done + 3
    with pytest.raises(SimPoweredOffError):
        upload(device, images.v2)
    assert not device.powered
    with pytest.raises(SimPoweredOffError):
        device.identity()
    device.flash.faults.clear()
    device.power_on()
    assert version(device) == "1.0.0"


def test_reset_listeners_run_after_each_reboot_outside_the_lock(device: VirtualBms) -> None:
    seen: list[DeviceMode] = []

    def listener() -> None:
        result: list[DeviceMode] = []
        worker = threading.Thread(target=lambda: result.append(device.mode))
        worker.start()
        worker.join(2)
        seen.extend(result)

    device.add_reset_listener(listener)
    device.reset()
    device.power_cycle()
    device.remove_reset_listener(listener)
    device.reset()
    assert seen == [DeviceMode.APPLICATION, DeviceMode.APPLICATION]


def test_restart_on_the_state_file_is_a_power_cycle(tmp_path: Path, images: Images) -> None:
    state = tmp_path / "bms.state"
    options = fast_options(images.factory, small_geometry(), state_file=state)
    with VirtualBms.create(options) as dev:
        dev.set_parameters({"can_node_id": 42})
        dev.save_config()
        upload(dev, images.v2)
        dev.mark_pending()
        dev.reset()
        dev.confirm()
    with VirtualBms.create(replace(options, serial_number="IGNORED", soc_pct=30)) as dev:
        assert version(dev) == "1.1.0"
        assert dev.serial_number == "VB2400001"  # flash wins over options for identity
        assert dev.config().parameters["can_node_id"] == 42
        assert dev.identity().security_counter == 2
        assert dev.telemetry().soc_pct == pytest.approx(30, abs=0.1)  # the scenario comes from options


def test_bad_options_give_one_sentence(images: Images, tmp_path: Path) -> None:
    base = fast_options(images.factory, small_geometry())
    with pytest.raises(SimError, match="cell count"):
        VirtualBms.create(replace(base, cells=513))
    with pytest.raises(SimError, match="factory image"):
        VirtualBms.create(replace(base, factory_image=tmp_path / "missing.img"))
    with pytest.raises(SimError, match="weak cell"):
        VirtualBms.create(replace(base, weak_cell=99))
    bad_key = tmp_path / "key.pem"
    bad_key.write_text("not a key")
    with pytest.raises(SimError, match="trusted key"):
        VirtualBms.create(replace(base, trusted_key=bad_key))


def test_another_trusted_key(images: Images) -> None:
    foreign_factory = images.folder / "foreign.img"
    foreign_factory.write_bytes(images.foreign)
    options = replace(
        fast_options(foreign_factory, small_geometry()),
        trusted_key=resource_path("demo", "demo-key-ed25519.pub.pem"),
    )
    with VirtualBms.create(options) as dev:
        assert dev.mode is DeviceMode.APPLICATION
        assert version(dev) == "9.0.0"
        upload(dev, images.v2)  # signed with the ECDSA demo key: not trusted here
        assert not dev.verify_slot(1)

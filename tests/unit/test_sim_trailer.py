"""MCUboot image trailers on the virtual BMS: an ``imgtool sign --pad`` image asks for its own swap.

A padded image placed in the secondary slot is test-booted at the next reset without any SMP or
UDS "test" command and reverted unless confirmed; ``--pad --confirm`` is booted for good. The
images come from imgtool itself (its CLI for the layout check, its library elsewhere), signed with
the demo key for the sim's slot size. A power cut anywhere in the trailer-triggered swap, or in the
erase of a refused image, must leave a device that still ends in the state MCUboot would reach.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
import pytest
from smp import image_management as smpimg
from smp import os_management as smpos

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import DeviceMode
from bmsflasher.sim.device.dtcs import BOOT_FAILURE_DTC
from bmsflasher.sim.device.scenarios import (
    demo_signing_key,
    fast_options,
    firmware_code,
    make_image,
    small_geometry,
    upload,
)
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimPoweredOffError
from bmsflasher.sim.flash.bootstate import SwapRequest
from bmsflasher.sim.flash.images import build_signed_image, parse_image
from bmsflasher.sim.flash.memory import Flash
from bmsflasher.sim.flash.trailer import BOOT_MAGIC, max_image_size, read_request, trailer_erased
from bmsflasher.sim.options import FlashGeometry
from bmsflasher.sim.smp.server import SmpServer

GEOMETRY = small_geometry()  # 16 × 1 KiB slots, 8-byte writes
OLD_COUNTER = 3
NEW_COUNTER = 4


def padded(
    version: str = "1.1.0",
    *,
    confirm: bool = False,
    code_size: int = 7300,
    counter: int = NEW_COUNTER,
    key: Path | None = None,
    geometry: FlashGeometry = GEOMETRY,
    max_sectors: int | None = None,
) -> bytes:
    """An image signed and padded by imgtool's library, as ``imgtool sign --pad [--confirm]``."""
    return build_signed_image(
        firmware_code(code_size, 11),
        version,
        key or demo_signing_key(),
        security_counter=counter,
        pad_to_slot_size=geometry.slot_size,
        confirm=confirm,
        align=geometry.write_size,
        max_sectors=max_sectors,
    )


def unpadded(image: bytes) -> bytes:
    """The image without its padding and trailer (what the device reports as the slot's image)."""
    return image[: parse_image(image).total_size]


def last_sector_image() -> bytes:
    """A padded image whose bytes reach into the slot's last sector (imgtool's trailer kept small)."""
    g = GEOMETRY
    code_size = g.slot_size - g.sector_size - 0x200 + 200  # header + code alone pass the boundary
    return padded(code_size=code_size, max_sectors=g.slot_sectors)


OLD = make_image("1.0.0", security_counter=OLD_COUNTER, code_size=5000)
NEW_TEST = padded()
NEW_PERMANENT = padded(confirm=True)


@pytest.fixture
def factory(tmp_path: Path) -> Path:
    path = tmp_path / "factory.img"
    path.write_bytes(OLD)
    return path


@pytest.fixture
def device(factory: Path) -> Iterator[VirtualBms]:
    with VirtualBms.create(fast_options(factory, GEOMETRY)) as bms:
        yield bms


def running(device: VirtualBms) -> tuple[bytes, bool]:
    """(image in slot 0, confirmed) of the running device."""
    assert device.mode is DeviceMode.APPLICATION, device.recovery_reason
    return device.image_bytes(0), device.slots()[0].confirmed


# --- the trailer layout, checked against imgtool's CLI -------------------------------------------
@pytest.mark.parametrize(
    ("flags", "expected"),
    [(["--pad"], SwapRequest.TEST), (["--pad", "--confirm"], SwapRequest.PERMANENT)],
    ids=["pad", "pad-confirm"],
)
def test_imgtool_cli_trailer_is_read_as_mcuboot_does(
    tmp_path: Path, device: VirtualBms, flags: list[str], expected: SwapRequest
) -> None:
    raw = tmp_path / "app.bin"
    raw.write_bytes(firmware_code(6000, 3))
    out = tmp_path / "app.signed.bin"
    imgtool = Path(sys.executable).with_name("imgtool")
    subprocess.run(
        [
            str(imgtool), "sign", "--key", str(resource_path("demo", "demo-key.pem")),
            "--header-size", "0x200", "--pad-header", "--align", str(GEOMETRY.write_size),
            "--version", "1.2.0", "--security-counter", str(NEW_COUNTER),
            "--slot-size", hex(GEOMETRY.slot_size), *flags, str(raw), str(out),
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    image = out.read_bytes()
    assert len(image) == GEOMETRY.slot_size
    assert image[-16:] == BOOT_MAGIC  # boot_img_magic at the slot's end
    assert image[-24] == (0x01 if expected is SwapRequest.PERMANENT else 0xFF)  # image_ok
    flash = Flash(GEOMETRY)
    flash.write(GEOMETRY.slot_offset(1), image)
    assert read_request(flash, 1) is expected
    assert read_request(flash, 0) is SwapRequest.NONE  # an erased slot asks for nothing
    server = smp_upload_and_reset(device, image)  # the CLI's image, end to end
    primary = smp(server, smpimg.ImageStatesReadRequest())["images"][0]
    assert (primary["version"], primary["confirmed"]) == ("1.2.0", expected is SwapRequest.PERMANENT)


@pytest.mark.parametrize("write_size", [16, 32])
def test_wide_flash_uses_the_aligned_magic(write_size: int) -> None:
    """With BOOT_MAX_ALIGN above 8 MCUboot's magic starts with the alignment; image_ok moves too."""
    geometry = FlashGeometry(sector_size=1024, write_size=write_size, slot_sectors=16)
    image = padded(confirm=True, geometry=geometry, max_sectors=geometry.slot_sectors)
    assert image[-16:-14] == write_size.to_bytes(2, "little")
    assert image[-16:] != BOOT_MAGIC
    flash = Flash(geometry)
    flash.write(geometry.slot_offset(1), image)
    assert read_request(flash, 1) is SwapRequest.PERMANENT
    bad_flag = bytearray(image)
    bad_flag[-(max(16, write_size) + write_size)] = 0x00  # image_ok neither erased nor 0x01
    flash = Flash(geometry)
    flash.write(geometry.slot_offset(1), bytes(bad_flag))
    assert read_request(flash, 1) is SwapRequest.NONE


# --- behaviour at reset ----------------------------------------------------------------------------
def test_padded_image_test_boots_and_reverts_unless_confirmed(device: VirtualBms) -> None:
    upload(device, NEW_TEST)
    secondary = device.slots()[1]
    assert (secondary.pending, secondary.permanent) == (True, False)
    device.reset()  # no mark_pending: the trailer asks for the test swap
    assert running(device) == (unpadded(NEW_TEST), False)
    assert device.image_bytes(1) == OLD
    assert trailer_erased(device.flash, 1)  # the request is consumed
    assert not device.slots()[1].pending
    device.reset()  # not confirmed: reverted
    assert running(device) == (OLD, True)
    assert device.image_bytes(1) == unpadded(NEW_TEST)
    assert BOOT_FAILURE_DTC in {dtc.code for dtc in device.dtcs()}
    device.reset()  # the consumed trailer never asks again
    assert running(device) == (OLD, True)
    assert not device.slots()[1].pending


def test_padded_image_confirmed_after_its_test_boot_stays(device: VirtualBms) -> None:
    upload(device, NEW_TEST)
    device.reset()
    device.confirm()
    device.reset()
    assert running(device) == (unpadded(NEW_TEST), True)
    assert device.identity().security_counter == NEW_COUNTER


def test_padded_confirmed_image_is_a_permanent_upgrade(device: VirtualBms) -> None:
    upload(device, NEW_PERMANENT)
    secondary = device.slots()[1]
    assert (secondary.pending, secondary.permanent) == (True, True)
    device.reset()
    assert running(device) == (unpadded(NEW_PERMANENT), True)
    assert device.identity().security_counter == NEW_COUNTER  # raised when it first came up
    device.reset()
    assert running(device) == (unpadded(NEW_PERMANENT), True)
    assert device.image_bytes(1) == OLD
    assert not device.slots()[1].pending


def test_trailer_wins_over_a_test_request(device: VirtualBms) -> None:
    """MCUboot's boot_set_pending leaves a slot whose trailer already asks for a swap alone."""
    upload(device, NEW_PERMANENT)
    device.mark_pending(permanent=False)
    assert device.slots()[1].permanent
    device.reset()
    device.reset()
    assert running(device) == (unpadded(NEW_PERMANENT), True)


def test_image_without_trailer_still_needs_a_request(device: VirtualBms) -> None:
    new = make_image("1.1.0", security_counter=NEW_COUNTER, code_size=7300)
    upload(device, new)
    assert not device.slots()[1].pending
    device.reset()
    assert running(device) == (OLD, True)
    device.mark_pending()
    device.reset()
    assert running(device) == (new, False)


def test_new_upload_erases_an_earlier_padded_images_trailer(device: VirtualBms) -> None:
    upload(device, NEW_TEST)
    smaller = make_image("1.2.0", security_counter=NEW_COUNTER, code_size=3000)
    upload(device, smaller)
    assert trailer_erased(device.flash, 1)
    assert not device.slots()[1].pending
    device.reset()
    assert running(device) == (OLD, True)


@pytest.mark.parametrize(
    "image",
    [
        padded(counter=OLD_COUNTER - 1),  # below the stored security counter
        padded(key=resource_path("demo", "demo-key-ed25519.pem")),  # not the trusted key
    ],
    ids=["downgrade", "foreign-key"],
)
def test_refused_padded_image_is_erased_not_booted(device: VirtualBms, image: bytes) -> None:
    upload(device, image)
    assert device.slots()[1].pending
    device.reset()
    assert running(device) == (OLD, True)
    g = GEOMETRY
    assert device.flash.is_erased(g.slot_offset(1), g.slot_size)  # as MCUboot, not tried again
    assert not device.slots()[1].pending
    assert BOOT_FAILURE_DTC not in {dtc.code for dtc in device.dtcs()}


def test_image_reaching_the_last_sector_swaps_without_its_trailer(factory: Path) -> None:
    """A swap of the slot's last sector copies only the bytes below the trailer."""
    g = GEOMETRY
    big = last_sector_image()
    assert parse_image(big).total_size > g.slot_size - g.sector_size  # data in the last sector
    with VirtualBms.create(fast_options(factory, g)) as device:
        upload(device, big)
        device.reset()
        assert running(device) == (unpadded(big), False)
        assert trailer_erased(device.flash, 0)
        assert trailer_erased(device.flash, 1)
        device.reset()
        assert running(device) == (OLD, True)
        assert device.image_bytes(1) == unpadded(big)
        assert not device.slots()[1].pending


def test_image_overlapping_the_trailer_is_refused(device: VirtualBms) -> None:
    g = GEOMETRY
    overhead = len(make_image("1.3.0", security_counter=NEW_COUNTER, code_size=1000)) - 1000
    code_size = max_image_size(g) - overhead + 24  # header + code + TLVs end inside the trailer
    image = make_image("1.3.0", security_counter=NEW_COUNTER, code_size=code_size)
    assert max_image_size(g) < len(image) <= g.slot_size
    upload(device, image)
    assert "trailer" in (device.image_problem(1) or "")


# --- over SMP: upload, reset, nothing else ---------------------------------------------------------
def smp(server: SmpServer, request: Any) -> dict[str, Any]:
    outcome = server.handle(request.BYTES)
    assert outcome is not None
    body: dict[str, Any] = cbor2.loads(outcome.response[8:])
    return body


def smp_upload_and_reset(device: VirtualBms, image: bytes) -> SmpServer:
    server = SmpServer(device)
    sha = hashlib.sha256(image).digest()
    offset = 0
    while offset < len(image):
        fields: dict[str, Any] = {"off": offset, "data": image[offset : offset + 256]}
        if offset == 0:
            fields.update(len=len(image), sha=sha)
        offset = smp(server, smpimg.ImageUploadWriteRequest(**fields))["off"]
    outcome = server.handle(smpos.ResetWriteRequest().BYTES)
    assert outcome is not None
    assert outcome.reset_after
    device.reset()  # what the front-end does once the answer has left
    return server


def test_smp_upload_of_padded_image_then_reset_boots_it_on_test(device: VirtualBms) -> None:
    server = smp_upload_and_reset(device, NEW_TEST)
    primary = smp(server, smpimg.ImageStatesReadRequest())["images"][0]
    assert (primary["version"], primary["confirmed"], primary["active"]) == ("1.1.0", False, True)
    device.reset()
    primary = smp(server, smpimg.ImageStatesReadRequest())["images"][0]
    assert (primary["version"], primary["confirmed"]) == ("1.0.0", True)


def test_smp_upload_of_padded_confirmed_image_then_reset_is_permanent(device: VirtualBms) -> None:
    server = smp_upload_and_reset(device, NEW_PERMANENT)
    device.reset()
    images = smp(server, smpimg.ImageStatesReadRequest())["images"]
    assert (images[0]["version"], images[0]["confirmed"]) == ("1.1.0", True)
    assert (images[1]["version"], images[1]["pending"]) == ("1.0.0", False)


# --- power cuts ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CutBench:
    """A device state just after the upload of a padded image, before the reset that swaps it."""

    factory: Path
    snapshot: bytes
    new: bytes

    def device(self) -> VirtualBms:
        return VirtualBms.create(
            fast_options(self.factory, GEOMETRY), flash_contents=self.snapshot, powered=False
        )

    def boot_ops(self) -> int:
        """Flash operations of the uninterrupted power-on that swaps the image in."""
        with self.device() as device:
            device.power_on()
            assert running(device) == (unpadded(self.new), False)
            return device.flash.ops_done


def cut_bench(factory: Path, image: bytes) -> CutBench:
    with VirtualBms.create(fast_options(factory, GEOMETRY)) as device:
        upload(device, image)
        device.power_off()
        return CutBench(factory, device.flash.snapshot(), image)


@pytest.mark.parametrize("tear", [False, True], ids=["cut", "torn"])
@pytest.mark.parametrize("size", ["small", "last-sector"])
def test_power_cut_during_trailer_triggered_swap(factory: Path, tear: bool, size: str) -> None:
    """Cut (or tear) every operation of the swap: the next power-on still ends on test, then reverts."""
    image = NEW_TEST if size == "small" else last_sector_image()
    bench = cut_bench(factory, image)
    total = bench.boot_ops()
    assert total > 40  # the sweep covers a real swap
    for k in range(1, total + 1):
        with bench.device() as device:
            if tear:
                device.flash.faults.tear_op = k
            else:
                device.flash.faults.cut_before_op = k
            with pytest.raises(SimPoweredOffError):
                device.power_on()
            device.flash.faults.clear()
            device.power_on()
            assert running(device) == (unpadded(image), False), f"op {k}"
            assert device.image_bytes(1) == OLD, f"op {k}"
            assert trailer_erased(device.flash, 1), f"op {k}"
            device.reset()
            assert running(device) == (OLD, True), f"op {k}"
            assert device.image_bytes(1) == unpadded(image), f"op {k}"
            assert not device.slots()[1].pending, f"op {k}"


def test_power_cut_while_erasing_a_refused_image(factory: Path) -> None:
    bench = cut_bench(factory, padded(counter=OLD_COUNTER - 1))
    with bench.device() as device:
        device.power_on()
        total = device.flash.ops_done
    assert total > 5  # the image's sectors and the trailer's are erased one by one
    for k in range(1, total + 1):
        with bench.device() as device:
            device.flash.faults.tear_op = k
            with pytest.raises(SimPoweredOffError):
                device.power_on()
            device.flash.faults.clear()
            device.power_on()
            assert running(device) == (OLD, True), f"op {k}"
            assert not device.slots()[1].pending, f"op {k}"
            device.reset()
            assert running(device) == (OLD, True), f"op {k}"

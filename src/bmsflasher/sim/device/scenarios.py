"""Ready-made images and device-side update drivers for tests, sweeps and demos.

The drivers here are *not* the tool's update procedure: they are the shortest sequence of device
calls that performs an MCUboot update (upload, mark for test, reset, confirm), plus the recovery
logic a host needs after a power cut (resume the upload, re-request the swap, confirm). The
power-loss proofs drive the device with them, so the proofs do not depend on the client code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import DeviceMode
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.flash.images import build_signed_image, parse_image
from bmsflasher.sim.options import FlashGeometry, SimOptions

DEFAULT_CHUNK_BYTES: Final = 512


def demo_signing_key() -> Path:
    """The demo private key (DEMO ONLY) that signs test images."""
    return resource_path("demo", "demo-key.pem")


def firmware_code(size: int, seed: int) -> bytes:
    """Deterministic pseudo-firmware bytes (no long 0xFF runs, so erased flash never matches)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def make_image(
    version: str,
    *,
    security_counter: int,
    code_size: int = 6000,
    behaviour: str | None = None,
    signing_key: Path | None = None,
    seed: int | None = None,
) -> bytes:
    """A signed MCUboot image (demo key unless another is given) for tests."""
    stable = int.from_bytes(hashlib.sha256(version.encode()).digest()[:4], "little")
    code = firmware_code(code_size, seed if seed is not None else stable)
    return build_signed_image(
        code,
        version,
        signing_key or demo_signing_key(),
        security_counter=security_counter,
        behaviour=behaviour,
    )


def small_geometry(sector_size: int = 1024, write_size: int = 8, slot_sectors: int = 16) -> FlashGeometry:
    """A small flash that keeps sweeps fast while exercising every code path."""
    return FlashGeometry(sector_size=sector_size, write_size=write_size, slot_sectors=slot_sectors)


def fast_options(
    factory_image: Path, geometry: FlashGeometry, *, state_file: Path | None = None
) -> SimOptions:
    """Options of a fast test device (no erase or boot delays, manual pack time)."""
    return SimOptions(
        state_file=state_file,
        factory_image=factory_image,
        geometry=geometry,
        erase_time_s_per_sector=0.0,
        boot_time_s=0.0,
        time_scale=0.0,
    )


def upload(
    device: VirtualBms, image: bytes, *, slot: int = 1, chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> None:
    """Upload ``image`` to ``slot``, resuming from whatever the device already holds."""
    offset = device.upload_begin(len(image), hashlib.sha256(image).digest(), slot)
    while offset < len(image):
        offset = device.upload_write(offset, image[offset : offset + chunk_bytes])


def full_update(device: VirtualBms, image: bytes, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
    """Upload, boot in test mode, confirm: one complete MCUboot update."""
    upload(device, image, chunk_bytes=chunk_bytes)
    device.mark_pending()
    device.reset()
    device.confirm()


def running_hash(device: VirtualBms) -> bytes:
    """MCUboot hash of the running image (empty in recovery)."""
    if device.mode is DeviceMode.RECOVERY:
        return b""
    return parse_image(device.image_bytes(0)).image_hash


def finish_update(device: VirtualBms, image: bytes, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
    """What a host does after a power cut to complete an update of ``image``.

    If the new image runs on test, confirm it; if it runs confirmed, nothing; otherwise resume the
    upload, request the test boot again, reset and confirm.
    """
    target = parse_image(image).image_hash
    if running_hash(device) == target:
        device.confirm()
        return
    full_update(device, image, chunk_bytes=chunk_bytes)


@dataclass(frozen=True, slots=True)
class UpdateTrace:
    """Operation counts of one clean update, measured like MCUboot's simulator does.

    Attributes:
        start: ``flash.ops_done`` before the update.
        upload_end: after upload and mark-pending (a cut up to here keeps the old image running).
        swap_end: after the reset that swaps (a cut in (upload_end, swap_end] resumes into test mode).
        end: after confirm.
    """

    start: int
    upload_end: int
    swap_end: int
    end: int

    @property
    def total(self) -> int:
        return self.end - self.start


def trace_update(device: VirtualBms, image: bytes, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> UpdateTrace:
    """Run a clean update and record where each phase ends in flash operations."""
    flash = device.flash
    start = flash.ops_done
    upload(device, image, chunk_bytes=chunk_bytes)
    device.mark_pending()
    upload_end = flash.ops_done
    device.reset()
    swap_end = flash.ops_done
    device.confirm()
    return UpdateTrace(start, upload_end, swap_end, flash.ops_done)

"""Exhaustive sweeps over package and image bytes: no edit can change what would be flashed.

For every single-byte corruption and every truncation, verification either refuses with one of
the project's errors, or (when the byte was ZIP metadata that carries no meaning, such as a
timestamp) succeeds with exactly the original manifest and image. A fast stride runs in CI; the
full sweeps are ``slow``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bmsflasher.core.errors import PackageError
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.keys import Keyring, load_private_key_file
from bmsflasher.firmware.mcuboot import build_image, parse_image, verify_image
from bmsflasher.firmware.package import PackageSpec, build_package, read_package
from bmsflasher.firmware.policy import DeviceFacts, verify_package
from bmsflasher.sim.flash.encryption import ImageDecryptor
from bmsflasher.sim.flash.images import ImageParseError, ImageVerifier
from bmsflasher.sim.flash.images import parse_image as device_parse

DEMO = resource_path("demo")
KEY = load_private_key_file(DEMO / "demo-key.pem")
KEYRING = Keyring()
KEYRING.add(KEY)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
IMAGE = build_image(bytes(range(256)) * 8, version=FirmwareVersion(1, 5, 0), security_counter=3, key=KEY)
PACKAGE = build_package(
    PackageSpec(
        model="VBMS-16",
        hardware_revisions=("B", "C"),
        version=FirmwareVersion(1, 5, 0),
        security_counter=3,
        created=datetime(2025, 1, 1, tzinfo=UTC),
        expires=datetime(2030, 1, 1, tzinfo=UTC),
    ),
    IMAGE,
    KEY,
)
ORIGINAL = read_package(PACKAGE)
DEVICE = DeviceFacts(model="VBMS-16", hardware_revision="B", security_counter=2)


def _outcome(data: bytes) -> str:
    try:
        verified = verify_package(data, KEYRING, DEVICE, now=NOW)
    except PackageError as exc:
        return f"{type(exc).__name__}" if "\n" not in exc.message else "multi-line message"
    assert verified.image_bytes == ORIGINAL.image_bytes
    assert verified.manifest_bytes == ORIGINAL.manifest_bytes
    return "accepted"


def _flip_sweep(stride: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for offset in range(0, len(PACKAGE), stride):
        for mask in (0x01, 0x80):
            data = bytearray(PACKAGE)
            data[offset] ^= mask
            name = _outcome(bytes(data))
            counts[name] = counts.get(name, 0) + 1
    return counts


SIGNED_REGION = parse_image(IMAGE).hashed_region


def _image_flip_sweep(stride: int) -> int:
    """Flip one bit per offset; returns how many were refused.

    Every flip must be refused: the signed region is covered by the hash, and the unsigned TLVs
    (hash, KEYHASH, signature) are each required. Should one ever be accepted, the signed region
    must at least be byte-identical to the original.
    """
    refused = 0
    for offset in range(0, len(IMAGE), stride):
        data = bytearray(IMAGE)
        data[offset] ^= 0x04
        try:
            image = parse_image(bytes(data))
            verify_image(image, KEYRING)
        except PackageError:
            refused += 1
            continue
        assert image.hashed_region == SIGNED_REGION, offset
    return refused


def test_every_truncation_is_refused() -> None:
    outcomes = {_outcome(PACKAGE[:cut]) for cut in range(len(PACKAGE))}
    assert outcomes == {"NotAZipError"}


def test_byte_flips_fast_stride() -> None:
    counts = _flip_sweep(stride=29)
    assert sum(v for k, v in counts.items() if k != "accepted") > 0
    assert len(counts) >= 3  # several distinct reasons, not one catch-all


def test_image_flips_fast_stride() -> None:
    total = len(range(0, len(IMAGE), 17))
    assert _image_flip_sweep(17) == total


@pytest.mark.slow
def test_byte_flips_everywhere() -> None:
    counts = _flip_sweep(stride=1)
    assert counts.get("accepted", 0) < sum(counts.values()) // 4


@pytest.mark.slow
def test_image_flips_everywhere() -> None:
    assert _image_flip_sweep(1) == len(IMAGE)


# --- encrypted images: what the host cannot see, the device refuses -------------------------------------
DEVICE_ENC_KEY = DEMO / "encryption" / "demo-enc-key.pem"
ENC_IMAGE = build_image(
    bytes(range(256)) * 8,
    version=FirmwareVersion(1, 5, 0),
    security_counter=3,
    key=KEY,
    encrypt_for=load_pem_private_key(DEVICE_ENC_KEY.read_bytes(), None).public_key(),  # type: ignore[arg-type]
)
BOOTLOADER = ImageVerifier(DEMO / "demo-key.pub.pem", ImageDecryptor(DEVICE_ENC_KEY))


def _device_refuses(data: bytes) -> bool:
    """The virtual BMS's bootloader verdict on the image in its secondary slot."""
    try:
        info = device_parse(data)
    except ImageParseError:
        return True
    cipher = BOOTLOADER.body_cipher(info) if info.encrypted else None
    if isinstance(cipher, str):
        return True
    return BOOTLOADER.verify(data[: info.total_size], cipher) is not None


def _encrypted_flip_sweep(stride: int) -> tuple[int, int]:
    """Flip one bit per offset of an encrypted image; returns (refused by the host, left to the device).

    The host cannot decrypt, so a flip in the ciphertext passes its image checks (the package's
    manifest hash catches it, tested elsewhere); the device must then refuse it. No flip may pass both.
    """
    host = device_only = 0
    for offset in range(0, len(ENC_IMAGE), stride):
        data = bytearray(ENC_IMAGE)
        data[offset] ^= 0x04
        try:
            verify_image(parse_image(bytes(data)), KEYRING)
        except PackageError:
            host += 1
            continue
        assert _device_refuses(bytes(data)), f"offset {offset}: neither the host nor the device refused"
        device_only += 1
    return host, device_only


def test_encrypted_image_flips_fast_stride() -> None:
    assert not _device_refuses(ENC_IMAGE)
    host, device_only = _encrypted_flip_sweep(17)
    assert host > 0
    assert device_only > 0  # ciphertext flips: only the device can tell


@pytest.mark.slow
def test_encrypted_image_flips_everywhere() -> None:
    host, device_only = _encrypted_flip_sweep(1)
    assert host + device_only == len(ENC_IMAGE)


@pytest.mark.slow
@settings(max_examples=5000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(PACKAGE) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_random_multi_byte_edits(edits: list[tuple[int, int]]) -> None:
    data = bytearray(PACKAGE)
    for offset, value in edits:
        data[offset] = value
    _outcome(bytes(data))

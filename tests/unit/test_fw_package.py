"""Packages, keys, policy and the demo assets: the paths that must succeed, and their edges."""

from __future__ import annotations

import dataclasses
import io
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from intelhex import IntelHex

from bmsflasher.core.errors import BootloaderTooOldError
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import DeviceIdentity, FirmwareVersion
from bmsflasher.firmware import errors as fe
from bmsflasher.firmware.behaviour import parse_sim_behaviour, voltage_offset_pct
from bmsflasher.firmware.demo_assets import DEMO_RELEASES, FACTORY_IMAGE_NAME, write_demo_assets
from bmsflasher.firmware.inputs import firmware_from_bytes, read_firmware_file
from bmsflasher.firmware.keys import (
    Keyring,
    KeyType,
    generate_key,
    key_id,
    load_private_key_pem,
    load_public_key_pem,
    private_key_pem,
    public_key_der,
    public_key_pem,
)
from bmsflasher.firmware.mcuboot import build_image
from bmsflasher.firmware.package import PackageSpec, build_package, parse_manifest, read_package
from bmsflasher.firmware.policy import DeviceFacts, check_device, read_package_file, verify_package

DEMO = resource_path("demo")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
V = FirmwareVersion(3, 1, 4)
SPEC = PackageSpec(
    model="X-1",
    hardware_revisions=("r1", "r2"),
    version=V,
    security_counter=7,
    min_bootloader_version=FirmwareVersion(2, 0, 0),
    release_notes="Ünïcode notes ✓",
    created=datetime(2025, 1, 1, tzinfo=UTC),
    expires=datetime(2027, 1, 1, tzinfo=UTC),
)


def _ring(*keys: object) -> Keyring:
    ring = Keyring()
    for key in keys:
        ring.add(key)  # type: ignore[arg-type]
    return ring


# --- keys -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key_type", list(KeyType))
def test_key_pem_round_trip_and_id(key_type: KeyType) -> None:
    key = generate_key(key_type)
    again = load_private_key_pem(private_key_pem(key))
    assert key_id(again) == key_id(key)
    public = load_public_key_pem(public_key_pem(key))
    assert key_id(public) == key_id(key)
    assert len(key_id(key)) == 64
    assert public_key_der(public).startswith(b"\x30")


@pytest.mark.parametrize(
    ("data", "phrase"),
    [
        (b"", "not a readable PEM"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not a readable PEM"),
        (b"x" * 70000, "too large"),
    ],
)
def test_bad_private_keys(data: bytes, phrase: str) -> None:
    with pytest.raises(fe.KeyFileError, match=phrase):
        load_private_key_pem(data)


def test_unsupported_key_types_are_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(fe.KeyFileError, match="only ECDSA P-256 and Ed25519"):
        load_private_key_pem(pem)
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(fe.KeyFileError, match="P-256"):
        load_public_key_pem(public_key_pem(p384))  # type: ignore[arg-type]
    encrypted = p384.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    with pytest.raises(fe.KeyFileError, match="password-protected"):
        load_private_key_pem(encrypted)


def test_keyring_from_files_and_folders(tmp_path: Path) -> None:
    ring = Keyring.from_paths([DEMO / "demo-key.pub.pem"])
    assert len(ring) == 1
    folder = Keyring.from_paths([DEMO])  # picks the *.pub.pem files of the folder
    assert len(folder) == 2
    assert {k.key_type for k in folder} == {KeyType.ECDSA_P256, KeyType.ED25519}
    with pytest.raises(fe.KeyFileError, match="does not exist"):
        Keyring.from_paths([tmp_path / "missing.pem"])
    with pytest.raises(fe.KeyFileError, match=r"no \.pem key files"):
        Keyring.from_paths([tmp_path])


# --- packages --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key_type", list(KeyType))
def test_package_round_trip(key_type: KeyType) -> None:
    key = generate_key(key_type)
    image = build_image(b"\x01" * 5000, version=V, security_counter=7, key=key, sim_behaviour="selftest-fail")
    data = build_package(dataclasses.replace(SPEC, sim_behaviour="selftest-fail"), image, key)
    contents = read_package(data)
    assert contents.image_bytes == image
    verified = verify_package(
        data, _ring(key), DeviceFacts("X-1", "r2", 7, FirmwareVersion(2, 0, 0)), now=NOW
    )
    assert verified.manifest.release_notes == "Ünïcode notes ✓"
    assert verified.manifest.sim_behaviour == "selftest-fail"
    assert verified.image.sim_behaviour == "selftest-fail"
    assert verified.version == V
    assert verified.security_counter == 7
    assert verified.image_hash == verified.image.declared_sha256
    assert parse_manifest(verified.manifest_bytes) == verified.manifest


def test_separate_image_key_must_also_be_trusted() -> None:
    manifest_key, image_key = generate_key(), generate_key(KeyType.ED25519)
    image = build_image(b"\x02" * 3000, version=V, security_counter=7, key=image_key)
    data = build_package(SPEC, image, manifest_key)
    verified = verify_package(data, _ring(manifest_key, image_key), now=NOW)
    assert verified.image_signer.key_id == key_id(image_key)
    assert verified.manifest_signer.key_id == key_id(manifest_key)
    with pytest.raises(fe.UntrustedKeyError, match="image is signed by key"):
        verify_package(data, _ring(manifest_key), now=NOW)


def test_build_refuses_a_manifest_readers_would_refuse() -> None:
    key = generate_key()
    image = build_image(b"\x03" * 100, version=V, security_counter=7, key=key)
    with pytest.raises(fe.FirmwareInputError, match="'model'"):
        build_package(dataclasses.replace(SPEC, model="bad model!"), image, key)
    with pytest.raises(fe.FirmwareInputError, match="expires before"):
        build_package(dataclasses.replace(SPEC, expires=datetime(2024, 1, 1, tzinfo=UTC)), image, key)


def test_package_is_deterministic_for_fixed_inputs() -> None:
    key = generate_key()
    image = build_image(b"\x04" * 100, version=V, security_counter=7, key=key)
    assert build_package(SPEC, image, key) == build_package(SPEC, image, key)


# --- policy -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("device", "error"),
    [
        (DeviceFacts(model="X-1", hardware_revision="r1", security_counter=7), None),
        (DeviceFacts(security_counter=0), None),
        (DeviceFacts(bootloader_version=FirmwareVersion(2, 0, 0)), None),
        (DeviceFacts(model="X-2"), fe.WrongModelError),
        (DeviceFacts(hardware_revision="r3"), fe.WrongHardwareRevisionError),
        (DeviceFacts(security_counter=8), fe.DowngradeError),
        (DeviceFacts(bootloader_version=FirmwareVersion(1, 9, 9)), BootloaderTooOldError),
    ],
)
def test_check_device(device: DeviceFacts, error: type[Exception] | None) -> None:
    key = generate_key()
    manifest = parse_manifest(
        read_package(
            build_package(SPEC, build_image(b"x", version=V, security_counter=7, key=key), key)
        ).manifest_bytes
    )
    if error is None:
        check_device(manifest, device)
    else:
        with pytest.raises(error):
            check_device(manifest, device)


def test_device_facts_from_identity() -> None:
    identity = DeviceIdentity(
        "VBMS-16", "SN1", "C", FirmwareVersion(1, 0, 0), FirmwareVersion(1, 0, 0), security_counter=3
    )
    facts = DeviceFacts.from_identity(identity)
    assert facts == DeviceFacts("VBMS-16", "C", 3, FirmwareVersion(1, 0, 0))


def test_read_package_file_errors(tmp_path: Path) -> None:
    with pytest.raises(fe.PackageFormatError, match="does not exist"):
        read_package_file(tmp_path / "nope.bmspkg")
    with pytest.raises(fe.PackageFormatError, match="is a folder"):
        read_package_file(tmp_path)


# --- inputs ------------------------------------------------------------------------------------------------
def test_intel_hex_input_fills_gaps_with_erased_bytes() -> None:
    hex_file = IntelHex()
    hex_file.puts(0x08000000, b"\x11\x22\x33")
    hex_file.puts(0x08000010, b"\x44")
    text = io.StringIO()
    hex_file.write_hex_file(text)
    decoded = firmware_from_bytes(text.getvalue().encode(), "app.hex")
    assert decoded.base_address == 0x08000000
    assert decoded.data == b"\x11\x22\x33" + b"\xff" * 13 + b"\x44"


@pytest.mark.parametrize(
    ("raw", "name", "phrase"),
    [
        (b":00000001FF\n", "empty.hex", "holds no data"),
        (b":0400000011223344AA\n", "bad.hex", "malformed"),
        (b"\xff\xfe", "binary.hex", "non-ASCII"),
        (b"", "empty.bin", "is empty"),
    ],
)
def test_bad_firmware_inputs(raw: bytes, name: str, phrase: str) -> None:
    with pytest.raises(fe.FirmwareInputError, match=phrase):
        firmware_from_bytes(raw, name)


def test_intel_hex_spanning_too_much_is_refused() -> None:
    hex_file = IntelHex()
    hex_file.puts(0x08000000, b"\x11")
    hex_file.puts(0xF0000000, b"\x22")
    text = io.StringIO()
    hex_file.write_hex_file(text)
    with pytest.raises(fe.FirmwareInputError, match="spans"):
        firmware_from_bytes(text.getvalue().encode(), "wide.hex")


def test_read_firmware_file_missing(tmp_path: Path) -> None:
    with pytest.raises(fe.FirmwareInputError, match="does not exist"):
        read_firmware_file(tmp_path / "x.bin")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("healthy", "healthy"),
        (" boot-loop ", "boot-loop"),
        ("voltage-offset:2", "voltage-offset:2.0"),
        ("voltage-offset:-1.25", "voltage-offset:-1.25"),
    ],
)
def test_sim_behaviour_parsing(text: str, canonical: str) -> None:
    assert parse_sim_behaviour(text) == canonical


@pytest.mark.parametrize(
    "text", ["", "explode", "voltage-offset:", "voltage-offset:99", "voltage-offset:1e3"]
)
def test_sim_behaviour_rejects(text: str) -> None:
    with pytest.raises(fe.FirmwareInputError, match="not a sim behaviour"):
        parse_sim_behaviour(text)


def test_voltage_offset_value() -> None:
    assert voltage_offset_pct("voltage-offset:2.0") == 2.0
    assert voltage_offset_pct("healthy") == 0.0


# --- demo assets ----------------------------------------------------------------------------------------
def test_demo_packages_verify_and_carry_their_behaviour() -> None:
    ring = Keyring.from_paths([DEMO / "demo-key.pub.pem"])
    device = DeviceFacts(
        model="VBMS-16",
        hardware_revision="C",
        security_counter=1,
        bootloader_version=FirmwareVersion(1, 0, 0),
    )
    for release in DEMO_RELEASES:
        data = read_package_file(DEMO / "packages" / release.file_name)
        if release.security_counter < 1:
            with pytest.raises(fe.DowngradeError):
                verify_package(data, ring, device, now=NOW)
            continue
        verified = verify_package(data, ring, device, now=NOW)
        assert str(verified.version) == release.version
        assert verified.security_counter == release.security_counter
        assert (verified.image.sim_behaviour or "healthy") == release.behaviour
        assert 200 * 1024 < verified.image.header.image_size < 300 * 1024


def test_demo_generator_is_reproducible(tmp_path: Path) -> None:
    shutil.copy(DEMO / "demo-key.pem", tmp_path / "demo-key.pem")
    written = write_demo_assets(tmp_path)
    assert (tmp_path / FACTORY_IMAGE_NAME).read_bytes() == (DEMO / FACTORY_IMAGE_NAME).read_bytes()
    for path in written:
        committed = DEMO / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), f"{committed} differs from a fresh generation"

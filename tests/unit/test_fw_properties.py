"""Property tests: random bytes and random mutations never escape the project's own errors."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bmsflasher.core.errors import PackageError
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.keys import Keyring, load_private_key_file, sign_message
from bmsflasher.firmware.mcuboot import build_image, parse_image, verify_image
from bmsflasher.firmware.package import PackageSpec, build_package, parse_manifest, read_package
from bmsflasher.firmware.policy import DeviceFacts, verify_package

DEMO = resource_path("demo")
KEY = load_private_key_file(DEMO / "demo-key.pem")
KEYRING = Keyring()
KEYRING.add(KEY)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PAYLOAD = bytes(range(256)) * 6
IMAGE = build_image(
    PAYLOAD, version=FirmwareVersion(2, 0, 1), security_counter=4, key=KEY, sim_behaviour="slow-link"
)
SPEC = PackageSpec(
    model="VBMS-16",
    hardware_revisions=("B",),
    version=FirmwareVersion(2, 0, 1),
    security_counter=4,
    created=datetime(2025, 1, 1, tzinfo=UTC),
    expires=datetime(2030, 1, 1, tzinfo=UTC),
)
PACKAGE = build_package(SPEC, IMAGE, KEY)
DEVICE = DeviceFacts(model="VBMS-16", hardware_revision="B", security_counter=1)
FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutations(draw: st.DrawFn, base: bytes) -> bytes:
    """A few random edits: byte flips, inserts, deletes, truncation, splices."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate", "u16", "u32"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del data[pos:]
        elif kind in ("u16", "u32") and len(data) > pos + 4:
            width = 2 if kind == "u16" else 4
            data[pos : pos + width] = draw(st.sampled_from([0, 1, 0xFF, 0xFFFF, 0xFFFFFFFF])).to_bytes(
                8, "little"
            )[:width]
    return bytes(data)


def _image_checks(data: bytes) -> None:
    try:
        image = parse_image(data)
        verify_image(image, KEYRING)
    except PackageError:
        pass


def _package_checks(data: bytes) -> None:
    with contextlib.suppress(PackageError):
        verify_package(data, KEYRING, DEVICE, now=NOW)


@FAST
@given(st.binary(max_size=2048))
def test_random_bytes_as_image(data: bytes) -> None:
    _image_checks(data)
    _image_checks(b"\x3d\xb8\xf3\x96" + data)  # past the magic check


@FAST
@given(mutations(IMAGE))
def test_mutated_images(data: bytes) -> None:
    _image_checks(data)


@FAST
@given(st.binary(max_size=2048))
def test_random_bytes_as_package(data: bytes) -> None:
    _package_checks(data)
    _package_checks(b"PK\x03\x04" + data)


@FAST
@given(mutations(PACKAGE))
def test_mutated_packages(data: bytes) -> None:
    _package_checks(data)


def _zip(manifest: bytes, image: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", manifest)
        archive.writestr("manifest.sig", sign_message(KEY, manifest))
        archive.writestr("VBMS-16-2.0.1.img", image)
    return buffer.getvalue()


@FAST
@given(mutations(IMAGE))
def test_mutated_images_inside_correctly_signed_packages(image: bytes) -> None:
    """The manufacturer's pipeline signed a broken image: the image checks still hold the line."""
    doc = json.loads(read_package(PACKAGE).manifest_bytes)
    doc["image"] = {
        "file": "VBMS-16-2.0.1.img",
        "sha256": hashlib.sha256(image).hexdigest(),
        "size": len(image),
    }
    data = _zip(json.dumps(doc).encode(), image)
    try:
        verify_package(data, KEYRING, DEVICE, now=NOW)
    except PackageError:
        return
    assert image == IMAGE or parse_image(image).body == PAYLOAD


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


@FAST
@given(st.sampled_from(sorted(json.loads(read_package(PACKAGE).manifest_bytes))), json_values)
def test_manifest_fields_with_random_json_values(field: str, value: object) -> None:
    doc = json.loads(read_package(PACKAGE).manifest_bytes)
    doc[field] = value
    with contextlib.suppress(PackageError):
        parse_manifest(json.dumps(doc).encode())


@FAST
@given(st.binary(max_size=512) | st.text(max_size=256).map(str.encode))
def test_random_manifest_bytes(data: bytes) -> None:
    with contextlib.suppress(PackageError):
        parse_manifest(data)


@FAST
@given(
    payload=st.binary(min_size=1, max_size=4096),
    version=st.tuples(
        st.integers(0, 255), st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF)
    ),
    counter=st.none() | st.integers(0, 0xFFFFFFFF),
    header_size=st.sampled_from([32, 0x80, 0x200, 0x400]),
)
def test_build_parse_round_trip(
    payload: bytes, version: tuple[int, int, int, int], counter: int | None, header_size: int
) -> None:
    fw_version = FirmwareVersion(*version)
    image = parse_image(
        build_image(payload, version=fw_version, security_counter=counter, key=KEY, header_size=header_size)
    )
    assert image.body == payload
    assert image.version == fw_version
    assert image.security_counter == counter
    assert verify_image(image, KEYRING).sha256 == image.declared_sha256

"""Property tests: random bytes and random mutations never escape the project's own errors.

And they are *refused*, not merely survived: a mutated image or package that verifies must carry
exactly the signed content of the original. What a mutation may change and still verify is only
what carries no meaning for what gets flashed: ZIP bookkeeping outside the members' bytes (file
times, "version made by", external attributes, comments) and, in an image, bytes outside the
signed region that the bootloader also ignores (e.g. the padding of an ECDSA signature TLV).
Mutations aimed at the signed regions themselves (the image's hashed region; the manifest and
image inside a correctly rebuilt ZIP) must always be refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import struct
import zipfile
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
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
ORIGINAL = read_package(PACKAGE)
SIGNED_REGION = parse_image(IMAGE).hashed_region
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


def _image_checks(data: bytes) -> bool:
    """True when refused; an accepted image must hold the original's signed region, byte for byte."""
    try:
        image = parse_image(data)
        verify_image(image, KEYRING)
    except PackageError:
        return True
    assert image.hashed_region == SIGNED_REGION, "a mutated image verified with different signed bytes"
    assert image.body == PAYLOAD
    return False


def _package_checks(data: bytes) -> bool:
    """True when refused; an accepted package must hold the original manifest and image, exactly."""
    try:
        verified = verify_package(data, KEYRING, DEVICE, now=NOW)
    except PackageError:
        return True
    assert verified.manifest_bytes == ORIGINAL.manifest_bytes, "a mutated manifest verified"
    assert verified.image_bytes == ORIGINAL.image_bytes, "a mutated image verified inside a package"
    return False


@FAST
@given(st.binary(max_size=2048))
def test_random_bytes_as_image(data: bytes) -> None:
    assert _image_checks(data)  # random bytes never carry a trusted signature
    assert _image_checks(b"\x3d\xb8\xf3\x96" + data)  # past the magic check


@FAST
@given(mutations(IMAGE))
def test_mutated_images(data: bytes) -> None:
    _image_checks(data)


@FAST
@given(st.binary(max_size=2048))
def test_random_bytes_as_package(data: bytes) -> None:
    assert _package_checks(data)
    assert _package_checks(b"PK\x03\x04" + data)


@FAST
@given(st.integers(0, len(SIGNED_REGION) - 1), st.integers(1, 255))
def test_any_change_in_the_images_signed_region_is_refused(offset: int, mask: int) -> None:
    data = bytearray(IMAGE)
    data[offset] ^= mask
    assert _image_checks(bytes(data)), f"byte {offset} of the signed region changed (^{mask:#x}) and verified"


@FAST
@given(mutations(ORIGINAL.manifest_bytes))
def test_a_changed_manifest_in_a_well_formed_zip_is_refused(manifest: bytes) -> None:
    """The ZIP layer cannot catch this one (the archive is rebuilt cleanly): the signature must."""
    data = _zip(manifest, ORIGINAL.image_bytes, signature=ORIGINAL.signature)
    assert _package_checks(data) or manifest == ORIGINAL.manifest_bytes


@FAST
@given(mutations(IMAGE))
def test_a_changed_image_in_a_well_formed_signed_package_is_refused(image: bytes) -> None:
    """The manifest and its signature are the original's: the manifest's SHA-256 must catch it."""
    data = _zip(ORIGINAL.manifest_bytes, image, signature=ORIGINAL.signature)
    assert _package_checks(data) or image == IMAGE


@FAST
@given(mutations(PACKAGE))
def test_mutated_packages(data: bytes) -> None:
    _package_checks(data)


def _zip(manifest: bytes, image: bytes, *, signature: bytes | None = None) -> bytes:
    """A clean ZIP of the three members; the manifest is freshly signed unless ``signature`` is given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", manifest)
        archive.writestr("manifest.sig", signature if signature is not None else sign_message(KEY, manifest))
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


P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _malleated(image: bytes) -> bytes:
    """The same image with its ECDSA signature (r, s) replaced by the equally valid (r, n - s).

    No key is needed for this, and the signed region is untouched, so the image verifies on its
    own: the unprotected TLV area is the one part of an image file its signature cannot pin.
    """
    signed = len(parse_image(image).hashed_region)
    magic, total = struct.unpack_from("<HH", image, signed)
    tlvs: list[tuple[int, bytes]] = []
    position = signed + 4
    while position < signed + total:
        kind, length = struct.unpack_from("<HH", image, position)
        value = image[position + 4 : position + 4 + length]
        if kind == 0x22:  # ECDSA_SIG
            r, s = decode_dss_signature(value)
            value = encode_dss_signature(r, P256_ORDER - s)
        tlvs.append((kind, value))
        position += 4 + length
    area = b"".join(struct.pack("<HH", kind, len(value)) + value for kind, value in tlvs)
    return image[:signed] + struct.pack("<HH", magic, 4 + len(area)) + area


def test_a_malleated_image_signature_is_refused_by_the_manifest_hash() -> None:
    """What the image signature cannot pin, the signed manifest's SHA-256 of the whole file does."""
    malleated = _malleated(IMAGE)
    assert malleated != IMAGE
    assert not _image_checks(malleated)  # alone it verifies: same signed region, valid signature
    assert _package_checks(_zip(ORIGINAL.manifest_bytes, malleated, signature=ORIGINAL.signature))


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

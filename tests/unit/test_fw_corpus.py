"""A corpus of malformed and malicious packages, each refused for its own reason.

Every case is generated here from one good package: an attacker's edits (tampered manifest or
image, foreign keys), broken containers (truncation, traversal, bombs, duplicates, lying sizes),
manufacturer mistakes signed with the trusted key (bad schema, images whose TLVs lie), and valid
packages that are simply not allowed on the device (model, revision, downgrade, expiry).
Each case names the exact error class and a phrase of its one-sentence message, and the run
checks that nothing is written to the working or temporary folders.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import struct
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bmsflasher.core.errors import BmsFlasherError, BootloaderTooOldError, PackageError
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware import errors as fe
from bmsflasher.firmware.keys import (
    Keyring,
    KeyType,
    PrivateKey,
    generate_key,
    key_hash,
    load_private_key_file,
    sign_message,
)
from bmsflasher.firmware.mcuboot import TlvType, build_image, parse_image
from bmsflasher.firmware.package import PackageSpec, build_manifest, build_package
from bmsflasher.firmware.policy import DeviceFacts, verify_package

DEMO = resource_path("demo")
TRUSTED = load_private_key_file(DEMO / "demo-key.pem")
TRUSTED_ED = load_private_key_file(DEMO / "demo-key-ed25519.pem")
ATTACKER = generate_key(KeyType.ECDSA_P256)
ATTACKER_ED = generate_key(KeyType.ED25519)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
VERSION = FirmwareVersion(1, 1, 0)
PAYLOAD = (b"\x00\xbf\x70\x47" * 1500) + bytes(range(256)) * 8
DEVICE = DeviceFacts(
    model="VBMS-16", hardware_revision="B", security_counter=1, bootloader_version=FirmwareVersion(1, 0, 0)
)
IMAGE_NAME = "VBMS-16-1.1.0.img"
SPEC = PackageSpec(
    model="VBMS-16",
    hardware_revisions=("B", "C"),
    version=VERSION,
    security_counter=2,
    min_bootloader_version=FirmwareVersion(1, 0, 0),
    release_notes="Corpus base release with some notes to tamper with.",
    created=datetime(2025, 6, 1, tzinfo=UTC),
    expires=datetime(2030, 1, 1, tzinfo=UTC),
    sim_behaviour="healthy",
)


def _image(key: PrivateKey | None = TRUSTED, **changes: object) -> bytes:
    args: dict[str, object] = {"version": VERSION, "security_counter": 2, "key": key}
    args.update(changes)
    return build_image(PAYLOAD, **args)  # type: ignore[arg-type]


IMAGE = _image()
GOOD = build_package(SPEC, IMAGE, TRUSTED)
KEYRING = Keyring()
KEYRING.add(TRUSTED, "trusted")
KEYRING.add(TRUSTED_ED, "trusted-ed25519")


def _doc(**changes: object) -> dict[str, object]:
    doc = build_manifest(SPEC, IMAGE, TRUSTED).to_dict()
    doc.update(changes)
    return doc


def _dumps(doc: object) -> bytes:
    return json.dumps(doc, indent=2, sort_keys=True).encode()


def _zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of some cases
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, payload in members:
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = method
                archive.writestr(info, payload)
    return buffer.getvalue()


def _package(
    manifest: bytes | None = None,
    signature: bytes | None = None,
    image: bytes = IMAGE,
    key: PrivateKey = TRUSTED,
    image_name: str = IMAGE_NAME,
    extra: tuple[tuple[str, bytes], ...] = (),
) -> bytes:
    manifest = manifest if manifest is not None else _dumps(_doc())
    signature = signature if signature is not None else sign_message(key, manifest)
    return _zip([("manifest.json", manifest), ("manifest.sig", signature), (image_name, image), *extra])


def _signed_manifest_for(image: bytes, **changes: object) -> bytes:
    """A trusted-key package whose manifest matches ``image`` (a manufacturer mistake, not an attack)."""
    doc = _doc(image={"file": IMAGE_NAME, "sha256": hashlib.sha256(image).hexdigest(), "size": len(image)})
    doc.update(changes)
    return _package(manifest=_dumps(doc), image=image)


def _patch_central(data: bytes, name: str, field_offset: int, fmt: str, value: int) -> bytes:
    """Overwrite a field of ``name``'s central directory record (the sizes zipfile trusts)."""
    out = bytearray(data)
    pos = out.find(b"PK\x01\x02")
    while pos != -1:
        name_len = struct.unpack_from("<H", out, pos + 28)[0]
        if out[pos + 46 : pos + 46 + name_len].decode() == name:
            struct.pack_into(fmt, out, pos + field_offset, value)
            return bytes(out)
        pos = out.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(name)


@dataclass(frozen=True)
class Case:
    ident: str
    data: bytes
    error: type[BmsFlasherError]
    phrase: str
    device: DeviceFacts | None = DEVICE
    now: datetime = NOW


def _cases() -> Iterator[Case]:
    good_doc = _doc()

    # --- tampered manifest: valid JSON, changed field, original signature ------------------------------
    manifest_edits: dict[str, object] = {
        "model": "VBMS-8",
        "hardware_revisions": ["A", "B", "C", "D"],
        "version": "9.9.9",
        "security_counter": 99,
        "min_bootloader_version": "0.0.1",
        "release_notes": "all good, trust me",
        "created": "2020-01-01T00:00:00Z",
        "expires": None,
        "sim_behaviour": "boot-loop",
    }
    original_sig = sign_message(TRUSTED, _dumps(good_doc))
    for field, value in manifest_edits.items():
        yield Case(
            f"tampered-manifest-{field}",
            _package(manifest=_dumps(_doc(**{field: value})), signature=original_sig),
            fe.ManifestSignatureError,
            "manifest was altered",
        )
    base_manifest = _dumps(good_doc)
    notes_at = base_manifest.index(b"Corpus base release")
    for i in range(20):
        edited = bytearray(base_manifest)
        edited[notes_at + i] ^= 0x20 if chr(edited[notes_at + i]).isalpha() else 0x01
        yield Case(
            f"tampered-manifest-byte-{i}", _package(manifest=bytes(edited), signature=original_sig),
            fe.ManifestSignatureError, "manifest was altered",
        )  # fmt: skip
    for i, pad in enumerate((b" ", b"\n", b"\t\n", b"  \n\n")):
        yield Case(
            f"tampered-manifest-whitespace-{i}",
            _package(manifest=base_manifest + pad, signature=original_sig),
            fe.ManifestSignatureError, "manifest was altered",
        )  # fmt: skip

    # --- tampered image, manifest untouched ------------------------------------------------------------
    for i, offset in enumerate(range(0, len(IMAGE), len(IMAGE) // 25)):
        tampered = bytearray(IMAGE)
        tampered[offset] ^= 0x5A
        yield Case(
            f"tampered-image-{i}@{offset}", _package(image=bytes(tampered)),
            fe.ImageHashMismatchError, "image was altered",
        )  # fmt: skip
    yield Case(
        "image-appended-byte", _package(image=IMAGE + b"\0"), fe.SizeMismatchError, "manifest declares"
    )
    yield Case("image-cut-byte", _package(image=IMAGE[:-1]), fe.SizeMismatchError, "manifest declares")

    # --- tampered image, attacker also edits the manifest hash (cannot re-sign) ------------------------
    for i in range(5):
        evil = bytearray(IMAGE)
        evil[0x200 + i * 97] ^= 0xFF
        doc = _doc(image={"file": IMAGE_NAME, "sha256": hashlib.sha256(evil).hexdigest(), "size": len(evil)})
        yield Case(
            f"tampered-image-and-hash-{i}",
            _package(manifest=_dumps(doc), signature=original_sig, image=bytes(evil)),
            fe.ManifestSignatureError, "manifest was altered",
        )  # fmt: skip

    # --- wrong / unknown keys --------------------------------------------------------------------------
    for label, key in (("ecdsa", ATTACKER), ("ed25519", ATTACKER_ED)):
        attacker_pkg = build_package(SPEC, _image(key), key)
        yield Case(f"wrong-key-{label}", attacker_pkg, fe.UntrustedKeyError, "not a trusted key")
        yield Case(
            f"wrong-key-claims-trusted-{label}",
            _package(manifest=base_manifest, key=key),
            fe.ManifestSignatureError,
            "does not verify with trusted key",
        )
        yield Case(
            f"trusted-manifest-untrusted-image-{label}",
            _signed_manifest_for(_image(key)),
            fe.UntrustedKeyError,
            "image is signed by key",
        )
    for i in range(5):
        fake_id = f"{i:02x}" * 32
        manifest = _dumps(_doc(signing_key_id=fake_id))
        yield Case(
            f"unknown-key-{i}",
            _package(manifest=manifest, key=ATTACKER),
            fe.UntrustedKeyError,
            f"key {fake_id[:16]}",
        )
    yield Case(
        "unknown-key-unparseable-manifest", _package(manifest=b"{not json", key=ATTACKER),
        fe.UntrustedKeyError, "any trusted key",
    )  # fmt: skip
    yield Case("unsigned-image", _signed_manifest_for(_image(None)), fe.MissingSignatureError, "not signed")
    forged = bytearray(_image(ATTACKER))
    keyhash = parse_image(bytes(forged)).find(TlvType.KEYHASH)
    assert keyhash is not None
    forged[keyhash.offset + 4 : keyhash.offset + 36] = key_hash(TRUSTED)
    yield Case("image-forged-keyhash", _signed_manifest_for(bytes(forged)), fe.ImageSignatureError, "forged")

    # --- signature member problems ---------------------------------------------------------------------
    yield Case("signature-empty", _package(signature=b""), fe.MissingSignatureError, "signature is empty")
    for n in (1, 8, 64, 71, 72, 200):
        yield Case(
            f"signature-garbage-{n}", _package(signature=bytes([0x30]) + os.urandom(n - 1)),
            fe.ManifestSignatureError, "manifest was altered",
        )  # fmt: skip
    yield Case(
        "signature-oversized",
        _package(signature=b"\x30" * 513),
        fe.PackageTooLargeError,
        "signature declares",
    )
    yield Case(
        "signature-member-missing",
        _zip([("manifest.json", base_manifest), (IMAGE_NAME, IMAGE)]),
        fe.MissingMemberError,
        "unsigned",
    )
    yield Case(
        "manifest-member-missing",
        _zip([("manifest.sig", original_sig), (IMAGE_NAME, IMAGE)]),
        fe.MissingMemberError,
        "no manifest.json",
    )
    yield Case(
        "image-member-missing",
        _zip([("manifest.json", base_manifest), ("manifest.sig", original_sig)]),
        fe.MissingMemberError,
        "lacks the image file",
    )
    yield Case(
        "image-member-renamed",
        _package(image_name="other.img"),
        fe.UnexpectedMemberError,
        "unexpected member",
    )

    # --- truncated ZIPs --------------------------------------------------------------------------------
    step = max(1, len(GOOD) // 50)
    ends = {len(GOOD) - 1, len(GOOD) - 21, len(GOOD) - 22, len(GOOD) - 23}
    for offset in sorted({*range(0, len(GOOD), step), *ends}):
        yield Case(f"truncated-{offset}", GOOD[:offset], fe.NotAZipError, "not a complete ZIP")

    # --- not a ZIP at all ------------------------------------------------------------------------------
    for label, data in (
        ("empty", b""),
        ("text", b"hello, this is not a package\n"),
        ("png", b"\x89PNG\r\n\x1a\n" + bytes(100)),
        ("mcuboot-image", IMAGE),
        ("random", os.urandom(4096)),
        ("eocd-only", b"PK\x05\x06" + bytes(18)),
    ):
        if label == "eocd-only":
            continue  # an empty ZIP is a valid archive: covered by the missing-member cases
        yield Case(f"not-a-zip-{label}", data, fe.NotAZipError, "not a complete ZIP")
    yield Case("empty-zip", _zip([]), fe.MissingMemberError, "no manifest.json")

    # --- path traversal and odd names ------------------------------------------------------------------
    for i, name in enumerate(
        ("../evil.img", "../../etc/passwd", "/abs.img", "dir/VBMS.img", "..\\evil.img", "C:\\evil.img",
         ".hidden", "spa ce.img", "ünicode.img", "a" * 200, "img/", "..")
    ):  # fmt: skip
        yield Case(
            f"unsafe-name-{i}", _package(image_name=name), fe.UnsafeMemberNameError, "not a plain file name"
        )
    yield Case(
        "traversal-named-in-manifest",
        _package(
            manifest=_dumps(_doc(image={"file": "../x.img", "sha256": "0" * 64, "size": 1})),
            image_name="../x.img",
        ),
        fe.UnsafeMemberNameError,
        "path traversal",
    )

    # --- duplicate entries -----------------------------------------------------------------------------
    for name in ("manifest.json", "manifest.sig", IMAGE_NAME):
        payload = {"manifest.json": base_manifest, "manifest.sig": original_sig, IMAGE_NAME: IMAGE}[name]
        yield Case(
            f"duplicate-{name}", _package(extra=((name, payload),)), fe.DuplicateMemberError, "more than once"
        )
        yield Case(
            f"duplicate-different-{name}",
            _package(extra=((name, b"other"),)),
            fe.DuplicateMemberError,
            "more than once",
        )

    # --- unexpected members ----------------------------------------------------------------------------
    for name in ("readme.txt", "payload.bin", "manifest.json.bak"):
        yield Case(
            f"unexpected-{name}", _package(extra=((name, b"x"),)), fe.UnexpectedMemberError, "unexpected"
        )
    many = _package(extra=tuple((f"f{i}.txt", b"") for i in range(500)))
    yield Case("unexpected-500-members", many, fe.UnexpectedMemberError, "defines exactly 3")

    # --- ZIP bombs -------------------------------------------------------------------------------------
    zeros = bytes(20 * 1024 * 1024)
    yield Case(
        "zip-bomb-image",
        _package(
            manifest=_dumps(_doc(image={"file": IMAGE_NAME, "sha256": "0" * 64, "size": len(zeros)})),
            image=zeros,
        ),
        fe.ZipBombError,
        "compression ratio",
    )
    yield Case(
        "zip-bomb-extra-member", _package(extra=(("bomb.bin", zeros),)), fe.ZipBombError, "compression ratio"
    )
    yield Case(
        "zip-bomb-manifest",
        _package(manifest=bytes(1024 * 1024)),
        fe.PackageTooLargeError,
        "manifest declares",
    )
    lying_small = _patch_central(_package(image=IMAGE + zeros[:200_000]), IMAGE_NAME, 24, "<I", len(IMAGE))
    yield Case("declared-size-smaller-than-data", lying_small, fe.NotAZipError, "CRC mismatch")
    inflated = _patch_central(GOOD, IMAGE_NAME, 24, "<I", 30 * 1024 * 1024)
    yield Case("declared-size-inflated-ratio", inflated, fe.ZipBombError, "compression ratio")

    # --- oversized declared sizes ----------------------------------------------------------------------
    for i, size in enumerate((33 * 1024 * 1024, 0x7FFFFFFF, 0xFFFFFFFE)):
        yield Case(
            f"oversized-declared-image-{i}",
            _patch_central(GOOD, IMAGE_NAME, 24, "<I", size),
            fe.PackageTooLargeError,
            "over the",
        )
    yield Case(
        "oversized-declared-manifest",
        _patch_central(GOOD, "manifest.json", 24, "<I", 10 * 1024 * 1024),
        fe.PackageTooLargeError,
        "manifest declares",
    )
    for i, size in enumerate((0, 33 * 1024 * 1024, 2**40)):
        yield Case(
            f"manifest-image-size-{i}",
            _package(manifest=_dumps(_doc(image={**good_doc["image"], "size": size}))),  # type: ignore[dict-item]
            fe.PackageTooLargeError,
            "-byte image",
        )
    yield Case(
        "manifest-image-size-lies",
        _package(manifest=_dumps(_doc(image={**good_doc["image"], "size": len(IMAGE) + 10}))),  # type: ignore[dict-item]
        fe.SizeMismatchError,
        "manifest declares",
    )
    yield Case("package-too-large", GOOD + bytes(49 * 1024 * 1024), fe.PackageTooLargeError, "package is")

    # --- unsupported ZIP features ----------------------------------------------------------------------
    for label, method in (("bzip2", zipfile.ZIP_BZIP2), ("lzma", zipfile.ZIP_LZMA)):
        data = _zip(
            [("manifest.json", base_manifest), ("manifest.sig", original_sig), (IMAGE_NAME, IMAGE)], method
        )
        yield Case(f"compression-{label}", data, fe.UnsupportedZipFeatureError, "compression method")
    encrypted = bytearray(GOOD)
    pos = encrypted.find(b"PK\x01\x02")
    struct.pack_into("<H", encrypted, pos + 8, struct.unpack_from("<H", encrypted, pos + 8)[0] | 1)
    yield Case("encrypted-member", bytes(encrypted), fe.UnsupportedZipFeatureError, "encrypted")
    crc = _patch_central(GOOD, IMAGE_NAME, 16, "<I", 0xDEADBEEF)
    yield Case("crc-mismatch", crc, fe.NotAZipError, "CRC mismatch")

    # --- manifest schema mistakes, signed by the trusted key -------------------------------------------
    schema: list[tuple[str, bytes, str]] = [
        ("not-json", b"{oops", "not valid JSON"),
        ("not-utf8", b"\xff\xfe{}", "not UTF-8"),
        ("array", b"[]", "JSON object"),
        (
            "nan",
            _dumps(good_doc).replace(b'"security_counter": 2', b'"security_counter": NaN'),
            "non-JSON number",
        ),
        ("dup-key", _dumps(good_doc)[:-2] + b',\n  "model": "VBMS-8"\n}', "more than once"),
        ("deep", b"[" * 30000 + b"]" * 30000, "not valid JSON"),
    ]
    for field in ("model", "version", "image", "expires", "created", "signing_key_id", "hardware_revisions"):
        doc = _doc()
        del doc[field]
        schema.append((f"missing-{field}", _dumps(doc), f"required field '{field}'"))
    bad_values: list[tuple[str, object, str]] = [
        ("format", "zip", "'format'"),
        ("format_version", 2, "not supported"),
        ("format_version", "1", "must be an integer"),
        ("model", "", "'model'"),
        ("model", "../x", "'model'"),
        ("model", 16, "'model'"),
        ("hardware_revisions", [], "1 to 64"),
        ("hardware_revisions", "B", "must be a list"),
        ("hardware_revisions", ["B", "B"], "twice"),
        ("hardware_revisions", ["B", 3], "'hardware_revisions'"),
        ("version", "1.1", "X.Y.Z"),
        ("version", "1.1.0-rc1", "X.Y.Z"),
        ("version", "256.0.0", "X.Y.Z"),
        ("min_bootloader_version", 1, "version string"),
        ("security_counter", -1, "between 0 and"),
        ("security_counter", 2**32, "between 0 and"),
        ("security_counter", True, "must be an integer"),
        ("security_counter", 2.0, "must be an integer"),
        ("release_notes", None, "'release_notes'"),
        ("release_notes", "x" * 20000, "longer than"),
        ("created", "2025-06-01", "UTC time"),
        ("created", "2025-13-01T00:00:00Z", "not a real date"),
        ("expires", "2020-01-01T00:00:00Z", "expires before it was created"),
        ("expires", 1893456000, "UTC time or null"),
        ("signing_key_id", "ABC", "64 lowercase hex"),
        ("sim_behaviour", "explode", "'sim_behaviour' is invalid"),
        ("extra_field", "x", "unknown field 'extra_field'"),
        ("image", {"file": IMAGE_NAME}, "exactly 'file'"),
        ("image", {"file": "../x", "sha256": "0" * 64, "size": 1}, "safe file name"),
        ("image", {"file": "manifest.sig", "sha256": "0" * 64, "size": 1}, "safe file name"),
        ("image", {"file": IMAGE_NAME, "sha256": "XYZ", "size": 1}, "64 lowercase hex"),
        ("image", [IMAGE_NAME], "must be a dict"),
    ]
    for i, (field, value, phrase) in enumerate(bad_values):
        schema.append((f"bad-{i}-{field}", _dumps(_doc(**{field: value})), phrase))
    for label, manifest, phrase in schema:
        yield Case(f"schema-{label}", _package(manifest=manifest), fe.ManifestSchemaError, phrase)

    # --- images whose TLVs lie, or that disagree with the manifest (signed by the trusted key) ---------
    parsed = parse_image(IMAGE)
    body_end = 0x200 + parsed.header.image_size

    def lie(offset: int, fmt: str, value: int) -> bytes:
        data = bytearray(IMAGE)
        struct.pack_into(fmt, data, offset, value)
        return bytes(data)

    tlv_lies = {
        "img-size-past-end": (lie(12, "<I", len(IMAGE) + 100), fe.TlvLengthError, "holds only"),
        "img-size-huge": (lie(12, "<I", 0xFFFFFFF0), fe.TlvLengthError, "holds only"),
        "prot-size-mismatch": (
            lie(10, "<H", parsed.header.protected_tlv_size + 8),
            fe.TlvLengthError,
            "area says",
        ),
        "prot-size-zero": (lie(10, "<H", 0), fe.TlvLengthError, "does not declare"),
        "prot-total-huge": (lie(body_end + 2, "<H", 0xFFFF), fe.TlvLengthError, "only"),
        "prot-total-tiny": (lie(body_end + 2, "<H", 2), fe.TlvLengthError, "less than its own"),
        "prot-entry-len": (
            lie(parsed.protected_tlvs[0].offset + 2, "<H", 0x2000),
            fe.TlvLengthError,
            "past the end",
        ),
        "tlv-total-huge": (
            lie(parsed.tlvs[0].offset - 2, "<H", 0xFFFF),
            fe.TlvLengthError,
            "remain in the image",
        ),
        "tlv-total-short": (lie(parsed.tlvs[0].offset - 2, "<H", 50), fe.TlvLengthError, "past the end"),
        "tlv-entry-len": (lie(parsed.tlvs[-1].offset + 2, "<H", 0x1000), fe.TlvLengthError, "past the end"),
        "sha-len-zero": (lie(parsed.tlvs[0].offset + 2, "<H", 0), fe.TlvLengthError, "past the end"),
        "hdr-size-tiny": (lie(8, "<H", 8), fe.ImageFormatError, "smaller than"),
        "magic": (lie(0, "<I", 0x96F3B83C), fe.ImageFormatError, "magic"),
        "tlv-magic": (lie(parsed.tlvs[0].offset - 4, "<H", 0x6909), fe.ImageFormatError, "magic"),
        "encrypted-flag": (lie(16, "<I", 0x4), fe.UnsupportedImageError, "does not support"),
        "compressed-flag": (lie(16, "<I", 0x400), fe.UnsupportedImageError, "does not support"),
        "trailing": (IMAGE + b"\xff" * 16, fe.ImageFormatError, "after its TLV area"),
        "sec-cnt-short": (
            _image(security_counter=None, extra_protected_tlvs=[(TlvType.SEC_CNT, b"\x02")]),
            fe.TlvLengthError,
            "must be 4",
        ),
    }
    for label, (image, error, phrase) in tlv_lies.items():
        yield Case(f"image-{label}", _signed_manifest_for(image), error, phrase)
    mismatches = {
        "version": (_image(version=FirmwareVersion(1, 1, 1)), "header says version"),
        "counter": (_image(security_counter=3), "security counter is 3"),
        "no-counter": (_image(security_counter=None), "no security counter"),
        "behaviour": (_image(sim_behaviour="boot-loop"), "sim behaviour"),
    }
    for label, (image, phrase) in mismatches.items():
        yield Case(f"mismatch-{label}", _signed_manifest_for(image), fe.ManifestMismatchError, phrase)

    # --- valid packages the device must refuse ---------------------------------------------------------
    for model in ("VBMS-8", "vbms-16", "VBMS-16X", "BMS", "VBMS-16 "):
        yield Case(
            f"wrong-model-{model}", GOOD, fe.WrongModelError, "is for model VBMS-16",
            device=DeviceFacts(model=model, hardware_revision="B"),
        )  # fmt: skip
    for rev in ("A", "D", "b", "BC", "B1"):
        yield Case(
            f"wrong-hw-rev-{rev}", GOOD, fe.WrongHardwareRevisionError, "hardware revisions B, C",
            device=DeviceFacts(model="VBMS-16", hardware_revision=rev),
        )  # fmt: skip
    for counter in (3, 4, 10, 1000, 0xFFFFFFFF):
        yield Case(
            f"downgrade-{counter}", GOOD, fe.DowngradeError, "anti-rollback",
            device=DeviceFacts(model="VBMS-16", hardware_revision="C", security_counter=counter),
        )  # fmt: skip
    for i, moment in enumerate(
        (datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 2, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC))
    ):
        yield Case(f"expired-{i}", GOOD, fe.ExpiredPackageError, "expired on 2030-01-01", now=moment)
    short_lived = build_package(
        dataclasses.replace(SPEC, expires=datetime(2025, 7, 1, tzinfo=UTC)), IMAGE, TRUSTED
    )
    yield Case("expired-short-lived", short_lived, fe.ExpiredPackageError, "expired on 2025-07-01")
    for old in ("0.9.0", "0.99.65535"):
        yield Case(
            f"bootloader-too-old-{old}", GOOD, BootloaderTooOldError, "needs bootloader 1.0.0",
            device=DeviceFacts(bootloader_version=FirmwareVersion.parse(old)),
        )  # fmt: skip


CASES = list(_cases())


def test_corpus_is_large_and_distinct() -> None:
    assert len(CASES) >= 200
    assert len({c.ident for c in CASES}) == len(CASES)
    assert len({c.error for c in CASES}) >= 20


def test_the_base_package_is_valid() -> None:
    verified = verify_package(GOOD, KEYRING, DEVICE, now=NOW)
    assert verified.version == VERSION


@pytest.fixture
def empty_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    work = tmp_path / "cwd"
    temp = tmp_path / "tmp"
    work.mkdir()
    temp.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    yield work, temp
    assert list(work.iterdir()) == []
    assert list(temp.iterdir()) == []


@pytest.mark.parametrize("case", CASES, ids=[c.ident for c in CASES])
def test_corpus_case_is_refused_for_its_reason(case: Case, empty_dirs: tuple[Path, Path]) -> None:
    with pytest.raises(PackageError) as caught:
        verify_package(case.data, KEYRING, case.device, now=case.now)
    error = caught.value
    assert type(error) is case.error, f"{type(error).__name__}: {error.message}"
    assert case.phrase in error.message
    message = error.message
    assert "\n" not in message
    assert message.endswith(".")
    assert len(message) < 260  # one sentence; the sim-behaviour refusal lists its 8 choices (240 chars)
    assert message[0].isupper()

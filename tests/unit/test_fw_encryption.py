"""Encrypted MCUboot images on the host: imgtool interoperability both ways, TLV checks, what the host checks.

Three implementations meet here and must agree byte for byte: imgtool (``Image.create`` with an
encryption key, the code behind ``imgtool sign --encrypt``), the tool's own builder and reader
(:mod:`bmsflasher.firmware.mcuboot_encryption`), and the virtual BMS's decryption
(:mod:`bmsflasher.sim.flash.encryption`, written apart on purpose).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import struct
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from imgtool import keys as imgtool_keys
from imgtool.image import Image, VerifyResult
from imgtool.version import decode_version

from bmsflasher.cli.main import main
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware import errors as fe
from bmsflasher.firmware.encryption_report import encryption_facts
from bmsflasher.firmware.keys import Keyring, KeyType, generate_key, load_private_key_file
from bmsflasher.firmware.mcuboot import (
    TlvType,
    build_image,
    check_image_hash,
    decrypt_image,
    parse_image,
    verify_image,
)
from bmsflasher.firmware.mcuboot_encryption import load_encryption_public_key
from bmsflasher.firmware.package import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    PackageSpec,
    build_package,
    read_package,
)
from bmsflasher.firmware.policy import DeviceFacts, verify_package
from bmsflasher.sim.flash.encryption import ImageDecryptor
from bmsflasher.sim.flash.images import ImageVerifier
from bmsflasher.sim.flash.images import parse_image as device_parse

DEMO = resource_path("demo")
SIGNER = load_private_key_file(DEMO / "demo-key.pem")
KEYRING = Keyring()
KEYRING.add(SIGNER)
DEVICE_KEY_FILE = DEMO / "encryption" / "demo-enc-key.pem"
DEVICE_PUB_FILE = DEMO / "encryption" / "demo-enc-key.pub.pem"
DEVICE_KEY = serialization.load_pem_private_key(DEVICE_KEY_FILE.read_bytes(), None)
RAW = hashlib.shake_256(b"encrypted firmware").digest(5001)  # not a multiple of 16: padded
V = FirmwareVersion(1, 4, 0)


def _pem_pair(
    tmp: Path, key: ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey, name: str
) -> tuple[Path, Path]:
    private = tmp / f"{name}.pem"
    public = tmp / f"{name}.pub.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def imgtool_encrypted(
    tmp: Path, encrypt_for: Path, keylen: int, signing_key: Path = DEMO / "demo-key.pem"
) -> bytes:
    """``imgtool sign --encrypt`` through imgtool's own library."""
    source = tmp / "raw.bin"
    source.write_bytes(RAW)
    image = Image(version=decode_version("1.4.0"), header_size=0x200, pad_header=True, security_counter=2)
    with contextlib.redirect_stdout(io.StringIO()):
        image.load(str(source))
        image.create(
            imgtool_keys.load(str(signing_key)),
            "hash",
            imgtool_keys.load(str(encrypt_for)),
            encrypt_keylen=keylen,
        )
    return bytes(image.payload)


def device(tmp: Path, key_file: Path = DEVICE_KEY_FILE) -> ImageVerifier:
    return ImageVerifier(DEMO / "demo-key.pub.pem", ImageDecryptor(key_file))


def device_decrypts(verifier: ImageVerifier, data: bytes) -> bytes:
    info = device_parse(data)
    cipher = verifier.body_cipher(info)
    assert not isinstance(cipher, str), cipher
    assert verifier.verify(data, cipher) is None
    return cipher.transform(data, 0)


# --- imgtool's encrypted images, read by the tool ----------------------------------------------------
@pytest.mark.parametrize("keylen", [128, 256])
def test_imgtool_ecies_p256_image_parses_verifies_and_decrypts(tmp_path: Path, keylen: int) -> None:
    data = imgtool_encrypted(tmp_path, DEVICE_PUB_FILE, keylen)
    image = parse_image(data)
    assert image.is_encrypted
    assert image.header.flags & (0x04 if keylen == 128 else 0x08)
    assert image.find(TlvType.ENC_EC256) is not None
    facts = encryption_facts(image)
    assert facts is not None
    assert (facts.scheme, facts.aes_bits) == ("ECIES-P256", keylen)
    assert RAW not in data  # the body travels encrypted
    verification = verify_image(image, KEYRING)  # signature over the declared plaintext hash
    assert verification.plaintext_checked is False
    assert verification.signer.key_type is KeyType.ECDSA_P256
    with pytest.raises(fe.ImageHashMismatchError):
        check_image_hash(image)  # the ciphertext itself does not hash to it
    plain = decrypt_image(image, DEVICE_KEY)  # type: ignore[arg-type]
    assert check_image_hash(plain) == image.declared_sha256
    assert plain.body[: len(RAW)] == RAW


def test_imgtool_x25519_image_decrypts_with_the_tool_and_the_device(tmp_path: Path) -> None:
    private, public = _pem_pair(tmp_path, x25519.X25519PrivateKey.generate(), "x25519")
    data = imgtool_encrypted(tmp_path, public, 128)
    image = parse_image(data)
    assert image.find(TlvType.ENC_X25519) is not None
    key = serialization.load_pem_private_key(private.read_bytes(), None)
    plain = decrypt_image(image, key)  # type: ignore[arg-type]
    assert plain.body[: len(RAW)] == RAW
    assert device_decrypts(device(tmp_path, private), data) == plain.data


# --- the tool's encrypted images, read by imgtool and the device ----------------------------------
@pytest.mark.parametrize("aes_bits", [128, 256])
def test_our_encrypted_image_is_what_imgtool_and_the_device_accept(tmp_path: Path, aes_bits: int) -> None:
    data = build_image(
        RAW, version=V, security_counter=2, key=SIGNER, encrypt_for=DEVICE_KEY.public_key(), aes_bits=aes_bits
    )
    plain = device_decrypts(device(tmp_path), data)
    path = tmp_path / "plain.img"
    path.write_bytes(plain)
    result, _version, digest, _ = Image.verify(str(path), imgtool_keys.load(str(DEMO / "demo-key.pub.pem")))
    assert result is VerifyResult.OK  # imgtool agrees: hash and signature over the plaintext
    assert digest == parse_image(data).declared_sha256
    assert plain[0x200 : 0x200 + len(RAW)] == RAW
    assert len(parse_image(data).body) % 16 == 0  # padded as imgtool pads


def test_our_x25519_image_decrypts_on_the_device(tmp_path: Path) -> None:
    private, _public = _pem_pair(tmp_path, x25519.X25519PrivateKey.generate(), "x")
    key = serialization.load_pem_private_key(private.read_bytes(), None)
    data = build_image(RAW, version=V, security_counter=2, key=SIGNER, encrypt_for=key.public_key())  # type: ignore[arg-type]
    assert parse_image(data).find(TlvType.ENC_X25519) is not None
    assert device_decrypts(device(tmp_path, private), data)[0x200 : 0x200 + len(RAW)] == RAW


def test_ed25519_signed_encrypted_image_verifies_on_the_host() -> None:
    ed = generate_key(KeyType.ED25519)
    ring = Keyring()
    ring.add(ed)
    data = build_image(RAW, version=V, security_counter=2, key=ed, encrypt_for=DEVICE_KEY.public_key())  # type: ignore[arg-type]
    assert verify_image(parse_image(data), ring).plaintext_checked is False


# --- what the host refuses -----------------------------------------------------------------------------
def _u32(data: bytes, offset: int, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into("<I", out, offset, value)
    return bytes(out)


def test_encryption_flags_and_key_tlvs_must_agree() -> None:
    data = build_image(RAW, version=V, security_counter=2, key=SIGNER, encrypt_for=DEVICE_KEY.public_key())  # type: ignore[arg-type]
    with pytest.raises(fe.ImageFormatError, match="both"):
        parse_image(_u32(data, 16, 0x04 | 0x08))
    with pytest.raises(fe.ImageFormatError, match="AES-256 needs"):
        parse_image(_u32(data, 16, 0x08))  # a 16-byte wrapped key under the AES-256 flag
    with pytest.raises(fe.ImageFormatError, match="does not say it is encrypted"):
        parse_image(_u32(data, 16, 0))
    plain = build_image(RAW, version=V, security_counter=2, key=SIGNER)
    with pytest.raises(fe.UnsupportedImageError, match="does not support"):
        parse_image(_u32(plain, 16, 0x04))


def test_a_forged_signature_over_the_declared_hash_is_refused_without_the_device_key() -> None:
    data = bytearray(
        build_image(RAW, version=V, security_counter=2, key=SIGNER, encrypt_for=DEVICE_KEY.public_key())
    )  # type: ignore[arg-type]
    image = parse_image(bytes(data))
    sha = image.find(TlvType.SHA256)
    assert sha is not None
    data[sha.offset + 4] ^= 0x01  # another plaintext hash: the signature no longer covers it
    with pytest.raises(fe.ImageSignatureError):
        verify_image(parse_image(bytes(data)), KEYRING)


def _package(data: bytes, model: str = "VBMS-16") -> bytes:
    spec = PackageSpec(
        model=model,
        hardware_revisions=("B", "C"),
        version=V,
        security_counter=2,
        created=datetime(2026, 1, 1, tzinfo=UTC),
        expires=datetime(2030, 1, 1, tzinfo=UTC),
    )
    return build_package(spec, data, SIGNER)


def test_the_manifest_covers_the_ciphertext_and_the_device_model() -> None:
    data = build_image(RAW, version=V, security_counter=2, key=SIGNER, encrypt_for=DEVICE_KEY.public_key())  # type: ignore[arg-type]
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert verify_package(_package(data), KEYRING, now=now).image.is_encrypted
    flipped = bytearray(data)
    flipped[0x200 + 77] ^= 0x04  # one ciphertext bit: the host cannot decrypt, but the manifest's hash tells
    original = read_package(_package(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(MANIFEST_NAME, original.manifest_bytes)
        archive.writestr(SIGNATURE_NAME, original.signature)
        archive.writestr(original.image_name, bytes(flipped))
    with pytest.raises(fe.ImageHashMismatchError, match="altered"):
        verify_package(buffer.getvalue(), KEYRING, now=now)
    with pytest.raises(fe.WrongModelError):  # an encrypted image for another device
        verify_package(_package(data, "VBMS-8"), KEYRING, DeviceFacts(model="VBMS-16"), now=now)


def test_encrypt_for_refuses_a_private_key_a_signing_curve_and_a_presigned_image(tmp_path: Path) -> None:
    with pytest.raises(fe.KeyFileError, match="private key"):
        load_encryption_public_key(DEVICE_KEY_FILE.read_bytes(), source="demo-enc-key.pem")
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    pem = p384.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(fe.KeyFileError, match="P-256 or X25519"):
        load_encryption_public_key(pem, source="p384.pub.pem")
    signed = tmp_path / "signed.img"
    signed.write_bytes(build_image(RAW, version=V, security_counter=2, key=SIGNER))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(
            [
                "package", "--firmware", str(signed), "--model", "VBMS-16", "--hw-rev", "B",
                "--version", "1.4.0", "--security-counter", "2", "--key", str(DEMO / "demo-key.pem"),
                "--encrypt-for", str(DEVICE_PUB_FILE), "--out", str(tmp_path / "x.bmspkg"),
            ]
        )  # fmt: skip
    assert code != 0
    assert "already a signed image" in (out.getvalue() + err.getvalue()).replace("\n", " ")

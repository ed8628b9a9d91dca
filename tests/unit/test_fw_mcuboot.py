"""MCUboot images: round trips, strict parsing, and interoperability with MCUboot's own imgtool."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware import errors as fe
from bmsflasher.firmware.keys import (
    Keyring,
    KeyType,
    generate_key,
    key_hash,
    load_private_key_file,
    private_key_pem,
    public_key_pem,
)
from bmsflasher.firmware.mcuboot import (
    IMAGE_MAGIC,
    TlvType,
    build_image,
    parse_image,
    verify_image,
)

DEMO = resource_path("demo")
IMGTOOL = str(Path(sys.executable).parent / "imgtool")
PAYLOAD = bytes(range(256)) * 40 + b"firmware tail"
V123 = FirmwareVersion(1, 2, 3, 7)


def _ring(*keys: object) -> Keyring:
    ring = Keyring()
    for key in keys:
        ring.add(key)  # type: ignore[arg-type]
    return ring


def _imgtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IMGTOOL, *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def ec_key():
    return load_private_key_file(DEMO / "demo-key.pem")


@pytest.fixture(scope="module")
def ed_key():
    return load_private_key_file(DEMO / "demo-key-ed25519.pem")


# --- round trips ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("key_type", list(KeyType))
def test_build_parse_verify_round_trip(key_type: KeyType) -> None:
    key = generate_key(key_type)
    data = build_image(PAYLOAD, version=V123, security_counter=9, key=key, sim_behaviour="boot-loop")
    image = parse_image(data)
    assert image.version == V123
    assert image.security_counter == 9
    assert image.sim_behaviour == "boot-loop"
    assert image.body == PAYLOAD
    assert image.header.header_size == 0x200
    assert image.declared_sha256 == hashlib.sha256(image.hashed_region).digest()
    result = verify_image(image, _ring(key))
    assert result.signer.key_id == key_hash(key).hex()


def test_unsigned_image_is_refused_but_parses() -> None:
    image = parse_image(build_image(PAYLOAD, version=V123, security_counter=1, key=None))
    assert image.find(TlvType.SHA256) is not None
    with pytest.raises(fe.MissingSignatureError, match="not signed"):
        verify_image(image, _ring(generate_key()))


def test_wrong_key_is_untrusted(ec_key) -> None:
    image = parse_image(build_image(PAYLOAD, version=V123, security_counter=1, key=ec_key))
    with pytest.raises(fe.UntrustedKeyError, match="not a trusted key"):
        verify_image(image, _ring(generate_key()))


def test_forged_signature_with_trusted_keyhash(ec_key) -> None:
    """An attacker copies the trusted KEYHASH but signs with their own key: signature error."""
    attacker = generate_key()
    data = bytearray(build_image(PAYLOAD, version=V123, security_counter=1, key=attacker))
    image = parse_image(bytes(data))
    keyhash = image.find(TlvType.KEYHASH)
    assert keyhash is not None
    start = keyhash.offset + 4
    data[start : start + 32] = key_hash(ec_key)
    with pytest.raises(fe.ImageSignatureError, match="does not verify"):
        verify_image(parse_image(bytes(data)), _ring(ec_key))


def test_flipping_any_hashed_byte_is_detected(ec_key) -> None:
    data = build_image(PAYLOAD, version=V123, security_counter=3, key=ec_key)
    image = parse_image(data)
    hashed_len = len(image.hashed_region)
    for offset in (40, 0x200, 0x200 + len(PAYLOAD) - 1, hashed_len - 1):
        tampered = bytearray(data)
        tampered[offset] ^= 0x01
        with pytest.raises(fe.ImageHashMismatchError):
            verify_image(parse_image(bytes(tampered)), _ring(ec_key))


def test_without_pad_header_requires_zero_header_gap(ec_key) -> None:
    with pytest.raises(fe.FirmwareInputError, match="zero-filled header"):
        build_image(PAYLOAD, version=V123, security_counter=1, key=ec_key, pad_header=False)
    data = build_image(bytes(0x200) + PAYLOAD, version=V123, security_counter=1, key=ec_key, pad_header=False)
    assert parse_image(data).body == PAYLOAD


def test_full_public_key_format(ed_key) -> None:
    data = build_image(PAYLOAD, version=V123, security_counter=1, key=ed_key, public_key_format="full")
    image = parse_image(data)
    assert image.find(TlvType.PUBKEY) is not None
    assert image.find(TlvType.KEYHASH) is None
    assert verify_image(image, _ring(ed_key)).signer.key_type is KeyType.ED25519


def test_signature_without_key_tlv_is_ignored_like_mcuboot(ec_key) -> None:
    data = bytearray(build_image(PAYLOAD, version=V123, security_counter=1, key=ec_key))
    keyhash = parse_image(bytes(data)).find(TlvType.KEYHASH)
    assert keyhash is not None
    _set_u16(data, keyhash.offset, 0x00A5)  # relabel KEYHASH as an unknown vendor TLV
    with pytest.raises(fe.ImageSignatureError, match="not preceded by a KEYHASH"):
        verify_image(parse_image(bytes(data)), _ring(ec_key))


def test_trailing_bytes_only_with_allow_trailing(ec_key) -> None:
    data = build_image(PAYLOAD, version=V123, security_counter=1, key=ec_key)
    slot = data + b"\xff" * 4096
    with pytest.raises(fe.ImageFormatError, match="unexpected bytes after"):
        parse_image(slot)
    assert parse_image(slot, allow_trailing=True).data == data


# --- strict parsing: every length checked ----------------------------------------------------------------
def _image_with(ec_key, mutate) -> bytes:
    data = bytearray(build_image(PAYLOAD, version=V123, security_counter=2, key=ec_key))
    mutate(data, parse_image(bytes(data)))
    return bytes(data)


def _set_u16(data: bytearray, offset: int, value: int) -> None:
    struct.pack_into("<H", data, offset, value)


def _set_u32(data: bytearray, offset: int, value: int) -> None:
    struct.pack_into("<I", data, offset, value)


LIES = {
    "image size past end": (lambda d, i: _set_u32(d, 12, len(d)), fe.TlvLengthError),
    "image size short": (lambda d, i: _set_u32(d, 12, i.header.image_size - 3), fe.ImageFormatError),
    "header size below 32": (lambda d, i: _set_u16(d, 8, 16), fe.ImageFormatError),
    "prot size disagrees": (lambda d, i: _set_u16(d, 10, i.header.protected_tlv_size + 4), fe.TlvLengthError),
    "prot area total lies": (
        lambda d, i: _set_u16(d, 0x200 + i.header.image_size + 2, 0xFFF0),
        fe.TlvLengthError,
    ),
    "prot entry length lies": (
        lambda d, i: _set_u16(d, i.protected_tlvs[0].offset + 2, 0x100),
        fe.TlvLengthError,
    ),
    "unprot total lies": (lambda d, i: _set_u16(d, i.tlvs[0].offset - 2, 0xFFFF), fe.TlvLengthError),
    "unprot total below header": (lambda d, i: _set_u16(d, i.tlvs[0].offset - 2, 2), fe.TlvLengthError),
    "unprot entry length lies": (lambda d, i: _set_u16(d, i.tlvs[-1].offset + 2, 0x400), fe.TlvLengthError),
    "sha tlv too short": (lambda d, i: _set_u16(d, i.tlvs[0].offset + 2, 0), fe.ImageFormatError),
    "bad magic": (lambda d, i: _set_u32(d, 0, 0x12345678), fe.ImageFormatError),
    "bad tlv magic": (lambda d, i: _set_u16(d, i.tlvs[0].offset - 4, 0x6906), fe.ImageFormatError),
    "encrypted flag": (lambda d, i: _set_u32(d, 16, 0x4), fe.UnsupportedImageError),
    "undeclared protected area": (lambda d, i: _set_u16(d, 10, 0), fe.TlvLengthError),
}


@pytest.mark.parametrize("case", sorted(LIES))
def test_lying_lengths_are_rejected(case: str, ec_key) -> None:
    mutate, error = LIES[case]
    with pytest.raises(error):
        parse_image(_image_with(ec_key, mutate))


@pytest.mark.parametrize(
    ("tlvs", "error"),
    [
        ([(TlvType.SEC_CNT, b"\x01\x00")], fe.TlvLengthError),
        (
            [(TlvType.SEC_CNT, b"\x01\x00\x00\x00"), (TlvType.SEC_CNT, b"\x02\x00\x00\x00")],
            fe.ImageFormatError,
        ),
        ([(TlvType.SIM_BEHAVIOUR, b"\xff\xfe")], fe.ImageFormatError),
        ([(TlvType.SHA256, bytes(32))], fe.ImageFormatError),
    ],
)
def test_bad_protected_tlvs_are_rejected(
    tlvs: list[tuple[int, bytes]], error: type[Exception], ec_key
) -> None:
    data = build_image(PAYLOAD, version=V123, security_counter=None, key=ec_key, extra_protected_tlvs=tlvs)
    with pytest.raises(error):
        parse_image(data)


def test_security_counter_in_unprotected_area_is_rejected(ec_key) -> None:
    data = bytearray(build_image(PAYLOAD, version=V123, security_counter=None, key=ec_key))
    image = parse_image(bytes(data))
    _set_u16(data, image.tlvs[0].offset, TlvType.SEC_CNT)  # relabel the SHA TLV (32 bytes) as SEC_CNT
    with pytest.raises(fe.ImageFormatError, match="protected"):
        parse_image(bytes(data))


@pytest.mark.parametrize("cut", [0, 1, 31, 32, 100, 0x200 + 5])
def test_truncated_images_are_rejected(cut: int, ec_key) -> None:
    data = build_image(PAYLOAD, version=V123, security_counter=2, key=ec_key)
    with pytest.raises(fe.ImageFormatError):
        parse_image(data[:cut])
    with pytest.raises(fe.ImageFormatError):
        parse_image(data[: len(data) - 1 - cut])


# --- interoperability with imgtool ------------------------------------------------------------------------
IMGTOOL_CASES = {
    "ecdsa pad-header counter": ("demo-key.pem", ["--pad-header", "--security-counter", "5"]),
    "ed25519 pad-header counter": ("demo-key-ed25519.pem", ["--pad-header", "--security-counter", "5"]),
    "ecdsa no counter": ("demo-key.pem", ["--pad-header"]),
    "ecdsa pad-sig full pubkey": (
        "demo-key.pem",
        ["--pad-header", "--pad-sig", "--public-key-format", "full"],
    ),
    "ed25519 custom tlv": (
        "demo-key-ed25519.pem",
        ["--pad-header", "-s", "7", "--custom-tlv", "0xb1", "slow-link"],
    ),
    "ecdsa zero header no pad": ("demo-key.pem", ["--security-counter", "auto"]),
}


@pytest.mark.parametrize("case", sorted(IMGTOOL_CASES))
def test_images_signed_by_imgtool_verify_here(case: str, tmp_path: Path) -> None:
    key_name, extra = IMGTOOL_CASES[case]
    source = tmp_path / "app.bin"
    payload = PAYLOAD if "--pad-header" in extra else bytes(0x200) + PAYLOAD
    source.write_bytes(payload)
    out = tmp_path / "signed.bin"
    result = _imgtool(
        "sign", "-k", str(DEMO / key_name), "--version", "1.2.3+7", "-H", "0x200", "-S", "0x100000",
        *extra, str(source), str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    image = parse_image(out.read_bytes())
    assert image.version == V123
    assert image.body == PAYLOAD
    expected_counter = {"5": 5, "7": 7, "auto": (1 << 24) + (2 << 16) + 3}
    counter_arg = next((extra[i + 1] for i, a in enumerate(extra) if a in ("--security-counter", "-s")), None)
    assert image.security_counter == (None if counter_arg is None else expected_counter[counter_arg])
    if "slow-link" in extra:
        assert image.sim_behaviour == "slow-link"
    ring = Keyring.from_paths([DEMO / key_name.replace(".pem", ".pub.pem")])
    verify_image(image, ring)
    with pytest.raises(fe.UntrustedKeyError):
        verify_image(image, _ring(generate_key()))


@pytest.mark.parametrize("key_name", ["demo-key.pem", "demo-key-ed25519.pem"])
@pytest.mark.parametrize("counter", [None, 0, 4242])
def test_images_signed_here_pass_imgtool_verify(key_name: str, counter: int | None, tmp_path: Path) -> None:
    key = load_private_key_file(DEMO / key_name)
    image_path = tmp_path / "image.bin"
    image_path.write_bytes(build_image(PAYLOAD, version=V123, security_counter=counter, key=key))
    result = _imgtool("verify", "-k", str(DEMO / key_name.replace(".pem", ".pub.pem")), str(image_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Image was correctly validated" in result.stdout
    assert "1.2.3+7" in result.stdout
    other = tmp_path / "other.pem"
    other_key = generate_key(KeyType.ED25519 if "ed25519" in key_name else KeyType.ECDSA_P256)
    other.write_bytes(public_key_pem(other_key))
    refused = _imgtool("verify", "-k", str(other), str(image_path))
    assert refused.returncode != 0


def test_tampered_image_fails_imgtool_verify(tmp_path: Path) -> None:
    key = load_private_key_file(DEMO / "demo-key.pem")
    data = bytearray(build_image(PAYLOAD, version=V123, security_counter=1, key=key))
    data[0x300] ^= 0xFF
    path = tmp_path / "bad.bin"
    path.write_bytes(bytes(data))
    result = _imgtool("verify", "-k", str(DEMO / "demo-key.pub.pem"), str(path))
    assert result.returncode != 0


def test_ed25519_output_is_byte_identical_to_imgtool(tmp_path: Path) -> None:
    """Ed25519 is deterministic, so the same inputs must give the same bytes as imgtool."""
    key = load_private_key_file(DEMO / "demo-key-ed25519.pem")
    source = tmp_path / "app.bin"
    source.write_bytes(PAYLOAD)
    out = tmp_path / "signed.bin"
    result = _imgtool(
        "sign", "-k", str(DEMO / "demo-key-ed25519.pem"), "--version", "1.2.3+7", "-H", "0x200", "-S",
        "0x100000", "--pad-header", "-s", "11", "--custom-tlv", "0xb1", "selftest-fail",
        str(source), str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    ours = build_image(PAYLOAD, version=V123, security_counter=11, key=key, sim_behaviour="selftest-fail")
    assert ours == out.read_bytes()


def test_keys_written_here_are_read_by_imgtool(tmp_path: Path) -> None:
    key = generate_key(KeyType.ED25519)
    path = tmp_path / "k.pem"
    path.write_bytes(private_key_pem(key))
    result = _imgtool("getpub", "-k", str(path), "--encoding", "pem")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().encode() == public_key_pem(key).strip()


def test_factory_image_is_what_the_virtual_bms_expects() -> None:
    data = (DEMO / "factory-1.0.0.img").read_bytes()
    image = parse_image(data)
    assert struct.unpack_from("<I", data)[0] == IMAGE_MAGIC
    assert image.version == FirmwareVersion(1, 0, 0)
    assert image.security_counter == 1
    assert image.header.header_size == 0x200
    assert image.sim_behaviour is None
    assert 200 * 1024 <= image.header.image_size <= 300 * 1024
    signer = verify_image(image, Keyring.from_paths([DEMO / "demo-key.pub.pem"])).signer
    assert signer.key_type is KeyType.ECDSA_P256

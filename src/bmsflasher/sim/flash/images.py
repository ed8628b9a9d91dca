"""MCUboot images as the device's bootloader sees them.

The device parses the header and TLV areas itself (to find the length, version, security counter
and the sim-behaviour TLV) and leaves the cryptographic verdict to MCUboot's own ``imgtool``
(:func:`imgtool.image.Image.verify`) with the device's trusted key, so the device never shares the
tool's verification code: a bug on the tool side cannot hide behind the same bug on the device.

Only TLVs in the *protected* area (covered by the hash and signature) are trusted for the
security counter and the behaviour, as MCUboot does.

An encrypted image (header flag ENCRYPTED_AES128/256) in the secondary slot is verified as MCUboot
does it: its AES key is unwrapped from its ENC TLV with the device's private encryption key
(:mod:`bmsflasher.sim.flash.encryption`), and the hash and signature are checked over the
decrypted body. An image wrapped for another key never gets that far.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bmsflasher.core.types import FirmwareVersion
from bmsflasher.sim.flash.encryption import (
    FLAG_ENCRYPTED_AES128,
    FLAG_ENCRYPTED_AES256,
    TLV_ENC_EC256,
    TLV_ENC_X25519,
    BodyCipher,
    ImageDecryptor,
)

IMAGE_MAGIC: Final = 0x96F3B83D
TLV_INFO_MAGIC: Final = 0x6907
TLV_PROT_INFO_MAGIC: Final = 0x6908
TLV_SHA256: Final = 0x10
TLV_SEC_CNT: Final = 0x50
TLV_SIM_BEHAVIOUR: Final = 0x00B1
_HEADER: Final = struct.Struct("<IIHHIIBBHI")  # magic, load, hdr_sz, prot_tlv_sz, img_sz, flags, version
_TLV_INFO: Final = struct.Struct("<HH")
_TLV: Final = struct.Struct("<BBH")  # MCUboot v2 TLV: type is u16 little-endian (BB as lo/hi)


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the header and the protected TLVs of one image say.

    Attributes:
        version: the header's version.
        header_size: bytes before the code.
        code_size: bytes of code (``ih_img_size``).
        total_size: header + code + both TLV areas: the bytes that make the image.
        security_counter: the protected SEC_CNT TLV, 0 when absent.
        behaviour: the protected sim-behaviour TLV text, ``healthy`` when absent.
        image_hash: the SHA256 TLV (MCUboot's image hash, what SMP reports), empty when absent.
        flags: the header's flags (ENCRYPTED_AES128 0x04, ENCRYPTED_AES256 0x08, ...).
        key_tlv: the unprotected ENC_EC256 / ENC_X25519 TLV as (type, value), None when absent.
    """

    version: FirmwareVersion
    header_size: int
    code_size: int
    total_size: int
    security_counter: int
    behaviour: str
    image_hash: bytes
    flags: int = 0
    key_tlv: tuple[int, bytes] | None = None

    @property
    def encrypted(self) -> bool:
        """The header says the body is stored encrypted (outside the primary slot)."""
        return bool(self.flags & (FLAG_ENCRYPTED_AES128 | FLAG_ENCRYPTED_AES256))


class ImageParseError(ValueError):
    """The bytes are not a well-formed MCUboot image; the message says why in one sentence."""


def _tlvs(data: bytes, offset: int, limit: int) -> tuple[int, int, dict[int, bytes]]:
    """Parse one TLV area at ``offset``: returns (magic, area length, type → value)."""
    if offset + _TLV_INFO.size > limit:
        raise ImageParseError("the TLV area runs past the end of the slot")
    magic, area_len = _TLV_INFO.unpack_from(data, offset)
    if magic not in (TLV_INFO_MAGIC, TLV_PROT_INFO_MAGIC):
        raise ImageParseError(f"TLV info magic {magic:#06x} is not an MCUboot TLV area")
    end = offset + area_len
    if end > limit or area_len < _TLV_INFO.size:
        raise ImageParseError("the TLV area length runs past the end of the slot")
    values: dict[int, bytes] = {}
    pos = offset + _TLV_INFO.size
    while pos < end:
        if pos + _TLV.size > end:
            raise ImageParseError("a TLV header runs past its area")
        lo, hi, length = _TLV.unpack_from(data, pos)
        start = pos + _TLV.size
        if start + length > end:
            raise ImageParseError("a TLV value runs past its area")
        values.setdefault(lo | hi << 8, data[start : start + length])
        pos = start + length
    return magic, area_len, values


def parse_image(data: bytes) -> ImageInfo:
    """Parse the header and TLV areas of an image (``data`` may carry trailing slot bytes).

    Raises:
        ImageParseError: the bytes are not a well-formed MCUboot image.
    """
    if len(data) < _HEADER.size:
        raise ImageParseError("the image is shorter than an MCUboot header")
    magic, _load, header_size, prot_size, code_size, flags, major, minor, rev, build = _HEADER.unpack_from(
        data
    )
    if magic != IMAGE_MAGIC:
        raise ImageParseError("no MCUboot image magic")
    if header_size < _HEADER.size:
        raise ImageParseError(f"header size {header_size} is smaller than an MCUboot header")
    offset = header_size + code_size
    protected: dict[int, bytes] = {}
    if prot_size:
        kind, length, protected = _tlvs(data, offset, len(data))
        if kind != TLV_PROT_INFO_MAGIC or length != prot_size:
            raise ImageParseError("the protected TLV area does not match the header")
        offset += length
    kind, length, unprotected = _tlvs(data, offset, len(data))
    if kind != TLV_INFO_MAGIC:
        raise ImageParseError("the unprotected TLV area is missing")
    counter_raw = protected.get(TLV_SEC_CNT, b"")
    counter = struct.unpack("<I", counter_raw)[0] if len(counter_raw) == 4 else 0
    behaviour_raw = protected.get(TLV_SIM_BEHAVIOUR)
    try:
        behaviour = behaviour_raw.decode("utf-8").strip() if behaviour_raw else "healthy"
    except UnicodeDecodeError:
        behaviour = "healthy"
    return ImageInfo(
        version=FirmwareVersion(major, minor, rev, build),
        header_size=header_size,
        code_size=code_size,
        total_size=offset + length,
        security_counter=counter,
        behaviour=behaviour or "healthy",
        image_hash=unprotected.get(TLV_SHA256, b""),
        flags=flags,
        key_tlv=next(
            ((t, unprotected[t]) for t in (TLV_ENC_EC256, TLV_ENC_X25519) if t in unprotected), None
        ),
    )


class ImageVerifier:
    """Signature check with imgtool against one trusted public key (PEM), decrypting when needed.

    Args:
        trusted_key: the signing key's public half the bootloader trusts.
        decryptor: the device's private encryption key; None models a bootloader built without
            encrypted-image support (it refuses every encrypted image in the secondary slot).
    """

    def __init__(self, trusted_key: Path, decryptor: ImageDecryptor | None = None) -> None:
        self._decryptor = decryptor
        from imgtool import keys as imgtool_keys

        try:
            self._key = imgtool_keys.load(str(trusted_key))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot load the trusted key {trusted_key}: {exc}") from exc
        if self._key is None:
            raise ValueError(f"{trusted_key} is not a public key imgtool understands")

    @property
    def key_hash(self) -> bytes:
        """SHA-256 of the trusted key as the bootloader stores it (imgtool's public bytes, DER).

        The value MCUboot compares with an image's KEYHASH TLV (``bootutil_find_key``), and what
        the device reports as the key its bootloader trusts.
        """
        return hashlib.sha256(bytes(self._key.get_public_bytes())).digest()

    def body_cipher(self, info: ImageInfo) -> BodyCipher | str:
        """The AES key and body range of an encrypted image, or why it cannot be decrypted."""
        if info.flags & FLAG_ENCRYPTED_AES128 and info.flags & FLAG_ENCRYPTED_AES256:
            return "the image header sets both AES-128 and AES-256"
        if self._decryptor is None:
            return "the image is encrypted and this bootloader holds no decryption key"
        if info.key_tlv is None:
            return "the image is flagged encrypted but carries no ECIES key TLV"
        key_bytes = 16 if info.flags & FLAG_ENCRYPTED_AES128 else 32
        key = self._decryptor.unwrap(info.key_tlv[0], info.key_tlv[1], key_bytes)
        if key is None:
            return "the image is encrypted for another device key (its key TLV does not unwrap)"
        return BodyCipher(key, info.header_size, info.code_size)

    def verify(self, image: bytes, cipher: BodyCipher | None = None) -> str | None:
        """Check hash and signature (of the plaintext, decrypting with ``cipher`` first).

        Returns None when valid, else the reason in a few words.
        """
        from imgtool.image import Image, VerifyResult

        if cipher is not None:
            image = cipher.transform(image, 0)
        with tempfile.TemporaryDirectory(prefix="vbms-verify-") as folder:
            path = Path(folder) / "slot.bin"
            path.write_bytes(image)
            try:
                result, _version, _digest, _sig = Image.verify(str(path), self._key)
            except (struct.error, KeyError, ValueError, IndexError) as exc:
                return f"the image does not parse ({exc})"
        if result == VerifyResult.OK:
            return None
        return {
            VerifyResult.INVALID_MAGIC: "bad image magic",
            VerifyResult.INVALID_TLV_INFO_MAGIC: "bad TLV area",
            VerifyResult.INVALID_HASH: "the image hash does not match",
            VerifyResult.INVALID_SIGNATURE: "the signature does not verify with the trusted key",
            VerifyResult.KEY_MISMATCH: "the image is signed for another key type",
        }.get(result, f"imgtool says {result}")


def build_signed_image(
    code: bytes,
    version: str,
    signing_key: Path,
    *,
    security_counter: int | None = None,
    behaviour: str | None = None,
    header_size: int = 0x200,
    pad_to_slot_size: int | None = None,
    confirm: bool = False,
    align: int = 8,
    max_sectors: int | None = None,
    encrypt_for: Path | None = None,
    aes_bits: int = 128,
) -> bytes:
    """Build a signed MCUboot image with imgtool's library (for tests and demo set-ups).

    Args:
        code: the firmware payload.
        version: ``X.Y.Z`` or ``X.Y.Z+B``.
        signing_key: PEM private key.
        security_counter: value of the protected SEC_CNT TLV; None leaves it out.
        behaviour: value of the protected sim-behaviour TLV 0x00B1; None leaves it out.
        header_size: MCUboot header size (Zephyr uses 0x200).
        pad_to_slot_size: as ``imgtool sign --pad --slot-size N``: fill the slot and end it with
            the trailer magic, so the bootloader test-boots the image without being asked.
        confirm: with padding, as ``--confirm``: set ``image_ok`` too (a permanent swap).
        align: the flash write size, imgtool's ``--align`` (places the trailer fields).
        max_sectors: imgtool's ``--max-sectors`` (the size of the padding's status area).
        encrypt_for: as ``--encrypt KEY.pub.pem``: imgtool encrypts the body for that public key.
        aes_bits: as ``--encrypt-keylen``: 128 or 256.
    """
    from imgtool import keys as imgtool_keys
    from imgtool.image import Image
    from imgtool.version import decode_version

    key = imgtool_keys.load(str(signing_key))
    enckey = imgtool_keys.load(str(encrypt_for)) if encrypt_for is not None else None
    custom = {TLV_SIM_BEHAVIOUR: behaviour.encode("utf-8")} if behaviour is not None else None
    image = Image(
        version=decode_version(version),
        header_size=header_size,
        pad_header=True,
        security_counter=security_counter,
        pad=pad_to_slot_size is not None,
        confirm=confirm,
        slot_size=pad_to_slot_size or 0,
        align=align,
        max_sectors=max_sectors,
    )
    with tempfile.TemporaryDirectory(prefix="vbms-build-") as folder:
        source = Path(folder) / "code.bin"
        source.write_bytes(code)
        with contextlib.redirect_stdout(io.StringIO()):  # imgtool prints "sign the payload"
            image.load(str(source))
            image.create(key, "hash", enckey, custom_tlvs=custom, encrypt_keylen=aes_bits)
    if pad_to_slot_size is not None:
        image.pad_to(pad_to_slot_size)  # what imgtool's save() does for --pad
    return bytes(image.payload)


def decrypted(image: bytes, verifier: ImageVerifier) -> bytes:
    """An encrypted image as it stands in the primary slot after the swap (for tests and demos).

    Raises:
        ImageParseError: the image does not parse, is not encrypted, or is not for this device.
    """
    info = parse_image(image)
    if not info.encrypted:
        raise ImageParseError("the image is not encrypted")
    cipher = verifier.body_cipher(info)
    if isinstance(cipher, str):
        raise ImageParseError(cipher)
    return cipher.transform(image[: info.total_size], 0)


def sha256(data: bytes) -> bytes:
    """SHA-256 of bytes (the upload identity of a whole image file)."""
    return hashlib.sha256(data).digest()

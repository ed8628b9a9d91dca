"""MCUboot image format: strict parser, builder/signer and signature verifier.

Layout (little-endian, as MCUboot and imgtool write it)::

    header (32 bytes, padded to hdr_size)
    image body (img_size bytes)
    protected TLV area   magic 0x6908, total size == header.protected_tlv_size   (optional)
    unprotected TLV area magic 0x6907: SHA256, KEYHASH/PUBKEY, signature

The SHA-256 covers header + padding + body + protected TLV area, so the security counter and the
sim-behaviour vendor TLV are as tamper-proof as the code. An encrypted image (header flag
ENCRYPTED_AES128/256 and an ENC_EC256 or ENC_X25519 TLV, :mod:`bmsflasher.firmware.mcuboot_encryption`)
carries its body in AES-CTR ciphertext while the hash and the signature cover the plaintext, as
MCUboot defines: without the device's private key the host can check the structure and that a
trusted key signed the declared hash, not that the ciphertext decrypts to it. ECDSA-P256 signs
the hashed region with ECDSA-SHA256; Ed25519 signs the 32-byte SHA-256 digest (imgtool's
non-"pure" Ed25519 mode).

Every length field is checked against the bytes actually present before anything is sliced: an
image whose TLVs lie about their lengths is rejected with :class:`TlvLengthError`, never indexed
out of range. Nothing here touches files.
"""

from __future__ import annotations

import enum
import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from bmsflasher.core.i18n import t
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.errors import (
    FirmwareInputError,
    ImageFormatError,
    ImageHashMismatchError,
    ImageSignatureError,
    MissingSignatureError,
    TlvLengthError,
    UnsupportedImageError,
    UntrustedKeyError,
)
from bmsflasher.firmware.keys import (
    Keyring,
    KeyType,
    PrivateKey,
    TrustedKey,
    key_hash,
    key_id,
    key_type_of,
    load_public_key_der,
    public_key_der,
    sign_message,
    verify_message,
)
from bmsflasher.firmware.mcuboot_encryption import (
    FLAG_AES128,
    FLAG_AES256,
    EncryptionPrivateKey,
    EncryptionPublicKey,
    WrappedKey,
    aes_ctr,
    aes_key_bytes,
    new_aes_key,
    pad_body,
    split_wrapped_key,
    unwrap_key,
    wrap_key,
)

IMAGE_MAGIC: Final = 0x96F3B83D
IMAGE_HEADER_SIZE: Final = 32
DEFAULT_HEADER_SIZE: Final = 0x200
TLV_INFO_MAGIC: Final = 0x6907
TLV_PROT_INFO_MAGIC: Final = 0x6908
TLV_INFO_SIZE: Final = 4
TLV_ENTRY_HEADER_SIZE: Final = 4
MAX_TLV_AREA_SIZE: Final = 0xFFFF
SHA256_SIZE: Final = 32
ERASED_BYTE: Final = 0xFF
MAX_SIM_BEHAVIOUR_BYTES: Final = 64

_HEADER: Final = struct.Struct("<IIHHIIBBHII")
_TLV_INFO: Final = struct.Struct("<HH")
_TLV_ENTRY: Final = struct.Struct("<HH")
_U32: Final = struct.Struct("<I")


class TlvType(enum.IntEnum):
    """TLV types from MCUboot's ``image.h`` that this tool reads or writes."""

    KEYHASH = 0x01
    PUBKEY = 0x02
    SHA256 = 0x10
    SHA384 = 0x11
    SHA512 = 0x12
    RSA2048_PSS = 0x20
    ECDSA_SIG = 0x22
    RSA3072_PSS = 0x23
    ED25519 = 0x24
    SIG_PURE = 0x25
    ENC_RSA2048 = 0x30
    ENC_KW = 0x31
    ENC_EC256 = 0x32
    ENC_X25519 = 0x33
    ENC_X25519_SHA512 = 0x34
    DEPENDENCY = 0x40
    SEC_CNT = 0x50
    BOOT_RECORD = 0x60
    SIM_BEHAVIOUR = 0x00B1  # vendor range: the virtual BMS's firmware behaviour (docs/design/sim-api.md)


class ImageFlag(enum.IntFlag):
    """Header flags from MCUboot's ``image.h``."""

    PIC = 0x01
    ENCRYPTED_AES128 = 0x04
    ENCRYPTED_AES256 = 0x08
    NON_BOOTABLE = 0x10
    RAM_LOAD = 0x20
    ROM_FIXED = 0x100
    COMPRESSED_LZMA1 = 0x200
    COMPRESSED_LZMA2 = 0x400
    COMPRESSED_ARM_THUMB = 0x800


_ENCRYPTED_FLAGS: Final = ImageFlag.ENCRYPTED_AES128 | ImageFlag.ENCRYPTED_AES256
_ENC_TLVS: Final = frozenset(
    {TlvType.ENC_RSA2048, TlvType.ENC_KW, TlvType.ENC_EC256, TlvType.ENC_X25519, TlvType.ENC_X25519_SHA512}
)
_UNSUPPORTED_FLAGS: Final = (
    ImageFlag.COMPRESSED_LZMA1 | ImageFlag.COMPRESSED_LZMA2 | ImageFlag.COMPRESSED_ARM_THUMB
)
# TLVs that belong only in the unprotected area: the hash and signatures cannot cover themselves.
_UNPROTECTED_ONLY: Final = frozenset(
    {
        TlvType.KEYHASH,
        TlvType.PUBKEY,
        TlvType.SHA256,
        TlvType.SHA384,
        TlvType.SHA512,
        TlvType.RSA2048_PSS,
        TlvType.ECDSA_SIG,
        TlvType.RSA3072_PSS,
        TlvType.ED25519,
        TlvType.SIG_PURE,
        *_ENC_TLVS,
    }
)
# TLVs whose value must be covered by the hash, or an attacker could edit them freely.
_PROTECTED_ONLY: Final = frozenset({TlvType.SEC_CNT, TlvType.SIM_BEHAVIOUR})
_SIGNATURE_TLV: Final = {KeyType.ECDSA_P256: TlvType.ECDSA_SIG, KeyType.ED25519: TlvType.ED25519}
_SIGNATURE_TLVS: Final = frozenset(
    {TlvType.RSA2048_PSS, TlvType.ECDSA_SIG, TlvType.RSA3072_PSS, TlvType.ED25519}
)


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """The 32-byte MCUboot image header."""

    load_addr: int
    header_size: int
    protected_tlv_size: int
    image_size: int
    flags: int
    version: FirmwareVersion

    def pack(self) -> bytes:
        """The header's 32 bytes (little-endian, reserved word zero)."""
        v = self.version
        return _HEADER.pack(
            IMAGE_MAGIC,
            self.load_addr,
            self.header_size,
            self.protected_tlv_size,
            self.image_size,
            self.flags,
            v.major,
            v.minor,
            v.revision,
            v.build,
            0,
        )


@dataclass(frozen=True, slots=True)
class Tlv:
    """One TLV entry; ``offset`` is where its 4-byte entry header starts in the image."""

    type: int
    value: bytes
    offset: int
    protected: bool


@dataclass(frozen=True, slots=True)
class McubootImage:
    """A parsed image. ``data`` is exactly the image (header to the end of the TLV area)."""

    data: bytes
    header: ImageHeader
    protected_tlvs: tuple[Tlv, ...]
    tlvs: tuple[Tlv, ...]

    @property
    def version(self) -> FirmwareVersion:
        return self.header.version

    @property
    def body(self) -> bytes:
        """The firmware code itself, without header or TLVs."""
        start = self.header.header_size
        return self.data[start : start + self.header.image_size]

    @property
    def hashed_region(self) -> bytes:
        """Header, padding, body and protected TLV area: what the SHA-256 and ECDSA cover."""
        h = self.header
        return self.data[: h.header_size + h.image_size + h.protected_tlv_size]

    @property
    def security_counter(self) -> int | None:
        """The protected security counter TLV value, or None when the image has none."""
        tlv = self.find(TlvType.SEC_CNT)
        return None if tlv is None else int(_U32.unpack(tlv.value)[0])

    @property
    def sim_behaviour(self) -> str | None:
        """The virtual BMS behaviour (vendor TLV 0x00B1), or None when absent (= healthy)."""
        tlv = self.find(TlvType.SIM_BEHAVIOUR)
        return None if tlv is None else tlv.value.decode("utf-8")

    @property
    def declared_sha256(self) -> bytes:
        """The SHA-256 the image declares (the "image hash" devices report over SMP/UDS)."""
        tlv = self.find(TlvType.SHA256)
        if tlv is None:
            raise ImageFormatError(t("The image has no SHA-256 TLV."))
        return tlv.value

    @property
    def is_encrypted(self) -> bool:
        """True when the header says the body is AES-CTR ciphertext (MCUboot ENCRYPTED_AES128/256)."""
        return bool(self.header.flags & _ENCRYPTED_FLAGS)

    @property
    def encryption(self) -> WrappedKey | None:
        """The wrapped AES key of an encrypted image (checked by :func:`parse_image`), else None."""
        if not self.is_encrypted:
            return None
        for tlv in self.tlvs:
            if tlv.type in (TlvType.ENC_EC256, TlvType.ENC_X25519):
                return split_wrapped_key(tlv.type, tlv.value, aes_key_bytes(self.header.flags))
        return None

    @property
    def is_bootable(self) -> bool:
        return not self.header.flags & ImageFlag.NON_BOOTABLE

    @property
    def signing_key_hashes(self) -> tuple[bytes, ...]:
        """The keys the image's signatures name, as SHA-256 key hashes, in TLV order.

        A KEYHASH TLV carries the hash itself; a PUBKEY TLV the DER public key, hashed here. These
        are what MCUboot's ``bootutil_find_key`` looks up among the keys its bootloader trusts, so
        comparing them with the hashes a device reports tells before a transfer whether its
        bootloader could accept the signature.
        """
        hashes: list[bytes] = []
        for tlv in self.tlvs:
            if tlv.type == TlvType.KEYHASH:
                hashes.append(tlv.value)
            elif tlv.type == TlvType.PUBKEY:
                hashes.append(hashlib.sha256(tlv.value).digest())
        return tuple(dict.fromkeys(hashes))

    def find(self, tlv_type: int) -> Tlv | None:
        """The first TLV of a type from either area, or None."""
        for tlv in (*self.protected_tlvs, *self.tlvs):
            if tlv.type == tlv_type:
                return tlv
        return None


@dataclass(frozen=True, slots=True)
class ImageVerification:
    """Outcome of a successful :func:`verify_image`: which trusted key signed, and the digest."""

    signer: TrustedKey
    sha256: bytes
    plaintext_checked: bool = True
    """False for an encrypted image: the signature over the declared hash was checked, but whether
    the ciphertext decrypts to that hash only the device (holding the decryption key) can tell."""


def is_mcuboot_image(data: bytes) -> bool:
    """True when ``data`` starts with the MCUboot image magic (a cheap sniff, not validation)."""
    return len(data) >= 4 and _U32.unpack_from(data)[0] == IMAGE_MAGIC


# --- parsing ---------------------------------------------------------------------------------------
def parse_header(data: bytes) -> ImageHeader:
    """Parse and sanity-check the header; raises ImageFormatError."""
    if len(data) < IMAGE_HEADER_SIZE:
        raise ImageFormatError(
            t(
                "The image is {size} bytes long, too short for an MCUboot header.",
                size=len(data),
            )
        )
    magic, load_addr, hdr_size, prot_size, img_size, flags, major, minor, rev, build, _ = _HEADER.unpack_from(
        data
    )
    if magic != IMAGE_MAGIC:
        raise ImageFormatError(
            t(
                "The image magic is 0x{magic:08x}, not MCUboot's 0x{expected:08x}.",
                magic=magic,
                expected=IMAGE_MAGIC,
            )
        )
    if hdr_size < IMAGE_HEADER_SIZE:
        raise ImageFormatError(
            t(
                "The image header size {hdr_size} is smaller than the 32-byte header.",
                hdr_size=hdr_size,
            )
        )
    if flags & _UNSUPPORTED_FLAGS:
        raise UnsupportedImageError(
            t(
                "The image uses flags 0x{flags:x} (encryption or compression), which this tool does not "
                "support.",
                flags=flags & _UNSUPPORTED_FLAGS,
            )
        )
    if flags & _ENCRYPTED_FLAGS:
        aes_key_bytes(flags)  # both AES flags at once is no image imgtool writes
    if img_size == 0:
        raise ImageFormatError(t("The image body is empty."))
    version = FirmwareVersion(major, minor, rev, build)
    return ImageHeader(load_addr, hdr_size, prot_size, img_size, flags, version)


def _parse_tlv_area(
    data: bytes, offset: int, expected_magic: int, protected: bool
) -> tuple[int, tuple[Tlv, ...]]:
    """Parse one TLV area at ``offset``; returns (area size, entries)."""
    area = t("protected TLV area") if protected else t("TLV area")
    if offset + TLV_INFO_SIZE > len(data):
        raise TlvLengthError(
            t(
                "The image ends at byte {count}, before its {area} starts.",
                count=len(data),
                area=area,
            )
        )
    magic, total = _TLV_INFO.unpack_from(data, offset)
    if magic != expected_magic:
        raise ImageFormatError(
            t(
                "The {area} magic is 0x{magic:04x}, expected 0x{expected_magic:04x}.",
                area=area,
                magic=magic,
                expected_magic=expected_magic,
            )
        )
    if total < TLV_INFO_SIZE:
        raise TlvLengthError(
            t(
                "The {area} declares {total} bytes, less than its own 4-byte header.",
                area=area,
                total=total,
            )
        )
    end = offset + total
    if end > len(data):
        raise TlvLengthError(
            t(
                "The {area} declares {total} bytes but only {remaining} remain in the image.",
                area=area,
                total=total,
                remaining=len(data) - offset,
            )
        )
    entries: list[Tlv] = []
    pos = offset + TLV_INFO_SIZE
    while pos < end:
        if pos + TLV_ENTRY_HEADER_SIZE > end:
            raise TlvLengthError(
                t(
                    "A TLV entry header at byte {pos} runs past the end of the {area}.",
                    pos=pos,
                    area=area,
                )
            )
        tlv_type, length = _TLV_ENTRY.unpack_from(data, pos)
        value_start = pos + TLV_ENTRY_HEADER_SIZE
        if value_start + length > end:
            raise TlvLengthError(
                t(
                    "TLV 0x{tlv_type:02x} at byte {pos} declares {length} bytes, past the end of the {area}.",
                    tlv_type=tlv_type,
                    pos=pos,
                    length=length,
                    area=area,
                )
            )
        entries.append(Tlv(tlv_type, data[value_start : value_start + length], pos, protected))
        pos = value_start + length
    return total, tuple(entries)


def _check_tlv_placement(protected: Sequence[Tlv], unprotected: Sequence[Tlv]) -> None:
    for tlv in protected:
        if tlv.type in _UNPROTECTED_ONLY:
            raise ImageFormatError(
                t("TLV 0x{tlv_type:02x} must not be in the protected TLV area.", tlv_type=tlv.type)
            )
    for tlv in unprotected:
        if tlv.type in _PROTECTED_ONLY:
            raise ImageFormatError(
                t(
                    "TLV 0x{tlv_type:02x} must be in the protected TLV area, not the unprotected one.",
                    tlv_type=tlv.type,
                )
            )
    for once in (TlvType.SEC_CNT, TlvType.SIM_BEHAVIOUR, TlvType.SHA256):
        if sum(1 for t in (*protected, *unprotected) if t.type == once) > 1:
            raise ImageFormatError(t("The image holds TLV 0x{tlv_type:02x} more than once.", tlv_type=once))
    fixed_lengths = {TlvType.SEC_CNT: 4, TlvType.SHA256: SHA256_SIZE, TlvType.KEYHASH: SHA256_SIZE}
    for tlv in (*protected, *unprotected):
        expected = fixed_lengths.get(TlvType(tlv.type)) if tlv.type in TlvType._value2member_map_ else None
        if expected is not None and len(tlv.value) != expected:
            raise TlvLengthError(
                t(
                    "TLV 0x{tlv_type:02x} is {count} bytes long; it must be {expected}.",
                    tlv_type=tlv.type,
                    count=len(tlv.value),
                    expected=expected,
                )
            )
        if tlv.type == TlvType.SIM_BEHAVIOUR:
            if len(tlv.value) > MAX_SIM_BEHAVIOUR_BYTES:
                raise TlvLengthError(
                    t(
                        "The sim-behaviour TLV is longer than {limit} bytes.",
                        limit=MAX_SIM_BEHAVIOUR_BYTES,
                    )
                )
            try:
                tlv.value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ImageFormatError(t("The sim-behaviour TLV is not UTF-8 text.")) from exc


def parse_image(data: bytes, *, allow_trailing: bool = False) -> McubootImage:
    """Parse an MCUboot image strictly.

    Args:
        data: the image bytes.
        allow_trailing: accept bytes after the TLV area (a flash slot read back with its erased
            tail and trailer); the returned image's ``data`` then stops at the TLV area's end.

    Raises:
        ImageFormatError: (or a subclass) naming the first inconsistency found.
    """
    data = bytes(data)
    header = parse_header(data)
    body_end = header.header_size + header.image_size
    if body_end > len(data):
        raise TlvLengthError(
            t(
                "The header declares {image_size} bytes of code but the image holds only {available}.",
                image_size=header.image_size,
                available=max(0, len(data) - header.header_size),
            )
        )
    protected: tuple[Tlv, ...] = ()
    offset = body_end
    if header.protected_tlv_size:
        size, protected = _parse_tlv_area(data, offset, TLV_PROT_INFO_MAGIC, protected=True)
        if size != header.protected_tlv_size:
            raise TlvLengthError(
                t(
                    "The header declares a {protected_tlv_size}-byte protected TLV area but the area says "
                    "{size} bytes.",
                    protected_tlv_size=header.protected_tlv_size,
                    size=size,
                )
            )
        offset += size
    elif (
        offset + TLV_INFO_SIZE <= len(data) and _TLV_INFO.unpack_from(data, offset)[0] == TLV_PROT_INFO_MAGIC
    ):
        raise TlvLengthError(t("The image has a protected TLV area that its header does not declare."))
    size, unprotected = _parse_tlv_area(data, offset, TLV_INFO_MAGIC, protected=False)
    end = offset + size
    if end != len(data) and not allow_trailing:
        raise ImageFormatError(
            t(
                "The image has {count} unexpected bytes after its TLV area.",
                count=len(data) - end,
            )
        )
    _check_tlv_placement(protected, unprotected)
    _check_encryption(header, unprotected)
    return McubootImage(data[:end], header, protected, unprotected)


def _check_encryption(header: ImageHeader, unprotected: Sequence[Tlv]) -> None:
    """An encrypted image carries exactly one key TLV, of a wrap this tool reads, of the right size."""
    key_tlvs = [tlv for tlv in unprotected if tlv.type in _ENC_TLVS]
    if not header.flags & _ENCRYPTED_FLAGS:
        if key_tlvs:
            raise ImageFormatError(
                t("The image carries an encryption key TLV but its header does not say it is encrypted.")
            )
        return
    supported = [tlv for tlv in key_tlvs if tlv.type in (TlvType.ENC_EC256, TlvType.ENC_X25519)]
    if len(key_tlvs) != 1 or len(supported) != 1:
        raise UnsupportedImageError(
            t(
                "The image is encrypted but carries no single ECIES-P256 or X25519 key TLV; this tool does "
                "not support other key wraps."
            )
        )
    split_wrapped_key(supported[0].type, supported[0].value, aes_key_bytes(header.flags))


# --- building and signing ------------------------------------------------------------------------------
def _tlv_area(magic: int, entries: Sequence[tuple[int, bytes]]) -> bytes:
    body = b"".join(_TLV_ENTRY.pack(t, len(v)) + v for t, v in entries)
    total = TLV_INFO_SIZE + len(body)
    if total > MAX_TLV_AREA_SIZE:
        raise FirmwareInputError(
            t(
                "The TLV area would be {total} bytes, more than MCUboot's 65535-byte limit.",
                total=total,
            )
        )
    return _TLV_INFO.pack(magic, total) + body


def build_image(
    payload: bytes,
    *,
    version: FirmwareVersion,
    security_counter: int | None,
    key: PrivateKey | None,
    header_size: int = DEFAULT_HEADER_SIZE,
    pad_header: bool = True,
    load_addr: int = 0,
    flags: int = 0,
    sim_behaviour: str | None = None,
    extra_protected_tlvs: Sequence[tuple[int, bytes]] = (),
    public_key_format: str = "hash",
    encrypt_for: EncryptionPublicKey | None = None,
    aes_bits: int = 128,
) -> bytes:
    """Build (and sign, when ``key`` is given) an MCUboot image exactly as ``imgtool sign`` does.

    Args:
        payload: the raw firmware. With ``pad_header`` (imgtool ``--pad-header``) a header-sized
            gap of erased bytes is prepended; without it the payload's first ``header_size``
            bytes must be zero and are overwritten by the header.
        version: written to the header.
        security_counter: the protected SEC_CNT TLV value (anti-rollback), None for no TLV.
        key: ECDSA-P256 or Ed25519 private key; None builds an unsigned (hash-only) image.
        header_size: bytes reserved for the header (the Zephyr default is 0x200).
        pad_header: prepend the header gap instead of requiring one in ``payload``.
        load_addr: RAM load address (sets the RAM_LOAD flag when non-zero).
        flags: extra header flags (e.g. NON_BOOTABLE).
        sim_behaviour: virtual-BMS behaviour text, written as protected vendor TLV 0x00B1.
        extra_protected_tlvs: further (type, value) protected TLVs, in order.
        public_key_format: ``"hash"`` (KEYHASH TLV, MCUboot default) or ``"full"`` (PUBKEY TLV).
        encrypt_for: a device family's P-256 or X25519 public key: encrypt the body for it as
            ``imgtool sign --encrypt`` does (body zero-padded to 16 bytes, ENCRYPTED flag, hash and
            signature over the plaintext, then an ENC TLV with the wrapped random AES key).
        aes_bits: 128 or 256 (``--encrypt-keylen``), with ``encrypt_for``.

    Raises:
        FirmwareInputError: when the inputs cannot form a valid image.
    """
    if not IMAGE_HEADER_SIZE <= header_size <= 0xFFFF:
        raise FirmwareInputError(
            t(
                "The header size {header_size} must be between 32 and 65535 bytes.",
                header_size=header_size,
            )
        )
    if pad_header:
        body = bytes(payload)
    else:
        if len(payload) < header_size or any(payload[:header_size]):
            raise FirmwareInputError(
                t("Without header padding the firmware must start with a zero-filled header area.")
            )
        body = bytes(payload[header_size:])
    if not body:
        raise FirmwareInputError(t("The firmware is empty."))
    if len(body) > 0xFFFFFFFF:
        raise FirmwareInputError(t("The firmware is larger than an MCUboot image can describe."))
    if security_counter is not None and not 0 <= security_counter <= 0xFFFFFFFF:
        raise FirmwareInputError(
            t(
                "The security counter {security_counter} is outside 0..4294967295.",
                security_counter=security_counter,
            )
        )
    if public_key_format not in ("hash", "full"):
        raise FirmwareInputError(
            t(
                "The public key format '{public_key_format}' must be 'hash' or 'full'.",
                public_key_format=public_key_format,
            )
        )

    protected: list[tuple[int, bytes]] = []
    if security_counter is not None:
        protected.append((TlvType.SEC_CNT, _U32.pack(security_counter)))
    if sim_behaviour is not None:
        encoded = sim_behaviour.encode("utf-8")
        if len(encoded) > MAX_SIM_BEHAVIOUR_BYTES:
            raise FirmwareInputError(
                t(
                    "The sim behaviour text is longer than {limit} bytes.",
                    limit=MAX_SIM_BEHAVIOUR_BYTES,
                )
            )
        protected.append((TlvType.SIM_BEHAVIOUR, encoded))
    protected.extend(extra_protected_tlvs)
    protected_area = _tlv_area(TLV_PROT_INFO_MAGIC, protected) if protected else b""

    aes_key = b""
    if encrypt_for is not None:
        aes_key = new_aes_key(aes_bits)
        body = pad_body(body)
        flags |= FLAG_AES128 if aes_bits == 128 else FLAG_AES256
    if load_addr:
        flags |= ImageFlag.RAM_LOAD
    header = ImageHeader(load_addr, header_size, len(protected_area), len(body), flags, version)
    gap = bytes([ERASED_BYTE]) * (header_size - IMAGE_HEADER_SIZE)
    hashed = header.pack() + gap + body + protected_area
    digest = hashlib.sha256(hashed).digest()

    entries: list[tuple[int, bytes]] = [(TlvType.SHA256, digest)]
    if key is not None:
        if public_key_format == "hash":
            entries.append((TlvType.KEYHASH, key_hash(key)))
        else:
            entries.append((TlvType.PUBKEY, public_key_der(key)))
        key_type = key_type_of(key)
        message = digest if key_type is KeyType.ED25519 else hashed
        entries.append((_SIGNATURE_TLV[key_type], sign_message(key, message)))
    if encrypt_for is None:
        return hashed + _tlv_area(TLV_INFO_MAGIC, entries)
    wrapped = wrap_key(aes_key, encrypt_for)
    entries.append((wrapped.tlv_type, wrapped.tlv_value()))
    clear_header = header.pack() + gap
    return clear_header + aes_ctr(aes_key, body) + protected_area + _tlv_area(TLV_INFO_MAGIC, entries)


# --- verification --------------------------------------------------------------------------------------
def check_image_hash(image: McubootImage) -> bytes:
    """Recompute the SHA-256 and compare it with the image's SHA-256 TLV; returns the digest."""
    digest = hashlib.sha256(image.hashed_region).digest()
    if image.find(TlvType.SIG_PURE) is not None:
        raise UnsupportedImageError(t("The image uses a 'pure' signature, which this tool does not support."))
    if digest != image.declared_sha256:
        raise ImageHashMismatchError(
            t("The image's SHA-256 does not match its contents: it was altered or corrupted.")
        )
    return digest


def _strip_ecdsa_padding(signature: bytes) -> bytes:
    """Undo imgtool ``--pad-sig`` (DER signature zero-padded to 72 bytes); leaves others alone."""
    if len(signature) >= 2 and signature[0] == 0x30:
        der_len = signature[1] + 2
        if der_len < len(signature) and not any(signature[der_len:]):
            return signature[:der_len]
    return signature


def _verify_ecdsa_digest(trusted: TrustedKey, signature: bytes, digest: bytes) -> bool:
    """ECDSA-SHA256 over a message known only by its SHA-256 (the declared hash of an encrypted image)."""
    if not isinstance(trusted.key, ec.EllipticCurvePublicKey):
        return False
    try:
        trusted.key.verify(signature, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_image(image: McubootImage, keyring: Keyring) -> ImageVerification:
    """Check the image's hash and that a trusted key signed it, as MCUboot's bootloader does.

    For an encrypted image the signature is checked over the declared SHA-256 (what ECDSA-SHA256
    and imgtool's Ed25519 sign), and the result says ``plaintext_checked=False``: that the
    ciphertext decrypts to that hash is the device's check.

    Walks the unprotected TLVs in order, like MCUboot's ``bootutil_img_validate``: a KEYHASH or
    PUBKEY TLV names the key for the signature TLVs that follow it; a signature with no key TLV
    before it is ignored (the bootloader could not pick a key for it either).

    Raises:
        ImageHashMismatchError: the contents do not match the SHA-256 TLV.
        MissingSignatureError: the image carries no signature.
        UntrustedKeyError: every signature names a key outside the keyring.
        ImageSignatureError: a trusted key's signature does not verify.
    """
    if image.is_encrypted:
        if image.find(TlvType.SIG_PURE) is not None:
            raise UnsupportedImageError(
                t("The image uses a 'pure' signature, which this tool does not support.")
            )
        digest = image.declared_sha256  # over the plaintext: only the device can recompute it
    else:
        digest = check_image_hash(image)
    named: TrustedKey | None = None
    key_named = False
    unknown_ids: list[str] = []
    failed: list[TrustedKey] = []
    saw_signature = False
    unattributed = False
    for tlv in image.tlvs:
        if tlv.type == TlvType.KEYHASH:
            key_named = True
            named = keyring.by_hash(tlv.value)
            if named is None:
                unknown_ids.append(tlv.value.hex())
        elif tlv.type == TlvType.PUBKEY:
            key_named = True
            public = load_public_key_der(tlv.value)
            named = keyring.get(key_id(public)) if public is not None else None
            if named is None:
                unknown_ids.append(hashlib.sha256(tlv.value).hexdigest())
        elif tlv.type in _SIGNATURE_TLVS:
            saw_signature = True
            unattributed = unattributed or not key_named
            for trusted in [named] if named is not None else []:
                if _SIGNATURE_TLV.get(trusted.key_type) != tlv.type:
                    continue
                if trusted.key_type is KeyType.ED25519:
                    ok = isinstance(trusted.key, ed25519.Ed25519PublicKey) and verify_message(
                        trusted.key, tlv.value, digest
                    )
                elif image.is_encrypted:
                    ok = _verify_ecdsa_digest(trusted, _strip_ecdsa_padding(tlv.value), digest)
                else:
                    ok = verify_message(trusted.key, _strip_ecdsa_padding(tlv.value), image.hashed_region)
                if ok:
                    return ImageVerification(trusted, digest, plaintext_checked=not image.is_encrypted)
                failed.append(trusted)
    if failed:
        raise ImageSignatureError(
            t(
                "The image signature does not verify with trusted key {key_id}: it was altered or forged.",
                key_id=failed[0].key_id[:16],
            )
        )
    if unknown_ids:
        raise UntrustedKeyError(
            t(
                "The image is signed by key {key_id}, which is not a trusted key.",
                key_id=unknown_ids[0][:16],
            )
        )
    if unattributed:
        raise ImageSignatureError(
            t("The image signature is not preceded by a KEYHASH or PUBKEY TLV naming its key.")
        )
    if saw_signature:
        raise UntrustedKeyError(t("The image is signed, but not by any trusted key."))
    raise MissingSignatureError(t("The image is not signed."))


def decrypt_image(image: McubootImage, device_key: EncryptionPrivateKey) -> McubootImage:
    """The plaintext image (flags kept, as in a primary slot) of an encrypted one, for tests and checks.

    Raises:
        ImageFormatError: the image is not encrypted.
        ImageSignatureError: its key TLV was not wrapped for ``device_key`` (or was altered).
    """
    wrapped = image.encryption
    if wrapped is None:
        raise ImageFormatError(t("The image is not encrypted."))
    aes_key = unwrap_key(wrapped, device_key)
    if aes_key is None:
        raise ImageSignatureError(t("The image is encrypted for another key than this one."))
    start = image.header.header_size
    end = start + image.header.image_size
    plain = image.data[:start] + aes_ctr(aes_key, image.data[start:end]) + image.data[end:]
    return parse_image(plain)

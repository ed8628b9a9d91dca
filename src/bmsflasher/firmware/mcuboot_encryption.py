"""MCUboot encrypted images: the ECIES key wrap, AES-CTR of the body, and the key TLVs.

MCUboot (``docs/encrypted_images.md``) encrypts only the image body; the header, the protected
and unprotected TLV areas stay in clear, and the SHA-256 TLV and the signature cover the
*plaintext* (header with its ENCRYPTED flag, plaintext body, protected TLVs). The bootloader
validates an image by decrypting it, then decrypts it into the primary slot while swapping.

The per-image AES key (16 bytes for AES-128, header flag 0x04; 32 for AES-256, flag 0x08) is
random and travels wrapped for the device family's public key in one unprotected TLV:

* ``ENC_EC256`` (0x32): ephemeral P-256 key (65-byte uncompressed point) || HMAC (32) || wrapped key
* ``ENC_X25519`` (0x33): ephemeral X25519 key (32 bytes) || HMAC (32) || wrapped key

The shared secret of the ephemeral key and the device key goes through HKDF-SHA256 (no salt,
info ``MCUBoot_ECIES_v1``) to ``key length + 32`` bytes: the first part AES-CTR-encrypts the AES
key (zero nonce), the last 32 bytes key the HMAC-SHA256 over the wrapped key. The body is AES-CTR
with a zero initial counter from its first byte; imgtool pads the body to 16 bytes first.

Anyone can encrypt for a device (only its public key is needed); only the holder of the device's
private key can decrypt, so the host checks what it can without that key (:func:`encryption_facts`
and :func:`verify_encrypted_signature` in :mod:`bmsflasher.firmware.mcuboot`) and leaves the
plaintext hash to the device. This module is pure: no files, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from bmsflasher.core.i18n import t
from bmsflasher.firmware.errors import FirmwareInputError, ImageFormatError, KeyFileError

ENC_EC256_TLV: Final = 0x32
ENC_X25519_TLV: Final = 0x33
FLAG_AES128: Final = 0x04
FLAG_AES256: Final = 0x08
HKDF_INFO: Final = b"MCUBoot_ECIES_v1"
MAC_SIZE: Final = 32
AES_BLOCK: Final = 16
_POINT_SIZE: Final = {ENC_EC256_TLV: 65, ENC_X25519_TLV: 32}
_KEY_BYTES: Final = {FLAG_AES128: 16, FLAG_AES256: 32}

EncryptionPublicKey = ec.EllipticCurvePublicKey | x25519.X25519PublicKey
EncryptionPrivateKey = ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """One ENC TLV split into its parts (nothing verified yet)."""

    tlv_type: int
    ephemeral: bytes
    mac: bytes
    wrapped: bytes

    @property
    def scheme(self) -> str:
        """``ECIES-P256`` or ``ECIES-X25519``, as documents and ``verify`` name it."""
        return "ECIES-P256" if self.tlv_type == ENC_EC256_TLV else "ECIES-X25519"

    def tlv_value(self) -> bytes:
        return self.ephemeral + self.mac + self.wrapped


def aes_key_bytes(flags: int) -> int:
    """The AES key length a header's flags ask for (16 or 32); raises ImageFormatError when not one."""
    chosen = flags & (FLAG_AES128 | FLAG_AES256)
    if chosen not in _KEY_BYTES:
        raise ImageFormatError(t("The image header sets both the AES-128 and the AES-256 encryption flags."))
    return _KEY_BYTES[chosen]


def split_wrapped_key(tlv_type: int, value: bytes, key_bytes: int) -> WrappedKey:
    """Split an ENC_EC256 / ENC_X25519 TLV value, checking its length for the header's AES size."""
    point = _POINT_SIZE[tlv_type]
    expected = point + MAC_SIZE + key_bytes
    if len(value) != expected:
        raise ImageFormatError(
            t(
                "The encryption key TLV 0x{tlv_type:02x} is {count} bytes; AES-{bits} needs {expected}.",
                tlv_type=tlv_type,
                count=len(value),
                bits=key_bytes * 8,
                expected=expected,
            )
        )
    return WrappedKey(tlv_type, value[:point], value[point : point + MAC_SIZE], value[point + MAC_SIZE :])


def aes_ctr(key: bytes, data: bytes, offset: int = 0) -> bytes:
    """AES-CTR with MCUboot's zero nonce, starting ``offset`` bytes into the key stream.

    The counter block is the big-endian block number, so any slice of a body can be processed on
    its own, as the bootloader does sector by sector.
    """
    block, skip = divmod(offset, AES_BLOCK)
    encryptor = Cipher(algorithms.AES(key), modes.CTR(block.to_bytes(AES_BLOCK, "big"))).encryptor()
    return (encryptor.update(bytes(skip) + data) + encryptor.finalize())[skip:]


def _derive(shared: bytes, key_bytes: int) -> tuple[bytes, bytes]:
    okm = HKDF(algorithm=hashes.SHA256(), length=key_bytes + MAC_SIZE, salt=None, info=HKDF_INFO).derive(
        shared
    )
    return okm[:key_bytes], okm[key_bytes:]


def _mac(mac_key: bytes, wrapped: bytes) -> bytes:
    mac = crypto_hmac.HMAC(mac_key, hashes.SHA256())
    mac.update(wrapped)
    return mac.finalize()


def wrap_key(aes_key: bytes, recipient: EncryptionPublicKey) -> WrappedKey:
    """Wrap a fresh AES key for the device key ``recipient`` (a new ephemeral key every call)."""
    if isinstance(recipient, ec.EllipticCurvePublicKey):
        if not isinstance(recipient.curve, ec.SECP256R1):
            raise KeyFileError(t("Images can be encrypted for a P-256 or X25519 key only."))
        ephemeral_ec = ec.generate_private_key(ec.SECP256R1())
        shared = ephemeral_ec.exchange(ec.ECDH(), recipient)
        point = ephemeral_ec.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        tlv_type = ENC_EC256_TLV
    else:
        ephemeral_x = x25519.X25519PrivateKey.generate()
        shared = ephemeral_x.exchange(recipient)
        point = ephemeral_x.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        tlv_type = ENC_X25519_TLV
    wrap, mac_key = _derive(shared, len(aes_key))
    wrapped = aes_ctr(wrap, aes_key)
    return WrappedKey(tlv_type, point, _mac(mac_key, wrapped), wrapped)


def unwrap_key(wrapped: WrappedKey, device_key: EncryptionPrivateKey) -> bytes | None:
    """The AES key, or None when the TLV was not wrapped for ``device_key`` (or was altered)."""
    try:
        if wrapped.tlv_type == ENC_EC256_TLV:
            if not isinstance(device_key, ec.EllipticCurvePrivateKey):
                return None
            peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), wrapped.ephemeral)
            shared = device_key.exchange(ec.ECDH(), peer)
        else:
            if not isinstance(device_key, x25519.X25519PrivateKey):
                return None
            shared = device_key.exchange(x25519.X25519PublicKey.from_public_bytes(wrapped.ephemeral))
    except ValueError:
        return None  # not a point on the curve
    wrap, mac_key = _derive(shared, len(wrapped.wrapped))
    if not hmac.compare_digest(_mac(mac_key, wrapped.wrapped), wrapped.mac):
        return None
    return aes_ctr(wrap, wrapped.wrapped)


def new_aes_key(bits: int) -> bytes:
    """A random AES key of 128 or 256 bits (``--aes``)."""
    if bits not in (128, 256):
        raise FirmwareInputError(t("The AES key length must be 128 or 256 bits, not {bits}.", bits=bits))
    return os.urandom(bits // 8)


def pad_body(body: bytes) -> bytes:
    """Zero-pad a body to whole AES blocks, as ``imgtool sign --encrypt`` does before hashing."""
    return body + bytes(-len(body) % AES_BLOCK)


def load_encryption_public_key(data: bytes, *, source: str) -> EncryptionPublicKey:
    """A device family's encryption public key from PEM (``--encrypt-for``): P-256 or X25519.

    Raises:
        KeyFileError: not one PEM public key of those two kinds (a private key is refused: the
            release machine needs only the public half, the private one stays in the devices).
    """
    if b"PRIVATE KEY-----" in data:
        raise KeyFileError(
            t(
                "{source} is a private key; encrypt for the device's public key (.pub.pem) instead, and "
                "keep the private key in the devices only.",
                source=source,
            )
        )
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(t("{source} is not a PEM public key.", source=source)) from exc
    if isinstance(key, x25519.X25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise KeyFileError(
        t("{source} is not a P-256 or X25519 key; MCUboot encrypts images for those two only.", source=source)
    )


def encryption_key_id(key: EncryptionPublicKey) -> str:
    """SHA-256 of the key's DER SubjectPublicKeyInfo, hex: how reports name a device encryption key."""
    return hashlib.sha256(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()

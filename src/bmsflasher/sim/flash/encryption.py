"""The bootloader's image decryption: its private encryption key, the key unwrap, AES-CTR by range.

Written for the device on its own (the device never shares the tool's code, see
``docs/architecture.md``): an image flagged ENCRYPTED_AES128 (0x04) or ENCRYPTED_AES256 (0x08)
carries its AES key wrapped for the device's key in an ENC_EC256 (0x32) or ENC_X25519 (0x33) TLV:
ephemeral public key, HMAC-SHA256 over the wrapped key, the wrapped key. ECDH with the device's
private key, HKDF-SHA256 (info ``MCUBoot_ECIES_v1``) to an AES key-wrapping key and an HMAC key;
the HMAC must verify before the key is unwrapped (MCUboot's ``boot_decrypt_key``). The body is
AES-CTR from a zero counter, block number = byte offset in the body / 16, so any sector of it can
be transformed alone, in either direction.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FLAG_ENCRYPTED_AES128: Final = 0x04
FLAG_ENCRYPTED_AES256: Final = 0x08
TLV_ENC_EC256: Final = 0x32
TLV_ENC_X25519: Final = 0x33
_EPHEMERAL_SIZE: Final = {TLV_ENC_EC256: 65, TLV_ENC_X25519: 32}
_MAC_SIZE: Final = 32
_BLOCK: Final = 16


@dataclass(frozen=True, slots=True)
class BodyCipher:
    """The AES key of one image and where its encrypted body lies in its slot.

    Attributes:
        key: the unwrapped AES-128 or AES-256 key.
        start: the body's offset in the slot (the header size).
        length: the body's length (``ih_img_size``).
    """

    key: bytes
    start: int
    length: int

    def transform(self, data: bytes, slot_offset: int) -> bytes:
        """Encrypt or decrypt (CTR is its own inverse) the part of ``data`` inside the body.

        Args:
            data: bytes read from a slot (or from scratch standing in for a slot's sector).
            slot_offset: where ``data`` starts in its slot.
        """
        first = max(slot_offset, self.start)
        last = min(slot_offset + len(data), self.start + self.length)
        if first >= last:
            return data
        block, skip = divmod(first - self.start, _BLOCK)
        cipher = Cipher(algorithms.AES(self.key), modes.CTR(block.to_bytes(_BLOCK, "big"))).encryptor()
        plain = data[first - slot_offset : last - slot_offset]
        stream = (cipher.update(bytes(skip) + plain) + cipher.finalize())[skip:]
        return data[: first - slot_offset] + stream + data[last - slot_offset :]


class ImageDecryptor:
    """The device's private encryption key (ECIES-P256 or X25519), as MCUboot's bootloader holds it."""

    def __init__(self, key_file: Path) -> None:
        try:
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise ValueError(f"cannot load the encryption key {key_file}: {exc}") from exc
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            self._key: ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey = key
        elif isinstance(key, x25519.X25519PrivateKey):
            self._key = key
        else:
            raise ValueError(f"{key_file} is not a P-256 or X25519 private key")  # noqa: TRY004 - a bad file, as above

    def unwrap(self, tlv_type: int, value: bytes, key_bytes: int) -> bytes | None:
        """The image's AES key, or None when the TLV was not wrapped for this device (or altered)."""
        point = _EPHEMERAL_SIZE.get(tlv_type)
        if point is None or len(value) != point + _MAC_SIZE + key_bytes:
            return None
        ephemeral, mac, wrapped = value[:point], value[point : point + _MAC_SIZE], value[point + _MAC_SIZE :]
        try:
            if tlv_type == TLV_ENC_EC256:
                if not isinstance(self._key, ec.EllipticCurvePrivateKey):
                    return None
                peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ephemeral)
                shared = self._key.exchange(ec.ECDH(), peer)
            else:
                if not isinstance(self._key, x25519.X25519PrivateKey):
                    return None
                shared = self._key.exchange(x25519.X25519PublicKey.from_public_bytes(ephemeral))
        except ValueError:
            return None
        material = HKDF(
            algorithm=hashes.SHA256(), length=key_bytes + _MAC_SIZE, salt=None, info=b"MCUBoot_ECIES_v1"
        ).derive(shared)
        check = crypto_hmac.HMAC(material[key_bytes:], hashes.SHA256())
        check.update(wrapped)
        if not hmac.compare_digest(check.finalize(), mac):
            return None
        return BodyCipher(material[:key_bytes], 0, len(wrapped)).transform(wrapped, 0)

"""What the host can and cannot say about an encrypted image, for ``verify`` and ``package``.

Without the device's private key the host checks the package's manifest signature (which covers
the SHA-256 of the image file, ciphertext included), the image's structure and key TLV, and that a
trusted key signed the plaintext hash the image declares. It cannot check that the ciphertext
decrypts to that hash, nor that the image was encrypted for this device's key: the bootloader does
both before it boots anything (docs/trust-model.md, "Encryption").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bmsflasher.core.i18n import t
from bmsflasher.firmware.mcuboot import McubootImage


@dataclass(frozen=True, slots=True)
class EncryptionFacts:
    """How an image is encrypted: the key-wrap scheme and the AES key length."""

    scheme: str
    aes_bits: int

    def to_json(self) -> dict[str, Any]:
        return {
            "scheme": self.scheme,
            "aes_bits": self.aes_bits,
            "host_checks": [
                "manifest signature over the encrypted file",
                "image signature over its plaintext hash",
            ],
            "device_checks": ["key wrapped for its own key", "plaintext hash and signature"],
        }

    def sentence(self) -> str:
        """One line for the technician: encrypted how, and what only the device checks."""
        return t(
            "Image encrypted ({scheme}, AES-{bits}): its signature over the declared plaintext hash is "
            "checked; that it decrypts to that hash, for this device's key, only the device can check, and "
            "it refuses the image without booting it otherwise.",
            scheme=self.scheme,
            bits=self.aes_bits,
        )


def encryption_facts(image: McubootImage) -> EncryptionFacts | None:
    """The facts of an encrypted image, or None when its body is in clear."""
    wrapped = image.encryption
    if wrapped is None:
        return None
    return EncryptionFacts(wrapped.scheme, len(wrapped.wrapped) * 8)

"""Signing keys and the keyring of trusted public keys.

Two algorithms, the two MCUboot bootloaders commonly verify: ECDSA P-256 (SHA-256) and Ed25519.
A key is identified by the SHA-256 of its DER SubjectPublicKeyInfo, which is also exactly what
MCUboot's KEYHASH TLV holds, so one id names the key in manifests, images, logs and reports.

Parsing works on bytes; the only file access is in the thin ``*_file`` / ``from_paths`` helpers so
callers (CLI, GUI, tests) decide where keys come from.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from bmsflasher.firmware.errors import KeyFileError
from bmsflasher.firmware.files import read_capped

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PRIVATE_KEY_TYPES: Final = (ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)
"""For ``isinstance``: a key that can sign (a file may hold either half of a pair)."""
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

MAX_KEY_FILE_BYTES: Final = 64 * 1024
PUBLIC_KEY_SUFFIX: Final = ".pub.pem"


class KeyType(enum.Enum):
    """The signature algorithms bmsflasher signs and verifies with."""

    ECDSA_P256 = "ecdsa-p256"
    ED25519 = "ed25519"


def _ecdsa_algorithm() -> ec.ECDSA:
    # RFC 6979 deterministic nonces: no dependence on the RNG at signing time, and signing the
    # same bytes twice gives the same signature, which makes demo packages reproducible.
    return ec.ECDSA(hashes.SHA256(), deterministic_signing=True)


def key_type_of(key: PrivateKey | PublicKey) -> KeyType:
    """The algorithm of a key; raises KeyFileError for curves other than P-256."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return KeyType.ED25519
    if not isinstance(key.curve, ec.SECP256R1):
        raise KeyFileError(f"ECDSA keys must use the P-256 curve, not {key.curve.name}.")
    return KeyType.ECDSA_P256


def generate_key(key_type: KeyType = KeyType.ECDSA_P256) -> PrivateKey:
    """Create a new private key of the given type."""
    if key_type is KeyType.ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def public_key_der(key: PrivateKey | PublicKey) -> bytes:
    """DER SubjectPublicKeyInfo of a key (what MCUboot's KEYHASH and PUBKEY TLVs are made of)."""
    public = (
        key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) else key
    )
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_hash(key: PrivateKey | PublicKey) -> bytes:
    """SHA-256 of the DER public key: the MCUboot KEYHASH value."""
    return hashlib.sha256(public_key_der(key)).digest()


def key_id(key: PrivateKey | PublicKey) -> str:
    """Hex key id (SHA-256 of the DER public key) used in manifests, logs and reports."""
    return key_hash(key).hex()


def private_key_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM of a private key (the same form imgtool reads)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_key_pem(key: PrivateKey | PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM of the public half of a key."""
    public = (
        key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) else key
    )
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key_pem(data: bytes, *, source: str = "the key file") -> PrivateKey:
    """Parse an unencrypted PEM private key (PKCS#8 or traditional); raises KeyFileError."""
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{source} is too large to be a key file.")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:
        raise KeyFileError(f"{source} is password-protected; give an unencrypted key.") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        if b"PUBLIC KEY-----" in data:
            raise KeyFileError(
                f"{source} holds a public key; signing needs the private key (NAME.pem, not NAME.pub.pem)."
            ) from exc
        raise KeyFileError(f"{source} is not a readable PEM private key.") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise KeyFileError(
            f"{source} holds a {type(key).__name__}; only ECDSA P-256 and Ed25519 are supported."
        )
    key_type_of(key)
    return key


def load_public_key_pem(data: bytes, *, source: str = "the key file") -> PublicKey:
    """Parse a PEM public key; a private key PEM is accepted and reduced to its public half."""
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{source} is too large to be a key file.")
    if b"PRIVATE KEY" in data:
        private = load_private_key_pem(data, source=source)
        return private.public_key()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{source} is not a readable PEM public key.") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise KeyFileError(
            f"{source} holds a {type(key).__name__}; only ECDSA P-256 and Ed25519 are supported."
        )
    key_type_of(key)
    return key


def load_public_key_der(data: bytes) -> PublicKey | None:
    """Parse a DER SubjectPublicKeyInfo (MCUboot PUBKEY TLV); None when it is not a supported key."""
    try:
        key = serialization.load_der_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        return None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    return None


def _read_key_file(path: Path) -> bytes:
    try:
        data = None if path.stat().st_size > MAX_KEY_FILE_BYTES else read_capped(path, MAX_KEY_FILE_BYTES)
        if data is None:
            raise KeyFileError(f"{path} is too large to be a key file.")
        return data
    except FileNotFoundError as exc:
        raise KeyFileError(f"The key file {path} does not exist.") from exc
    except IsADirectoryError as exc:
        raise KeyFileError(f"{path} is a folder, not a key file.") from exc
    except OSError as exc:
        raise KeyFileError(f"The key file {path} cannot be read: {exc.strerror or exc}.") from exc


def load_private_key_file(path: Path) -> PrivateKey:
    """Read and parse a private key file (thin I/O helper)."""
    return load_private_key_pem(_read_key_file(path), source=str(path))


def load_public_key_file(path: Path) -> PublicKey:
    """Read and parse a public key file (thin I/O helper)."""
    return load_public_key_pem(_read_key_file(path), source=str(path))


# --- signing primitives shared by images and manifests ----------------------------------------------
def sign_message(key: PrivateKey, message: bytes) -> bytes:
    """Sign bytes: ECDSA-P256 with SHA-256 (DER signature) or pure Ed25519 (64 bytes)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    return key.sign(message, _ecdsa_algorithm())


def verify_message(key: PublicKey, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` over ``message`` verifies with ``key`` (same algorithms as sign)."""
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
        else:
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


# --- the keyring ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One trusted public key with where it came from (for messages and reports)."""

    key: PublicKey
    key_id: str
    source: str

    @property
    def key_type(self) -> KeyType:
        return key_type_of(self.key)


class Keyring:
    """The set of public keys the host trusts to sign packages and images.

    Lookup is by key id (SHA-256 of the DER public key), the same value as the MCUboot KEYHASH.
    """

    def __init__(self, keys: Iterable[TrustedKey] = ()) -> None:
        self._by_id: dict[str, TrustedKey] = {}
        for trusted in keys:
            self._by_id.setdefault(trusted.key_id, trusted)

    def add(self, key: PublicKey | PrivateKey, source: str = "memory") -> TrustedKey:
        """Trust a key (a private key is reduced to its public half)."""
        public = (
            key.public_key()
            if isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey)
            else key
        )
        key_type_of(public)
        trusted = TrustedKey(public, key_id(public), source)
        self._by_id.setdefault(trusted.key_id, trusted)
        return self._by_id[trusted.key_id]

    def add_pem(self, data: bytes, source: str) -> TrustedKey:
        """Trust the key in a PEM blob."""
        return self.add(load_public_key_pem(data, source=source), source)

    @classmethod
    def from_paths(cls, paths: Iterable[Path]) -> Keyring:
        """Build a keyring from key files and folders (``*.pem`` files in a folder; thin I/O helper).

        Raises KeyFileError when a path is missing or a folder holds no usable key, so a typo in
        ``--trust`` is never silently "trust nothing".
        """
        ring = cls()
        for path in paths:
            if path.is_dir():
                found = sorted(p for p in path.iterdir() if p.suffix == ".pem" and p.is_file())
                publics = [p for p in found if p.name.endswith(PUBLIC_KEY_SUFFIX)] or found
                if not publics:
                    raise KeyFileError(f"The folder {path} holds no .pem key files.")
                for file in publics:
                    ring.add(load_public_key_file(file), str(file))
            else:
                ring.add(load_public_key_file(path), str(path))
        return ring

    def get(self, key_id_hex: str) -> TrustedKey | None:
        """The trusted key with this id, or None."""
        return self._by_id.get(key_id_hex.lower())

    def by_hash(self, digest: bytes) -> TrustedKey | None:
        """The trusted key whose SHA-256 DER hash is ``digest`` (an MCUboot KEYHASH), or None."""
        return self._by_id.get(digest.hex())

    def __contains__(self, key_id_hex: object) -> bool:
        return isinstance(key_id_hex, str) and key_id_hex.lower() in self._by_id

    def __iter__(self) -> Iterator[TrustedKey]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

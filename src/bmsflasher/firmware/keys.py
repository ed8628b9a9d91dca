"""Signing keys and the keyring of trusted public keys.

Two algorithms, the two MCUboot bootloaders commonly verify: ECDSA P-256 (SHA-256) and Ed25519.
A key is identified by the SHA-256 of its DER SubjectPublicKeyInfo, which is also exactly what
MCUboot's KEYHASH TLV holds, so one id names the key in manifests, images, logs and reports.

Parsing works on bytes; the only file access is in the thin ``*_file`` / ``from_paths`` helpers so
callers (CLI, GUI, tests) decide where keys come from.

What may be trusted (``docs/trust-model.md``, "Keyring hygiene"): public keys only, one per file,
from files and folders no other account can change (:mod:`bmsflasher.firmware.keyring_folder`).
A keyring knows which of its keys are the public demo keys and whether its caller declared demo
mode, and says so in :attr:`Keyring.warnings` for the CLI and the GUI to show.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from bmsflasher.core.i18n import t
from bmsflasher.firmware.certificates import (
    CERTIFICATE_PEM_MARK,
    CRL_PEM_MARK,
    CertRole,
    ValidatedChain,
    certificate_fingerprint,
    load_certificates_pem,
    load_crl_pem,
    require_ca,
    validate_chain,
)
from bmsflasher.firmware.demo_keys import (
    KEY_ID_DISPLAY_CHARS,
    demo_key_warning,
    demo_root_warning,
    is_demo_key,
    is_demo_root,
)
from bmsflasher.firmware.errors import KeyFileError
from bmsflasher.firmware.files import read_capped
from bmsflasher.firmware.keyring_folder import check_not_writable_by_others, key_files_in

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PRIVATE_KEY_TYPES: Final = (ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)
"""For ``isinstance``: a key that can sign (a file may hold either half of a pair)."""
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

MAX_KEY_FILE_BYTES: Final = 64 * 1024
PUBLIC_KEY_SUFFIX: Final = ".pub.pem"
_PEM_KEY_LABEL: Final = re.compile(rb"-----BEGIN ((?:[A-Z0-9]+ )*)KEY-----")
"""A PEM key block's label: PUBLIC, PRIVATE, EC PRIVATE, ENCRYPTED PRIVATE... (not EC PARAMETERS)."""


class PrivateKeyTrustedError(KeyFileError):
    """A private key was offered where only public keys belong (``--trust``, the keyring folder)."""


class KeyRole(enum.Enum):
    """What a trusted key may sign: the release manifest, or the MCUboot image (the build)."""

    RELEASE = "release"
    BUILD = "build"


ALL_KEY_ROLES: Final = frozenset(KeyRole)
"""The role of a plain key no roles file names: both, so every keyring from before roles still works."""


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
        raise KeyFileError(t("ECDSA keys must use the P-256 curve, not {curve}.", curve=key.curve.name))
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


def _key_labels(data: bytes) -> list[bytes]:
    """The labels of the PEM key blocks in ``data`` (``b"PUBLIC "``, ``b"EC PRIVATE "``...)."""
    return _PEM_KEY_LABEL.findall(data)


def is_private_key_pem(data: bytes) -> bool:
    """True when a PEM blob holds a private key block (PKCS#8, traditional, encrypted or OpenSSH)."""
    return any(b"PRIVATE" in label for label in _key_labels(data))


def _require_one_key(data: bytes, source: str) -> None:
    """Refuse a file with several keys: a parser would silently take the first one."""
    count = len(_key_labels(data))
    if count > 1:
        raise KeyFileError(
            t(
                "{source} holds {count} keys; put one key per file (a keyring folder may hold several "
                "files).",
                source=source,
                count=count,
            )
        )


def _public_half_name(source: str) -> str:
    """Where ``bmsflasher keygen`` wrote the public half of the private key file ``source``."""
    if source.endswith(".pem") and not source.endswith(PUBLIC_KEY_SUFFIX):
        return source[: -len(".pem")] + PUBLIC_KEY_SUFFIX
    return t("NAME{suffix}, written beside it by bmsflasher keygen", suffix=PUBLIC_KEY_SUFFIX)


def refuse_private_key(source: str) -> PrivateKeyTrustedError:
    """The refusal for a private key offered as a trusted key (the error, for the caller to raise)."""
    return PrivateKeyTrustedError(
        t(
            "{source} is a private key; trust its public half ({public_half}) — a private key "
            "must never leave the release machine.",
            source=source,
            public_half=_public_half_name(source),
        )
    )


def load_private_key_pem(data: bytes, *, source: str = "the key file") -> PrivateKey:
    """Parse an unencrypted PEM private key (PKCS#8 or traditional); raises KeyFileError."""
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(t("{source} is too large to be a key file.", source=source))
    _require_one_key(data, source)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:
        raise KeyFileError(
            t("{source} is password-protected; give an unencrypted key.", source=source)
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        if b"PUBLIC KEY-----" in data:
            raise KeyFileError(
                t(
                    "{source} holds a public key; signing needs the private key (NAME.pem, not "
                    "NAME.pub.pem).",
                    source=source,
                )
            ) from exc
        raise KeyFileError(t("{source} is not a readable PEM private key.", source=source)) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise KeyFileError(
            t(
                "{source} holds a {key_type}; only ECDSA P-256 and Ed25519 are supported.",
                source=source,
                key_type=type(key).__name__,
            )
        )
    key_type_of(key)
    return key


def load_public_key_pem(data: bytes, *, source: str = "the key file") -> PublicKey:
    """Parse a PEM file holding exactly one public key.

    Raises:
        PrivateKeyTrustedError: the file holds a private key. Whoever reads a key to *trust* it
            must never be handed the key that signs: a private key on a workshop laptop is a
            leaked release key, whatever its public half would have been.
        KeyFileError: several keys in one file (which one was meant?), or not a supported key.
    """
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(t("{source} is too large to be a key file.", source=source))
    if is_private_key_pem(data):
        raise refuse_private_key(source)
    _require_one_key(data, source)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(t("{source} is not a readable PEM public key.", source=source)) from exc
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise KeyFileError(
            t(
                "{source} holds a {key_type}; only ECDSA P-256 and Ed25519 are supported.",
                source=source,
                key_type=type(key).__name__,
            )
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
            raise KeyFileError(t("{path} is too large to be a key file.", path=path))
        return data
    except FileNotFoundError as exc:
        raise KeyFileError(t("The key file {path} does not exist.", path=path)) from exc
    except IsADirectoryError as exc:
        raise KeyFileError(t("{path} is a folder, not a key file.", path=path)) from exc
    except OSError as exc:
        raise KeyFileError(
            t(
                "The key file {path} cannot be read: {reason}.",
                path=path,
                reason=exc.strerror or exc,
            )
        ) from exc


def read_key_file(path: Path) -> bytes:
    """A key, certificate or CRL file's bytes, capped, with one-sentence errors (no trust checks)."""
    return _read_key_file(path)


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
    roles: frozenset[KeyRole] = field(default_factory=lambda: ALL_KEY_ROLES)
    """What this key may sign (docs/trust-model.md, "Key roles"); both unless a roles file says."""
    certificate_subject: str | None = None
    """For a key trusted through a certificate chain: the leaf's subject (RFC 4514)."""
    certificate_fingerprint: str | None = None
    """For a key trusted through a certificate chain: SHA-256 of the leaf certificate's DER."""

    @property
    def key_type(self) -> KeyType:
        return key_type_of(self.key)

    @property
    def is_demo(self) -> bool:
        """True for one of bmsflasher's public demo keys (whose private halves anyone has)."""
        return is_demo_key(self.key_id)

    def describe(self) -> str:
        """One line for the technician: key id prefix, type and source file."""
        if self.is_demo:
            return t(
                "Trusted key {key_id} ({key_type}, public demo key) from {source}",
                key_id=self.key_id[:KEY_ID_DISPLAY_CHARS],
                key_type=self.key_type.value,
                source=self.source,
            )
        return t(
            "Trusted key {key_id} ({key_type}) from {source}",
            key_id=self.key_id[:KEY_ID_DISPLAY_CHARS],
            key_type=self.key_type.value,
            source=self.source,
        )


@dataclass(frozen=True, slots=True)
class TrustedAnchor:
    """A vendor root (or issuing) CA certificate the keyring trusts, with where it came from."""

    certificate: x509.Certificate
    source: str

    def describe(self) -> str:
        """One line for the technician: subject, fingerprint prefix and source file."""
        return t(
            "Trusted root certificate {subject} ({fingerprint}) from {source}",
            subject=self.certificate.subject.rfc4514_string(),
            fingerprint=certificate_fingerprint(self.certificate)[:KEY_ID_DISPLAY_CHARS],
            source=self.source,
        )


ROLES_FILE_NAME: Final = "roles.json"
"""In a keyring folder: ``{"acme-build.pub.pem": ["build"], "acme-release.pub.pem": ["release"]}``.

A key file it does not name keeps both roles (:data:`ALL_KEY_ROLES`), so keyrings from before key
roles verify exactly as they did; naming a key restricts it."""
TRUSTED_FILE_SUFFIXES: Final = (".pem", ".crt", ".crl")
"""What a keyring folder may hold: public keys, root certificates, revocation lists (read by content)."""


def _read_roles_file(folder: Path) -> dict[str, frozenset[KeyRole]]:
    """The roles a folder's ``roles.json`` declares per key file name (empty when there is none)."""
    path = folder / ROLES_FILE_NAME
    if not path.exists() and not path.is_symlink():
        return {}
    check_not_writable_by_others(path, follow_link=False)
    data = _read_key_file(path)
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise KeyFileError(t("{path} is not valid JSON.", path=path)) from exc
    known = {role.value: role for role in KeyRole}
    if not isinstance(doc, dict):
        raise KeyFileError(t("{path} must map key file names to lists of roles.", path=path))
    roles: dict[str, frozenset[KeyRole]] = {}
    for name, listed in doc.items():
        if not isinstance(listed, list) or not listed or any(r not in known for r in listed):
            raise KeyFileError(
                t(
                    '{path}: the roles of {name} must be a non-empty list of "release" and "build".',
                    path=path,
                    name=name,
                )
            )
        if not (folder / name).is_file():
            raise KeyFileError(
                t("{path} names {name}, which is not a file in that folder.", path=path, name=name)
            )
        roles[name] = frozenset(known[r] for r in listed)
    return roles


def _read_trusted_key_file(path: Path) -> PublicKey:
    """A key file of a trusted folder or ``--trust``: public, one key, readable."""
    return load_public_key_pem(_read_key_file(path), source=str(path))


def _is_private_key_file(path: Path) -> bool:
    return is_private_key_pem(_read_key_file(path))


class Keyring:
    """The set of public keys the host trusts to sign packages and images.

    Lookup is by key id (SHA-256 of the DER public key), the same value as the MCUboot KEYHASH.

    Args:
        keys: keys to start with.
        demo: the caller runs a demo (``bmsflasher demo``, ``gui --demo``, the demo bench), so the
            public demo keys are expected: :attr:`warnings` stays quiet about them.
    """

    def __init__(self, keys: Iterable[TrustedKey] = (), *, demo: bool = False) -> None:
        self._by_id: dict[str, TrustedKey] = {}
        self.demo = demo
        self.anchors: list[TrustedAnchor] = []
        """Root certificates: a package may instead carry its signer's chain up to one of these."""
        self.crls: list[x509.CertificateRevocationList] = []
        """Revocation lists, applied to every chain (their signatures are checked when used)."""
        for trusted in keys:
            self._by_id.setdefault(trusted.key_id, trusted)

    def add(
        self,
        key: PublicKey | PrivateKey,
        source: str = "memory",
        roles: frozenset[KeyRole] = ALL_KEY_ROLES,
    ) -> TrustedKey:
        """Trust a key (a private key is reduced to its public half).

        For keys already in memory, e.g. the key ``bmsflasher package`` just signed with; key
        *files* go through :meth:`add_path` or :meth:`add_keyring_folder`, which refuse private keys.
        """
        public = (
            key.public_key()
            if isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey)
            else key
        )
        key_type_of(public)
        trusted = TrustedKey(public, key_id(public), source, roles)
        self._by_id.setdefault(trusted.key_id, trusted)
        return self._by_id[trusted.key_id]

    def add_pem(self, data: bytes, source: str) -> TrustedKey:
        """Trust the one public key in a PEM blob (a private key is refused)."""
        return self.add(load_public_key_pem(data, source=source), source)

    def add_path(self, path: Path) -> list[TrustedKey]:
        """Trust a key file or a folder of keys that the technician named for this run (``--trust``).

        A file must hold one public key. A folder contributes every ``*.pem`` file in it; a private
        key beside its own public half (``NAME.pem`` next to ``NAME.pub.pem``: the release
        machine's key folder, as ``keygen`` writes it) is skipped, any other private key is refused.
        The path and what is read from it must pass :mod:`~bmsflasher.firmware.keyring_folder`'s
        checks; a named path may be a link (its target is checked).

        Raises:
            KeyFileError: a missing path, a folder without key files, a private key, several keys
                in one file, or a file or folder another account could change.
        """
        if not path.is_dir():
            check_not_writable_by_others(path, follow_link=True)
            return self._add_trusted_file(path)
        files = key_files_in(path, follow_folder_link=True, suffixes=TRUSTED_FILE_SUFFIXES)
        if not files:
            raise KeyFileError(t("The folder {path} holds no .pem key files.", path=path))
        roles = _read_roles_file(path)
        names = {file.name for file in files}
        added: list[TrustedKey] = []
        for file in files:
            pair_public = file.name[: -len(".pem")] + PUBLIC_KEY_SUFFIX
            if pair_public in names and pair_public != file.name and _is_private_key_file(file):
                continue
            added.extend(self._add_trusted_file(file, roles.get(file.name, ALL_KEY_ROLES)))
        return added

    def _add_trusted_file(self, path: Path, roles: frozenset[KeyRole] = ALL_KEY_ROLES) -> list[TrustedKey]:
        """One trusted file, by content: a public key, a root certificate, or a revocation list."""
        data = _read_key_file(path)
        if CERTIFICATE_PEM_MARK in data and not is_private_key_pem(data):
            self.add_anchor_pem(data, str(path))
            return []
        if CRL_PEM_MARK in data:
            self.crls.append(load_crl_pem(data, source=str(path)))
            return []
        return [self.add(load_public_key_pem(data, source=str(path)), str(path), roles)]

    def add_anchor_pem(self, data: bytes, source: str) -> TrustedAnchor:
        """Trust one CA certificate (PEM) as a root of certificate chains; one certificate per file."""
        certs = load_certificates_pem(data, source=source)
        if len(certs) != 1:
            raise KeyFileError(
                t(
                    "{source} holds {count} certificates; put one root certificate per file.",
                    source=source,
                    count=len(certs),
                )
            )
        anchor = TrustedAnchor(require_ca(certs[0], source), source)
        if all(a.certificate != anchor.certificate for a in self.anchors):
            self.anchors.append(anchor)
        return anchor

    def validate_chain(
        self, chain: Sequence[x509.Certificate], role: CertRole, at_time: datetime
    ) -> ValidatedChain:
        """:func:`~bmsflasher.firmware.certificates.validate_chain` against this keyring's roots and CRLs."""
        return validate_chain(chain, [a.certificate for a in self.anchors], role, at_time, crls=self.crls)

    def add_keyring_folder(self, folder: Path) -> list[TrustedKey]:
        """Trust the keys of the user's keyring folder: every ``*.pem`` in it, all public.

        Stricter than :meth:`add_path`, because this folder is trusted on every run without being
        named: the folder may not be a link, and any private key in it is refused (a private key
        on a workshop laptop has leaked from the release machine). A missing folder adds nothing.
        """
        if not folder.exists() and not folder.is_symlink():
            return []
        files = key_files_in(folder, follow_folder_link=False, suffixes=TRUSTED_FILE_SUFFIXES)
        roles = _read_roles_file(folder)
        added: list[TrustedKey] = []
        for file in files:
            added.extend(self._add_trusted_file(file, roles.get(file.name, ALL_KEY_ROLES)))
        return added

    @classmethod
    def from_paths(cls, paths: Iterable[Path], *, demo: bool = False) -> Keyring:
        """Build a keyring from key files and folders named for this run (see :meth:`add_path`).

        Raises KeyFileError when a path is missing or a folder holds no usable key, so a typo in
        ``--trust`` is never silently "trust nothing".
        """
        ring = cls(demo=demo)
        for path in paths:
            ring.add_path(path)
        return ring

    @property
    def warnings(self) -> tuple[str, ...]:
        """Sentences the front-end must show: a public demo key trusted outside demo mode."""
        if self.demo:
            return ()
        keys = tuple(demo_key_warning(k.key_id, k.source) for k in self if k.is_demo)
        roots = tuple(
            demo_root_warning(a.certificate.subject.rfc4514_string(), a.source)
            for a in self.anchors
            if is_demo_root(key_id(a.certificate.public_key()))  # type: ignore[arg-type]
        )
        return keys + roots

    def describe(self) -> list[str]:
        """One line per trusted key (id prefix, type, source) and root certificate, for the technician."""
        return [trusted.describe() for trusted in self] + [anchor.describe() for anchor in self.anchors]

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

"""Load a release package for the procedure: trusted keyring, host-side verification, facts.

The package is verified before anything else happens — before the device is even contacted —
against the keyring in the user's configuration folder plus any keys given for one run
(``--trust PUB.pem``). Device-specific checks (model, hardware, anti-rollback, bootloader) are
preconditions, measured against the device the procedure identifies next.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import platformdirs

from bmsflasher.core.i18n import t
from bmsflasher.firmware.errors import KeyFileError
from bmsflasher.firmware.keys import Keyring
from bmsflasher.firmware.policy import VerifiedPackage, read_package_file, verify_package
from bmsflasher.procedure.package_facts import PackageFacts

TRUSTED_KEYS_FOLDER: Final = "trusted-keys"


@dataclass(frozen=True, slots=True)
class UpdatePackage:
    """A verified package: the facts the procedure checks and the image bytes it sends."""

    facts: PackageFacts
    image: bytes
    source: str
    release_notes: str = ""


PackageLoader = Callable[[], UpdatePackage]
"""Returns the verified package, or raises a PackageError (the procedure's first step)."""


def user_keyring_dir() -> Path:
    """Folder of the user's trusted public keys: ``<user config dir>/trusted-keys``.

    Its contents are trusted on every run without being named, so it is read strictly: public keys
    only, and nothing another account could have written (see :meth:`Keyring.add_keyring_folder`).
    """
    return Path(platformdirs.user_config_dir("bmsflasher")) / TRUSTED_KEYS_FOLDER


def build_keyring(extra: Sequence[Path] = (), folder: Path | None = None, *, demo: bool = False) -> Keyring:
    """The user's trusted keys plus ``extra`` key files for this run.

    Args:
        extra: ``--trust`` paths (files or folders) for this run.
        folder: the user's keyring folder; None for :func:`user_keyring_dir`.
        demo: the caller runs a demo, so trusting a public demo key is expected; otherwise the
            keyring's :attr:`~Keyring.warnings` say so, for the CLI and the GUI to show.

    Raises:
        KeyFileError: the result is empty (verifying against nothing would reject every package
            with a confusing "untrusted key" message, so say what to do instead), or a key or
            folder is refused: a private key, several keys in one file, or a file or folder
            another account of this computer could have changed.
    """
    keys_dir = folder or user_keyring_dir()
    keyring = Keyring(demo=demo)
    keyring.add_keyring_folder(keys_dir)
    for path in extra:
        keyring.add_path(path)
    if not len(keyring) and not keyring.anchors:
        raise KeyFileError(
            t(
                "No trusted keys: put the manufacturer's public key (.pub.pem) into {folder} or pass "
                "--trust PUB.pem.",
                folder=keys_dir,
            )
        )
    return keyring


def facts_of(verified: VerifiedPackage, package_sha256: str) -> PackageFacts:
    """The procedure's view of a verified package."""
    manifest = verified.manifest
    return PackageFacts(
        model=manifest.model,
        hardware_revisions=tuple(manifest.hardware_revisions),
        version=manifest.version,
        security_counter=manifest.security_counter,
        min_bootloader_version=manifest.min_bootloader_version,
        package_sha256=package_sha256,
        image_sha256=verified.file_sha256.hex(),
        image_size=len(verified.image_bytes),
        image_hash=verified.image_hash,
        image_key_hashes=verified.image.signing_key_hashes,
        signers=tuple(
            {
                "role": role,
                "key_id": signer.key_id,
                "certificate_subject": signer.certificate_subject,
                "certificate_fingerprint": signer.certificate_fingerprint,
            }
            for role, signer in (("manifest", verified.manifest_signer), ("image", verified.image_signer))
        ),
    )


def load_package_bytes(data: bytes, keyring: Keyring, source: str = "<memory>") -> UpdatePackage:
    """Verify package bytes (signatures, hashes, expiry) and return what the procedure needs."""
    verified = verify_package(data, keyring)
    facts = facts_of(verified, hashlib.sha256(data).hexdigest())
    return UpdatePackage(facts, verified.image_bytes, source, verified.manifest.release_notes)


def load_package(path: Path, keyring: Keyring) -> UpdatePackage:
    """Read and verify a ``.bmspkg`` file."""
    return load_package_bytes(read_package_file(path), keyring, str(path))


def package_loader(path: Path, keyring: Keyring) -> PackageLoader:
    """A loader for the procedure's first step (verification happens when the step runs)."""
    return lambda: load_package(path, keyring)

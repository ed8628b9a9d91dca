"""The technician's own credentials: a certificate chain and its private key, for UDS 0x29.

A technician authenticates to a device (ISO 14229-1:2020 service 0x29) with a certificate issued
for the ``technician`` role by the vendor CA, and proves ownership of its private key. They live in
a credentials folder (default ``<user config dir>/technician/``), never in the keyring folder, which
holds public material only:

* ``NAME.crt`` — the technician's certificate first, then any intermediate CA certificates;
* ``NAME.pem`` — the private key of that certificate (``bmsflasher ca issue`` writes both).

The folder and both files must pass the keyring's "nothing another account could change" rules,
and on Linux and macOS the private key may not be readable by the group or others (as OpenSSH
demands of ``~/.ssh/id_*``); bmsflasher's installed demo technician is exempt like the demo keys.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Final

import platformdirs
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from bmsflasher.core.i18n import t
from bmsflasher.firmware.certificate_errors import CertificateFileError, CertificateKeyUsageError
from bmsflasher.firmware.certificates import CertRole, load_certificates_pem
from bmsflasher.firmware.keyring_folder import (
    POSIX_CHECKS,
    check_not_writable_by_others,
    is_installed_resource,
)
from bmsflasher.firmware.keys import PrivateKey, load_private_key_pem, public_key_der, read_key_file

TECHNICIAN_FOLDER: Final = "technician"
CERTIFICATE_SUFFIX: Final = ".crt"
READABLE_BY_OTHERS: Final = stat.S_IRWXG | stat.S_IRWXO


def user_credentials_dir() -> Path:
    """``<user config dir>/technician``: where the technician's certificate and key live."""
    return Path(platformdirs.user_config_dir("bmsflasher")) / TECHNICIAN_FOLDER


def _certificate_file(location: Path) -> Path:
    """The one ``*.crt`` of a credentials folder, or the ``.crt`` file named directly."""
    if not location.is_dir():
        return location
    check_not_writable_by_others(location, follow_link=True)
    found = sorted(p for p in location.iterdir() if p.suffix == CERTIFICATE_SUFFIX and p.is_file())
    if len(found) != 1:
        raise CertificateFileError(
            t(
                "{folder} must hold exactly one technician certificate (NAME.crt) and its key (NAME.pem); "
                "it holds {count} certificates.",
                folder=location,
                count=len(found),
            )
        )
    return found[0]


def _check_private(path: Path) -> None:
    if not POSIX_CHECKS or is_installed_resource(path):
        return
    if path.stat().st_mode & READABLE_BY_OTHERS:
        raise CertificateFileError(
            t(
                "The private key {path} is readable by other accounts; fix it with: chmod 600 {path}",
                path=path,
            )
        )


def load_technician_credentials(keyring: Path | None = None) -> tuple[list[x509.Certificate], PrivateKey]:
    """The technician's certificate chain (leaf first) and private key, checked to belong together.

    Args:
        keyring: a credentials folder holding ``NAME.crt`` and ``NAME.pem``, or the ``NAME.crt``
            file itself (its key ``NAME.pem`` beside it); None for :func:`user_credentials_dir`.

    Raises:
        CertificateFileError: files missing, unreadable, writable or (the key) readable by others,
            or a key that is not the certificate's.
        CertificateKeyUsageError: the certificate is not issued for the technician role.

    The chain is *not* validated here (the device does that, and the host cannot know which root
    the device trusts); :func:`bmsflasher.firmware.certificates.validate_chain` with
    ``CertRole.TECHNICIAN`` does, for whoever wants to check before connecting.
    """
    cert_path = _certificate_file(keyring or user_credentials_dir())
    key_path = cert_path.with_suffix(".pem")
    for path in (cert_path, key_path):
        if not path.is_file():
            raise CertificateFileError(t("The technician credential file {path} does not exist.", path=path))
        check_not_writable_by_others(path, follow_link=True)
    _check_private(key_path)
    chain = load_certificates_pem(read_key_file(cert_path), source=str(cert_path))
    key = load_private_key_pem(read_key_file(key_path), source=str(key_path))
    leaf = chain[0]
    leaf_der = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if public_key_der(key) != leaf_der:
        raise CertificateFileError(
            t(
                "{key_path} is not the private key of the certificate {cert_path}.",
                key_path=key_path,
                cert_path=cert_path,
            )
        )
    try:
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        usages = None
    if usages is None or CertRole.TECHNICIAN.oid not in usages:
        raise CertificateKeyUsageError(
            t(
                "The certificate {subject} is not issued for the {role} role (its key usage does not allow "
                "it).",
                subject=leaf.subject.rfc4514_string(),
                role=CertRole.TECHNICIAN.label,
            )
        )
    return chain, key

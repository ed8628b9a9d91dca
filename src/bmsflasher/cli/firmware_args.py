"""Argument types of the firmware commands (``package`` and ``verify``): one clear sentence per bad value.

argparse turns an ``ArgumentTypeError`` into a usage error (exit 8) that quotes the sentence, so a
typo in a version or a counter is named before any file is read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bmsflasher.cli.console import say
from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.behaviour import parse_sim_behaviour
from bmsflasher.firmware.certificates import CertRole
from bmsflasher.firmware.errors import FirmwareInputError
from bmsflasher.firmware.keys import PRIVATE_KEY_TYPES, PrivateKey, PublicKey, key_id, read_key_file
from bmsflasher.firmware.signers import signing_certificates


def version_arg(text: str) -> FirmwareVersion:
    """``X.Y.Z`` or ``X.Y.Z+BUILD``."""
    try:
        return FirmwareVersion.parse(text)
    except BmsFlasherError as exc:
        raise argparse.ArgumentTypeError(
            say(t("'{text}' is not a version of the form X.Y.Z or X.Y.Z+BUILD", text=text))
        ) from exc


def counter_arg(text: str) -> int:
    """An anti-rollback security counter: a decimal whole number that fits MCUboot's 32 bits."""
    try:
        value = int(text, 10)
    except ValueError:
        value = -1
    if not 0 <= value <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(
            say(t("'{text}' is not a security counter (a whole number 0..4294967295)", text=text))
        )
    return value


def revisions_arg(text: str) -> tuple[str, ...]:
    """Hardware revisions separated by commas (``B`` or ``B,C``)."""
    revisions = tuple(part.strip() for part in text.split(",") if part.strip())
    if not revisions:
        raise argparse.ArgumentTypeError(say(t("give at least one hardware revision, e.g. B or B,C")))
    return revisions


def behaviour_arg(text: str) -> str:
    """A virtual-BMS behaviour a demo package carries (see ``BEHAVIOUR_HELP``)."""
    try:
        return parse_sim_behaviour(text)
    except FirmwareInputError as exc:
        raise argparse.ArgumentTypeError(say(exc.message).rstrip(".")) from exc


def header_size_arg(text: str) -> int:
    """An MCUboot header size in bytes, decimal or 0x-prefixed (as imgtool takes it)."""
    try:
        value = int(text, 0)
    except ValueError:
        value = -1
    if not 32 <= value <= 0xFFFF:
        raise argparse.ArgumentTypeError(
            say(t("'{text}' is not a header size between 32 and 0xffff", text=text))
        )
    return value


# --- signer certificates (``package --cert``; docs/trust-model.md "Certificate chains") ------------
def add_certificate_arguments(package: argparse.ArgumentParser) -> None:
    """``--cert`` (the --key's certificate chain) and ``--image-cert`` (the --image-key's)."""
    package.add_argument(
        "--cert",
        metavar="SUBJECT.crt",
        help=say(
            t(
                "the --key's certificate chain (from ca issue); the package carries it, so keyrings that "
                "trust the vendor's root certificate accept it"
            )
        ),
    )
    package.add_argument(
        "--image-cert",
        metavar="SUBJECT.crt",
        help=say(t("the --image-key's certificate chain, when another key signs the image")),
    )


def certificates_for_package(
    args: argparse.Namespace, key: PrivateKey, image_signer: PrivateKey | PublicKey
) -> bytes:
    """``signers.pem`` for ``package``: the certificates named by ``--cert`` and ``--image-cert``.

    ``--cert`` must certify ``--key`` for the release role, and also for the build role when the same
    key signs the image; ``--image-cert`` must certify the image's key for the build role.
    """
    same_key = key_id(image_signer) == key_id(key)
    chains: list[tuple[bytes, str, PublicKey, CertRole]] = []
    if args.cert:
        pem = read_key_file(Path(args.cert))
        chains.append((pem, args.cert, key.public_key(), CertRole.RELEASE))
        if same_key:
            chains.append((pem, args.cert, key.public_key(), CertRole.BUILD))
    if args.image_cert:
        public = image_signer.public_key() if isinstance(image_signer, PRIVATE_KEY_TYPES) else image_signer
        chains.append((read_key_file(Path(args.image_cert)), args.image_cert, public, CertRole.BUILD))
    return signing_certificates(chains) if chains else b""

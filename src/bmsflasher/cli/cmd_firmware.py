"""``keygen`` and ``package``: the manufacturer's release commands (the technician's check is ``verify``).

Thin over :mod:`bmsflasher.firmware`: argument parsing, file writing (atomic, private keys 0600)
and output. Every refusal is one of the project's errors, printed by ``cli.main`` as one sentence.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from bmsflasher.cli.console import print_json, say
from bmsflasher.cli.firmware_args import (
    add_certificate_arguments,
    behaviour_arg,
    certificates_for_package,
    counter_arg,
    header_size_arg,
    revisions_arg,
    version_arg,
)
from bmsflasher.core.errors import PackageError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.behaviour import BEHAVIOUR_HELP
from bmsflasher.firmware.encryption_report import encryption_facts
from bmsflasher.firmware.errors import FirmwareInputError, KeyFileError, UntrustedKeyError
from bmsflasher.firmware.files import read_capped
from bmsflasher.firmware.inputs import read_firmware_file
from bmsflasher.firmware.keys import (
    MAX_KEY_FILE_BYTES,
    PRIVATE_KEY_TYPES,
    Keyring,
    KeyType,
    PrivateKey,
    PublicKey,
    generate_key,
    key_id,
    load_private_key_file,
    load_public_key_file,
    private_key_pem,
    public_key_pem,
)
from bmsflasher.firmware.mcuboot import DEFAULT_HEADER_SIZE, build_image, is_mcuboot_image, parse_image
from bmsflasher.firmware.mcuboot_encryption import EncryptionPublicKey, load_encryption_public_key
from bmsflasher.firmware.package import MAX_RELEASE_NOTES_CHARS, PACKAGE_SUFFIX, PackageSpec, build_package
from bmsflasher.firmware.policy import verify_package

DEFAULT_VALIDITY_DAYS: Final = 3 * 365
PRIVATE_KEY_MODE: Final = 0o600


def parse_expiry(text: str, now: datetime) -> datetime | None:
    """``never``, ``+DAYS``, ``YYYY-MM-DD`` (end of that day, UTC) or ``YYYY-MM-DDTHH:MM:SSZ``."""
    value = text.strip()
    if value.lower() == "never":
        return None
    try:
        if value.startswith("+"):
            return now + timedelta(days=int(value[1:]))
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return day + timedelta(days=1) - timedelta(seconds=1)
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise FirmwareInputError(
            t(
                "'{text}' is not an expiry; use YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, +DAYS or never.",
                text=text,
            )
        ) from exc


# --- keygen ----------------------------------------------------------------------------------------
def _make_folder(folder: Path) -> None:
    """Create ``folder`` if only its last level is missing (``keys/`` next to you).

    A deeper missing path is far more often a typo (``/hom/me/keys``) than an intention, so it is
    refused instead of silently creating a tree of folders in the wrong place.
    """
    try:
        folder.mkdir(exist_ok=True)
    except FileNotFoundError as exc:
        raise KeyFileError(
            t("The folder {folder} does not exist; create it first.", folder=folder.parent)
        ) from exc
    except OSError as exc:
        raise KeyFileError(
            t(
                "Cannot create the folder {folder}: {reason}.",
                folder=folder,
                reason=exc.strerror or exc,
            )
        ) from exc


def _keygen_paths(out: Path) -> tuple[Path, Path]:
    if out.is_dir():
        raise KeyFileError(
            t(
                "{path} is a folder; name the key inside it, e.g. --out {example}.",
                path=out,
                example=out / "vendor",
            )
        )
    name = out.name
    for suffix in (".pub.pem", ".pem"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if not name:
        raise KeyFileError(t("'{path}' does not name a key; use --out DIR/NAME.", path=out))
    return out.with_name(f"{name}.pem"), out.with_name(f"{name}.pub.pem")


def _write_new_file(path: Path, data: bytes, mode: int, force: bool) -> None:
    """Create ``path`` with ``mode`` from the start (no window where a private key is world-readable)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError as exc:
        raise KeyFileError(
            t("{path} already exists; choose another name or pass --force.", path=path)
        ) from exc
    except OSError as exc:
        raise KeyFileError(
            t("Cannot create {path}: {reason}.", path=path, reason=exc.strerror or exc)
        ) from exc
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
    finally:
        os.close(fd)


def run_keygen(args: argparse.Namespace) -> int:
    """Generate a key pair: NAME.pem (private, 0600) and NAME.pub.pem."""
    private_path, public_path = _keygen_paths(Path(args.out))
    _make_folder(private_path.parent)
    if not args.force:
        for path in (private_path, public_path):
            if path.exists():
                raise KeyFileError(
                    t("{path} already exists; choose another name or pass --force.", path=path)
                )
    key = generate_key(KeyType(args.type))
    _write_new_file(private_path, private_key_pem(key), PRIVATE_KEY_MODE, args.force)
    _write_new_file(public_path, public_key_pem(key), 0o644, args.force)
    if args.json:
        print_json(
            {
                "private_key": str(private_path),
                "public_key": str(public_path),
                "key_type": args.type,
                "key_id": key_id(key),
            }
        )
        return 0
    print(
        say(
            t(
                "Wrote private key {private_path} (mode 0600: keep it offline) and public key {public_path}.",
                private_path=private_path,
                public_path=public_path,
            )
        )
    )
    print(say(t("Key type {key_type}, key id {key_id}.", key_type=args.type, key_id=key_id(key))))
    return 0


# --- package ---------------------------------------------------------------------------------------
def _load_signer_key(path: Path) -> PrivateKey | PublicKey:
    """The key named by ``--image-key``: a private one signs; a pre-signed image needs only the public one."""
    try:
        head = read_capped(path, MAX_KEY_FILE_BYTES) or b""
    except OSError:
        head = b""  # the loader below names the problem in one sentence
    if b"PUBLIC KEY-----" in head:
        return load_public_key_file(path)
    return load_private_key_file(path)


def _presigned_image(args: argparse.Namespace, data: bytes) -> bytes:
    """An image already signed (e.g. by imgtool in the firmware build), kept byte for byte."""
    image = parse_image(data)
    if image.version != args.version:
        raise FirmwareInputError(
            t(
                "{firmware} is version {version}, not {wanted}.",
                firmware=args.firmware,
                version=image.version,
                wanted=args.version,
            )
        )
    if image.security_counter != args.security_counter:
        raise FirmwareInputError(
            t(
                "{firmware} carries security counter {security_counter}, not {wanted}.",
                firmware=args.firmware,
                security_counter=image.security_counter,
                wanted=args.security_counter,
            )
        )
    if args.sim_behaviour is not None and (image.sim_behaviour or "healthy") != args.sim_behaviour:
        raise FirmwareInputError(
            t("{firmware} already carries another sim behaviour.", firmware=args.firmware)
        )
    return image.data


def _encryption_key(args: argparse.Namespace) -> EncryptionPublicKey | None:
    """The device family's public encryption key named by ``--encrypt-for`` (None: no encryption)."""
    if args.encrypt_for is None:
        return None
    path = Path(args.encrypt_for)
    try:
        data = read_capped(path, MAX_KEY_FILE_BYTES)
    except OSError as exc:
        raise KeyFileError(
            t("Cannot read the encryption key {path}: {reason}.", path=path, reason=exc.strerror or exc)
        ) from exc
    if data is None:
        raise KeyFileError(t("{path} is too large to be a key file.", path=path))
    return load_encryption_public_key(data, source=str(path))


def _image_from_input(args: argparse.Namespace, key: PrivateKey) -> tuple[bytes, PrivateKey | PublicKey]:
    """The MCUboot image and the key that signed it (trusted for the self-check)."""
    firmware = read_firmware_file(Path(args.firmware))
    signer = _load_signer_key(Path(args.image_key)) if args.image_key else key
    encrypt_for = _encryption_key(args)
    if is_mcuboot_image(firmware.data):
        if encrypt_for is not None:
            raise FirmwareInputError(
                t(
                    "{firmware} is already a signed image: its hash and signature cannot cover an "
                    "encryption added now. Give the raw firmware with --encrypt-for, or sign and encrypt it "
                    "in one step (imgtool sign --encrypt) and package that image without --encrypt-for.",
                    firmware=args.firmware,
                )
            )
        return _presigned_image(args, firmware.data), signer
    if not isinstance(signer, PRIVATE_KEY_TYPES):
        raise KeyFileError(
            t(
                "{key} is a public key; signing the image needs its private key.",
                key=args.image_key,
            )
        )
    image = build_image(
        firmware.data,
        version=args.version,
        security_counter=args.security_counter,
        key=signer,
        header_size=args.header_size,
        sim_behaviour=None if args.sim_behaviour in (None, "healthy") else args.sim_behaviour,
        encrypt_for=encrypt_for,
        aes_bits=args.aes,
    )
    return image, signer


def _release_notes(text: str | None) -> str:
    if text is None:
        return ""
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            raw = read_capped(path, 4 * MAX_RELEASE_NOTES_CHARS)  # UTF-8: at most 4 bytes a character
            if raw is None:
                raise FirmwareInputError(
                    t(
                        "The release notes file {path} is longer than {limit} characters.",
                        path=path,
                        limit=MAX_RELEASE_NOTES_CHARS,
                    )
                )
            return raw.decode("utf-8")
        except FileNotFoundError as exc:
            raise FirmwareInputError(t("The release notes file {path} does not exist.", path=path)) from exc
        except IsADirectoryError as exc:
            raise FirmwareInputError(t("The release notes file {path} is a folder.", path=path)) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise FirmwareInputError(
                t("The release notes file {path} cannot be read as UTF-8 text.", path=path)
            ) from exc
    return text


def _write_atomically(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, so a crash never leaves half a package."""
    if path.is_dir():
        raise PackageError(t("{path} is a folder; --out names the package file to write.", path=path))
    try:
        path.parent.mkdir(exist_ok=True)  # one missing level (dist/); a deeper one is likely a typo
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except FileNotFoundError as exc:
        raise PackageError(
            t(
                "Cannot write {path}: the folder {folder} does not exist.",
                path=path,
                folder=path.parent.parent,
            )
        ) from exc
    except OSError as exc:
        raise PackageError(
            t(
                "Cannot write to {folder}: {reason}.",
                folder=path.parent,
                reason=exc.strerror or exc,
            )
        ) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        tmp.chmod(0o644)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PackageError(
            t("Cannot write {path}: {reason}.", path=path, reason=exc.strerror or exc)
        ) from exc


def run_package(args: argparse.Namespace) -> int:
    """Build, sign and self-check a release package."""
    out = Path(args.out)
    if out.suffix != PACKAGE_SUFFIX:
        raise FirmwareInputError(
            t(
                "The output file must end in {suffix}, not '{given}'.",
                suffix=PACKAGE_SUFFIX,
                given=out.suffix or out.name,
            )
        )
    key = load_private_key_file(Path(args.key))
    now = datetime.now(UTC).replace(microsecond=0)
    expires = parse_expiry(args.expires, now) if args.expires else now + timedelta(days=DEFAULT_VALIDITY_DAYS)
    image, image_signer = _image_from_input(args, key)
    spec = PackageSpec(
        model=args.model,
        hardware_revisions=args.hw_rev,
        version=args.version,
        security_counter=args.security_counter,
        min_bootloader_version=args.min_bootloader,
        release_notes=_release_notes(args.release_notes),
        created=now,
        expires=expires,
        sim_behaviour=args.sim_behaviour,
    )
    data = build_package(spec, image, key, certificates=certificates_for_package(args, key, image_signer))
    keyring = Keyring()
    keyring.add(key, args.key)
    keyring.add(image_signer, args.image_key or args.key)
    try:
        verified = verify_package(data, keyring, now=now)  # never ship something our own gate refuses
    except UntrustedKeyError as exc:  # only the image's signer can be unknown here
        raise FirmwareInputError(
            t(
                "{firmware} is already signed by another key; name the key that signed it with --image-key "
                "(its .pub.pem is enough). {error}",
                firmware=args.firmware,
                error=exc.message,
            )
        ) from exc
    if args.image_key and verified.image_signer.key_id != key_id(image_signer):
        raise FirmwareInputError(
            t(
                "{firmware} is already signed by key {key_id}, not by --image-key {image_key}; name the "
                "key that signed it.",
                firmware=args.firmware,
                key_id=verified.image_signer.key_id[:16],
                image_key=args.image_key,
            )
        )
    _write_atomically(out, data)
    manifest = verified.manifest
    encryption = encryption_facts(verified.image)
    if args.json:
        print_json(
            {
                "package": str(out),
                "model": manifest.model,
                "version": str(manifest.version),
                "hardware_revisions": list(manifest.hardware_revisions),
                "security_counter": manifest.security_counter,
                "image_size": manifest.image.size,
                "expires": None if manifest.expires is None else manifest.expires.isoformat(),
                "manifest_key_id": verified.manifest_signer.key_id,
                "image_key_id": verified.image_signer.key_id,
                "encryption": None if encryption is None else encryption.to_json(),
            }
        )
        return 0
    expiry = t("never") if manifest.expires is None else f"{manifest.expires:%Y-%m-%d}"
    revisions = ", ".join(manifest.hardware_revisions)
    print(
        say(
            t(
                "Wrote {path}: {model} {version} for hardware {revisions}, security counter "
                "{security_counter}, image {size} bytes, expires {expiry}.",
                path=out,
                model=manifest.model,
                version=manifest.version,
                revisions=revisions,
                security_counter=manifest.security_counter,
                size=manifest.image.size,
                expiry=expiry,
            )
        )
    )
    print(say(t("Manifest signed by key {key_id}.", key_id=verified.manifest_signer.key_id)))
    print(say(t("Image signed by key {key_id}.", key_id=verified.image_signer.key_id)))
    if encryption is not None:
        print(say(encryption.sentence()))
    return 0


# --- registration ----------------------------------------------------------------------------------
def _add_json_argument(parser: argparse.ArgumentParser) -> None:
    """``--json``: the result (or the one error object) on stdout, for release scripts."""
    parser.add_argument("--json", action="store_true", help=say(t("print the result as JSON on stdout")))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``keygen`` and ``package`` to the top-level parser."""
    keygen = subparsers.add_parser(
        "keygen", help=say(t("generate a signing key pair (NAME.pem + NAME.pub.pem)"))
    )
    keygen.add_argument(
        "--out", required=True, metavar="DIR/NAME", help=say(t("where to write NAME.pem and NAME.pub.pem"))
    )
    keygen.add_argument(
        "--type",
        choices=[t.value for t in KeyType],
        default=KeyType.ECDSA_P256.value,
        help=say(t("signature algorithm (default ecdsa-p256, MCUboot's most common choice)")),
    )
    keygen.add_argument("--force", action="store_true", help=say(t("overwrite existing key files")))
    _add_json_argument(keygen)
    keygen.set_defaults(func=run_keygen)

    package = subparsers.add_parser("package", help=say(t("build and sign a release package (.bmspkg)")))
    package.add_argument(
        "--firmware", required=True, metavar="FILE", help=say(t("firmware .bin, .hex or signed image"))
    )
    package.add_argument("--model", required=True, help=say(t("device model it is for, e.g. VBMS-16")))
    package.add_argument(
        "--hw-rev",
        required=True,
        type=revisions_arg,
        metavar="REV[,REV...]",
        help=say(t("hardware revisions it was released for, e.g. B,C")),
    )
    package.add_argument(
        "--version",
        required=True,
        type=version_arg,
        metavar="X.Y.Z",
        help=say(t("firmware version (X.Y.Z[+BUILD])")),
    )
    package.add_argument(
        "--security-counter",
        required=True,
        type=counter_arg,
        metavar="N",
        help=say(t("anti-rollback counter: devices refuse images below their stored counter")),
    )
    package.add_argument(
        "--key", required=True, metavar="KEY.pem", help=say(t("signs the manifest (and the image)"))
    )
    package.add_argument(
        "--image-key", metavar="KEY.pem", help=say(t("signs the MCUboot image instead of --key"))
    )
    add_certificate_arguments(package)  # --cert, --image-cert (certificate chains)
    package.add_argument(
        "--release-notes",
        metavar="TEXT|@FILE",
        help=say(t("shown to the technician (text, or @ and a file)")),
    )
    package.add_argument(
        "--expires",
        metavar="DATE",
        help=say(
            t(
                "YYYY-MM-DD, +DAYS or never (default +{days} days)",
                days=DEFAULT_VALIDITY_DAYS,
            )
        ),
    )
    package.add_argument(
        "--min-bootloader",
        type=version_arg,
        default=FirmwareVersion(0, 0, 0),
        metavar="X.Y.Z",
        help=say(t("oldest device bootloader the image runs on (default 0.0.0)")),
    )
    package.add_argument("--sim-behaviour", type=behaviour_arg, metavar="BEHAVIOUR", help=BEHAVIOUR_HELP)
    package.add_argument(
        "--header-size",
        type=header_size_arg,
        default=DEFAULT_HEADER_SIZE,
        metavar="BYTES",
        help=say(t("MCUboot header size (default 0x200, as imgtool --header-size)")),
    )
    package.add_argument(
        "--encrypt-for",
        metavar="DEVICE_ENC.pub.pem",
        help=say(
            t(
                "encrypt the image for this device family's public key (ECIES-P256 or X25519, as imgtool "
                "sign --encrypt); only devices holding the private key can install it"
            )
        ),
    )
    package.add_argument(
        "--aes",
        type=int,
        choices=(128, 256),
        default=128,
        help=say(t("AES key length of the encryption (default 128)")),
    )
    package.add_argument(
        "--out", required=True, metavar="FILE.bmspkg", help=say(t("the package file to write"))
    )
    _add_json_argument(package)
    package.set_defaults(func=run_package)

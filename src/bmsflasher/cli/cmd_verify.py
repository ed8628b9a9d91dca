"""``verify``: would this package be accepted — by this tool, and by this device?

The verdict is :func:`bmsflasher.procedure.package_check.check_package_file`, the same check
``flash`` runs before it writes and the GUI shows on its package page, so the three can no longer
disagree (``verify`` once passed a package ``flash`` refused for its minimum bootloader). The device
is described by the facts typed on the command line (``--model``, ``--hw-rev``,
``--security-counter``, ``--bootloader-version``) or read from the connected device itself
(``--port`` / ``--interface``: identify only, nothing is written).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bmsflasher.cli.cmd_bundle import bundle_json, package_progress, print_bundle
from bmsflasher.cli.console import exception_json, make_console, print_json, progress_console, say
from bmsflasher.cli.firmware_args import counter_arg, version_arg
from bmsflasher.cli.render import EventRenderer, identity_json
from bmsflasher.cli.target_args import (
    add_json_argument,
    add_target_arguments,
    opened_target,
    print_trusted_keys,
    require_release_path,
)
from bmsflasher.core.errors import BmsFlasherError, ConfigValidationError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import DeviceIdentity
from bmsflasher.firmware.bundle import Bundle, is_bundle_file, load_bundle
from bmsflasher.firmware.bundle_errors import BundlePackageError
from bmsflasher.firmware.encryption_report import encryption_facts
from bmsflasher.firmware.keys import Keyring
from bmsflasher.firmware.policy import VerifiedPackage
from bmsflasher.firmware.signers import signer_certificate_lines, signer_certificates_json
from bmsflasher.procedure.compatibility import DeviceDescription
from bmsflasher.procedure.package_check import PackageVerdict, check_package_file
from bmsflasher.procedure.package_loading import build_keyring
from bmsflasher.procedure.results import measurements_json

EXIT_VALID = 0


def _keyring(trust: list[str]) -> Keyring:
    """``--trust`` keys, or the user's keyring when none is given (as ``flash`` does)."""
    if trust:
        return Keyring.from_paths(Path(p) for p in trust)
    return build_keyring()


def _device(args: argparse.Namespace) -> tuple[DeviceDescription, DeviceIdentity | None]:
    """The device to check against: typed facts, or what the connected device says about itself."""
    typed = DeviceDescription(
        model=args.model,
        hardware_revision=args.hw_rev,
        security_counter=args.security_counter,
        bootloader_version=args.bootloader_version,
    )
    if not (args.port or args.interface):
        return typed, None
    if typed != DeviceDescription():
        raise ConfigValidationError(
            t(
                "give either the device's facts (--model, --hw-rev, --security-counter, "
                "--bootloader-version) or the device itself (--port / --interface), not both"
            )
        )
    with opened_target(args) as target:
        identity = target.identify()
    return DeviceDescription.from_identity(identity), identity


def _summary(package: VerifiedPackage) -> dict[str, Any]:
    return {
        "valid": True,
        "manifest": package.manifest.to_dict(),
        "manifest_key_id": package.manifest_signer.key_id,
        "image_key_id": package.image_signer.key_id,
        "image_hash": package.image_hash.hex(),
        "image_sha256": package.file_sha256.hex(),
        "encryption": None if (facts := encryption_facts(package.image)) is None else facts.to_json(),
        **signer_certificates_json(package),
    }


def _print_valid(verdict: PackageVerdict, package: VerifiedPackage, identity: DeviceIdentity | None) -> None:
    m = package.manifest
    expiry = t("never") if m.expires is None else f"{m.expires:%Y-%m-%d %H:%M} UTC"
    valid = t(
        "Valid: {model} {version} for hardware {revisions}, security counter {counter}, needs bootloader "
        "{bootloader}+, expires {expiry}.",
        model=m.model,
        version=m.version,
        revisions=", ".join(m.hardware_revisions),
        counter=m.security_counter,
        bootloader=m.min_bootloader_version,
        expiry=expiry,
    )
    print(say(valid))
    keys = t(
        "Manifest key {manifest_key}, image key {image_key}.",
        manifest_key=package.manifest_signer.key_id[:16],
        image_key=package.image_signer.key_id[:16],
    )
    print(say(keys))
    for line in signer_certificate_lines(package):  # certificate chains (firmware/signers.py)
        print(say(line))
    if (facts := encryption_facts(package.image)) is not None:
        print(say(facts.sentence()))
    if verdict.compatibility is not None and verdict.compatibility.checks:
        if identity is not None:
            print(say(t("Fits device {serial}:", serial=identity.serial_number)))
        else:
            print(say(t("Fits the device described:")))
        show = EventRenderer(make_console())
        for check in verdict.compatibility.checks:
            show(check)


def _refuse_device_options(args: argparse.Namespace) -> None:
    """A bundle is checked on its own: the campaign matches each node of a pack to its package."""
    typed = (args.model, args.hw_rev, args.security_counter, args.bootloader_version)
    if any(value is not None for value in typed) or args.port or args.interface:
        raise ConfigValidationError(
            t(
                "a bundle is checked on its own: leave out the device options (the campaign checks every "
                "node of the pack against its package)"
            ),
            hint=t(
                "Leave out --model, --hw-rev, --security-counter, --bootloader-version, --port and "
                "--interface."
            ),
        )


def _bundle_error_json(exc: BmsFlasherError, path: str) -> dict[str, object]:
    extra: dict[str, object] = {"valid": False, "bundle": path}
    if isinstance(exc, BundlePackageError):
        extra |= {"member": exc.member, "cause": type(exc.cause).__name__}
    return exception_json(exc, **extra)


def run_verify_bundle(args: argparse.Namespace) -> int:
    """Verify a release bundle and every package in it; exit 0 only when a campaign would accept it."""
    bundle: Bundle
    try:
        _refuse_device_options(args)
        require_release_path(Path(args.package), bundle=True)  # a mistyped path before an empty keyring
        keyring = _keyring(args.trust)
        with package_progress(progress_console(args.json), say(t("Checking the packages"))) as progress:
            bundle = load_bundle(Path(args.package), keyring, progress=progress)
    except BmsFlasherError as exc:
        if not args.json:
            raise
        print_json(_bundle_error_json(exc, args.package))
        return exc.exit_code
    print_trusted_keys(keyring, json_mode=args.json)
    if args.json:
        print_json({"bundle": args.package, "valid": True, **bundle_json(bundle)})
        return EXIT_VALID
    count = len(bundle.entries)
    print(say(t("Valid bundle: {count} packages, every signature and image checked.", count=count)))
    print_bundle(bundle)
    return EXIT_VALID


def run_verify(args: argparse.Namespace) -> int:
    """Verify a package against trusted keys and a device; exit 0 only when it would be accepted."""
    if is_bundle_file(Path(args.package)):
        return run_verify_bundle(args)
    identity: DeviceIdentity | None = None
    try:
        require_release_path(Path(args.package), bundle=False)  # a mistyped path before an empty keyring
        keyring = _keyring(args.trust)
        device, identity = _device(args)
        verdict = check_package_file(Path(args.package), keyring, device)
        verdict.raise_if_refused()
    except BmsFlasherError as exc:
        if not args.json:
            raise
        print_json(exception_json(exc, valid=False, package=args.package))
        return exc.exit_code
    assert verdict.verified is not None  # a verdict without a refusal holds the verified package
    print_trusted_keys(keyring, json_mode=args.json)  # after the verdict: a refusal stays one sentence
    if args.json:
        payload = {"package": args.package, **_summary(verdict.verified)}
        payload["checks"] = measurements_json(verdict.checks)
        if identity is not None:
            payload["device"] = identity_json(identity)
        print_json(payload)
    else:
        _print_valid(verdict, verdict.verified, identity)
    return EXIT_VALID


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``verify``."""
    verify = subparsers.add_parser(
        "verify",
        help=say(t("check a package's signatures, integrity and compatibility")),
        description=say(
            t(
                "Check a release package's signatures and integrity, and that it fits a device: the one "
                "the --model/--hw-rev/--security-counter/--bootloader-version facts describe, or the "
                "connected one (--port or --interface; it is only identified, nothing is written)."
            )
        ),
    )
    verify.add_argument(
        "package",
        metavar="FILE.bmspkg|FILE.bmsbundle",
        help=say(t("the release package, or release bundle, to check")),
    )
    verify.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="PUB.pem|ROOT.crt",
        help=say(
            t(
                "trusted public key, root certificate (.crt), revocation list (.crl), or a folder of them "
                "(repeatable; default: the user's keyring)"
            )
        ),
    )
    verify.add_argument("--model", help=say(t("also check it fits a device of this model")))
    verify.add_argument("--hw-rev", metavar="REV", help=say(t("also check it fits this hardware revision")))
    verify.add_argument(
        "--security-counter", type=counter_arg, metavar="N", help=say(t("the device's stored counter"))
    )
    verify.add_argument(
        "--bootloader-version",
        type=version_arg,
        metavar="X.Y.Z",
        help=say(t("the device's bootloader version")),
    )
    add_target_arguments(verify)
    add_json_argument(verify, t("print a JSON object either way"))
    verify.set_defaults(func=run_verify)

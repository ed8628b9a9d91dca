"""``bundle``: sign the firmware of every node type of a pack into one release bundle (``.bmsbundle``).

``bmsflasher bundle --package [TIER=]P.bmspkg ... --key K.pem [--cert K.crt] --out B.bmsbundle
[--order bmu,bmc,bcu] [--min bcu=1,bmc=2,bmu=12]``. ``--cert`` puts the key's certificate chain into
the bundle (``signers.pem``, as ``package --cert`` does), so a keyring holding only the vendor's root
certificate accepts it (docs/trust-model.md "Certificate chains").
A package's tier may be omitted for the demo pack's models (the shared table in
:mod:`bmsflasher.firmware.demo_pack_models` knows them); any other model needs it.

The bundle written is checked the way ``verify`` and a campaign will check it (its signature, and
every package's own signatures against the signing key, ``--trust`` keys and the user's keyring),
so a bundle its own maker could not install is never written. The format: docs/bundle-format.md.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from bmsflasher.cli.cmd_firmware import DEFAULT_VALIDITY_DAYS, _write_atomically, parse_expiry
from bmsflasher.cli.console import print_json, progress_console, say
from bmsflasher.cli.target_args import add_json_argument
from bmsflasher.core.i18n import t
from bmsflasher.firmware.bundle import (
    Bundle,
    BundleProgress,
    BundleSpec,
    PackageInput,
    build_bundle,
    verify_bundle,
)
from bmsflasher.firmware.bundle_errors import BundleSpecError
from bmsflasher.firmware.bundle_manifest import BUNDLE_SUFFIX, MAX_MINIMUM_NODES
from bmsflasher.firmware.certificates import CertRole
from bmsflasher.firmware.demo_keys import KEY_ID_DISPLAY_CHARS
from bmsflasher.firmware.demo_pack_models import Tier, demo_model
from bmsflasher.firmware.keys import Keyring, PrivateKey, load_private_key_file, read_key_file
from bmsflasher.firmware.package import parse_manifest, read_package
from bmsflasher.firmware.policy import read_package_file
from bmsflasher.firmware.signers import signing_certificates
from bmsflasher.procedure.package_loading import user_keyring_dir

TIER_NAMES: Final = ", ".join(tier.value for tier in Tier)


# --- option values ---------------------------------------------------------------------------------
def _tier(text: str) -> Tier:
    try:
        return Tier(text.strip().lower())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            say(t("'{text}' is not a tier; the tiers are {tiers}", text=text, tiers=TIER_NAMES))
        ) from exc


def order_arg(text: str) -> tuple[Tier, ...]:
    """``--order bmu,bmc,bcu``: tiers in update order, each at most once."""
    order = tuple(_tier(part) for part in text.split(","))
    if len(set(order)) != len(order):
        raise argparse.ArgumentTypeError(say(t("--order names a tier twice: {text}", text=text)))
    return order


def minimum_arg(text: str) -> dict[Tier, int]:
    """``--min bcu=1,bmc=2,bmu=12``: the fewest nodes of each tier a pack must have."""
    minimum: dict[Tier, int] = {}
    for part in text.split(","):
        name, sep, count = part.partition("=")
        tier = _tier(name)
        if not sep or not count.strip().isdigit() or int(count) > MAX_MINIMUM_NODES:
            raise argparse.ArgumentTypeError(
                say(
                    t(
                        "'{part}' is not TIER=COUNT with a count from 0 to {limit}, e.g. bmu=12",
                        part=part,
                        limit=MAX_MINIMUM_NODES,
                    )
                )
            )
        if tier in minimum:
            raise argparse.ArgumentTypeError(say(t("--min names tier {tier} twice", tier=tier.value)))
        minimum[tier] = int(count)
    return minimum


def _package_input(text: str) -> PackageInput:
    """``[TIER=]FILE``: the package, and its tier (looked up for the demo pack's models)."""
    name, sep, rest = text.partition("=")
    tier: Tier | None = None
    path_text = text
    if sep and name.strip().lower() in {tier.value for tier in Tier}:
        tier, path_text = Tier(name.strip().lower()), rest
    data = read_package_file(Path(path_text))
    if tier is None:
        model = parse_manifest(read_package(data).manifest_bytes).model
        known = demo_model(model)
        if known is None:
            raise BundleSpecError(
                t("Which tier is {model} ({path})?", model=model, path=path_text),
                hint=t("Name it before the file: --package bmu={path}", path=path_text),
            )
        tier = known.tier
    return PackageInput(tier, data, path_text)


# --- progress --------------------------------------------------------------------------------------
@contextlib.contextmanager
def package_progress(console: Console, description: str) -> Iterator[BundleProgress]:
    """A transient bar over the packages of a bundle while they are checked (stderr with ``--json``)."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.fields[member]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None, member="")

        def advance(done: int, total: int, member: str) -> None:
            progress.update(task, completed=done, total=total, member=member)

        yield advance


def _signer_certificate_json(bundle: Bundle) -> dict[str, str] | None:
    """The bundle signer's certificate (subject, SHA-256 fingerprint); None for a plain key."""
    signer = bundle.signer
    if signer.certificate_subject is None or signer.certificate_fingerprint is None:
        return None
    return {"subject": signer.certificate_subject, "fingerprint": signer.certificate_fingerprint}


def bundle_json(bundle: Bundle) -> dict[str, Any]:
    """What ``bundle --json`` and ``verify --json`` say of a bundle that passed every check."""
    return {
        "release": bundle.release,
        "order": [tier.value for tier in bundle.order],
        "minimum_nodes": {tier.value: count for tier, count in bundle.minimum_nodes.items()},
        "version_set": {model: str(version) for model, version in bundle.version_set.items()},
        "bundle_key_id": bundle.signer.key_id,
        "bundle_certificate": _signer_certificate_json(bundle),
        "sha256": bundle.sha256,
        "manifest": bundle.manifest.to_dict(),
        "packages": [
            {
                "file": entry.file,
                "tier": entry.tier.value,
                "model": entry.model,
                "hardware_revisions": list(entry.hardware_revisions),
                "version": str(entry.version),
                "security_counter": entry.security_counter,
                "sim_behaviour": entry.package.manifest.sim_behaviour,
                "manifest_key_id": entry.package.manifest_signer.key_id,
                "image_key_id": entry.package.image_signer.key_id,
                "package_sha256": entry.package_sha256,
            }
            for entry in bundle.entries
        ],
    }


def print_bundle(bundle: Bundle) -> None:
    """The bundle in a few lines: release, order, minimum, then one line per package."""
    order = ", ".join(tier.value for tier in bundle.order)  # ASCII: a redirected Windows console is cp1252
    minimum = ", ".join(f"{tier.value}={count}" for tier, count in bundle.minimum_nodes.items())
    print(
        say(
            t(
                "Release {release}: update order {order}; at least {minimum}.",
                release=bundle.release,
                order=order,
                minimum=minimum,
            )
        )
    )
    for entry in bundle.entries:
        print(
            say(
                t(
                    "  {tier} {model} {version} for hardware {revisions} ({file}, package key {key_id})",
                    tier=entry.tier.value,
                    model=entry.model,
                    version=entry.version,
                    revisions=", ".join(entry.hardware_revisions),
                    file=entry.file,
                    key_id=entry.package.manifest_signer.key_id[:16],
                )
            )
        )
    print(say(t("Bundle signed by key {key_id}.", key_id=bundle.signer.key_id[:16])))
    certificate = _signer_certificate_json(bundle)
    if certificate is not None:
        print(
            say(
                t(
                    "Bundle manifest signed under certificate {subject} (fingerprint {fingerprint}).",
                    subject=certificate["subject"],
                    fingerprint=certificate["fingerprint"][:KEY_ID_DISPLAY_CHARS],
                )
            )
        )


def bundle_certificates(cert: str | None, key: PrivateKey) -> bytes:
    """``signers.pem`` for ``bundle --cert``: the chain must certify ``--key`` for the release role."""
    if not cert:
        return b""
    return signing_certificates([(read_key_file(Path(cert)), cert, key.public_key(), CertRole.RELEASE)])


# --- the command -----------------------------------------------------------------------------------
def run_bundle(args: argparse.Namespace) -> int:
    """Build, sign and self-check a release bundle; write it only when it passes."""
    out = Path(args.out)
    if out.suffix != BUNDLE_SUFFIX:
        raise BundleSpecError(
            t(
                "The output file must end in {suffix}, not '{given}'.",
                suffix=BUNDLE_SUFFIX,
                given=out.suffix or out.name,
            )
        )
    key = load_private_key_file(Path(args.key))
    now = datetime.now(UTC).replace(microsecond=0)
    expires = parse_expiry(args.expires, now) if args.expires else now + timedelta(days=DEFAULT_VALIDITY_DAYS)
    packages = [_package_input(text) for text in args.package]
    spec = BundleSpec(
        release=args.release or out.name[: -len(BUNDLE_SUFFIX)],
        order=args.order,
        minimum_nodes=args.min,
        release_notes=args.release_notes or "",
        created=now,
        expires=expires,
    )
    data = build_bundle(spec, packages, key, certificates=bundle_certificates(args.cert, key))
    keyring = Keyring()
    keyring.add(key, args.key)
    keyring.add_keyring_folder(user_keyring_dir())
    for path in args.trust:
        keyring.add_path(Path(path))
    with package_progress(progress_console(args.json), say(t("Checking the packages"))) as progress:
        bundle = verify_bundle(data, keyring, source=str(out), now=now, progress=progress)
    _write_atomically(out, data)
    if args.json:
        print_json({"bundle": str(out), **bundle_json(bundle)})
        return 0
    print(say(t("Wrote {path} ({size} bytes).", path=out, size=len(data))))
    print_bundle(bundle)
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``bundle``."""
    parser = subparsers.add_parser(
        "bundle",
        help=say(t("sign the packages of a pack's node types into one release bundle (.bmsbundle)")),
        description=say(
            t(
                "Sign one package per node type of a pack (BCU, BMC, BMU), released together, into one "
                "bundle, with the order in which a campaign updates the tiers and the fewest nodes of "
                "each tier a pack must have."
            )
        ),
    )
    parser.add_argument(
        "--package",
        action="append",
        required=True,
        metavar="[TIER=]FILE.bmspkg",
        help=say(
            t(
                "a node type's package (repeatable); TIER ({tiers}) may be left out for the demo pack's "
                "models",
                tiers=TIER_NAMES,
            )
        ),
    )
    parser.add_argument("--key", required=True, metavar="KEY.pem", help=say(t("signs the bundle manifest")))
    parser.add_argument(
        "--cert",
        metavar="SUBJECT.crt",
        help=say(
            t(
                "the --key's certificate chain (from ca issue); the bundle carries it, so keyrings that "
                "trust the vendor's root certificate accept it"
            )
        ),
    )
    parser.add_argument(
        "--out", required=True, metavar="FILE.bmsbundle", help=say(t("the bundle file to write"))
    )
    parser.add_argument(
        "--order",
        type=order_arg,
        metavar="TIER,...",
        help=say(t("update order of the tiers (default bmu,bmc,bcu)")),
    )
    parser.add_argument(
        "--min",
        type=minimum_arg,
        metavar="TIER=N,...",
        help=say(t("fewest nodes of each tier, e.g. bcu=1,bmc=2,bmu=12 (default 1 of each)")),
    )
    parser.add_argument(
        "--release", metavar="NAME", help=say(t("the release's name (default: the file name)"))
    )
    parser.add_argument("--release-notes", metavar="TEXT", help=say(t("shown to the technician")))
    parser.add_argument(
        "--expires",
        metavar="DATE",
        help=say(t("YYYY-MM-DD, +DAYS or never (default +{days} days)", days=DEFAULT_VALIDITY_DAYS)),
    )
    parser.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="PUB.pem|ROOT.crt",
        help=say(t("the public key of the packages' signer, when it is not --key (repeatable)")),
    )
    add_json_argument(parser, t("print the result as JSON on stdout"))
    parser.set_defaults(func=run_bundle)

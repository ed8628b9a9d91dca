"""``ca``: a small vendor CA for certificate-chain trust (``init``, ``issue``, ``revoke``).

Thin over :mod:`bmsflasher.firmware.certificates_ca`. The CA's private key belongs on an offline
machine; what leaves it is ``ROOT.crt`` and ``ROOT.crl`` (into every technician's keyring folder)
and, per signer or technician, ``SUBJECT.crt`` + ``SUBJECT.pem``. See docs/trust-model.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bmsflasher.cli.console import print_json, say
from bmsflasher.cli.target_args import add_json_argument
from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.i18n import t
from bmsflasher.firmware.certificates import ROLE_SETS, certificate_fingerprint
from bmsflasher.firmware.certificates_ca import init_ca, issue, revoke
from bmsflasher.firmware.keys import KeyType

MAX_DAYS = 36500


def _days_arg(text: str) -> int:
    """A validity in whole days, 1..36500."""
    try:
        value = int(text, 10)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(
            say(t("'{text}' is not a number of days between 1 and {limit}", text=text, limit=MAX_DAYS))
        )
    return value


def _make_parent(out: Path) -> None:
    if not out.parent.is_dir():
        raise ConfigValidationError(
            t("The folder {folder} does not exist; create it first.", folder=out.parent)
        )


def run_init(args: argparse.Namespace) -> int:
    """Create a root CA: NAME.pem (0600), NAME.crt, NAME.crl (empty)."""
    out = Path(args.out)
    _make_parent(out)
    files = init_ca(out, days=args.days, force=args.force)
    if args.json:
        print_json({"key": str(files.key), "certificate": str(files.cert), "crl": str(files.crl)})
        return 0
    print(
        say(
            t(
                "Wrote CA key {key} (mode 0600: keep it offline), root certificate {cert} and revocation "
                "list {crl}; give the technicians {cert} and {crl}.",
                key=files.key,
                cert=files.cert,
                crl=files.crl,
            )
        )
    )
    return 0


def run_issue(args: argparse.Namespace) -> int:
    """Issue a key and certificate for a role, signed by the CA."""
    out = Path(args.out)
    _make_parent(out)
    files, cert = issue(
        Path(args.ca), out, args.role, days=args.days, key_type=KeyType(args.type), force=args.force
    )
    fingerprint = certificate_fingerprint(cert)
    if args.json:
        print_json(
            {
                "key": str(files.key),
                "certificate": str(files.cert),
                "role": args.role,
                "subject": cert.subject.rfc4514_string(),
                "fingerprint": fingerprint,
                "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
        return 0
    print(
        say(
            t(
                "Wrote {role} key {key} (mode 0600) and certificate {cert}, valid until {until:%Y-%m-%d}, "
                "fingerprint {fingerprint}.",
                role=args.role,
                key=files.key,
                cert=files.cert,
                until=cert.not_valid_after_utc,
                fingerprint=fingerprint[:16],
            )
        )
    )
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    """Add a certificate to the CA's revocation list."""
    crl_path, cert = revoke(Path(args.ca), Path(args.cert))
    if args.json:
        print_json(
            {
                "crl": str(crl_path),
                "revoked_subject": cert.subject.rfc4514_string(),
                "revoked_serial": format(cert.serial_number, "x"),
                "revoked_fingerprint": certificate_fingerprint(cert),
            }
        )
        return 0
    print(
        say(
            t(
                "Revoked {subject} (serial {serial}); give the technicians the new {crl}.",
                subject=cert.subject.rfc4514_string(),
                serial=format(cert.serial_number, "x"),
                crl=crl_path,
            )
        )
    )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ca`` with its ``init``, ``issue`` and ``revoke`` subcommands."""
    ca = subparsers.add_parser(
        "ca", help=say(t("a vendor CA: root certificate, signer certificates, revocation"))
    )
    actions = ca.add_subparsers(dest="ca_command", required=True, metavar="init|issue|revoke")

    init = actions.add_parser("init", help=say(t("create a root CA (NAME.pem, NAME.crt, NAME.crl)")))
    init.add_argument(
        "--out", required=True, metavar="DIR/NAME", help=say(t("where to write the CA's files"))
    )
    init.add_argument(
        "--days", type=_days_arg, default=7300, metavar="N", help=say(t("validity (default 7300)"))
    )
    init.add_argument("--force", action="store_true", help=say(t("overwrite existing files")))
    add_json_argument(init)
    init.set_defaults(func=run_init)

    issue_parser = actions.add_parser("issue", help=say(t("issue a key and certificate for a role")))
    issue_parser.add_argument(
        "--ca", required=True, metavar="DIR/NAME", help=say(t("the CA (NAME.pem + NAME.crt)"))
    )
    issue_parser.add_argument(
        "--out",
        required=True,
        metavar="DIR/SUBJECT",
        help=say(t("where to write SUBJECT.pem and SUBJECT.crt")),
    )
    issue_parser.add_argument(
        "--role",
        required=True,
        choices=sorted(ROLE_SETS),
        help=say(
            t(
                "signer (manifest and image), release (manifest only), build (image only) or technician "
                "(device authentication)"
            )
        ),
    )
    issue_parser.add_argument(
        "--days", type=_days_arg, default=1095, metavar="N", help=say(t("validity (default 1095)"))
    )
    issue_parser.add_argument(
        "--type",
        choices=[k.value for k in KeyType],
        default=KeyType.ECDSA_P256.value,
        help=say(t("the new key's algorithm (default ecdsa-p256)")),
    )
    issue_parser.add_argument("--force", action="store_true", help=say(t("overwrite existing files")))
    add_json_argument(issue_parser)
    issue_parser.set_defaults(func=run_issue)

    revoke_parser = actions.add_parser("revoke", help=say(t("revoke a certificate (updates NAME.crl)")))
    revoke_parser.add_argument(
        "--ca", required=True, metavar="DIR/NAME", help=say(t("the CA (NAME.pem + NAME.crt)"))
    )
    revoke_parser.add_argument("cert", metavar="CERT", help=say(t("the certificate to revoke (SUBJECT.crt)")))
    add_json_argument(revoke_parser)
    revoke_parser.set_defaults(func=run_revoke)

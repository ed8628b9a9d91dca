"""Signed checkpoints ("seals") of the audit chain, made with the technician's certificate key.

The hash chain alone proves only that nothing changed *in the middle*: anyone who can write the
file can rewrite a record and recompute every hash after it, and the chain verifies again. A seal
is a signature, by the technician's private key, over the chain's head at one moment (each closed
service session is sealed); rewriting anything up to that moment changes the head the seal names,
and making a new seal needs the technician's key, which the file does not hold.

Each seal is a row of ``audit_seals`` (itself an audited table, so a removed seal breaks the chain
or the record check). It signs exactly these bytes::

    SEAL_CONTEXT || canonical_json({"at", "audit_id", "head_hash", "prev_seal", "signer_sha256"})

where ``audit_id``/``head_hash`` are the newest audit row when sealing, ``prev_seal`` the SHA-256
(hex) of the previous seal's signature ("" for the first) and ``signer_sha256`` the SHA-256 of the
signing certificate's DER. The signature is ECDSA-P256/SHA-256 (DER) or Ed25519, by the key of the
certificate stored in the row. The newest seal is also written to a *witness* file outside the
database, so cutting the newest records together with their seals is detected as well.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import platformdirs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.firmware.keys import PrivateKey, sign_message, verify_message
from bmsflasher.records import audit
from bmsflasher.records.codec import canonical_json, format_time, utc_now

SEAL_CONTEXT: Final = b"bmsflasher/audit-seal/v1\x00"
"""Prefix of every sealed message: a seal can never pass for a device proof or a firmware signature."""


class AuditSigner(Protocol):
    """Who seals: the technician's certificate (PEM, leaf first) and a way to sign with its key."""

    @property
    def subject(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...

    def certificate_pem(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True, slots=True)
class SealCheck:
    """What the seals of one file say.

    Attributes:
        problem: one sentence naming the first seal that fails, empty when every seal holds.
        first_bad_row: the audit row involved in that problem, when known.
        seals: how many seals were checked.
        newest: ``"seal N at audit row R by SUBJECT (certificate SHA-256 …)"``, empty without seals.
        unsealed_rows: audit rows newer than the newest seal.
        signers: the distinct certificate subjects that sealed.
    """

    problem: str = ""
    first_bad_row: int | None = None
    seals: int = 0
    newest: str = ""
    unsealed_rows: int = 0
    signers: tuple[str, ...] = ()


def sealed_message(at: str, audit_id: int, head_hash: str, prev_seal: str, signer_sha256: str) -> bytes:
    """The exact bytes a seal signs."""
    fields = {
        "at": at,
        "audit_id": audit_id,
        "head_hash": head_hash,
        "prev_seal": prev_seal,
        "signer_sha256": signer_sha256,
    }
    return SEAL_CONTEXT + canonical_json(fields)


def _previous(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT signature FROM audit_seals ORDER BY id DESC LIMIT 1").fetchone()
    return hashlib.sha256(bytes.fromhex(str(row[0]))).hexdigest() if row else ""


def seal(conn: sqlite3.Connection, signer: AuditSigner) -> dict[str, object] | None:
    """Seal the current head; call inside a write transaction. None when there is nothing new."""
    last = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    if last is None:
        return None
    newest = conn.execute("SELECT audit_id FROM audit_seals ORDER BY id DESC LIMIT 1").fetchone()
    if newest is not None:
        covered = conn.execute(
            "SELECT COUNT(*) FROM audit WHERE id > ? AND table_name != 'audit_seals'", (newest[0],)
        ).fetchone()[0]
        if not covered:
            return None  # only the previous seal's own audit row is new
    audit_id, head = int(last[0]), str(last[1])
    at = format_time(utc_now())
    prev = _previous(conn)
    signature = signer.sign(sealed_message(at, audit_id, head, prev, signer.fingerprint)).hex()
    cursor = conn.execute(
        "INSERT INTO audit_seals (at, audit_id, head_hash, prev_seal, signer_subject, signer_sha256, "
        "certificate, signature) VALUES (?,?,?,?,?,?,?,?)",
        (at, audit_id, head, prev, signer.subject, signer.fingerprint, signer.certificate_pem(), signature),
    )
    seal_id = int(cursor.lastrowid or 0)
    audit.append(conn, "audit_seals", seal_id, "insert")
    return {"seal_id": seal_id, "audit_id": audit_id, "head_hash": head, "signature": signature}


def check(conn: sqlite3.Connection, witness: dict[str, object] | None = None) -> SealCheck:
    """Check every seal against the chain, its certificate and its predecessor; then the witness."""
    hashes_by_row = dict(conn.execute("SELECT id, hash FROM audit"))
    prev = ""
    count = 0
    newest = ""
    newest_row = 0
    signers: list[str] = []
    rows = conn.execute(
        "SELECT id, at, audit_id, head_hash, prev_seal, signer_subject, signer_sha256, certificate, "
        "signature FROM audit_seals ORDER BY id"
    ).fetchall()
    for seal_id, at, audit_id, head, stored_prev, subject, signer_sha256, pem, signature in rows:
        count += 1
        where = f"seal {seal_id} (audit row {audit_id})"
        if hashes_by_row.get(audit_id) != head:
            return SealCheck(
                f"{where} signed a chain head this file no longer holds: the records up to audit row "
                f"{audit_id} were rewritten and re-hashed, or cut",
                audit_id,
                count,
            )
        if stored_prev != prev:
            return SealCheck(
                f"{where} does not follow the seal before it: a seal was removed", audit_id, count
            )
        valid = _signature_holds(
            str(pem),
            str(signer_sha256),
            str(signature),
            sealed_message(at, audit_id, head, prev, signer_sha256),
        )
        if not valid:
            return SealCheck(f"{where} does not carry a valid signature of its certificate", audit_id, count)
        prev = hashlib.sha256(bytes.fromhex(str(signature))).hexdigest()
        newest_row = int(audit_id)
        newest = f"seal {seal_id} at audit row {audit_id} by {subject} (certificate SHA-256 {signer_sha256})"
        if subject not in signers:
            signers.append(str(subject))
    if witness is not None:
        seal_id = witness.get("seal_id")
        found = conn.execute(
            "SELECT signature FROM audit_seals WHERE id = ?", (seal_id if isinstance(seal_id, int) else -1,)
        ).fetchone()
        if found is None or str(found[0]) != witness.get("signature"):
            return SealCheck(
                f"the witness names seal {seal_id} at audit row {witness.get('audit_id')}, which this file "
                "no longer holds: its newest records were cut or replaced",
                None,
                count,
            )
    unsealed = conn.execute(
        "SELECT COUNT(*) FROM audit WHERE id > ? AND table_name != 'audit_seals'", (newest_row,)
    ).fetchone()[0]
    return SealCheck("", None, count, newest, int(unsealed), tuple(signers))


def _signature_holds(pem: str, signer_sha256: str, signature: str, message: bytes) -> bool:
    """The stored certificate is the one named and its key signed ``message``."""
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
        signature_bytes = bytes.fromhex(signature)
    except ValueError:
        return False
    key = certificate.public_key()
    if certificate.fingerprint(hashes.SHA256()).hex() != signer_sha256:
        return False
    if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return False
    return verify_message(key, signature_bytes, message)


# --- the witness: the newest seal, kept outside the database ----------------------------------------
def witness_key(db_path: Path) -> str:
    """The witness entry of one database: its resolved path."""
    return str(db_path.resolve())


def read_witness(witness_file: Path, db_path: Path) -> dict[str, object] | None:
    """The newest seal the witness file remembers for ``db_path`` (None: none, or unreadable)."""
    try:
        entries = json.loads(witness_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    entry = entries.get(witness_key(db_path)) if isinstance(entries, dict) else None
    return entry if isinstance(entry, dict) else None


def write_witness(witness_file: Path, db_path: Path, newest: dict[str, object]) -> None:
    """Remember ``newest`` as the newest seal of ``db_path`` (atomic replace, private file)."""
    try:
        entries = json.loads(witness_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        entries = {}
    if not isinstance(entries, dict):
        entries = {}
    entries[witness_key(db_path)] = newest
    witness_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = witness_file.with_name(witness_file.name + ".tmp")
    temporary.write_text(json.dumps(entries, sort_keys=True, indent=1), encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(witness_file)


# --- the technician's certificate as the sealer -----------------------------------------------------
@dataclass(frozen=True, slots=True)
class CertificateSigner:
    """An :class:`AuditSigner` from a certificate chain (leaf first) and its private key."""

    chain: tuple[x509.Certificate, ...]
    key: PrivateKey

    @property
    def subject(self) -> str:
        return self.chain[0].subject.rfc4514_string()

    @property
    def fingerprint(self) -> str:
        return self.chain[0].fingerprint(hashes.SHA256()).hex()

    def certificate_pem(self) -> str:
        return self.chain[0].public_bytes(serialization.Encoding.PEM).decode("ascii")

    def sign(self, message: bytes) -> bytes:
        return sign_message(self.key, message)


def technician_signer(location: Path | None = None) -> CertificateSigner | None:
    """The technician's credentials as a sealer, or None when none are configured (or usable)."""
    from bmsflasher.firmware.certificates_technician import load_technician_credentials

    try:
        chain, key = load_technician_credentials(location)
    except BmsFlasherError:
        return None
    return CertificateSigner(tuple(chain), key)


def default_witness_file() -> Path:
    """``<user state dir>/audit-witness.json``: outside the history's own folder."""
    return Path(platformdirs.user_state_dir("bmsflasher")) / "audit-witness.json"

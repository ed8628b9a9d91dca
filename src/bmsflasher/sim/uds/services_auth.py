"""Authentication (0x29, ISO 14229-1:2020): the certificate exchange of a device that requires it.

A device started with ``--auth certificate`` offers this service instead of SecurityAccess
(0x27): the tester presents its certificate chain (verifyCertificateUnidirectional, 0x01), the
server answers a fresh random challenge, and the tester proves it holds the certificate's key
by signing it (proofOfOwnership, 0x03). Only then, and only for what the certificate's role
grants, does the server open the programming session, accept downloads and image routines
(rollback included) and configuration writes. authenticationConfiguration (0x08) tells a tester
which scheme the server uses (APCE: certificates); deAuthenticate (0x00) ends the
authenticated state, as returning to the default session, the S3 timeout and a reset do.

Exact bytes (``docs/protocols/uds.md``, "Authentication (0x29)"):

* ``29 01 cc LLLL <chain> LLLL <client challenge>`` → ``69 01 11 0020 <32-byte challenge> 0000``;
* ``29 03 LLLL <proof> 0000`` → ``69 03 12 0000`` where proof is the certificate key's signature
  (ECDSA-SHA256 DER, or Ed25519) over ``UDS_PROOF_CONTEXT || server challenge || client challenge``;
* ``29 00`` → ``69 00 10``; ``29 08`` → ``69 08 02``.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509

from bmsflasher.sim.device.technician_auth import (
    ROLE_FACTORY,
    UDS_PROOF_CONTEXT,
    CertificateRefused,
    Technician,
    load_anchor,
    load_revocation_list,
    verify_chain,
    verify_proof,
)
from bmsflasher.sim.uds.nrc import (
    NRC_INCORRECT_LENGTH,
    NRC_REQUEST_SEQUENCE_ERROR,
    NRC_SUBFUNCTION_NOT_SUPPORTED,
    NegativeResponse,
)
from bmsflasher.sim.uds.services_session import SessionState

TASK_DEAUTHENTICATE: Final = 0x00
TASK_VERIFY_CERTIFICATE_UNIDIRECTIONAL: Final = 0x01
TASK_PROOF_OF_OWNERSHIP: Final = 0x03
TASK_AUTHENTICATION_CONFIGURATION: Final = 0x08

RETURN_DEAUTHENTICATED: Final = 0x10
RETURN_OWNERSHIP_NEEDED: Final = 0x11
RETURN_AUTHENTICATION_COMPLETE: Final = 0x12
RETURN_CONFIGURATION_APCE: Final = 0x02

CHALLENGE_LENGTH: Final = 32
MAX_CLIENT_CHALLENGE: Final = 64
#: Calibration values set at the factory: a technician's certificate may not write them (0x33).
FACTORY_PARAMETERS: Final = frozenset({"voltage_gain", "voltage_offset_mv", "current_gain"})


@dataclass(slots=True)
class _Pending:
    """A verified certificate waiting for its proof of ownership."""

    technician: Technician
    challenge: bytes
    client_challenge: bytes
    session: int


class AuthServices:
    """The 0x29 handler and the certificate the device trusts.

    Args:
        state: the session state; a completed authentication sets its ``role`` and ``technician``.
        anchor: the CA certificate file the device trusts (the demo CA unless told otherwise).
        crl: the anchor's revocation list the device holds (``sim --auth-crl``); None: none, so no
            certificate is refused as revoked (0x57).
    """

    def __init__(self, state: SessionState, anchor: Path, crl: Path | None = None) -> None:
        self.state = state
        self._anchor_path = anchor
        self._anchor: x509.Certificate | None = None
        self._crl_path = crl
        self._crl: x509.CertificateRevocationList | None = None
        self._pending: _Pending | None = None

    def anchor(self) -> x509.Certificate:
        """The trusted CA, read once (a missing file answers 0x5C configurationDataUsageFailed)."""
        if self._anchor is None:
            try:
                self._anchor = load_anchor(self._anchor_path)
            except (OSError, ValueError) as exc:
                raise NegativeResponse(0x5C) from exc
        return self._anchor

    def revocation_list(self) -> x509.CertificateRevocationList | None:
        """The revocation list, read once; an unreadable or forged one answers 0x5C as the anchor does."""
        if self._crl is None and self._crl_path is not None:
            try:
                self._crl = load_revocation_list(self._crl_path, self.anchor())
            except (OSError, ValueError) as exc:
                raise NegativeResponse(0x5C) from exc
        return self._crl

    def authentication(self, request: bytes) -> bytes:
        task = request[1] & 0x7F  # the tasks offered (0x12) are checked by the rules table
        if task == TASK_DEAUTHENTICATE:
            return self._deauthenticate(request)
        if task == TASK_VERIFY_CERTIFICATE_UNIDIRECTIONAL:
            return self._verify_certificate(request)
        if task == TASK_PROOF_OF_OWNERSHIP:
            return self._proof_of_ownership(request)
        if task == TASK_AUTHENTICATION_CONFIGURATION:
            if len(request) != 2:
                raise NegativeResponse(NRC_INCORRECT_LENGTH)
            return bytes([0x69, task, RETURN_CONFIGURATION_APCE])
        raise NegativeResponse(NRC_SUBFUNCTION_NOT_SUPPORTED)

    def forget(self) -> None:
        """A session change to default, a reset or S3: no proof is awaited any more."""
        self._pending = None

    def _deauthenticate(self, request: bytes) -> bytes:
        if len(request) != 2:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        self._pending = None
        self.state.deauthenticate()
        return bytes([0x69, TASK_DEAUTHENTICATE, RETURN_DEAUTHENTICATED])

    def _verify_certificate(self, request: bytes) -> bytes:
        chain, rest = _length_prefixed(request[3:]) if len(request) >= 5 else (b"", b"")
        client_challenge, rest = _length_prefixed(rest) if len(rest) >= 2 else (b"", b"x")
        if len(request) < 5 or rest or not chain or len(client_challenge) > MAX_CLIENT_CHALLENGE:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        # A new certificate replaces any earlier authentication (ISO 14229-1:2020: one per connection).
        self._pending = None
        self.state.deauthenticate()
        try:
            technician = verify_chain(chain, self.anchor(), crl=self.revocation_list())
        except CertificateRefused as exc:
            raise NegativeResponse(exc.nrc) from exc
        challenge = os.urandom(CHALLENGE_LENGTH)
        self._pending = _Pending(technician, challenge, client_challenge, self.state.session)
        return (
            bytes([0x69, TASK_VERIFY_CERTIFICATE_UNIDIRECTIONAL, RETURN_OWNERSHIP_NEEDED])
            + struct.pack(">H", len(challenge))
            + challenge
            + struct.pack(">H", 0)  # no ephemeral key: no session key is agreed
        )

    def _proof_of_ownership(self, request: bytes) -> bytes:
        proof, rest = _length_prefixed(request[2:]) if len(request) >= 4 else (b"", b"x")
        ephemeral, rest = _length_prefixed(rest) if len(rest) >= 2 else (b"", b"x")
        if rest or not proof or ephemeral:
            raise NegativeResponse(NRC_INCORRECT_LENGTH)
        pending, self._pending = self._pending, None
        if pending is None or pending.session != self.state.session:
            # No certificate verified first, or the session changed (S3, a reset) in between.
            raise NegativeResponse(NRC_REQUEST_SEQUENCE_ERROR)
        message = UDS_PROOF_CONTEXT + pending.challenge + pending.client_challenge
        try:
            verify_proof(pending.technician.public_key, proof, message)
        except CertificateRefused as exc:
            raise NegativeResponse(exc.nrc) from exc
        self.state.authenticate(pending.technician.role, pending.technician.subject)
        return bytes([0x69, TASK_PROOF_OF_OWNERSHIP, RETURN_AUTHENTICATION_COMPLETE]) + struct.pack(">H", 0)


def may_write_parameter(state: SessionState, name: str) -> bool:
    """False when an authenticated role may not write ``name`` (factory calibration, technician)."""
    return not state.auth_required or name not in FACTORY_PARAMETERS or state.role == ROLE_FACTORY


def _length_prefixed(data: bytes) -> tuple[bytes, bytes]:
    """(value, rest) of a 2-byte big-endian length-prefixed field; the rest non-empty when short."""
    length = int.from_bytes(data[:2], "big")
    if len(data) < 2 + length:
        return b"", b"short"
    return data[2 : 2 + length], data[2 + length :]

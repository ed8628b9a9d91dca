"""Technician authentication over SMP: the BMS group's signed challenge (``--auth certificate``).

The SMP equivalent of UDS Authentication (0x29), for BMS reached over a serial console. A device
started with ``--auth certificate`` accepts no write that changes firmware, image state or
configuration (image upload, erase and state, settings writes, deletes, commit and save, forced
balancing, rollback) until a tester has presented a certificate chain the device's CA vouches for
and signed the device's challenge with its key:

* BMS group (72) command 7, write ``{"chain": bstr, "nonce": bstr}`` → ``{"challenge": bstr(32)}``;
* command 8, write ``{"proof": bstr}`` → ``{"role": "technician" | "factory"}``, where ``proof`` is
  the certificate key's signature over ``SMP_PROOF_CONTEXT || challenge || nonce``.

Refusals: a protected write before authentication is MGMT ``EACCESSDENIED`` (11) with a reason; a
refused chain is the group error ``CERTIFICATE_REFUSED`` (6) whose reason names the ISO 14229
cause (``nrc`` 0x50..0x56 in the body too); a wrong proof ``PROOF_REFUSED`` (7); a proof with no
challenge pending ``NO_CHALLENGE`` (8). The authentication lasts until the device resets (SMP has
no sessions); the factory calibration needs a ``factory`` certificate, as over UDS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cryptography import x509

from bmsflasher.sim.device.technician_auth import (
    ROLE_FACTORY,
    SMP_PROOF_CONTEXT,
    CertificateRefused,
    Technician,
    load_anchor,
    load_revocation_list,
    verify_chain,
    verify_proof,
)
from bmsflasher.sim.smp.error_codes import BmsErr, MgmtErr, SmpRequestError
from bmsflasher.sim.smp.messages import (
    GROUP_BMS,
    GROUP_IMAGE,
    GROUP_SETTINGS,
    OP_WRITE,
    Request,
)

CMD_PRESENT_CERTIFICATE: Final = 7
CMD_PROVE: Final = 8
CHALLENGE_BYTES: Final = 32
MAX_NONCE_BYTES: Final = 64
#: (group, command) writes that need an authenticated technician.
PROTECTED_WRITES: Final = frozenset(
    {
        (GROUP_IMAGE, 0),  # image state: test / confirm
        (GROUP_IMAGE, 1),  # upload
        (GROUP_IMAGE, 5),  # erase
        (GROUP_SETTINGS, 0),  # write a key
        (GROUP_SETTINGS, 1),  # delete a key
        (GROUP_SETTINGS, 2),  # commit
        (GROUP_SETTINGS, 3),  # save
        (GROUP_BMS, 4),  # forced balancing
        (GROUP_BMS, 5),  # rollback
        (GROUP_BMS, 18),  # compressed upload (sim/smp/compressed_upload.py)
    }
)
#: Settings keys of the factory calibration (a technician certificate may not write them).
FACTORY_KEYS: Final = frozenset({"bms/voltage_gain", "bms/voltage_offset_mv", "bms/current_gain"})


@dataclass(slots=True)
class _Pending:
    technician: Technician
    challenge: bytes
    nonce: bytes


class BmsAuth:
    """The signed-challenge state of one device's SMP server.

    Args:
        anchor: the CA certificate file the device trusts.
        crl: the anchor's revocation list the device holds (``sim --auth-crl``), or None.
    """

    def __init__(self, anchor: Path, crl: Path | None = None) -> None:
        self._anchor_path = anchor
        self._anchor: x509.Certificate | None = None
        self._crl_path = crl
        self._pending: _Pending | None = None
        self.role: str | None = None

    def forget(self) -> None:
        """A reset ends the authentication and any challenge."""
        self._pending = None
        self.role = None

    def require(self, request: Request) -> None:
        """Refuse a protected write before authentication (EACCESSDENIED), or a role without the right."""
        if request.op != OP_WRITE or (request.group, request.command) not in PROTECTED_WRITES:
            return
        if self.role is None:
            raise SmpRequestError(
                MgmtErr.EACCESSDENIED, reason="authenticate with a technician certificate first (BMS 7, 8)"
            )
        name = request.body.get("name")
        if request.group == GROUP_SETTINGS and name in FACTORY_KEYS and self.role != ROLE_FACTORY:
            raise SmpRequestError(
                MgmtErr.EACCESSDENIED, reason="the factory calibration needs a factory certificate"
            )

    def present_certificate(self, request: Request) -> Mapping[str, Any]:
        chain, nonce = request.body.get("chain"), request.body.get("nonce", b"")
        if not isinstance(chain, bytes) or not isinstance(nonce, bytes) or len(nonce) > MAX_NONCE_BYTES:
            raise SmpRequestError(MgmtErr.EINVAL, reason="'chain' (bstr) and 'nonce' (bstr, <= 64) expected")
        self.forget()  # a new certificate replaces any earlier authentication
        try:
            technician = verify_chain(chain, self._trusted(), crl=self._revocation_list())
        except CertificateRefused as exc:
            raise SmpRequestError(
                BmsErr.CERTIFICATE_REFUSED, group=GROUP_BMS, reason=f"{exc.reason} (NRC 0x{exc.nrc:02X})"
            ) from exc
        challenge = os.urandom(CHALLENGE_BYTES)
        self._pending = _Pending(technician, challenge, nonce)
        return {"challenge": challenge}

    def prove(self, request: Request) -> Mapping[str, Any]:
        proof = request.body.get("proof")
        if not isinstance(proof, bytes):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'proof' (bstr) expected")
        pending, self._pending = self._pending, None
        if pending is None:
            raise SmpRequestError(BmsErr.NO_CHALLENGE, group=GROUP_BMS, reason="no challenge pending")
        try:
            verify_proof(
                pending.technician.public_key, proof, SMP_PROOF_CONTEXT + pending.challenge + pending.nonce
            )
        except CertificateRefused as exc:
            raise SmpRequestError(BmsErr.PROOF_REFUSED, group=GROUP_BMS, reason=exc.reason) from exc
        self.role = pending.technician.role
        return {"role": self.role}

    def _trusted(self) -> x509.Certificate:
        if self._anchor is None:
            try:
                self._anchor = load_anchor(self._anchor_path)
            except (OSError, ValueError) as exc:
                raise SmpRequestError(MgmtErr.EUNKNOWN, reason="the device cannot read its CA") from exc
        return self._anchor

    def _revocation_list(self) -> x509.CertificateRevocationList | None:
        if self._crl_path is None:
            return None
        try:  # read at each check: a device holds one small list
            return load_revocation_list(self._crl_path, self._trusted())
        except (OSError, ValueError) as exc:
            raise SmpRequestError(MgmtErr.EUNKNOWN, reason="the device cannot read its CRL") from exc

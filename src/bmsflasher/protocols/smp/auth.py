"""Technician authentication over SMP: the BMS group's signed challenge, with the technician's key.

A BMS that requires it denies firmware, image-state and configuration writes (MGMT
``EACCESSDENIED``) until the tester has presented its certificate chain (BMS command 7, answered
with a 32-byte challenge) and signed that challenge (command 8). The session
(:class:`~bmsflasher.protocols.smp.session.SmpSession`) calls :meth:`SmpAuthenticator.authenticate`
when a write is denied and sends the write once more, so a device that does not ask sees no
change. The signed bytes are ``SMP_PROOF_CONTEXT || challenge || nonce``
(``docs/protocols/smp.md``, "Technician authentication").
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Final

from bmsflasher.core.errors import DeviceRejectedError
from bmsflasher.core.i18n import t
from bmsflasher.protocols.base.technician import (
    CredentialsSource,
    TechnicianCredentials,
    credentials_from,
    load_or_refuse,
)
from bmsflasher.protocols.smp import messages as msg
from bmsflasher.protocols.smp.codec import BmsCommand
from bmsflasher.protocols.smp.session import SmpSession

SMP_PROOF_CONTEXT: Final = b"bmsflasher/smp-bms/auth/v1\x00"
NONCE_BYTES: Final = 32


class SmpAuthenticator:
    """Answers one device's challenge with the technician's certificate key.

    Args:
        session: the device's SMP session (its ``authenticate`` hook is set to this object).
        serial: names the device in the refusal when no credentials are configured.
        source: loads the credentials (the user's credentials folder by default), at first need.
    """

    def __init__(
        self, session: SmpSession, serial: Callable[[], str], source: CredentialsSource | None = None
    ) -> None:
        self._session = session
        self._serial = serial
        self._source = source or credentials_from
        self._credentials: TechnicianCredentials | None = None
        self.authenticated_as: TechnicianCredentials | None = None
        session.authenticate = self.authenticate

    def authenticate(self) -> None:
        """Present the chain, sign the device's challenge; raises the device's refusal as it came."""
        if self._credentials is None:
            self._credentials = load_or_refuse(self._source, self._serial(), "SMP BMS group")
        credentials = self._credentials
        nonce = os.urandom(NONCE_BYTES)
        body = {"chain": credentials.chain_der(), "nonce": nonce}
        answer = self._session.transact(
            lambda seq: msg.bms_write(BmsCommand.AUTH_CERTIFICATE, body, seq),
            t("technician certificate check"),
        ).body
        challenge = answer.get("challenge")
        if not isinstance(challenge, bytes) or not challenge:
            raise DeviceRejectedError(
                t("The device did not ask for a proof of ownership after verifying the certificate.")
            )
        proof = credentials.sign(SMP_PROOF_CONTEXT + challenge + nonce)
        self._session.transact(
            lambda seq: msg.bms_write(BmsCommand.AUTH_PROOF, {"proof": proof}, seq),
            t("technician proof of ownership"),
        )
        self.authenticated_as = credentials

"""The SMP BMS group's signed challenge (``sim --protocol smp --auth certificate``) over a pty.

A device that requires it denies uploads, image-state and settings writes until the tester
presents a certificate its CA vouches for (BMS command 7) and signs the device's challenge with
the certificate's key (command 8); the tool's SMP client does that when a write is denied and
records who authenticated. Raw requests check the device's refusals without the tool's client.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cbor2
import pytest
from auth_support import Issued, demo_technician, issue, make_ca, write_ca
from proc_support import smp_bench
from uds_support import signed_image

from bmsflasher.core.errors import DeviceRejectedError, SecurityAccessDeniedError
from bmsflasher.core.target import SecurityUnlock
from bmsflasher.firmware.certificate_errors import CertificateFileError
from bmsflasher.protocols.base.technician import TechnicianCredentials
from bmsflasher.protocols.smp.target import SmpTarget
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import DeviceAuth, SimOptions
from bmsflasher.sim.smp.server import SmpServer

SMP_PROOF_CONTEXT = b"bmsflasher/smp-bms/auth/v1\x00"


def credentials(who: Issued) -> TechnicianCredentials:
    return TechnicianCredentials((who.certificate,), who.key)


def missing() -> TechnicianCredentials:
    raise CertificateFileError("The technician credential file /nowhere/technician does not exist.")


def test_smp_upload_needs_the_technicians_signed_challenge(tmp_path: Path) -> None:
    image = signed_image("1.1.0", size=8 * 1024)
    stranger = issue(make_ca("Another vendor CA"), "Jan Technician")
    with smp_bench(tmp_path, auth=DeviceAuth.CERTIFICATE) as bench:  # trusts the demo root
        port, baud = bench.link.port, bench.link.baud
        before = bench.device.identity().slots
        target = SmpTarget.connect(port, baud, technician=missing)
        try:
            with pytest.raises(SecurityAccessDeniedError) as refused:
                target.upload_image(image)
            assert "requires certificate authentication (SMP BMS group)" in refused.value.message
        finally:
            target.close()
        target = SmpTarget.connect(port, baud, technician=lambda: credentials(stranger))
        try:
            with pytest.raises(DeviceRejectedError) as other_ca:
                target.upload_image(image)
            assert other_ca.value.code == 6  # CERTIFICATE_REFUSED
        finally:
            target.close()
        assert bench.device.identity().slots == before  # nothing was written
        unlocks: list[SecurityUnlock] = []
        target = SmpTarget.connect(port, baud, technician=lambda: credentials(demo_technician()))
        try:
            target.add_unlock_listener(unlocks.append)
            target.upload_image(image)
        finally:
            target.close()
        secondary = next(s for s in bench.device.identity().slots if s.slot == 1)
        assert str(secondary.version) == "1.1.0"  # the upload went through once authenticated
        assert [u.technician for u in unlocks] == ["CN=bmsflasher DEMO technician,O=bmsflasher demo"]


def ask(server: SmpServer, group: int, command: int, body: dict[str, object]) -> dict[str, object]:
    """One raw SMP v2 write request (header + CBOR, built here) → the answer's CBOR body."""
    payload = cbor2.dumps(body)
    header = bytes([2 | (1 << 3), 0]) + len(payload).to_bytes(2, "big") + group.to_bytes(2, "big")
    outcome = server.handle(header + bytes([7, command]) + payload)
    assert outcome is not None
    answer = cbor2.loads(outcome.response[8:])
    assert isinstance(answer, dict)
    return answer


def test_the_device_refuses_protected_writes_and_wrong_proofs_itself(tmp_path: Path) -> None:
    authority = make_ca("Workshop test CA")
    anchor = write_ca(authority, tmp_path / "ca.crt")
    technician = issue(authority, "Anna Technician")
    options = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0)
    with VirtualBms.create(replace(options, auth=DeviceAuth.CERTIFICATE, auth_anchor=anchor)) as device:
        server = SmpServer(device)
        write = {"name": "bms/cell_overvoltage_mv", "val": cbor2.dumps(4000)}
        assert ask(server, 3, 0, write).get("rc") == 11  # EACCESSDENIED before authentication
        assert ask(server, 72, 8, {"proof": b"x"}).get("err") == {"group": 72, "rc": 8}  # no challenge
        nonce = bytes(32)
        other = issue(make_ca("Another vendor CA"), "Anna Technician")
        refused = ask(server, 72, 7, {"chain": other.der, "nonce": nonce})
        assert refused.get("err") == {"group": 72, "rc": 6}
        challenge = ask(server, 72, 7, {"chain": technician.der, "nonce": nonce})["challenge"]
        assert isinstance(challenge, bytes)
        wrong = issue(authority, "Someone else").sign(SMP_PROOF_CONTEXT + challenge + nonce)
        assert ask(server, 72, 8, {"proof": wrong}).get("err") == {"group": 72, "rc": 7}
        assert device.config().parameters["cell_overvoltage_mv"] != 4000  # nothing was written
        challenge = ask(server, 72, 7, {"chain": technician.der, "nonce": nonce})["challenge"]
        assert isinstance(challenge, bytes)
        proof = technician.sign(SMP_PROOF_CONTEXT + challenge + nonce)
        assert ask(server, 72, 8, {"proof": proof}) == {"role": "technician"}
        assert ask(server, 3, 0, write) == {}
        calibration = {"name": "bms/voltage_gain", "val": cbor2.dumps(1.01)}
        assert ask(server, 3, 0, calibration).get("rc") == 11  # factory calibration: factory role only

"""UDS Authentication (0x29) of the virtual BMS, checked with udsoncan's own client over slcan.

The tester here is udsoncan's ``Client`` on python-can's slcan interface, talking to
``bmsflasher sim --protocol uds --auth certificate`` in another process through its pty: none of
the tool's client code runs. Certificates come from ``auth_support`` (``cryptography`` directly).
The device trusts one CA; the proof of ownership is the technician key's signature over the
documented bytes (``docs/protocols/uds.md``, "Authentication (0x29)").
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import can
import isotp
import pytest
import udsoncan
from auth_support import RELEASE_OID, UDS_PROOF_CONTEXT, Issued, demo_technician, issue, make_ca, write_ca
from uds_support import RawDid, SimProcess, signed_image
from udsoncan.client import Client
from udsoncan.connections import PythonIsoTpConnection
from udsoncan.exceptions import NegativeResponseException
from udsoncan.services import Authentication

SLOT1 = 0x2000_0000
DID_SLOTS = 0xFD02
DID_SERIAL = 0xF18C
DID_FIRST_PARAMETER = 0xFE00  # cell_overvoltage_mv (u16 mV)
RID_PREPARE, RID_ERASE, RID_CHECK, RID_ROLLBACK = 0xF000, 0xFF00, 0x0202, 0xF003
CLIENT_CHALLENGE = bytes(range(32))
MV_4000, MV_4001 = struct.pack(">i", 4000), struct.pack(">i", 4001)


def certificate_sim(anchor: Path) -> SimProcess:
    """``bmsflasher sim --protocol uds --link slcan --auth certificate`` trusting ``anchor``."""
    return SimProcess("--auth", "certificate", "--auth-ca", str(anchor))


@contextmanager
def udsoncan_over_slcan(sim: SimProcess) -> Iterator[Client]:
    """udsoncan's Client on the sim's slcan pty (python-can's slcan, can-isotp)."""
    bus = can.Bus(interface="slcan", channel=sim.channel, bitrate=sim.bitrate)
    address = isotp.Address(isotp.AddressingMode.Normal_11bits, txid=0x7E0, rxid=0x7E8)
    stack = isotp.CanStack(bus, address=address, params={"tx_padding": 0xCC, "blocking_send": True})
    settings: dict[str, Any] = dict(udsoncan.configs.default_client_config)
    settings["data_identifiers"] = {"default": RawDid}
    settings["use_server_timing"] = False
    settings["request_timeout"] = 10.0
    settings["p2_timeout"] = 2.0
    try:
        with Client(PythonIsoTpConnection(stack), config=settings) as client:  # type: ignore[arg-type]
            client.logger.setLevel("CRITICAL")
            yield client
    finally:
        bus.shutdown()


def refused(call: Any) -> int:
    """The NRC a request gets (fails the test when it is accepted)."""
    with pytest.raises(NegativeResponseException) as caught:
        call()
    return int(caught.value.response.code)


def authenticate(client: Client, who: Issued, *, signer: Issued | None = None) -> int:
    """verifyCertificateUnidirectional then proofOfOwnership; the final return parameter."""
    verified = client.authentication(
        Authentication.AuthenticationTask.verifyCertificateUnidirectional,
        communication_configuration=0,
        certificate_client=who.der,
        challenge_client=CLIENT_CHALLENGE,
    )
    data = verified.service_data
    assert data.return_value == 0x11  # CertificateVerified_OwnershipVerificationNecessary
    assert data.challenge_server is not None
    assert len(data.challenge_server) == 32
    proof = (signer or who).sign(UDS_PROOF_CONTEXT + data.challenge_server + CLIENT_CHALLENGE)
    done = client.authentication(
        Authentication.AuthenticationTask.proofOfOwnership, proof_of_ownership_client=proof
    )
    return int(done.service_data.return_value)


def device_state(client: Client) -> tuple[bytes, bytes]:
    """(slot table, first configuration parameter): what any write would change."""
    slots = bytes(client.read_data_by_identifier_first(DID_SLOTS))
    parameter = bytes(client.read_data_by_identifier_first(DID_FIRST_PARAMETER))
    return slots, parameter


@pytest.fixture
def ca(tmp_path: Path) -> tuple[Issued, Path]:
    authority = make_ca("Workshop test CA")
    return authority, write_ca(authority, tmp_path / "ca.crt")


def test_udsoncan_authenticates_with_the_demo_technician_then_programs() -> None:
    technician = demo_technician()  # issued by the demo root CA the sim trusts by default
    image = signed_image("1.1.0", size=4096)
    with SimProcess("--auth", "certificate") as sim, udsoncan_over_slcan(sim) as client:
        assert client.authentication_configuration().service_data.return_value == 0x02  # APCE
        client.change_session(3)
        assert authenticate(client, technician) == 0x12  # OwnershipVerified_AuthenticationComplete
        client.change_session(2)  # authenticated: the programming session opens
        announce = struct.pack(">BI", 1, len(image)) + hashlib.sha256(image).digest()
        prepared = client.routine_control(RID_PREPARE, 1, announce).service_data.routine_status_record
        assert prepared[:1] == b"\x00"
        client.routine_control(RID_ERASE, 1, b"\x44" + struct.pack(">II", SLOT1, len(image)))
        location = udsoncan.MemoryLocation(SLOT1, len(image), address_format=32, memorysize_format=32)
        client.request_download(location)
        for counter, start in enumerate(range(0, len(image), 1024), start=1):
            client.transfer_data(counter, image[start : start + 1024])
        client.request_transfer_exit()
        checked = client.routine_control(RID_CHECK, 1, b"\x01").service_data.routine_status_record
        assert checked[:1] == b"\x00"  # the secondary slot holds the verified image
        assert client.deauthenticate().service_data.return_value == 0x10
        assert refused(lambda: client.request_download(location)) == 0x34  # authenticationRequired


def test_no_authentication_another_ca_wrong_proof_and_wrong_role_write_nothing(
    ca: tuple[Issued, Path],
) -> None:
    authority, anchor = ca
    technician = issue(authority, "Jan Technician")
    stranger = issue(make_ca("Another vendor CA"), "Jan Technician")
    signer = issue(authority, "Release signer", role_oid=RELEASE_OID)
    expired = issue(authority, "Old technician", days_valid=1, starts_in_days=-10)
    with certificate_sim(anchor) as sim, udsoncan_over_slcan(sim) as client:
        before = device_state(client)
        client.change_session(3)
        # no authentication: programming, config writes and rollback need it (0x34); no 0x27 here
        assert refused(lambda: client.change_session(2)) == 0x34
        assert refused(lambda: client.write_data_by_identifier(DID_FIRST_PARAMETER, MV_4000)) == 0x34
        assert refused(lambda: client.routine_control(RID_ROLLBACK, 1)) == 0x34
        assert refused(lambda: client.request_seed(1)) == 0x11  # SecurityAccess is not offered
        # a certificate from another CA: invalid chain of trust
        assert refused(lambda: authenticate(client, stranger)) == 0x52
        # the right certificate, a proof signed by another key: ownership verification failed
        assert refused(lambda: authenticate(client, technician, signer=stranger)) == 0x58
        assert refused(lambda: client.change_session(2)) == 0x34  # still not authenticated
        # a proof with no certificate verified first: request sequence error
        proof = technician.sign(UDS_PROOF_CONTEXT + bytes(32) + CLIENT_CHALLENGE)
        assert refused(lambda: client.proof_of_ownership(proof)) == 0x24
        # a release signer's certificate from the right CA: out of scope for device access
        assert refused(lambda: authenticate(client, signer)) == 0x56
        assert refused(lambda: authenticate(client, expired)) == 0x50  # invalid time period
        assert device_state(client) == before  # nothing was written
        # the technician may update and roll back, not write the factory calibration
        assert authenticate(client, technician) == 0x12
        voltage_gain = 0xFE00 + 10
        assert refused(lambda: client.write_data_by_identifier(voltage_gain, struct.pack(">d", 1.01))) == 0x33
        client.write_data_by_identifier(DID_FIRST_PARAMETER, MV_4000)  # a service parameter: allowed
        client.change_session(1)  # the default session ends the authentication
        client.change_session(3)
        assert refused(lambda: client.write_data_by_identifier(DID_FIRST_PARAMETER, MV_4001)) == 0x34

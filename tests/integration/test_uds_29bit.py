"""29-bit UDS addressing (ISO 15765-2 §10.3.6 normal fixed) end to end.

(a) An independent peer — udsoncan's own ``Client`` over can-isotp's ``NormalFixed_29bits`` — talks to
    the virtual BMS on 29-bit identifiers: the server's addressing follows the standard, not the tool.
(b) The tool's own client reaches a 29-bit node: identity, telemetry, and a full headless
    ``bmsflasher flash`` of a demo package.
(c) A scan of one bus carrying two 29-bit nodes and one 11-bit node reports each with its
    addressing, and connecting with exactly what the scan reported works.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import can
import isotp
import udsoncan
from proc_support import DEMO_PUB, HEALTHY, package
from uds_support import (
    RawDid,
    SimProcess,
    signed_image,
    sim_options,
    udsoncan_security_algo,
    unique_channel,
)
from udsoncan.client import Client
from udsoncan.common.MemoryLocation import MemoryLocation
from udsoncan.connections import PythonIsoTpConnection

from bmsflasher.cli.main import main
from bmsflasher.core.types import CanAddressing, FirmwareVersion, LinkSettings
from bmsflasher.procedure.connect import open_target
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.uds.server import UdsServerConfig
from bmsflasher.sim.wire import can_frontend
from bmsflasher.sim.wire.frontend_options import FrontEndOptions

ECU = 0x17
TESTER = 0xF1
BITRATE = 1_000_000
SLOT1 = 0x2000_0000
TWENTY_NINE = CanAddressing.NORMAL_FIXED_29BIT


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in this process (the virtual CAN channel lives in this process)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def sim_29bit(
    *, nodes: int = 1, link: str = "virtual", device: VirtualBms | None = None
) -> Iterator[can_frontend.CanSimulation]:
    """Virtual BMS node(s) on 29-bit normal fixed addressing from address 0x17, tester 0xF1."""
    own = device is None
    dev = device or VirtualBms.create(sim_options())
    options = FrontEndOptions(
        bitrate=BITRATE,
        channel=unique_channel(),
        addressing=TWENTY_NINE,
        node_address=ECU,
        tester_address=TESTER,
        nodes=nodes,
    )
    simulation = can_frontend.start(dev, options, link)
    try:
        yield simulation
    finally:
        simulation.close()
        if own:
            dev.close()


# --- (a) an independent peer: udsoncan + can-isotp NormalFixed_29bits ------------------------------
def test_udsoncan_over_can_isotp_normal_fixed_reads_the_serial_and_downloads() -> None:
    image = signed_image("1.1.0", size=8 * 1024)
    with sim_29bit() as simulation:
        device = simulation.servers[0].device
        bus = can.Bus(interface="virtual", channel=simulation.channel)
        sniffer = can.Bus(interface="virtual", channel=simulation.channel)
        address = isotp.Address(
            isotp.AddressingMode.NormalFixed_29bits, target_address=ECU, source_address=TESTER
        )
        stack = isotp.CanStack(bus, address=address, params={"tx_padding": 0xCC})
        settings = dict(udsoncan.configs.default_client_config)
        settings["data_identifiers"] = {0xF18C: RawDid, 0xFD05: RawDid}
        settings["security_algo"] = udsoncan_security_algo
        settings["use_server_timing"] = False
        try:
            with Client(PythonIsoTpConnection(stack), config=settings) as client:  # type: ignore[arg-type]
                serial = bytes(client.read_data_by_identifier_first(0xF18C)).decode()
                client.config["security_algo_params"] = serial
                client.change_session(3)
                client.unlock_security_access(1)
                client.change_session(2)
                client.unlock_security_access(1)
                announce = bytes([1]) + struct.pack(">I", len(image)) + hashlib.sha256(image).digest()
                client.start_routine(0xF000, announce)
                location = MemoryLocation(SLOT1, len(image), address_format=32, memorysize_format=32)
                response = client.request_download(location)
                block = int(response.service_data.max_length) - 2
                for index, offset in enumerate(range(0, len(image), block)):
                    client.transfer_data((index + 1) & 0xFF, image[offset : offset + block])
                client.request_transfer_exit()
                verdict = client.start_routine(0x0202, b"\x01")
            frames = []
            while (frame := sniffer.recv(0.0)) is not None:
                frames.append(frame)
        finally:
            bus.shutdown()
            sniffer.shutdown()
        assert serial == device.identity().serial_number
        assert device.upload_status().offset == len(image)
    assert verdict.service_data.routine_status_record[:1] == b"\x00"  # the device verified the image
    ids = {(frame.is_extended_id, frame.arbitration_id) for frame in frames}
    # Every frame on the wire is 29-bit: requests 0x18DA<TA><SA>, answers 0x18DA<SA><TA>.
    assert ids == {(True, 0x18DA17F1), (True, 0x18DAF117)}


def test_an_11bit_request_does_not_reach_a_29bit_node() -> None:
    with sim_29bit() as simulation:
        bus = can.Bus(interface="virtual", channel=simulation.channel)
        try:
            for arbitration_id, extended in ((0x7E0, False), (0x7DF, False), (0x18DA18F1, True)):
                request = bytes.fromhex("0322F18C") + b"\xcc" * 4
                bus.send(can.Message(arbitration_id=arbitration_id, is_extended_id=extended, data=request))
            assert bus.recv(0.3) is None  # other format, other address: silence
            bus.send(
                can.Message(
                    arbitration_id=0x18DB33F1, is_extended_id=True, data=bytes.fromhex("023E00CCCCCCCCCC")
                )
            )
            answer = bus.recv(1.0)
        finally:
            bus.shutdown()
    assert answer is not None
    assert (answer.is_extended_id, answer.arbitration_id) == (True, 0x18DAF117)
    assert bytes(answer.data[:3]) == bytes.fromhex("027E00")  # functional TesterPresent answered


# --- (b) the tool's own client ---------------------------------------------------------------------
def test_tool_client_identifies_reads_telemetry_and_flashes_a_29bit_node(
    tmp_path: Path, data_home: Path
) -> None:
    with VirtualBms.create(sim_options(state_file=tmp_path / "vbms.state")) as device:
        with sim_29bit(device=device) as simulation:
            link = LinkSettings(
                kind="can",
                interface="virtual",
                channel=simulation.channel,
                bitrate=BITRATE,
                node=ECU,
                addressing=TWENTY_NINE,
            )
            target = open_target(link, timeout_s=5.0)
            try:
                identity = target.identify()
                telemetry = target.read_telemetry()
                assert target.link == link
                assert "29-bit node 0x17" in target.link.describe()
            finally:
                target.close()
            flashed = cli(
                "flash",
                str(package(HEALTHY)),
                "--interface",
                "virtual",
                "--channel",
                simulation.channel,
                "--bitrate",
                str(BITRATE),
                "--addressing",
                "29bit",
                "--node",
                "0x17",
                "--trust",
                str(DEMO_PUB),
                "--db",
                str(tmp_path / "history.sqlite3"),
                "--yes",
            )
        after = device.identity()
    assert identity.serial_number == after.serial_number
    assert identity.firmware_version == FirmwareVersion.parse("1.0.0")
    assert telemetry.cell_count == 16
    assert flashed.returncode == 0, flashed.stdout + flashed.stderr
    assert after.firmware_version == FirmwareVersion.parse("1.1.0")
    assert any(slot.active and slot.confirmed for slot in after.slots)


def test_a_29bit_node_that_is_not_there_is_named_in_the_error(data_home: Path) -> None:
    with sim_29bit() as simulation:
        done = cli(
            "info",
            "--interface",
            "virtual",
            "--channel",
            simulation.channel,
            "--addressing",
            "29bit",
            "--node",
            "0x42",
            "--timeout",
            "0.5",
        )
    assert done.returncode == 5, done.stdout + done.stderr
    assert "29-bit node 0x42" in done.stderr
    assert "Traceback" not in done.stderr


# --- (c) scan a mixed bus, connect with what it reported ----------------------------------------------
def test_scan_reports_29bit_and_11bit_nodes_and_their_settings_connect(data_home: Path) -> None:
    eleven_bit = VirtualBms.create(sim_options(seed=77))
    try:
        with sim_29bit(nodes=2, link="slcan") as simulation:
            simulation.add_node(eleven_bit, UdsServerConfig(node=1))
            expected = {
                server.device.identity().serial_number: server.config.node  # type: ignore[attr-defined]
                for server in simulation.servers
            }
            scanned = cli(
                "scan",
                "--can",
                f"slcan:{simulation.channel}",
                "--bitrates",
                "1000000",
                "--json",
                "--no-cache",
            )
            assert scanned.returncode == 0, scanned.stdout + scanned.stderr
            devices = json.loads(scanned.stdout)["devices"]
            reached = {}
            for found in devices:
                link = LinkSettings(
                    **{k: v for k, v in found["link"].items() if k != "addressing"},
                    addressing=CanAddressing(found["link"]["addressing"]),
                )
                target = open_target(link, timeout_s=3.0)
                try:
                    reached[target.identify().serial_number] = found["serial_number"]
                finally:
                    target.close()
    finally:
        eleven_bit.close()
    summary = sorted(
        (d["link"]["addressing"], d["link"]["node"], d["link"]["tester_address"]) for d in devices
    )
    assert summary == [("11bit", 1, TESTER), ("29bit", ECU, TESTER), ("29bit", ECU + 1, TESTER)]
    assert {d["serial_number"]: d["link"]["node"] for d in devices} == expected
    assert all(d["identify_error"] == "" for d in devices)
    assert "29-bit node 0x18" in next(d["link_text"] for d in devices if d["link"]["node"] == ECU + 1)
    assert reached == {serial: serial for serial in expected}


def test_sim_command_serves_29bit_nodes_another_process_can_reach(data_home: Path) -> None:
    with SimProcess("--addressing", "29bit", "--node-address", "0x17", "--nodes", "2") as sim:
        info = sim.info
        link = LinkSettings(
            kind="can",
            interface="slcan",
            channel=sim.channel,
            bitrate=sim.bitrate,
            node=ECU + 1,
            addressing=TWENTY_NINE,
        )
        target = open_target(link, timeout_s=5.0)
        try:
            serial = target.identify().serial_number
        finally:
            target.close()
    assert info["addressing"] == "29bit"
    assert info["functional_id"] == 0x18DB33F1
    assert info["nodes"] == [
        {
            "node": 0x17,
            "request_id": 0x18DA17F1,
            "response_id": 0x18DAF117,
            "addressing": "29bit",
            "tester_address": 0xF1,
        },
        {
            "node": 0x18,
            "request_id": 0x18DA18F1,
            "response_id": 0x18DAF118,
            "addressing": "29bit",
            "tester_address": 0xF1,
        },
    ]
    assert serial

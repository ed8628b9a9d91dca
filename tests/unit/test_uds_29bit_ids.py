"""29-bit normal fixed addressing: identifiers, options and what the scanner records (no bus needed)."""

from __future__ import annotations

import argparse

import isotp
import pytest

from bmsflasher.cli.target_args import add_target_arguments, link_from_args
from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.types import CanAddressing, DeviceMode, LinkSettings
from bmsflasher.discovery.can_probe import default_node_number, responder_addressing
from bmsflasher.discovery.plan import NORMAL_FIXED_29BIT, OBD_11BIT
from bmsflasher.discovery.results import FoundDevice
from bmsflasher.discovery.uds_discovery import UdsResponder
from bmsflasher.protocols.uds.ids import node_address
from bmsflasher.protocols.uds.transport import isotp_address
from bmsflasher.sim.uds.server import server_ids

TWENTY_NINE = CanAddressing.NORMAL_FIXED_29BIT


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_target_arguments(parser)
    return parser.parse_args(["--interface", "slcan", "--channel", "/dev/ttyACM0", *argv])


def test_normal_fixed_identifiers_follow_iso_15765_2() -> None:
    address = node_address(0x17, TWENTY_NINE)
    assert (address.request_id, address.response_id, address.functional_id) == (
        0x18DA17F1,
        0x18DAF117,
        0x18DB33F1,
    )
    assert address.extended_id
    assert address.describe() == "node 0x17 (0x18DA17F1/0x18DAF117)"
    other_tester = node_address(0x00, TWENTY_NINE, tester_address=0xFA)
    assert (other_tester.request_id, other_tester.response_id) == (0x18DA00FA, 0x18DAFA00)


def test_11bit_identifiers_are_unchanged() -> None:
    first, last = node_address(0), node_address(8)
    assert (first.node, first.request_id, first.response_id, first.functional_id) == (1, 0x7E0, 0x7E8, 0x7DF)
    assert (last.request_id, last.response_id) == (0x7E7, 0x7EF)
    assert not first.extended_id


@pytest.mark.parametrize("node", range(0, 0xFE, 7))
def test_client_server_and_can_isotp_agree_on_every_address(node: int) -> None:
    if node == 0xF1:
        return
    tool = node_address(node, TWENTY_NINE)
    sim = server_ids(TWENTY_NINE, node, 0xF1)
    tester = isotp_address(tool)
    assert (sim.request_id, sim.response_id, sim.functional_id) == (
        tool.request_id,
        tool.response_id,
        tool.functional_id,
    )
    assert tester.get_tx_arbitration_id() == tool.request_id
    assert tester.get_rx_arbitration_id() == tool.response_id
    answer = isotp.CanMessage(arbitration_id=tool.response_id, data=b"\x02\x7e\x00", extended_id=True)
    assert tester.is_for_me(answer)
    assert not tester.is_for_me(
        isotp.CanMessage(arbitration_id=tool.response_id, data=b"\x02\x7e\x00", extended_id=False)
    )


@pytest.mark.parametrize(
    ("node", "tester", "message"),
    [(0xFE, 0xF1, "outside 0x00..0xFD"), (0x10, 0xFF, "tester address"), (0xF1, 0xF1, "tester")],
)
def test_impossible_29bit_addresses_are_refused(node: int, tester: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        node_address(node, TWENTY_NINE, tester_address=tester)
    with pytest.raises(ValueError, match=message):
        server_ids(TWENTY_NINE, node, tester)


def test_cli_options_carry_the_addressing() -> None:
    default = link_from_args(parse())
    assert (default.node, default.addressing, default.tester_address) == (1, CanAddressing.NORMAL_11BIT, 0xF1)
    assert default.describe() == "slcan:/dev/ttyACM0 @ 500000 bit/s, node 1"
    link = link_from_args(parse("--addressing", "29bit", "--node", "0x17"))
    assert (link.node, link.addressing, link.tester_address) == (0x17, TWENTY_NINE, 0xF1)
    assert link.describe() == "slcan:/dev/ttyACM0 @ 500000 bit/s, 29-bit node 0x17 (tester 0xF1)"
    own_tester = link_from_args(parse("--addressing", "29bit", "--node", "23", "--tester-address", "0xFA"))
    assert (own_tester.node, own_tester.tester_address) == (0x17, 0xFA)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--node", "0x17"), "--node must be 1..8 with 11-bit addressing, not 23; for a 29-bit ECU address"),
        (("--addressing", "29bit", "--node", "0xFE"), "--node must be 0x00..0xFD with 29-bit addressing"),
        (("--addressing", "29bit", "--node", "0xF1"), "the tester's own address"),
        (("--addressing", "29bit", "--tester-address", "0x100"), "--tester-address must be 0x00..0xFD"),
    ],
)
def test_bad_addressing_options_are_one_sentence(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigValidationError, match=message.replace("(", r"\(")):
        link_from_args(parse(*argv))


def test_bad_node_text_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse("--node", "seventeen")
    assert "'seventeen' is not a whole number (e.g. 1 or 0x17)" in capsys.readouterr().err


def test_the_scanner_records_how_to_reach_each_responder() -> None:
    twenty_nine = UdsResponder(NORMAL_FIXED_29BIT, 0x18DAF117, 0x18DA17F1, True)
    eleven = UdsResponder(OBD_11BIT, 0x7EA, 0x7E2, True)
    assert (default_node_number(twenty_nine), responder_addressing(twenty_nine)) == (
        0x17,
        (TWENTY_NINE, 0xF1),
    )
    assert (default_node_number(eleven), responder_addressing(eleven)) == (
        3,
        (CanAddressing.NORMAL_11BIT, 0xF1),
    )


def test_scan_json_names_the_addressing() -> None:
    link = LinkSettings(
        kind="can",
        interface="slcan",
        channel="/dev/ttyACM0",
        bitrate=250_000,
        node=0x17,
        addressing=TWENTY_NINE,
    )
    found = FoundDevice(None, link, "uds", DeviceMode.APPLICATION, "slcan:/dev/ttyACM0").to_json()
    assert found["link"]["addressing"] == "29bit"
    assert found["link"]["node"] == 0x17
    assert found["link"]["tester_address"] == 0xF1
    assert "29-bit node 0x17" in found["link_text"]
    plain = FoundDevice(None, LinkSettings(kind="can", node=2), "uds", DeviceMode.APPLICATION, "x").to_json()
    assert plain["link"]["addressing"] == "11bit"
    assert plain["link_text"].endswith("node 2")

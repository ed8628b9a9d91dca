"""A Modbus module's link options: typed once, written back for the resume command, kept in JSON.

``--address`` with ``--port``/``--baud``/``--parity``/``--stopbits`` (RS485) or ``--tcp HOST:PORT``
(a gateway) come from the one link-option table, so every device command (``info``, ``monitor``,
``flash``, ``rollback``) takes them and the command printed after an interruption reaches the same
module the same way.
"""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bmsflasher.cli.cmd_update import _rerun_command
from bmsflasher.cli.main import build_parser
from bmsflasher.cli.target_args import link_from_args
from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.link_options import BAUD_RANGE, MODBUS_ADDRESS_RANGE, link_argv, tcp_endpoint
from bmsflasher.core.serialise import link_from_json, link_to_json
from bmsflasher.core.types import LinkSettings

ports = st.text(min_size=1, max_size=30)
rtu_links = st.builds(
    LinkSettings,
    kind=st.just("modbus"),
    port=ports,
    baud=st.integers(*BAUD_RANGE),
    parity=st.sampled_from(["N", "E", "O"]),
    stopbits=st.sampled_from([1, 2]),
    address=st.integers(*MODBUS_ADDRESS_RANGE),
)
hosts = st.from_regex(r"[a-z0-9.-]{1,20}", fullmatch=True).filter(lambda h: not h.startswith("-"))
tcp_links = st.builds(
    LinkSettings,
    kind=st.just("modbus"),
    tcp=st.builds(lambda host, port: f"{host}:{port}", hosts, st.integers(1, 65535)),
    address=st.integers(*MODBUS_ADDRESS_RANGE),
)


def parsed_link(command: str, argv: list[str]) -> LinkSettings:
    words = [command, *argv]
    return link_from_args(build_parser(words).parse_args(words))


@given(rtu_links | tcp_links)
def test_the_options_link_argv_writes_parse_back_to_the_same_module(link: LinkSettings) -> None:
    for command in ("info", "monitor", "rollback"):
        assert parsed_link(command, link_argv(link)) == link


@given(rtu_links | tcp_links)
def test_the_resume_command_reaches_the_same_module(link: LinkSettings) -> None:
    words = shlex.split(
        _rerun_command(build_parser(["flash"]).parse_args(["flash", "p.bmspkg", *link_argv(link)]))
    )
    assert parsed_link("flash", words[2:]) == link


@given(rtu_links | tcp_links)
def test_a_module_link_survives_json(link: LinkSettings) -> None:
    assert link_from_json(link_to_json(link)) == link


def test_the_modbus_defaults_are_the_serial_line_specifications() -> None:
    link = parsed_link("info", ["--port", "/dev/ttyUSB0", "--address", "3"])
    assert (link.kind, link.parity, link.stopbits, link.address) == ("modbus", "E", 1, 3)
    assert link.describe() == "/dev/ttyUSB0 @ 115200 baud 8E1, Modbus address 3"
    assert parsed_link("info", ["--tcp", "10.0.0.7:502", "--address", "0x11"]).describe() == (
        "Modbus TCP 10.0.0.7:502, unit 17"
    )
    assert parsed_link("info", ["--port", "/dev/ttyUSB0"]).kind == "serial"  # no Modbus option: SMP


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (["--port", "p", "--parity", "E"], "a Modbus module needs --address"),
        (["--port", "p", "--address", "0"], "--address must be 1..247"),
        (["--port", "p", "--address", "248"], "--address must be 1..247"),
        (["--tcp", "h:502", "--port", "p", "--address", "1"], "give either --port (RS485) or --tcp"),
        (["--tcp", "h:502", "--address", "1", "--stopbits", "2"], "--tcp has none"),
        (["--address", "1"], "needs --port PATH (RS485) or --tcp HOST:PORT"),
        (["--address", "1", "--interface", "slcan", "--channel", "x"], "give either --interface"),
        (["--port", "p", "--baud", "10", "--address", "1"], "--baud must be between"),
    ],
)
def test_incomplete_or_contradicting_options_are_one_sentence(argv: list[str], sentence: str) -> None:
    with pytest.raises(ConfigValidationError, match=sentence.replace("(", r"\(").replace(")", r"\)")):
        parsed_link("info", argv)


@pytest.mark.parametrize("value", ["nohost", "h:0", "h:70000", ":502", "h:x"])
def test_a_tcp_endpoint_must_be_host_and_port(value: str) -> None:
    with pytest.raises(ValueError, match="is not HOST:PORT"):
        tcp_endpoint(value)
    with pytest.raises(SystemExit):  # a usage error, before anything is opened
        parsed_link("info", ["--tcp", value, "--address", "1"])

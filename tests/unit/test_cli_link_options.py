"""Link options are defined once: what the parser reads, ``link_argv`` writes back, for every link."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bmsflasher.cli.cmd_update import _rerun_command
from bmsflasher.cli.main import build_parser
from bmsflasher.cli.target_args import link_from_args
from bmsflasher.core.link_options import (
    BAUD_RANGE,
    BITRATE_RANGE,
    DATA_BITRATE_RANGE,
    LINK_OPTIONS,
    MAX_11BIT_NODE,
    MAX_29BIT_ADDRESS,
    link_argv,
)
from bmsflasher.core.types import CanAddressing, LinkSettings

names = st.text(min_size=1, max_size=30)  # ports, URLs, interfaces, channels: anything, even "-x"


@st.composite
def can_links(draw: st.DrawFn) -> LinkSettings:
    """Every CAN link the options can describe (as ``link_from_args`` accepts them)."""
    addressing = draw(st.sampled_from(CanAddressing))
    if addressing is CanAddressing.NORMAL_11BIT:
        node = draw(st.integers(0, MAX_11BIT_NODE))
        tester = draw(st.integers(0, 0xFF))  # not checked (not used) with 11-bit identifiers
    else:
        node = draw(st.integers(0, MAX_29BIT_ADDRESS))
        tester = draw(st.integers(0, MAX_29BIT_ADDRESS).filter(lambda address: address != node))
    fd = draw(st.booleans())
    return LinkSettings(
        kind="can",
        interface=draw(names),
        channel=draw(names),
        bitrate=draw(st.integers(*BITRATE_RANGE)),
        node=node,
        addressing=addressing,
        tester_address=tester,
        fd=fd,
        data_bitrate=draw(st.integers(*DATA_BITRATE_RANGE)) if fd else 0,
    )


serial_links = st.builds(LinkSettings, kind=st.just("serial"), port=names, baud=st.integers(*BAUD_RANGE))


def parsed_link(command: str, argv: list[str]) -> LinkSettings:
    """The link the real command line gives for ``bmsflasher COMMAND ARGV``."""
    words = [command, *argv]
    return link_from_args(build_parser(words).parse_args(words))


@given(serial_links | can_links())
def test_the_options_link_argv_writes_parse_back_to_the_same_link(link: LinkSettings) -> None:
    assert parsed_link("info", link_argv(link)) == link


@given(serial_links | can_links())
def test_the_resume_command_reaches_the_same_link(link: LinkSettings) -> None:
    words = shlex.split(
        _rerun_command(build_parser(["flash"]).parse_args(["flash", "p.bmspkg", *link_argv(link)]))
    )
    assert words[:3] == ["bmsflasher", "flash", "p.bmspkg"]
    assert parsed_link("flash", words[2:]) == link


def test_every_link_setting_has_exactly_one_option() -> None:
    """A LinkSettings field without an option could be neither typed nor repeated in a resume command."""
    fields = {field.name for field in dataclasses.fields(LinkSettings)} - {"kind"}
    filled = [option.field for option in LINK_OPTIONS]
    assert sorted(filled) == sorted(fields)


def test_the_resume_command_repeats_every_option_that_matters(tmp_path: Path) -> None:
    """Issue 14: without --db and --operator the printed command failed with "there is no session 6"."""
    argv = [
        "flash", "fw.bmspkg", "--interface", "slcan", "--channel", "/dev/ttyACM0", "--node", "3",
        "--trust", str(tmp_path / "a.pem"), "--trust", str(tmp_path / "b.pem"),
        "--db", str(tmp_path / "h.db"),
        "--operator", "Jan de Vries", "--security-key", str(tmp_path / "m.key"), "--timeout", "12.5",
        "--override", "link_quality=long cable", "--override", "supply_stability=-5 % generator",
        "--reference-mv", "52100", "--yes", "--json",
    ]  # fmt: skip
    args = build_parser(argv).parse_args(argv)
    rerun = shlex.split(_rerun_command(args))
    assert rerun[0] == "bmsflasher"
    assert build_parser(rerun[1:]).parse_args(rerun[1:]) == args
    assert "--db" in rerun
    assert rerun[rerun.index("--operator") + 1] == "Jan de Vries"


def test_values_that_look_like_options_stay_values() -> None:
    link = LinkSettings(kind="serial", port="-weird-port", baud=9600)
    assert link_argv(link) == ["--port=-weird-port", "--baud", "9600"]
    args = build_parser(["flash"]).parse_args(["flash", "fw.bmspkg", "--port=-weird-port"])
    args.package = Path("-fw.bmspkg")  # a file name that starts with a dash
    rerun = shlex.split(_rerun_command(args))
    assert rerun[2:4] == ["./-fw.bmspkg", "--port=-weird-port"]
    assert build_parser(rerun[1:]).parse_args(rerun[1:]) == args

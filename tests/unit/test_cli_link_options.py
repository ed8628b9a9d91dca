"""Link options are defined once: what the parser reads, ``link_argv`` writes back, for every link."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import shlex
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bmsflasher.cli.cmd_update import _rerun_command
from bmsflasher.cli.main import build_parser, main
from bmsflasher.cli.target_args import link_from_args
from bmsflasher.core.errors import ConfigValidationError
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


DEVICE_COMMANDS = (
    ["info"], ["monitor"], ["dtc"], ["config", "show"], ["config", "diff"], ["backup"], ["restore"],
    ["rollback"], ["flash", "p.bmspkg"], ["recover", "p.bmspkg"], ["verify", "p.bmspkg"],
)  # fmt: skip


@given(can_links())
def test_every_device_command_takes_scans_can_shorthand(link: LinkSettings) -> None:
    """Issue 14: scan took --can IF:CH, every other command --interface/--channel; both work everywhere."""
    # Writable as INTERFACE:CHANNEL (the limits of scan's own --can): no colon in the interface, no
    # surrounding blanks, the interface in lower case, as python-can names its interfaces.
    assume(":" not in link.interface and link.interface == link.interface.strip().lower() != "")
    assume(link.channel == link.channel.strip() != "")
    words, rest = iter(link_argv(link)), []
    for word in words:  # every option but --interface and --channel (or --interface=-x)
        if word in ("--interface", "--channel"):
            next(words)
        elif not word.startswith(("--interface=", "--channel=")):
            rest.append(word)
    short = [f"--can={link.interface}:{link.channel}", *rest]
    for command in DEVICE_COMMANDS:
        assert parsed_link(command[0], [*command[1:], *short]) == link, command


def test_the_can_shorthand_and_the_long_options_must_agree() -> None:
    for argv in (
        ["--can", "slcan:/dev/ttyACM0", "--interface", "pcan"],
        ["--interface", "pcan", "--can", "slcan:/dev/ttyACM0"],
        ["--can", "slcan:/dev/ttyACM0", "--channel", "/dev/ttyACM1"],
    ):
        with pytest.raises((ConfigValidationError, SystemExit)):
            with contextlib.redirect_stderr(io.StringIO()):
                parsed_link("info", argv)
    same = ["--can", "slcan:/dev/ttyACM0", "--interface", "slcan", "--channel", "/dev/ttyACM0"]
    assert parsed_link("info", same).channel == "/dev/ttyACM0"


def test_the_resume_command_of_a_can_shorthand_run_uses_the_long_options() -> None:
    args = build_parser(["flash"]).parse_args(
        ["flash", "p.bmspkg", "--can", "slcan:/dev/ttyACM0", "--node", "2"]
    )
    words = shlex.split(_rerun_command(args))
    assert "--can" not in words
    assert parsed_link("flash", words[2:]) == link_from_args(args)


def test_scan_takes_its_adapters_and_rates_from_the_link_option_table(
    data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """scan --interface/--channel/--bitrate/--port/--baud: the rows of LINK_OPTIONS that name what to scan."""
    scan = next(
        action.choices["scan"]
        for action in build_parser(["scan"])._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    for option in LINK_OPTIONS:
        assert (option.flag in scan._option_string_actions) is (option.scan_help is not None), option.flag
    argv = [
        "scan", "--plan", "--json", "--no-cache",
        "--interface", "slcan", "--channel", "/dev/pts/97", "--interface", "socketcan", "--channel", "vcan0",
        "--bitrate", "250000", "--bitrate", "125000",
        "--port", "/dev/pts/96", "--baud", "9600", "--can", "pcan:PCAN_USBBUS1",
    ]  # fmt: skip
    assert main(argv) == 0
    rows = {row["adapter"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == {"/dev/pts/96", "slcan:/dev/pts/97", "socketcan:vcan0", "pcan:PCAN_USBBUS1"}
    assert "250000" in " ".join(rows["slcan:/dev/pts/97"]["plan"])
    assert "500000" not in " ".join(rows["slcan:/dev/pts/97"]["plan"])
    assert rows["/dev/pts/96"]["plan"] == ["SMP at 9600 baud"]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--interface", "slcan"], "one --channel for each --interface"),
        (["--baud", "9600", "--bauds", "9600,19200"], "not both"),
        (["--bitrate", "250000", "--bitrates", "250k"], "not both"),
    ],
)
def test_scan_refuses_link_options_that_do_not_add_up(
    argv: list[str], fragment: str, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["scan", "--plan", *argv]) == 8
    assert fragment in capsys.readouterr().err

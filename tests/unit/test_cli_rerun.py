"""The re-run command printed after Ctrl-C must reach the same device the same way."""

from __future__ import annotations

import shlex

from bmsflasher.cli.cmd_update import _rerun_command
from bmsflasher.cli.main import build_parser


def _rerun(*argv: str) -> list[str]:
    args = build_parser(argv).parse_args(list(argv))
    words = shlex.split(_rerun_command(args))
    assert build_parser(words[1:]).parse_args(words[1:]) == args  # it parses back to the same run
    return words


def test_a_29bit_fd_node_keeps_its_addressing_and_data_phase() -> None:
    words = _rerun(
        "flash", "pkg.bmspkg", "--interface", "slcan", "--channel", "/dev/ttyACM0", "--bitrate", "500000",
        "--addressing", "29bit", "--node", "0x17", "--fd", "--data-bitrate", "5000000",
    )  # fmt: skip
    assert words[words.index("--node") + 1] == "0x17"
    assert words[words.index("--addressing") + 1] == "29bit"
    assert words[words.index("--data-bitrate") + 1] == "5000000"


def test_an_11bit_node_stays_a_plain_number() -> None:
    words = _rerun("flash", "pkg.bmspkg", "--interface", "virtual", "--channel", "bus0", "--node", "2")
    assert words[words.index("--node") + 1] == "2"
    assert "--addressing" not in words
    assert "--fd" not in words

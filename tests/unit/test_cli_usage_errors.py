"""Issue 14, "Sub-command usage errors print the top-level usage" (and say nothing to a JSON script).

``bmsflasher info --bogus`` printed ``usage: bmsflasher [-h] [--version] … COMMAND ...``: argparse
hands a sub-command's unknown words back to the top-level parser, which shows its own usage, not
the options of the command the technician typed. With ``--json`` a script got nothing on stdout.
"""

from __future__ import annotations

import json

import pytest

from bmsflasher.cli.console import ERROR_KEYS
from bmsflasher.cli.main import USAGE_EXIT_CODE, main


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == USAGE_EXIT_CODE
    captured = capsys.readouterr()
    return captured.out, captured.err


@pytest.mark.parametrize(
    ("argv", "prog"),
    [
        (["info", "--bogus"], "bmsflasher info"),
        (["flash", "p.bmspkg", "--port", "/dev/ttyX", "--bogus"], "bmsflasher flash"),
        (["config", "diff", "--nope"], "bmsflasher config diff"),
        (["history", "verify", "--x"], "bmsflasher history verify"),
        (["scan", "stray-word"], "bmsflasher scan"),
    ],
)
def test_sub_command_usage_errors_print_the_sub_command_usage(
    argv: list[str], prog: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out, err = _usage_error(argv, capsys)
    assert err.startswith(f"usage: {prog} [-h]"), err
    assert f"{prog}: error: unrecognized arguments: {argv[-1]}" in err
    assert "COMMAND ..." not in err  # not the top-level usage
    assert out == ""  # no --json: stdout stays empty


@pytest.mark.parametrize(
    "argv",
    [
        ["info", "--bogus", "--json"],
        ["--json", "info", "--port"],  # --json before the command, an option without its value
        ["info", "--json", "--baud", "fast", "--port", "/dev/ttyX"],
        ["report", "1", "--out", "r.html", "--bogus", "--json"],
        ["nosuchcommand", "--json"],
        ["--lang", "nl", "info", "--bogus", "--json"],  # the text is Dutch, the JSON stays English
    ],
)
def test_a_usage_error_with_json_also_prints_the_one_json_error_object(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out, err = _usage_error(argv, capsys)
    error = json.loads(out)  # exactly one JSON document on stdout
    assert tuple(error) == ERROR_KEYS
    assert error["ok"] is False
    assert error["error"] == "UsageError"
    assert error["exit_code"] == USAGE_EXIT_CODE
    assert ": error: " in error["message"]
    assert "--help" in error["hint"]
    assert err.startswith(("usage: bmsflasher", "gebruik: bmsflasher"))  # the text goes on as before


def test_the_json_of_a_usage_error_names_the_sub_command(capsys: pytest.CaptureFixture[str]) -> None:
    out, _err = _usage_error(["config", "diff", "--nope", "--json", "--lang", "fr"], capsys)
    error = json.loads(out)
    assert error["message"] == "bmsflasher config diff: error: unrecognized arguments: --nope"
    assert error["hint"] == "Run 'bmsflasher config diff --help' to see its options."

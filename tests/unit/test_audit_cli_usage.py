"""Audit regressions: every command explains itself, and usage errors never look like a refusal.

Found as a new user: several options had no help text at all; argparse's usage errors exited 2,
the code ``flash`` documents for "refused by a precondition"; ``verify`` demanded ``--trust`` even
with keys in the user's keyring (``flash`` uses that keyring); the result of ``flash`` pointed at
``bmsflasher report N``, which fails without ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from bmsflasher.cli import render
from bmsflasher.cli.main import USAGE_EXIT_CODE, build_parser, main
from bmsflasher.core.resources import resource_path
from bmsflasher.procedure.results import UpdateResult
from bmsflasher.procedure.states import State


def _parsers(parser: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_option_and_argument_has_a_help_text() -> None:
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, parser in _parsers(build_parser(), "bmsflasher")
        for action in parser._actions
        if action.help is None and not isinstance(action, argparse._SubParsersAction)
    ]
    assert missing == []


@pytest.mark.parametrize(
    "argv",
    [
        ["nosuchcommand"],
        ["flash"],
        ["info", "--bogus"],
        ["config", "diff", "--backup", "x"],
        ["history", "verify", "--bogus"],
    ],
)
def test_usage_errors_exit_with_the_option_code(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == USAGE_EXIT_CODE == 8
    assert "error:" in capsys.readouterr().err


def test_usage_errors_show_the_usage_of_the_command_typed(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 14: ``info --bogus`` showed ``usage: bmsflasher [-h] … COMMAND ...``, nothing about info."""
    for argv, prog in (
        (["info", "--bogus"], "bmsflasher info"),
        (["config", "diff", "--backup", "x"], "bmsflasher config diff"),
        (["history", "verify", "--bogus"], "bmsflasher history verify"),
    ):
        with pytest.raises(SystemExit):
            main(argv)
        assert capsys.readouterr().err.startswith(f"usage: {prog} "), argv


def test_verify_uses_the_user_keyring_without_trust(
    data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = resource_path("demo", "packages", "VBMS-16-1.1.0.bmspkg")
    assert main(["verify", str(pkg)]) == 3  # no keyring yet: one sentence saying where keys go
    assert "trusted-keys" in capsys.readouterr().err
    keys = data_home / "xdg_config_home" / "bmsflasher" / "trusted-keys"
    keys.mkdir(parents=True)
    shutil.copy(resource_path("demo", "demo-key.pub.pem"), keys / "vendor.pem")
    assert main(["verify", str(pkg)]) == 0
    assert capsys.readouterr().out.startswith("Valid: VBMS-16 1.1.0")


def test_the_service_record_hint_is_a_command_that_works() -> None:
    out = io.StringIO()
    result = UpdateResult(outcome=State.UPDATED, reason="The device was updated.", session_id=7)
    with contextlib.redirect_stdout(out):
        render.print_update_result(Console(file=out, width=300), result)
    assert "bmsflasher report 7 --out report-7.html" in out.getvalue()
    parsed = build_parser().parse_args(["report", "7", "--out", "report-7.html"])
    assert parsed.session_id == 7


def test_a_build_signed_image_is_packaged_with_another_release_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """trust-model.md: the image key (build server) and the manifest key (release) may differ."""
    demo = resource_path("demo")
    assert main(["keygen", "--out", str(tmp_path / "release")]) == 0
    common = [
        "package", "--firmware", str(demo / "factory-1.0.0.img"), "--model", "VBMS-16", "--hw-rev", "C",
        "--version", "1.0.0", "--security-counter", "1", "--key", str(tmp_path / "release.pem"),
    ]  # fmt: skip
    assert main([*common, "--out", str(tmp_path / "a.bmspkg")]) == 3  # whose signature is it?
    assert "--image-key" in capsys.readouterr().err
    out = tmp_path / "b.bmspkg"
    assert main([*common, "--image-key", str(demo / "demo-key.pub.pem"), "--out", str(out)]) == 0
    trust = ["--trust", str(tmp_path / "release.pub.pem"), "--trust", str(demo / "demo-key.pub.pem")]
    assert main(["verify", str(out), *trust]) == 0
    wrong = [*common[:-2], "--key", str(tmp_path / "release.pub.pem"), "--out", str(out)]
    assert main(wrong) == 3
    assert "holds a public key" in capsys.readouterr().err


def test_a_json_command_that_fails_still_prints_json(
    tmp_path: Path, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", "--port", str(tmp_path / "ttyNOPE"), "--json"]) == 4
    captured = capsys.readouterr()
    error = json.loads(captured.out)
    assert error["ok"] is False
    assert error["error"] == "PortNotFoundError"
    assert error["exit_code"] == 4
    assert captured.err.startswith("error: Serial port")
    with pytest.raises(SystemExit):  # a usage error answers a JSON script the same way (issue 14)
        main(["info", "--port", str(tmp_path / "ttyNOPE"), "--bogus", "--json"])
    usage = json.loads(capsys.readouterr().out)
    assert (usage["ok"], usage["error"], usage["exit_code"]) == (False, "UsageError", USAGE_EXIT_CODE)
    assert set(usage) == set(error)


def test_recorded_text_is_printed_as_is_never_as_markup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An operator named "[/bold] :x:" made every later ``history`` end in a rich MarkupError."""
    from bmsflasher.records import RecordsDb

    db_path = tmp_path / "h.sqlite3"
    with RecordsDb.open(db_path) as db:
        db.start_session("SN[/b]", "backup", "[/bold] :x: Jan", None, {})
    assert main(["history", "--db", str(db_path)]) == 0
    assert main(["history", "--serial", "SN[/b]", "--db", str(db_path)]) == 0
    out = capsys.readouterr().out
    assert "[/bold]" in out
    assert ":x:" in out
    assert "SN[/b]" in out

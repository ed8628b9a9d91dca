"""``bmsflasher scan``: arguments, JSON output, exit codes, plan and list modes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bmsflasher.cli.main import main


def test_scan_of_a_missing_port_prints_json_and_exits_1(
    data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["scan", "--port", str(data_home / "ttyGONE"), "--json", "--bauds", "9600"])
    out = capsys.readouterr().out
    document = json.loads(out)
    assert code == 1
    assert document["devices"] == []
    assert document["adapters"][0]["status"] == "not_found"
    assert document["adapters"][0]["adapter"].endswith("ttyGONE")


def test_plan_shows_the_ordered_probe_table(data_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "scan",
            "--port",
            "/dev/pts/99",
            "--can",
            "slcan:/dev/pts/98",
            "--bitrates",
            "500k,250000",
            "--plan",
            "--json",
        ]
    )
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    serial, can = rows
    assert serial["plan"][0] == "SMP at 115200 baud"
    assert len(serial["plan"]) == 8
    assert can["kind"] == "can"
    assert can["plan"] == [
        "listen for traffic at 500000 bit/s",
        "listen for traffic at 250000 bit/s",
        "UDS TesterPresent, functional at 500000 bit/s",
        "UDS TesterPresent, functional at 250000 bit/s",
    ]


def test_list_mode_probes_nothing(data_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", "--port", "/dev/pts/99", "--list"])
    out = capsys.readouterr().out
    assert code == 0
    assert "/dev/pts/99" in out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["scan", "--bauds", "fast"], "is not a rate"),
        (["scan", "--bauds", ","], "at least one rate"),
        (["scan", "--timeout-s", "soon"], "is not a number of seconds"),
    ],
)
def test_bad_arguments_give_one_sentence(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 8  # usage errors share the "bad option value" code
    assert fragment in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["scan", "--port", "/dev/pts/99", "--timeout-s", "0"], "--timeout-s must be between"),
        (["scan", "--port", "/dev/pts/99", "--bauds", "10"], "outside 50"),
        (["scan", "--can", "slcan"], "INTERFACE:CHANNEL"),
    ],
)
def test_invalid_values_exit_with_the_config_error_code(
    data_home: Path, argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)
    assert code == 8
    err = capsys.readouterr().err
    assert fragment in err
    assert "Traceback" not in err


def test_slcan_refuses_a_rate_it_cannot_select(data_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", "--can", "slcan:/dev/pts/98", "--bitrates", "800000", "--json", "--timeout-s", "2"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    report = document["adapters"][0]
    assert report["status"] == "error"
    assert "cannot run at 800000" in report["message"]


def test_rich_progress_display_renders_each_adapter(data_home: Path) -> None:
    import io

    from rich.console import Console

    from bmsflasher.cli.cmd_scan import _print_result, _scan_with_progress
    from bmsflasher.discovery import ScanCache, Scanner, ScanRequest, gather

    request = ScanRequest(ports=(str(data_home / "ttyA"), str(data_home / "ttyB")), timeout_s=2.0).validated()
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=120)
    result = _scan_with_progress(Scanner(ScanCache(enabled=False)), request, gather(request), console)
    assert [report.status.value for report in result.reports] == ["not_found", "not_found"]
    _print_result(result, console)
    text = stream.getvalue()
    assert "No device found" in text
    assert "ttyA" in text
    assert "ttyB" in text

"""The ``history``, ``history verify`` and ``report`` commands, run through the real CLI entry point."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from rec_support import OPERATOR, SERIAL, populated_db, write_update_session

from bmsflasher.cli.main import main
from bmsflasher.core.errors import RecordsTamperedError, StorageError
from bmsflasher.records import RecordsDb


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    db, _sid = populated_db(tmp_path / "h.db")
    with db:
        db.start_session("OTHER-7", "backup", "bob", None, {})
    return tmp_path / "h.db"


def test_history_json_lists_sessions_newest_first(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--json", "--db", str(db_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(s["id"], s["serial"]) for s in data["sessions"]] == [(2, "OTHER-7"), (1, SERIAL)]
    assert data["sessions"][1]["outcome"] == "updated"
    assert data["sessions"][1]["operator"] == OPERATOR
    assert data["sessions"][0]["outcome"] is None
    assert "device" not in data


def test_history_for_one_serial_includes_device_and_backups(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--serial", SERIAL, "--json", "--db", str(db_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in data["sessions"]] == [1]
    assert data["device"]["serial_number"] == SERIAL
    assert data["device"]["firmware_version"] == "1.3.0"
    assert len(data["backups"]) == 1
    assert data["backups"][0]["session_id"] == 1
    assert len(data["backups"][0]["sha256"]) == 64


def test_history_table_output(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--db", str(db_path)]) == 0
    out = capsys.readouterr().out
    assert "Service sessions" in out
    assert SERIAL in out
    assert "OTHER-7" in out
    assert "interrupted" in out


def test_history_of_unknown_serial_says_so(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--serial", "NOPE", "--db", str(db_path)]) == 0
    assert "No device with serial number NOPE" in capsys.readouterr().out


def test_history_uses_the_user_data_dir_by_default(
    data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with RecordsDb.open() as db:
        write_update_session(db)
    assert main(["history", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["sessions"]) == 1


def test_verify_intact(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "verify", "--db", str(db_path)]) == 0
    assert "is intact" in capsys.readouterr().out


def test_verify_tampered_exits_non_zero_and_names_the_record(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute("UPDATE sessions SET outcome = 'updated' WHERE id = 2")
    raw.commit()
    raw.close()
    assert main(["history", "verify", "--db", str(db_path)]) == RecordsTamperedError.exit_code
    err = capsys.readouterr().err
    assert "sessions row 2" in err
    assert "broken" in err
    assert main(["history", "--json", "verify", "--db", str(db_path)]) == RecordsTamperedError.exit_code
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert data["record"] == "sessions row 2"


@pytest.mark.parametrize("fmt", ["html", "pdf"])
def test_report_writes_the_file(
    db_path: Path, tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"report.{fmt}"
    assert main(["report", "1", "--format", fmt, "--out", str(out), "--db", str(db_path)]) == 0
    assert out.stat().st_size > 1000
    assert out.read_bytes().startswith(b"%PDF-" if fmt == "pdf" else b"<!DOCTYPE html>")
    assert str(out) in capsys.readouterr().out


def test_report_format_follows_the_suffix_and_language(db_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "rapport.PDF"
    assert main(["report", "1", "--out", str(out), "--lang", "fr", "--db", str(db_path)]) == 0
    assert out.read_bytes().startswith(b"%PDF-")
    html_out = tmp_path / "verslag.htm"
    assert main(["report", "1", "--out", str(html_out), "--lang", "nl", "--db", str(db_path)]) == 0
    assert "Servicerapport batterij" in html_out.read_text(encoding="utf-8")


def test_report_of_unknown_session_is_one_sentence(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "42", "--out", str(tmp_path / "r.html"), "--db", str(db_path)])
    assert code == StorageError.exit_code
    err = capsys.readouterr().err
    assert err.startswith("error: there is no session 42")
    assert "Traceback" not in err


def test_report_bad_session_id_is_a_usage_error(db_path: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bmsflasher.cli.main", "report", "x1", "--out", str(tmp_path / "r.html")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 8  # a usage error: the "bad option value" code
    assert "'x1' is not a session id" in result.stderr


def test_corrupt_history_is_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "h.db"
    bad.write_bytes(b"\x00garbage" * 512)
    assert main(["history", "--db", str(bad)]) == StorageError.exit_code
    err = capsys.readouterr().err
    assert "corrupt or not a bmsflasher database" in err
    assert "hint:" in err


@pytest.mark.parametrize("name", ["report.docx", "report.txt", "report"])
def test_report_refuses_unknown_extensions_and_writes_nothing(
    db_path: Path, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14: ``report --out x.docx`` silently wrote HTML into a .docx file."""
    out = tmp_path / name
    code = main(["report", "1", "--out", str(out), "--db", str(db_path)])
    assert code == 8
    assert not out.exists()
    err = capsys.readouterr().err
    assert ".html or .pdf" in err


def test_report_format_and_suffix_must_agree(db_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "1", "--format", "pdf", "--out", str(out), "--db", str(db_path)]) == 8
    assert not out.exists()


def test_pdf_export_does_not_flood_the_log_with_font_tool_lines(
    db_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 14: with the GUI's INFO logging, saving a PDF printed fontTools' subsetting chatter."""
    import logging

    from bmsflasher.records.reports import render_report

    caplog.set_level(logging.DEBUG)  # what a root logger at DEBUG/INFO would let through
    logging.getLogger().setLevel(logging.INFO)
    with RecordsDb.open(db_path) as db:
        render_report(db, 1, "pdf", tmp_path / "r.pdf")
    chatter = [r for r in caplog.records if r.name.startswith("fontTools") and r.levelno < logging.WARNING]
    assert not chatter, chatter[:3]


def test_reports_default_to_the_documents_folder_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bmsflasher.records.report_files import default_reports_dir

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(tmp_path / "Docs"))
    monkeypatch.chdir(tmp_path)
    folder = default_reports_dir()
    assert folder == tmp_path / "Docs" / "bmsflasher reports"
    assert folder.is_dir()

r"""Issue 14: device-provided text reached the terminal raw, ANSI escapes included.

A DTC description, a refusal reason, a configuration string or anything ``history`` replays from
the service history is text from outside; ``ESC [2J`` in it cleared the technician's screen,
``ESC ]0;…`` retitled the window, a C1 ``CSI`` (0x9B) did the same on terminals that honour it.
The CLI shows every such control character as a visible escape (``\x1b``) instead: once, in
``cli/console.py``, for sentences, table cells and anything else a console prints.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from proc_support import smp_bench
from rich.table import Table
from rich.text import Text

from bmsflasher.cli.console import make_console, say
from bmsflasher.cli.main import main
from bmsflasher.core.i18n import t
from bmsflasher.records import RecordsDb

HOSTILE = "Image failed\x1b[2J\x1b]0;pwned\x07 \x9b31mred\u202e"
"""Clear screen, retitle the window (OSC … BEL), a C1 CSI and a right-to-left override."""
CONTROLS = ("\x1b", "\x9b", "\x07", "\u202e")


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _no_controls(text: str) -> None:
    for control in CONTROLS:
        assert control not in text, f"{control!r} reached the terminal: {text!r}"


def test_device_text_reaches_the_terminal_without_control_characters(tmp_path: Path, data_home: Path) -> None:
    with smp_bench(tmp_path) as bench:
        bench.device._dtcs.record_boot_failure(HOSTILE)  # what the device will report as a DTC text
        port = ["--port", bench.link.port, "--baud", str(bench.link.baud)]
        code, out, err = run_cli("dtc", *port)
        assert code == 0, err
        _no_controls(out + err)
        assert "Image failed\\x1b[2J" in out  # shown, as an escape, not obeyed
        code, out, err = run_cli("dtc", *port, "--json")
    assert code == 0, err
    _no_controls(out + err)
    assert HOSTILE in [dtc["description"] for dtc in json.loads(out)["dtcs"]]  # JSON keeps it, escaped


def test_recorded_text_is_replayed_without_control_characters(tmp_path: Path) -> None:
    db_path = tmp_path / "history.sqlite3"
    with RecordsDb.open(db_path) as db:
        db.start_session("SN\x1b[2J1", "backup", f"Jan {HOSTILE}", None, {"note": HOSTILE})
    for argv in (
        ["history", "--db", str(db_path)],
        ["history", "--serial", "SN\x1b[2J1", "--db", str(db_path)],
        ["history", "--json", "--db", str(db_path)],
    ):
        code, out, err = run_cli(*argv)
        assert code == 0, err
        _no_controls(out + err)
        if "--json" in argv:
            session = json.loads(out)["sessions"][0]
            assert session["operator"] == f"Jan {HOSTILE}"  # the record itself is unchanged
        else:
            assert "\\x1b[2J" in out


def test_every_console_and_sentence_escapes_what_is_left() -> None:
    """The last safety net: text that reaches a console without plain() or say() is escaped too."""
    buffer = io.StringIO()
    console = make_console(file=buffer, width=200)
    table = Table("code", "description")
    table.add_row("D20101", Text(HOSTILE))
    console.print(table)
    console.print(f"raw {HOSTILE}", markup=False)
    console.print(t("{check}: {value}", check="device_check", value=HOSTILE))
    _no_controls(buffer.getvalue())
    _no_controls(say(t("error: {message}", message=t("refused: {reason}", reason=HOSTILE))))
    assert say("two\nlines\tkept") == "two\nlines\tkept"  # our own layout stays
    assert say(t("{value}", value="one\nforged line")) == "one\\x0aforged line"  # a value's does not

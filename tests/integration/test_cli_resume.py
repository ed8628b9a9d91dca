"""The command printed after Ctrl-C runs as it is and finishes the same update in the same record.

Issue 14: the printed command dropped ``--db`` and ``--operator``; run verbatim it looked for the
interrupted session in the default history and failed with "there is no session 6".
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from proc_support import DEMO_PUB, HEALTHY, package, smp_bench

from bmsflasher.cli.main import main
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.records import RecordsDb

BAUD = 921_600


def _interrupt_mid_transfer(argv: list[str], bench) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Run ``bmsflasher ARGV`` as a technician would, press Ctrl-C during the transfer; its JSON result."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bmsflasher.cli.main", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A terminal's Ctrl-C even when the suite runs as a background job (SIGINT ignored).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    try:
        deadline = time.monotonic() + 60
        while bench.device.upload_status().offset < 20_000:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the transfer never started"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 130, err
    result: dict[str, object] = json.loads(out)
    return result


def test_the_printed_resume_command_finishes_the_update_in_the_same_session(
    tmp_path: Path, data_home: Path
) -> None:
    db_path = tmp_path / "workshop-history.sqlite3"  # not the default history: the rerun must name it
    with smp_bench(tmp_path, baud=BAUD) as bench:
        argv = [
            "flash", str(package(HEALTHY)), "--port", bench.link.port, "--baud", str(BAUD),
            "--trust", str(DEMO_PUB), "--db", str(db_path), "--operator", "Ana Ruiz", "--yes", "--json",
        ]  # fmt: skip
        interrupted = _interrupt_mid_transfer(argv, bench)
        command = str(interrupted["command"])
        assert command in str(interrupted["resume"])  # the sentence shows the same command
        words = shlex.split(command)
        assert words[0] == "bmsflasher"
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(words[1:])
        identity = bench.device.identity()
    assert code == 0, err.getvalue()
    result = json.loads(out.getvalue())
    assert result["outcome"] == "updated"
    assert result["resumed"] is True
    assert identity.firmware_version == FirmwareVersion.parse("1.1.0")
    with RecordsDb.open(db_path) as db:
        sessions = db.sessions()
    assert [s.id for s in sessions] == [result["session_id"]]  # continued, not a second record
    assert sessions[0].operator == "Ana Ruiz"
    assert sessions[0].outcome == "updated"

"""Issue 14: a security-access unlock outside a service session got no log line.

A key computed for a battery's serial number is a credential for that battery. Recorded flows
write every unlock into their service session, but the technician saw nothing on the terminal
(``restore`` and ``rollback`` recorded it silently) and work outside a session (a balancing
command on a target a command opened) left no trace at all. Every target the CLI opens now prints
one line per unlock on stderr: which battery, for what, when. Over the emulated slcan adapter with
python-can's real slcan driver, the UDS seed/key exchange of the virtual BMS.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

from proc_support import uds_bench

from bmsflasher.cli.main import build_parser, main
from bmsflasher.cli.target_args import opened_target
from bmsflasher.records import RecordsDb

UNLOCK = re.compile(
    r"Security access unlocked on battery (\S+) for (.+) at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\."
)


def _can(bench) -> list[str]:  # type: ignore[no-untyped-def]
    link = bench.link
    return ["--can", f"{link.interface}:{link.channel}", "--bitrate", str(link.bitrate), "--node", "1"]


def test_an_unlock_outside_a_service_session_prints_one_line(tmp_path: Path, data_home: Path) -> None:
    with uds_bench(tmp_path) as bench:
        serial = bench.device.identity().serial_number
        argv = ["info", *_can(bench)]
        args = build_parser(argv).parse_args(argv)
        err = io.StringIO()
        with contextlib.redirect_stderr(err), opened_target(args) as target:
            target.set_balancing(0, True)  # a service command: extended session, seed and key
            target.set_balancing(0, False)  # already unlocked: no second key, no second line
    lines = [UNLOCK.search(line) for line in err.getvalue().splitlines()]
    unlocks = [(m.group(1), m.group(2)) for m in lines if m]
    assert unlocks == [(serial, "a balancing command")], err.getvalue()


def test_a_recorded_restore_also_tells_the_technician_about_its_unlock(
    tmp_path: Path, data_home: Path
) -> None:
    db = str(tmp_path / "cli-history.sqlite3")
    with uds_bench(tmp_path) as bench:
        serial = bench.device.identity().serial_number
        backup = _cli("backup", *_can(bench), "--db", db, "--json")
        assert backup[0] == 0, backup[2]
        original = bench.device.config().parameters["cell_overvoltage_mv"]
        bench.device.set_parameters({"cell_overvoltage_mv": int(original) - 50})
        bench.device.save_config()
        code, out, err = _cli("restore", *_can(bench), "--db", db, "--yes", "--json")
    assert code == 0, err
    assert json.loads(out)["written"] == ["cell_overvoltage_mv"]  # stdout stays one JSON document
    unlocks = [m.group(1, 2) for m in map(UNLOCK.search, err.splitlines()) if m]
    assert unlocks == [(serial, "a configuration write")], err
    with RecordsDb.open(Path(db)) as history:  # and the session still records it
        restore = history.sessions(serial)[0]
        steps = [step.step for step in history.session_detail(restore.id).steps]
    assert "security_access" in steps


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()

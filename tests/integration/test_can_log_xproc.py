"""``bmsflasher log`` through python-can's slcan driver to ``bmsflasher sim`` in another process.

The sim replays a known log in a loop (``--replay-only --loop``), so what ``log`` must write is
known frame for frame: every file read back by python-can's own reader is the source, repeated,
from wherever the recording started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from can_tools_support import cli, fox_frames, is_cyclic_window, key, read_log, write_log
from uds_support import REPO, SimProcess


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_log(tmp_path_factory.mktemp("source") / "fox.blf", fox_frames())


@pytest.fixture(scope="module")
def replaying(source: Path) -> Iterator[SimProcess]:
    with SimProcess("--replay", str(source), "--replay-only", "--loop") as sim:
        yield sim


@pytest.mark.parametrize("suffix", [".log", ".asc", ".blf", ".trc", ".csv"])
def test_log_reads_back_frame_for_frame(
    replaying: SimProcess, source: Path, tmp_path: Path, suffix: str
) -> None:
    out = tmp_path / f"bus{suffix}"
    result = cli(
        "log", "--can", f"slcan:{replaying.channel}", "--bitrate", "1000000", "--out", str(out),
        "--duration", "0.6", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    recorded = [key(message) for message in read_log(out)]
    expected = [key(message) for message in read_log(source)]
    assert summary["frames"] == len(recorded) >= len(expected)  # at least one whole pass
    assert summary["format"] == suffix.lstrip(".")
    assert is_cyclic_window(recorded, expected)


def test_ctrl_c_ends_the_recording_with_the_file_complete(
    replaying: SimProcess, source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "interrupted.blf"
    command = [sys.executable, "-m", "bmsflasher.cli.main", "log", "--can", f"slcan:{replaying.channel}"]
    command += ["--bitrate", "1000000", "--out", str(out), "--json"]
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 20
    while not out.exists() and time.monotonic() < deadline:  # the writer opens the file first
        time.sleep(0.05)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    summary = json.loads(stdout)
    recorded = [key(message) for message in read_log(out)]  # a BLF is only readable once closed
    assert summary["frames"] == len(recorded) > 0
    assert is_cyclic_window(recorded, [key(message) for message in read_log(source)])


def test_a_format_python_can_cannot_write_is_refused_before_the_adapter(tmp_path: Path) -> None:
    result = cli("log", "--can", "slcan:/dev/no-such-adapter", "--out", str(tmp_path / "bus.pcap"), "--json")
    assert result.returncode == 8
    error = json.loads(result.stdout)
    assert error["error"] == "CanLogFormatError"
    assert ".blf" in error["hint"]

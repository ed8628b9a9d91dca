"""``bmsflasher scan`` shows the driver guide's advice for a port another program holds.

A real pty is held open exclusively (as a serial terminal would hold a USB adapter); the real CLI
scans it, reports it busy without touching it, and prints the advice from drivers/guidance.json —
in text and in ``--json``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bmsflasher.cli.main import main
from bmsflasher.links.serial import SerialLink

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the expected advice is Linux's")


@pytest.fixture
def held_port() -> Iterator[str]:
    """A pty whose port is open, exclusively, by "another program"."""
    master, slave = os.openpty()
    path = os.ttyname(slave)
    try:
        with SerialLink.open(path, 115200):
            yield path
    finally:
        os.close(slave)
        os.close(master)


def _scan(port: str, *extra: str) -> list[str]:
    return ["scan", "--port", port, "--bauds", "115200", "--no-cache", "--timeout-s", "5", *extra]


def test_json_carries_the_guidance_for_a_busy_port(
    held_port: str, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_scan(held_port, "--json"))
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    (adapter,) = document["adapters"]
    assert adapter["status"] == "busy"
    guidance = adapter["guidance"]
    assert guidance["id"] == "linux-busy"
    assert guidance["doc"] == "drivers/linux/README.md#port-busy"
    assert Path(guidance["doc_path"]).is_file()
    assert any("fuser" in step for step in guidance["steps"])


def test_text_output_prints_title_steps_and_guide(
    held_port: str, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(_scan(held_port))
    out = capsys.readouterr().out
    assert code == 1
    assert f"busy  {held_port}" in out
    assert "Another program holds the port" in out
    assert "  1. Close serial terminals" in out
    assert "guide: " in out
    assert "drivers/linux/README.md#port-busy" in out

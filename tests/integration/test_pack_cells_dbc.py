"""A third-party tool decodes the pack's cell frames with ``dbc export --topology``'s DBC (cantools).

The frames are the ones a cross-process virtual pack puts on its bus, heard through the emulated
slcan adapter; the DBC is what the CLI writes; cantools (strict) is the third-party decoder. Its
values must be what the tool's own decoder (the Pack page's) reads from the same frames.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cantools
import cantools.database
from pack_support import REPO, PackProcess

from bmsflasher.canbus.pack_cell_frames import decode_cell_frame, decode_status_frame
from bmsflasher.links.can import CanLink

TOPOLOGY = "bcu=1,bmc=1,bmu=3"


def _export(folder: Path) -> Path:
    out = folder / "pack.dbc"
    command = [
        sys.executable, "-m", "bmsflasher.cli.main", "dbc", "export", "--topology", TOPOLOGY,
        "--out", str(out), "--json",
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ok": True, "dbc": str(out)}
    return out


def test_the_exported_dbc_decodes_every_bmus_cell_and_status_frames(tmp_path: Path) -> None:
    database = cantools.database.load_file(str(_export(tmp_path)), database_format="dbc", strict=True)
    assert {message.name for message in database.messages} >= {
        "BMU_40_Cells",
        "BMU_42_Cells",
        "BCU_10_Status",
    }
    with PackProcess(TOPOLOGY) as pack, CanLink.open(pack.link_config()) as link:
        cells: dict[tuple[int, int], dict[str, float]] = {}
        statuses = 0
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            message = link.recv(0.05)
            if message is None:
                continue
            group = decode_cell_frame(message)
            status = decode_status_frame(message)
            if group is None and status is None:
                continue
            decoded = database.decode_message(message.arbitration_id, bytes(message.data))
            if group is not None:
                assert decoded["CellGroup"] == group.group
                assert decoded["CellGroupLast"] == group.groups - 1
                names = [f"CellVoltage_{group.group * 4 + slot}" for slot in range(len(group.cells_mv))]
                assert [decoded[name] for name in names] == list(group.cells_mv)
                cells[(group.address, group.group)] = dict(decoded)
            elif status is not None:
                assert abs(float(decoded["ModuleVoltage"]) * 1000 - status[1].voltage_mv) < 1
                assert decoded["FirmwareMajor"] == 1
                statuses += 1
    # every BMU (0x40-0x42), every one of its four groups of four cells; no cell frames from the others
    assert set(cells) == {(address, group) for address in (0x40, 0x41, 0x42) for group in range(4)}
    assert statuses >= 5  # five nodes, a status frame each every 0.25 s

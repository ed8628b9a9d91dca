"""Helpers of the CAN tools tests (issue 19): a known log, the CLI in-process, cyclic frame matching."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

import can
import cantools
import cantools.database

from bmsflasher.cli.main import main

DATA = Path(__file__).resolve().parents[1] / "data" / "dbc"
FOX_DBC = DATA / "foxbms2_style.dbc"
FOX_MAP = DATA / "foxbms2_style.map.json"
FOX_CELLS_MV = tuple(3100 + 7 * index + (index % 3) * 41 for index in range(20))
FOX_TEMPS_C = tuple(float(18 + index) for index in range(12))
FRAME_GAP_S = 0.01

Frame = tuple[int, bool, bytes]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``bmsflasher ARGS`` in this process (the device is another process): code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def fox_frames() -> list[can.Message]:
    """One cycle of a foxBMS-2-style BMS: pack values, SoC, 5 cell-voltage and 2 temperature frames."""
    database = cantools.database.load_file(str(FOX_DBC))
    assert isinstance(database, cantools.database.can.Database)

    def frame(name: str, values: dict[str, float]) -> can.Message:
        message = database.get_message_by_name(name)
        return can.Message(arbitration_id=message.frame_id, is_extended_id=False, data=message.encode(values))

    frames = [
        frame(
            "f_PackValues_P0",
            {"foxBMS_packVoltage_Battery": 64.12, "foxBMS_packCurrent": -1500, "foxBMS_packPower": -96},
        ),
        frame("f_StringState", {"foxBMS_minimumStringSoc": 57.25, "foxBMS_stringIsBalancing": 0}),
    ]
    for group in range(5):
        values: dict[str, float] = {"foxBMS_CellVoltage_Mux": group}
        for cell in range(4 * group, 4 * group + 4):
            values[f"foxBMS_CellVoltage_{cell}"] = FOX_CELLS_MV[cell]
            values[f"foxBMS_CellVoltage_{cell}_InvalidFlag"] = 0
        frames.append(frame("f_CellVoltages", values))
    for group in range(2):
        values = {"foxBMS_CellTemperature_Mux": group}
        for sensor in range(6 * group, 6 * group + 6):
            values[f"foxBMS_CellTemperature_{sensor}"] = FOX_TEMPS_C[sensor]
            values[f"foxBMS_CellTemperature_{sensor}_InvalidFlag"] = 0
        frames.append(frame("f_CellTemperatures", values))
    return frames


def write_log(path: Path, frames: Sequence[can.Message], gap_s: float = FRAME_GAP_S) -> Path:
    """``frames`` written with python-can's writer for ``path``'s suffix, ``gap_s`` apart."""
    with can.Logger(str(path)) as writer:
        for index, frame in enumerate(frames):
            writer.on_message_received(
                can.Message(
                    timestamp=1_700_000_000.0 + index * gap_s,
                    arbitration_id=frame.arbitration_id,
                    is_extended_id=frame.is_extended_id,
                    data=bytes(frame.data),
                    channel=0,
                )
            )
    return path


def read_log(path: Path) -> list[can.Message]:
    with can.LogReader(str(path)) as reader:
        return [message for message in reader if not message.is_error_frame]


def key(message: can.Message) -> Frame:
    return (message.arbitration_id, bool(message.is_extended_id), bytes(message.data))


def is_cyclic_window(recorded: Sequence[Frame], source: Sequence[Frame]) -> bool:
    """True if ``recorded`` is ``source`` repeated (a looped replay), starting at any of its frames."""
    if not recorded:
        return False
    size = len(source)
    return any(
        all(frame == source[(start + offset) % size] for offset, frame in enumerate(recorded))
        for start in range(size)
    )

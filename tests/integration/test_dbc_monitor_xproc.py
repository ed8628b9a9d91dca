"""``monitor --dbc``: live data from a BMS's broadcasts alone, through the slcan pty to another process.

* the shipped DBC and map show the same pack as the UDS live data of the same virtual BMS;
* a DBC in the style of foxBMS 2 (big-endian, multiplexed cell voltages with invalid flags), with
  a map written for it, decodes a replayed log into the right cells, temperatures and pack values;
* a bad DBC or map is one sentence with a hint and exit code 8, before any adapter is opened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from can_tools_support import (
    FOX_CELLS_MV,
    FOX_DBC,
    FOX_MAP,
    FOX_TEMPS_C,
    cli,
    fox_frames,
    json_lines,
    write_log,
)
from uds_support import SimProcess

from bmsflasher.core.resources import resource_path

SHIPPED_DBC = resource_path("dbc", "vbms.dbc")
SHIPPED_MAP = resource_path("dbc", "vbms.map.json")
NOISE_MV = 8  # two independent samples of a cell with 1 mV measurement noise
WEAK_CELL = 5


@pytest.fixture(scope="module")
def broadcasting() -> Iterator[SimProcess]:
    with SimProcess("--broadcast", "--weak-cell", str(WEAK_CELL), "--load-a", "40", bitrate=500_000) as sim:
        yield sim


def _monitor(sim: SimProcess, *extra: str) -> dict[str, object]:
    result = cli(
        "monitor",
        "--can",
        f"slcan:{sim.channel}",
        "--bitrate",
        str(sim.bitrate),
        "--json",
        "--count",
        "1",
        "--duration",
        "5",
        *extra,
    )
    assert result.returncode == 0, result.stderr
    (sample,) = json_lines(result.stdout)
    return sample


def test_shipped_dbc_shows_the_same_pack_as_uds_live_data(broadcasting: SimProcess) -> None:
    over_uds = _monitor(broadcasting)
    from_broadcasts = _monitor(broadcasting, "--dbc", str(SHIPPED_DBC), "--signals", str(SHIPPED_MAP))
    uds_cells = over_uds["cell_voltages_mv"]
    dbc_cells = from_broadcasts["cell_voltages_mv"]
    assert isinstance(uds_cells, list)
    assert isinstance(dbc_cells, list)
    assert len(dbc_cells) == len(uds_cells) == 16
    assert all(abs(a - b) <= NOISE_MV for a, b in zip(uds_cells, dbc_cells, strict=True)), (
        uds_cells,
        dbc_cells,
    )
    assert dbc_cells.index(min(dbc_cells)) == uds_cells.index(min(uds_cells)) == WEAK_CELL  # the same cell
    assert from_broadcasts["temperatures_c"] == pytest.approx(over_uds["temperatures_c"], abs=0.5)
    assert from_broadcasts["pack_voltage_mv"] == pytest.approx(over_uds["pack_voltage_mv"], abs=16 * NOISE_MV)
    assert from_broadcasts["current_ma"] == pytest.approx(over_uds["current_ma"], abs=50)  # -40 A: discharge
    assert from_broadcasts["soc_pct"] == pytest.approx(over_uds["soc_pct"], abs=0.5)
    assert set(from_broadcasts) == set(over_uds)  # the same keys as monitor --json over UDS


@pytest.fixture(scope="module")
def fox_replay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    log = write_log(tmp_path_factory.mktemp("fox") / "fox-field.asc", fox_frames())
    with SimProcess("--replay", str(log), "--replay-only", "--loop") as sim:
        yield sim


def test_foxbms2_style_dbc_decodes_a_replayed_log_into_the_right_cells(fox_replay: SimProcess) -> None:
    sample = _monitor(fox_replay, "--dbc", str(FOX_DBC), "--signals", str(FOX_MAP))
    assert sample["cell_voltages_mv"] == list(FOX_CELLS_MV)
    assert sample["temperatures_c"] == list(FOX_TEMPS_C)
    assert sample["pack_voltage_mv"] == 64_120  # 64.12 V in the DBC's V
    assert sample["current_ma"] == 1_500  # the DBC's mA, sign turned by the map's current_sign
    assert sample["soc_pct"] == 57.25


def _errors(tmp_path: Path, dbc: Path, signal_map: Path) -> dict[str, object]:
    result = cli(
        "monitor",
        "--can",
        "slcan:/dev/no-such-adapter",
        "--dbc",
        str(dbc),
        "--signals",
        str(signal_map),
        "--json",
    )
    assert result.returncode == 8, result.stderr
    (error,) = json_lines(result.stdout)
    assert error["ok"] is False
    assert error["exit_code"] == 8
    assert error["hint"]
    return error


def test_bad_dbc_or_map_is_a_sentence_with_a_hint(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.dbc"
    garbage.write_text("this is not a DBC\n\x00\x01")
    error = _errors(tmp_path, garbage, FOX_MAP)
    assert error["error"] == "DbcFileError"
    assert _errors(tmp_path, tmp_path / "missing.dbc", FOX_MAP)["error"] == "DbcFileError"

    def map_error(content: object) -> str:
        path = tmp_path / "map.json"
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        found = _errors(tmp_path, FOX_DBC, path)
        assert found["error"] == "SignalMapError"
        return str(found["message"])

    good = json.loads(FOX_MAP.read_text())
    assert "not valid JSON" in map_error("{")
    assert "foxBMS_packVoltge" in map_error({**good, "pack_voltage_v": "foxBMS_packVoltge"})
    assert "exactly one group" in map_error(
        {**good, "cell_voltage_mv": {"pattern": "foxBMS_CellVoltage_\\d+"}}
    )
    assert "matches the cell voltage pattern" in map_error(
        {**good, "cell_voltage_mv": {"pattern": "^cell_(\\d+)$"}}
    )
    assert "unknown keys" in map_error({**good, "pack_voltage": "foxBMS_packVoltage_Battery"})
    assert "is not one of" in map_error({**good, "alarms": {"foxBMS_stringIsBalancing": "on_fire"}})
    assert "DBC unit" in map_error({**good, "soc_pct": "foxBMS_packPower"})  # W is not a percentage

"""The demo bench (``sim/demo_bench.py``): one setup for ``make demo`` and ``make demo-cli``.

The GUI demo and the command-line demo used to build the virtual BMS, its pty front-end, the link
settings and the demo key paths each on their own; these tests pin that both now take them from
the one bench, and that the bench hands out what a front-end needs.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from bmsflasher.cli.main import main
from bmsflasher.sim.demo_bench import DEMO_BAUD, DEMO_PACKAGES, DemoBench, DemoScenario

SRC = Path(__file__).resolve().parents[2] / "src" / "bmsflasher"
DEMO_FRONT_ENDS = ("cli/cmd_demo.py", "gui/demo.py")


def _sim_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name == "bmsflasher.sim" or name.startswith("bmsflasher.sim.")}


@pytest.mark.parametrize("front_end", DEMO_FRONT_ENDS)
def test_both_demo_front_ends_build_nothing_of_the_sim_themselves(front_end: str) -> None:
    """A device, a front-end or a link built beside the bench would be the duplicate coming back."""
    assert _sim_imports(SRC / front_end) == {"bmsflasher.sim.demo_bench"}


def test_every_demo_package_ships() -> None:
    for name in DEMO_PACKAGES:
        assert DemoBench.package(name).is_file(), name
    assert DemoBench.trusted_key().is_file()


def test_the_bench_serves_its_device_on_the_link_it_hands_out(tmp_path: Path) -> None:
    with DemoBench(DemoScenario(cells=8, baud=115_200), tmp_path / "bench", in_process=True) as bench:
        link = bench.link
        assert (link.kind, link.port, link.baud) == ("serial", bench.port, 115_200)
        assert os.path.exists(bench.port)  # the pty the tool opens
        assert bench.device is not None
        assert bench.device.identity().model == "VBMS-8"
        assert bench.state_file == tmp_path / "bench" / "vbms.state"
        assert bench.state_file.is_file()
        assert {bench.history_path.parent, bench.journal_dir.parent, bench.trusted_keys_dir.parent} == {
            tmp_path / "bench"
        }
    assert (tmp_path / "bench").is_dir()  # a folder the caller gave is the caller's to remove
    assert not os.path.exists(link.port)


def test_a_bench_removes_the_work_folder_it_made() -> None:
    with DemoBench(in_process=True) as bench:
        workdir = bench.workdir
        assert bench.link.baud == DEMO_BAUD
        assert workdir.is_dir()
    assert not workdir.exists()


def test_the_command_line_demo_runs_on_the_bench(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data_home: Path
) -> None:
    workdir = tmp_path / "demo"
    main(["demo", "--workdir", str(workdir), "--package", "downgrade", "--soc", "62"])
    out = capsys.readouterr().out
    assert "Virtual BMS VB2400007 is listening on " in out  # the bench's demo pack (seed 7)
    assert (workdir / "vbms.state").is_file()
    assert (workdir / "history.sqlite3").is_file()

"""Campaign runs against the virtual pack in another process, through its emulated slcan adapter.

The pack is ``bmsflasher sim --topology bcu=1,bmc=1,bmu=2`` (:class:`pack_support.PackProcess`);
the tool is the real CLI (``bmsflasher campaign`` / ``rollback --all``), in-process or as a
subprocess that can be killed. Bundles are the demo pack's releases with this small pack's minimum.
A user profile (``<config>/profiles``) shortens the stability window for the pack's models, the
way a workshop would tune it; every limit stays the shipped one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from pack_support import REPO, PackProcess, open_node

from bmsflasher.cli.main import main
from bmsflasher.core.resources import resource_path
from bmsflasher.firmware.demo_bundles import DEMO_BUNDLES, build_demo_bundle
from bmsflasher.firmware.demo_pack_models import Tier
from bmsflasher.firmware.keys import load_private_key_file

SMALL_PACK = "bcu=1,bmc=1,bmu=2"
SMALL_MINIMUM = {Tier.BCU: 1, Tier.BMC: 1, Tier.BMU: 2}
BITRATE = 1_000_000
DEMO_PUB = resource_path("demo", "demo-key.pub.pem")


def prepare_home(home: Path) -> dict[str, str]:
    """XDG folders under ``home`` and a fast profile for the pack's models; returns the environment."""
    env = {
        var: str(home / var.lower())
        for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
    }
    profile = json.loads(resource_path("profiles", "default.json").read_text(encoding="utf-8"))
    profile.update(
        name="pack-test",
        description="test pack: short stability window",
        models=["VBCU-1", "VBMC-4", "VBMU-16"],
    )
    profile["preconditions"]["stability"].update(samples=2, interval_s=0.02)
    profile["preconditions"]["link"]["round_trips"] = 2
    profile["self_test"]["round_trips"] = 3
    folder = Path(env["XDG_CONFIG_HOME"]) / "bmsflasher" / "profiles"
    folder.mkdir(parents=True)
    (folder / "pack-test.json").write_text(json.dumps(profile), encoding="utf-8")
    return env


def home_env(home: Path, monkeypatch: Any) -> Path:
    """:func:`prepare_home` applied to this process's environment (``monkeypatch`` undoes it)."""
    for var, value in prepare_home(home).items():
        monkeypatch.setenv(var, value)
    return home


def bundle(home: Path, release: str, minimum: dict[Tier, int] | None = None) -> Path:
    """A demo release for the small pack, written under ``home``."""
    key = load_private_key_file(resource_path("demo", "demo-key.pem"))
    chosen = next(b for b in DEMO_BUNDLES if b.release == release)
    path = home / f"{release}.bmsbundle"
    path.write_bytes(build_demo_bundle(key, chosen, minimum or SMALL_MINIMUM))
    return path


def campaign_argv(pack: PackProcess, bundle_path: Path, home: Path) -> list[str]:
    return [
        "campaign",
        str(bundle_path),
        "--interface",
        "slcan",
        "--channel",
        str(pack.info["channel"]),
        "--bitrate",
        str(BITRATE),
        "--trust",
        str(DEMO_PUB),
        "--yes",
        "--json",
        "--db",
        str(home / "history.sqlite3"),
    ]


def run_cli(argv: list[str], capsys: Any) -> tuple[int, dict[str, Any]]:
    """Run the CLI in this process; returns the exit code and the one JSON document it printed."""
    capsys.readouterr()
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def start_cli(argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """The CLI as its own process (to be killed like a laptop losing power)."""
    full = dict(os.environ, **env, PYTHONPATH=str(REPO / "src"), BMSFLASHER_LANG="en")
    return subprocess.Popen(
        [sys.executable, "-m", "bmsflasher.cli.main", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        env=full,
    )


def versions(pack: PackProcess) -> dict[str, tuple[str, bool]]:
    """Each node's running version and whether it is confirmed, asked over the bus."""
    found: dict[str, tuple[str, bool]] = {}
    for node in pack.nodes:
        target = open_node(pack, int(str(node["address"])))
        try:
            identity = target.identify()
        finally:
            target.close()
        active = next(slot for slot in identity.slots if slot.active)
        found[str(node["name"])] = (str(identity.firmware_version), active.confirmed or active.permanent)
    return found


def start_pack(state: Path | None = None) -> PackProcess:
    return PackProcess(SMALL_PACK, bitrate=BITRATE, state=state)

"""Cross-process: a 1 + 2 + 12 virtual pack (``sim --topology``) behind one emulated slcan adapter.

The tool's side is the real one: python-can's slcan driver on the pty, ``info --all`` as a
subprocess, :mod:`bmsflasher.discovery.pack_nodes` and the UDS target for single nodes. Every node
is a whole virtual BMS; the BCU's pack values and version checks come from the status frames its
BMUs send on the same paced bus.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time

from pack_support import PACK_15, REPO, PackProcess
from uds_support import SimProcess

from bmsflasher.discovery.pack_nodes import pack_node_target
from bmsflasher.links.can import CanLink

DID_PACK_LINK = 0xFD50
INCOMPATIBLE_NODE_DTC = 0xD30101
MODELS = {"bcu": "VBCU-1", "bmc": "VBMC-4", "bmu": "VBMU-16"}


def _info_all(pack: PackProcess | SimProcess, *, expect_ok: bool = True) -> dict[str, object]:
    config = pack.link_config()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bmsflasher.cli.main",
            "info",
            "--all",
            "--interface",
            "slcan",
            "--channel",
            config.channel,
            "--bitrate",
            str(config.bitrate),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=str(REPO / "src")),
        check=False,
    )
    assert (result.returncode == 0) is expect_ok, result.stderr
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def test_the_pack_starts_quickly_names_every_node_and_adds_up_its_modules() -> None:
    started = time.monotonic()
    with PackProcess() as pack:
        assert time.monotonic() - started < 8.0  # the interpreter's start included; the pack itself ~1 s
        assert pack.info["topology"] == PACK_15
        assert [node["tier"] for node in pack.nodes] == ["bcu"] + ["bmc"] * 2 + ["bmu"] * 12
        for node in pack.nodes:
            assert node["model"] == MODELS[str(node["tier"])]
            assert node["hardware"] == "A"
            assert node["firmware"] == "1.0.0"
            address = int(str(node["address"]))
            assert node["request_id"] == 0x18DA00F1 | address << 8
            assert node["response_id"] == 0x18DAF100 | address
            assert node["functional_id"] == 0x18DB33F1
        assert len({node["serial"] for node in pack.nodes}) == 15
        assert [d["serial"] for d in pack.devices] == [n["serial"] for n in pack.nodes]

        listed = _info_all(pack)
        assert listed["count"] == 15
        nodes = listed["nodes"]
        assert isinstance(nodes, list)
        assert [(n["address"], n["model"], n["serial"]) for n in nodes] == [
            (n["address"], n["model"], n["serial"]) for n in pack.nodes
        ]
        assert {n["version"] for n in nodes} == {"1.0.0"}
        assert {n["state"] for n in nodes} == {"application"}
        _bcu_reports_the_sum_of_its_bmus(pack)


def _bcu_reports_the_sum_of_its_bmus(pack: PackProcess) -> None:
    """The BCU's pack voltage is the sum of the BMUs' module voltages; every node hears the 14 others."""
    with CanLink.open(pack.link_config()) as link:
        bmus = [n for n in pack.nodes if n["tier"] == "bmu"]
        modules_mv = []
        for entry in bmus:
            target = pack_node_target(link, int(str(entry["address"])))
            try:
                modules_mv.append(target.read_telemetry().pack_voltage_mv)
            finally:
                target.client.close()
        bcu = pack_node_target(link, int(str(pack.node("bcu1")["address"])))
        try:
            pack_mv = bcu.read_telemetry().pack_voltage_mv
            frames, errors, sent, heard, expected = struct.unpack(
                ">IIIHH", bcu.client.read_did(DID_PACK_LINK, "the pack link counters")
            )
            assert bcu.run_self_test().passed
        finally:
            bcu.client.close()
        assert abs(pack_mv - sum(modules_mv)) <= 0.005 * sum(modules_mv)
        assert sum(modules_mv) > 12 * 40_000  # twelve 16-cell modules, not the BCU's own supply
        assert (heard, expected) == (14, 14)
        assert frames >= 14
        assert sent >= 1
        assert errors == 0


def test_info_all_on_a_bus_without_a_pack_says_so_in_the_json_error_shape() -> None:
    with SimProcess(bitrate=500_000) as sim:  # one 11-bit node (0x7E0/0x7E8): no pack address answers
        answer = _info_all(sim, expect_ok=False)
    assert answer["ok"] is False
    assert answer["error"] == "NoResponseError"
    assert "No pack node answered" in str(answer["message"])

"""``info --all`` through a Modbus TCP gateway: every node of a rack-wired pack, and a clear "none".

The pack (a BCU, a BMC and a BMU) runs in another process behind the virtual gateway
(``sim --protocol modbus --link tcp --topology …``); the tool is the real CLI with ``--tcp``. The
RS485 pty variant runs at the start of the healthy campaign proof (``test_campaign_rs485``).
"""

from __future__ import annotations

import json

import pytest
from pack_support import PackProcess

from bmsflasher.cli.main import main


def test_info_all_lists_every_node_behind_a_tcp_gateway(capsys: pytest.CaptureFixture[str]) -> None:
    with PackProcess("bcu=1,bmc=1,bmu=1", "--link", "tcp", protocol="modbus") as pack:
        gateway = f"{pack.info['host']}:{pack.info['tcp_port']}"
        capsys.readouterr()
        assert main(["info", "--all", "--tcp", gateway, "--addresses", "1-4", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert listed["count"] == 3
        assert [
            (n["address"], n["tier"], n["model"], n["serial"], n["version"], n["state"])
            for n in listed["nodes"]
        ] == [
            (n["address"], n["tier"], n["model"], n["serial"], n["firmware"], "application")
            for n in pack.nodes
        ]

        assert main(["info", "--all", "--tcp", gateway, "--addresses", "1-4"]) == 0
        table = capsys.readouterr().out
        assert "3 pack nodes" in table
        assert all(str(n["serial"]) in table for n in pack.nodes)

        code = main(["info", "--all", "--tcp", gateway, "--addresses", "7-8", "--json"])
        error = json.loads(capsys.readouterr().out)
        assert (code, error["error"]) == (error["exit_code"], "NoResponseError")
        assert "No pack node answered" in error["message"]

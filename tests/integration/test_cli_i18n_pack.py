"""The pack campaign, bundles, the CA and the CAN tools on the command line in Dutch and French.

Real commands against ``bmsflasher sim --topology bcu=1,bmc=1,bmu=2`` behind its emulated slcan
adapter (:mod:`campaign_slcan_support`): a campaign whose BMU fails its self-test (the whole pack is
reverted: self-test failures, revert log lines, the node table), ``rollback --all`` refused because
the other slots hold that newer failed image, and the commands around them (``verify`` of a bundle,
``ca init``/``issue``/``revoke``, ``dbc export``, ``log`` and ``monitor --dbc`` errors). Every line
they print is searched for an English catalogue sentence (:func:`test_cli_i18n.untranslated`), and
the words that are too short to be sentences (phase names, check names, results) are checked by name.
The slow variant adds a healthy campaign and ``rollback --all`` in both languages.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from campaign_slcan_support import BITRATE, DEMO_PUB, bundle, home_env, start_pack
from test_cli_i18n import cli, untranslated

from bmsflasher.core.resources import resource_path

ENGLISH_WORDS = (
    "▶ prepare", "▶ test boot", "▶ revert", "pack_nodes_answer", " 4 of 4", "rolled_back", "│ updated",
    ": newer", "device balancing circuit",
)  # fmt: skip
"""Short English words of these flows that :func:`untranslated` cannot tell from a label."""


def leaks(runs: dict[str, subprocess.CompletedProcess[str]], language: str) -> dict[str, list[str]]:
    """Per command, the output lines that are still English."""
    found: dict[str, list[str]] = {}
    for name, run in runs.items():
        text = run.stdout + "\n" + run.stderr
        if name == "history show":  # the records keep each step's detail as the English sentence
            text = "\n".join(line for line in text.splitlines() if not line.rstrip().endswith("│"))
        lines = [line for line, _template in untranslated(text, language)]
        lines += [line for line in text.splitlines() if any(word in line for word in ENGLISH_WORDS)]
        if lines:
            found[name] = lines
    return found


def around_the_pack(home: Path, language: str) -> dict[str, subprocess.CompletedProcess[str]]:
    """The commands of these flows that need no pack, in ``language``, success and error paths."""
    lang = ["--lang", language]
    out = home / f"out-{language}"
    out.mkdir()
    good = bundle(out, "pack-1.1.0")
    broken = out / "broken.bmsbundle"
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken.write_bytes(bytes(data))
    dbc, signals = resource_path("dbc", "vbms.dbc"), resource_path("dbc", "vbms.map.json")
    return {
        "verify bundle": cli(*lang, "verify", str(good), "--trust", str(DEMO_PUB)),
        "verify broken bundle": cli(*lang, "verify", str(broken), "--trust", str(DEMO_PUB)),
        "ca init": cli(*lang, "ca", "init", "--out", str(out / "root")),
        "ca init again": cli(*lang, "ca", "init", "--out", str(out / "root")),
        "ca issue": cli(
            *lang,
            "ca",
            "issue",
            "--ca",
            str(out / "root"),
            "--role",
            "technician",
            "--out",
            str(out / "anna"),
        ),
        "ca revoke": cli(*lang, "ca", "revoke", "--ca", str(out / "root"), str(out / "anna.crt")),
        "dbc export": cli(*lang, "dbc", "export", "--out", str(out / "x.dbc"), "--map", str(out / "m.json")),
        "log without a bus": cli(*lang, "log", "--out", str(out / "a.asc"), "--duration", "0.1"),
        "monitor --dbc, nothing heard": cli(
            *lang,
            "monitor",
            "--dbc",
            str(dbc),
            "--signals",
            str(signals),
            "--interface",
            "virtual",
            "--channel",
            f"i18n-{language}",
            "--count",
            "1",
            "--duration",
            "0.3",
        ),
    }


def on_the_pack(
    channel: str, home: Path, language: str, release: str
) -> dict[str, subprocess.CompletedProcess[str]]:
    bus = ["--interface", "slcan", "--channel", channel, "--bitrate", str(BITRATE)]
    db = ["--db", str(home / "history.sqlite3")]
    lang = ["--lang", language]
    runs = {
        f"campaign {release}": cli(
            *lang, "campaign", str(bundle(home, release)), *bus, "--trust", str(DEMO_PUB), *db, "--yes"
        ),
        "rollback --all": cli(*lang, "rollback", "--all", *bus, *db, "--yes"),
    }
    sessions = json.loads(cli("history", *db, "--json").stdout)["sessions"]
    runs["history"] = cli(*lang, "history", *db)
    runs["history show"] = cli(*lang, "history", "show", str(sessions[0]["id"]), *db)
    return runs


def test_a_reverted_campaign_and_its_neighbours_speak_dutch_and_french(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = home_env(tmp_path / "home", monkeypatch)
    pack = start_pack()
    try:
        nl = on_the_pack(str(pack.info["channel"]), home, "nl", "pack-1.1.0-bmu-selftest-fail")
        fr = {"rollback --all": cli("--lang", "fr", "rollback", "--all", "--interface", "slcan", "--channel",
                                    str(pack.info["channel"]), "--bitrate", str(BITRATE), "--db",
                                    str(home / "history.sqlite3"), "--yes")}  # fmt: skip
    finally:
        pack.stop()
    nl.update(around_the_pack(home, "nl"))
    fr.update(around_the_pack(home, "fr"))
    assert nl["campaign pack-1.1.0-bmu-selftest-fail"].returncode == 10
    assert nl["rollback --all"].returncode == 2  # the other slots hold the newer image that failed
    assert fr["rollback --all"].returncode == 2
    assert fr["verify bundle"].returncode == 0
    assert fr["verify broken bundle"].returncode == 3
    said = " ".join(nl["campaign pack-1.1.0-bmu-selftest-fail"].stdout.split())
    assert "▶ terugzetten" in said
    assert "Het apparaat gevraagd terug te keren van 1.1.0 naar 1.0.0" in said
    assert "apparaat: balanceercircuit is bleed current absent" in said  # the device's own value stays
    assert "teruggedraaid" in said
    assert "nieuwere firmware" in " ".join(nl["rollback --all"].stdout.split())
    assert "plus récent" in " ".join(fr["rollback --all"].stdout.split())
    assert leaks(nl, "nl") == {}
    assert leaks(fr, "fr") == {}


@pytest.mark.slow
@pytest.mark.parametrize("language", ["nl", "fr"])
def test_a_confirmed_campaign_and_rollback_all_speak_the_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    home = home_env(tmp_path / "home", monkeypatch)
    pack = start_pack()
    try:
        runs = on_the_pack(str(pack.info["channel"]), home, language, "pack-1.1.0")
    finally:
        pack.stop()
    assert runs["campaign pack-1.1.0"].returncode == 0
    assert runs["rollback --all"].returncode == 0
    assert leaks(runs, language) == {}

"""The command line in Dutch and French: no English sentence of the catalogue reaches the technician.

Real commands run against the virtual BMS on a pty (``info``, a healthy ``flash``, a ``flash``
refused by a too-low state of charge, an ``--override`` of a safety gate, a usage error, ``verify``
of a tampered package, ``history``, ``history verify`` and ``report``), once per language. Every line
they print (stdout and stderr, JSON excepted) is searched for the English rendering of every
catalogue sentence: a line that still holds one is a sentence the CLI or the engine did not
translate. Device text (serials, model names, the device's own check names and limits) is not in the
catalogue and may stay as the device sent it.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from proc_support import DEMO_PUB, HEALTHY, package, smp_bench

from bmsflasher.cli.main import main
from bmsflasher.core.i18n import catalogue
from i18n_support import marked_templates

LANGUAGES = ("nl", "fr")
_FIELD = re.compile(r"\{[^{}]*\}|%\([a-z_]+\)[sr]|%[sr]")
MIN_WORDS = 3
"""A template with fewer literal words ("model", "{check}: {value}") is a label, not a sentence."""


@cache
def english_sentences(language: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Every catalogue sentence whose translation differs from English, as a pattern of its rendering."""
    translations = catalogue(language)
    patterns = []
    for template in marked_templates():
        literal = _FIELD.sub(" ", template)
        if len(re.findall(r"[A-Za-z]{2,}", literal)) < MIN_WORDS:
            continue
        if translations.get(template, template) == template:
            continue  # the same words in both languages (a command line, a file name)
        parts = [re.escape(part) for part in _FIELD.split(template)]
        body = r".+?".join(part for part in parts)
        if not body.strip():
            continue
        start = r"\b" if re.match(r"\w", template) else ""
        end = r"\b" if re.search(r"\w$", template) else ""
        patterns.append((template, re.compile(start + body + end)))
    return tuple(patterns)


def untranslated(output: str, language: str) -> list[tuple[str, str]]:
    """(line, English template) for every output line that still holds an English sentence."""
    found = []
    for line in output.splitlines():
        for template, pattern in english_sentences(language):
            if pattern.search(line):
                found.append((line, template))
    return found


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in this process; a usage error's SystemExit becomes its exit code."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def port_of(bench) -> list[str]:  # type: ignore[no-untyped-def]
    return ["--port", bench.link.port, "--baud", str(bench.link.baud)]


@contextlib.contextmanager
def fresh_bench(tmp_path: Path, name: str, **sim: object) -> Iterator[object]:
    folder = tmp_path / name
    folder.mkdir()
    with smp_bench(folder, **sim) as bench:
        yield bench


def session_commands(tmp_path: Path, language: str) -> dict[str, subprocess.CompletedProcess[str]]:
    """One technician's session in ``language``: every command the test reads, by name."""
    lang = ["--lang", language]
    db = str(tmp_path / f"history-{language}.sqlite3")
    trust = ["--trust", str(DEMO_PUB)]
    runs: dict[str, subprocess.CompletedProcess[str]] = {}
    with fresh_bench(tmp_path, f"healthy-{language}") as bench:
        runs["info"] = cli(*lang, "info", *port_of(bench))
        runs["dtc"] = cli(*lang, "dtc", *port_of(bench))
        runs["monitor"] = cli(*lang, "monitor", *port_of(bench), "--count", "1")
        runs["backup"] = cli(*lang, "backup", *port_of(bench), "--db", db)
        runs["config diff"] = cli(*lang, "config", "diff", *port_of(bench), "--db", db)
        runs["scan"] = cli(*lang, "scan", "--port", bench.link.port, "--bauds", "9600", "--no-cache")
        runs["flash"] = cli(
            *lang, "flash", str(package(HEALTHY)), *port_of(bench), *trust, "--db", db, "--yes"
        )
    with fresh_bench(tmp_path, f"low-soc-{language}", soc_pct=15.0) as bench:
        runs["refused"] = cli(
            *lang, "flash", str(package(HEALTHY)), *port_of(bench), *trust, "--db", db, "--yes"
        )
    runs["override"] = cli(
        "flash", str(package(HEALTHY)), "--port", "/dev/null", *trust, "--yes",
        "--override", "state_of_charge=customer in a hurry", *lang,
    )  # fmt: skip
    runs["usage"] = cli(*lang, "flash")
    tampered = tmp_path / "tampered.bmspkg"
    data = bytearray(package(HEALTHY).read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    runs["verify"] = cli(*lang, "verify", str(tampered), *trust)
    runs["history"] = cli(*lang, "history", "--db", db)
    runs["history verify"] = cli(*lang, "history", "verify", "--db", db)
    sessions = json.loads(cli("history", "--db", db, "--json").stdout)["sessions"]
    runs["report"] = cli(
        *lang, "report", str(sessions[0]["id"]), "--db", db, "--out", str(tmp_path / "r.html")
    )
    return runs


@pytest.fixture(scope="module")
def sessions(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, dict[str, subprocess.CompletedProcess[str]]]:
    """Both languages' sessions, run once for the module, with the user folders in a temporary place."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            patch.setenv(var, str(home / var.lower()))
        return {
            language: session_commands(tmp_path_factory.mktemp(language), language) for language in LANGUAGES
        }


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_english_sentence_reaches_the_technician(sessions, language: str) -> None:  # type: ignore[no-untyped-def]
    runs = sessions[language]
    leaks = {
        name: untranslated(run.stdout + "\n" + run.stderr, language)
        for name, run in runs.items()
        if untranslated(run.stdout + "\n" + run.stderr, language)
    }
    assert not leaks, (
        f"English sentences in the {language} CLI: {json.dumps(leaks, indent=1, ensure_ascii=False)}"
    )


@pytest.mark.parametrize(
    ("language", "updated", "refused", "usage"),
    [
        ("nl", "Bijgewerkt", "Geweigerd voordat er iets werd geschreven", "fout:"),
        ("fr", "Mis à jour", "Refusé avant toute écriture", "erreur :"),
    ],
)
def test_the_commands_ran_and_spoke_the_language(
    sessions, language: str, updated: str, refused: str, usage: str
) -> None:  # type: ignore[no-untyped-def]
    runs = sessions[language]
    for name in ("info", "dtc", "monitor", "backup", "config diff"):
        assert runs[name].returncode == 0, runs[name].stdout + runs[name].stderr
    assert runs["scan"].returncode == 1  # nothing answers at 9600 baud: the verdict is what is read
    assert runs["flash"].returncode == 0, runs["flash"].stdout + runs["flash"].stderr
    assert updated in runs["flash"].stdout
    assert runs["refused"].returncode == 2
    assert refused in runs["refused"].stdout.replace("\n", " ")
    assert runs["override"].returncode == 2
    assert runs["usage"].returncode == 8
    assert usage in runs["usage"].stderr
    assert runs["verify"].returncode == 3
    assert runs["history"].returncode == 0
    assert runs["history verify"].returncode == 0
    assert runs["report"].returncode == 0, runs["report"].stderr


def test_the_same_commands_in_english_are_caught() -> None:
    """The detector itself: an English line is found, its translation is not (a green run means something)."""
    english = "Refused before anything was written: state of charge is 15.0 % (limit 20..80 %)."
    assert untranslated(english, "nl")
    assert not untranslated("Geweigerd voordat er iets werd geschreven: laadtoestand is 15.0 %.", "nl")


def test_json_output_stays_english(tmp_path: Path, data_home: Path) -> None:
    """Scripts read ``--json``: its sentences are English whatever ``--lang`` says."""
    with fresh_bench(tmp_path, "json", soc_pct=15.0) as bench:
        done = cli(
            "--lang", "fr", "flash", str(package(HEALTHY)), *port_of(bench), "--trust", str(DEMO_PUB),
            "--db", str(tmp_path / "h.sqlite3"), "--yes", "--json",
        )  # fmt: skip
    result = json.loads(done.stdout)
    assert result["reason"].startswith("Refused before anything was written")
    assert "Refusé avant toute écriture" in done.stderr.replace("\n", " ")

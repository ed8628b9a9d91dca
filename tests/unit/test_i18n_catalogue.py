"""The engine's and the CLI's message catalogue: every marked sentence has a Dutch and a French translation.

Sentences are marked with ``bmsflasher.core.i18n.t("...")``; ``tests/i18n_support.py`` finds every
such call in ``src/`` by parsing the code (not by running it), plus the troubleshooting rows and the
driver guidance, which are data. A sentence added without a translation fails here, and a
translation that drops or invents a ``{field}`` fails too.
"""

from __future__ import annotations

import json

import pytest

from bmsflasher.core import i18n
from bmsflasher.core.i18n import Text, catalogue, language_from_environment, localise, t, template_fields
from bmsflasher.core.resources import resource_path
from i18n_support import marked_templates


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_every_marked_sentence_is_translated(language: str) -> None:
    table = catalogue(language)
    missing = {template: where for template, where in marked_templates().items() if template not in table}
    assert not missing, (
        f"{len(missing)} sentences lack a {language} translation, e.g. {list(missing.items())[:3]}"
    )


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_translations_use_the_same_fields(language: str) -> None:
    wrong = {
        source: target
        for source, target in catalogue(language).items()
        if template_fields(source) != template_fields(target)
    }
    assert not wrong, f"fields differ in {language}: {list(wrong.items())[:3]}"


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_catalogue_files_are_well_formed(language: str) -> None:
    data = json.loads(resource_path("i18n", f"messages.{language}.json").read_text(encoding="utf-8"))
    assert data["format"] == 1
    assert data["language"] == language
    assert isinstance(data["messages"], dict)
    stale = sorted(set(data["messages"]) - set(marked_templates()))
    assert not stale, f"translations of sentences no longer in the code: {stale[:3]}"


def test_text_is_an_english_string_that_remembers_its_template() -> None:
    text = t("Port {port} is busy", port="/dev/ttyUSB0")
    assert text == "Port /dev/ttyUSB0 is busy"
    assert isinstance(text, str)
    assert text.template == "Port {port} is busy"
    assert json.dumps(text) == '"Port /dev/ttyUSB0 is busy"'


def test_localise_translates_nested_sentences_and_leaves_device_text_alone(monkeypatch) -> None:
    fake = {
        "Port {port} is busy: {why}": "Poort {port} is bezet: {why}",
        "another program holds it": "een ander programma houdt ze vast",
    }
    monkeypatch.setattr(i18n, "catalogue", lambda language: fake if language == "nl" else {})
    inner = t("another program holds it")
    outer = t("Port {port} is busy: {why}", port="/dev/ttyUSB0", why=inner)
    assert localise(outer, "nl") == "Poort /dev/ttyUSB0 is bezet: een ander programma houdt ze vast"
    assert localise(outer, "en") == "Port /dev/ttyUSB0 is busy: another program holds it"
    assert localise("VBMS-16 serial {x}", "nl") == "VBMS-16 serial {x}"  # not a Text: shown as given
    assert localise(t("no translation yet"), "nl") == "no translation yet"


def test_a_broken_translation_falls_back_to_english(monkeypatch) -> None:
    monkeypatch.setattr(i18n, "catalogue", lambda language: {"Cell {n}": "Cel {m}"})
    assert localise(t("Cell {n}", n=3), "nl") == "Cell 3"


def test_text_survives_pickling_with_its_template() -> None:
    import pickle

    text = pickle.loads(pickle.dumps(t("Cell {n}", n=3)))
    assert isinstance(text, Text)
    assert (text, text.template) == ("Cell 3", "Cell {n}")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"BMSFLASHER_LANG": "fr"}, "fr"),
        ({"LANG": "nl_BE.UTF-8"}, "nl"),
        ({"LC_ALL": "fr_FR.UTF-8", "LANG": "nl_NL.UTF-8"}, "fr"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_language_from_environment(environ: dict[str, str], expected: str) -> None:
    assert language_from_environment(environ) == expected

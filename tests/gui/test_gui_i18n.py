"""English, Dutch and French: complete catalogues, built by the project, switchable at run time."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator
from PySide6.QtWidgets import QApplication, QWizard

from bmsflasher.core.resources import resource_path
from bmsflasher.gui import i18n_build
from bmsflasher.gui.i18n import LanguageSwitcher
from bmsflasher.gui.main_window import MainWindow
from bmsflasher.gui.wizard.guidance import SOURCE_SENTENCES, guidance_for

from .conftest import GuiRig

pytestmark = pytest.mark.gui

_PLACEHOLDER = re.compile(r"%\d|%n")


def _messages(path: Path) -> list[tuple[str, str, ET.Element]]:
    root = ET.parse(path).getroot()
    found = []
    for context in root.iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            found.append((name, message.findtext("source") or "", message))
    return found


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_catalogue_is_complete_and_keeps_placeholders(language: str) -> None:
    messages = _messages(i18n_build.ts_path(language))
    assert len(messages) > 300
    for context, source, message in messages:
        translation = message.find("translation")
        assert translation is not None
        assert translation.get("type") not in {"unfinished", "obsolete", "vanished"}, (context, source)
        forms = [f.text or "" for f in translation.findall("numerusform")] or [translation.text or ""]
        for text in forms:
            assert text.strip(), (context, source)
            assert sorted(_PLACEHOLDER.findall(text)) == sorted(set(_PLACEHOLDER.findall(source))) or (
                "%n" in source and "%n" in text
            ), (context, source, text)
            assert text.replace("&&", "").count("&") <= 1, (context, source, text)
            if "&" in source.replace("&&", ""):
                assert "&" in text.replace("&&", ""), f"mnemonic lost: {source!r} -> {text!r}"


def test_catalogues_cover_every_string_in_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.ts"
    i18n_build._run_pyside_tool(
        "lupdate", ["-locations", "none", *map(str, i18n_build.gui_sources()), "-ts", str(fresh)]
    )
    in_code = {(context, source) for context, source, _m in _messages(fresh)}
    assert len(in_code) > 300
    for language in ("nl", "fr"):
        committed = {(context, source) for context, source, _m in _messages(i18n_build.ts_path(language))}
        missing = sorted(in_code - committed)
        assert not missing, f"run `python -m bmsflasher.gui.i18n_build --update` and translate: {missing[:5]}"


def test_troubleshooting_sentences_are_marked_for_translation() -> None:
    table = json.loads(resource_path("troubleshooting.json").read_text(encoding="utf-8"))
    sentences = {entry[key] for entry in table["entries"] for key in ("pattern", "diagnostic", "resolution")}
    assert sentences <= set(SOURCE_SENTENCES)
    advice = guidance_for("precondition_refused")
    assert advice is not None
    assert "20–80 %" in advice.diagnostic


def test_build_compiles_loadable_catalogues(qapp: QApplication, tmp_path: Path) -> None:
    written = i18n_build.build(out_dir=tmp_path)
    assert sorted(p.name for p in written) == ["bmsflasher_fr.qm", "bmsflasher_nl.qm"]
    translator = QTranslator()
    assert translator.load(str(tmp_path / "bmsflasher_fr.qm"))
    assert translator.translate("LivePage", "Live data") == "Données en direct"
    assert not i18n_build.is_stale("fr", tmp_path)


def test_language_switch_retranslates_the_running_window(rig: GuiRig, qapp: QApplication, qtbot) -> None:
    switcher = LanguageSwitcher(qapp)
    window = MainWindow(rig.model, switcher, None)
    try:
        rig.connect()
        rig.model.set_language("fr")  # LanguageChange events are posted: let the loop deliver them
        qtbot.waitUntil(lambda: window.nav.item(0).text() == "Appareils", timeout=3000)
        assert window.live_page.title.text() == "Données en direct"
        assert window.live_page.summary.tiles["soc"].caption.text() == "État de charge"
        assert window.menuBar().actions()[0].text() == "&Fichier"
        assert QCoreApplication.translate("Troubleshooting", SOURCE_SENTENCES[2]).startswith("Téléchargez")
        wizard = window.open_update_wizard()
        assert wizard is not None
        qapp.processEvents()
        assert wizard.windowTitle() == "Mise à jour du micrologiciel"
        assert "Suivant" in wizard.buttonText(QWizard.WizardButton.NextButton)  # Qt's own catalogue
        wizard.close()
        rig.model.set_language("nl")
        qtbot.waitUntil(lambda: window.nav.item(0).text() == "Apparaten", timeout=3000)
        assert window.devices_page.scan_button.text() == "&Zoeken (F5)"
        assert (
            "serienummer" in window.connection_label.text() or "VB2400007" in window.connection_label.text()
        )
        rig.model.set_language("en")
        qtbot.waitUntil(lambda: window.nav.item(0).text() == "Devices", timeout=3000)
        assert window.live_page.title.text() == "Live data"
    finally:
        switcher.set_language("en")
        window.close()
        window.deleteLater()

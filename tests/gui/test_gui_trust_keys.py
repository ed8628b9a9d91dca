"""Issue 14, trust: the update wizard says which signing keys it trusts and warns about the demo key.

``build_keyring(..., demo=False)`` warns when bmsflasher's public demo key (whose private half
anyone has) is trusted outside a demo, and lists the keys in use; the GUI never showed either, and
``gui --demo`` never declared itself a demo. Now the package page lists one line per key and shows
the warning in the technician's language, and the demo window shows no warning.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from bmsflasher.gui.app import build_session
from bmsflasher.gui.i18n import LanguageSwitcher
from bmsflasher.gui.options import add_arguments
from bmsflasher.gui.wizard.package_page import PackagePage

from .conftest import GuiRig, wait_until

pytestmark = pytest.mark.gui


@pytest.fixture
def switcher(qapp: QApplication) -> Iterator[LanguageSwitcher]:
    languages = LanguageSwitcher(qapp)
    yield languages
    languages.set_language("en")


def _package_page(rig: GuiRig) -> PackagePage:
    rig.connect()
    wizard = rig.window.open_update_wizard()
    assert wizard is not None
    page = wizard.package_page
    rig.wait(lambda: page.trust is not None, 10)
    return page


def test_the_package_page_warns_about_the_demo_key_outside_a_demo_and_lists_the_keys(
    rig: GuiRig, switcher: LanguageSwitcher
) -> None:
    page = _package_page(rig)
    engine = rig.model.engine
    assert not engine.demo
    keyring = engine.keyring()
    assert page.trust_warnings.isVisibleTo(page)
    warning = page.trust_warnings.text()
    assert "public demo key" in warning
    assert "never for a real battery" in warning
    lines = page.trust_keys.text().splitlines()
    assert lines == keyring.describe()  # one line per key in use
    assert len(lines) == len(keyring) >= 1
    assert all(line.startswith("Trusted key ") for line in lines)

    assert switcher.set_language("nl")
    rig.model.set_language("nl")
    rig.wait(lambda: "demosleutel" in page.trust_warnings.text(), 5)
    assert "nooit voor een echte batterij" in page.trust_warnings.text()
    assert page.trust_keys.text().startswith("Vertrouwde sleutel ")
    assert switcher.set_language("fr")
    rig.model.set_language("fr")
    rig.wait(lambda: "jamais pour une vraie batterie" in page.trust_warnings.text(), 5)
    assert page.trust_keys.text().startswith("Clé de confiance ")


def test_gui_demo_declares_a_demo_so_the_demo_key_is_listed_without_a_warning(
    qapp: QApplication, data_home: Path
) -> None:
    parser = argparse.ArgumentParser(prog="bmsflasher-gui")
    add_arguments(parser)
    args = parser.parse_args(["--demo", "--lang", "en", "--db", str(data_home / "history.sqlite3")])
    session = build_session(args, qapp)
    try:
        wait_until(qapp, lambda: session.model.identity is not None, 90)
        assert session.demo is not None
        assert session.model.engine.demo
        wizard = session.window.open_update_wizard()
        assert wizard is not None
        page = wizard.package_page
        wait_until(qapp, lambda: page.trust is not None, 10)
        assert not page.trust_warnings.isVisibleTo(page)
        assert page.trust is not None
        assert page.trust.warnings == ()
        lines = page.trust_keys.text().splitlines()
        assert lines
        assert any("public demo key" in line for line in lines)  # listed, as what it is
        wizard.close()
    finally:
        session.close()
        qapp.processEvents()

"""Switch the GUI language at run time (English, Dutch, French).

Qt's own dialogs and the wizard buttons ("Next", "Back") are translated by Qt's ``qtbase`` catalogue,
our text by ``bmsflasher_<lang>.qm`` (in the package's ``resources/i18n`` or the user's cache).
Installing a translator makes Qt send every widget a ``LanguageChange`` event; each page re-reads
its text in ``retranslate()``, so the switch needs no restart. The engine's sentences follow the same
switch (``engine_text.set_language``): they are rendered from their templates whenever shown.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import platformdirs
from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.gui import engine_text, i18n_build

LANGUAGE_NAMES: Final = {"en": "English", "nl": "Nederlands", "fr": "Français"}
"""Each language named in itself (endonym), so anyone can find their own in the menu."""

DEFAULT_LANGUAGE: Final = "en"

_log = logging.getLogger(__name__)


def system_language() -> str:
    """The supported language closest to the operating system's, English otherwise."""
    code = QLocale.system().name().split("_")[0]
    return code if code in LANGUAGE_NAMES else DEFAULT_LANGUAGE


def _cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("bmsflasher")) / "i18n"


def ensure_compiled(language: str) -> Path | None:
    """Return an up-to-date ``.qm`` for ``language``, building it when missing or stale.

    A current catalogue in the package's resources is used as is (the frozen bundle ships only
    those; ``make translations`` builds them in a checkout). Otherwise the ``.ts`` source is
    compiled into the user's cache folder, never into the installed package: a wheel's record
    would not know the file (``pip uninstall`` would leave it behind) and a system install is
    read-only. ``None`` means the language stays English.
    """
    if language == DEFAULT_LANGUAGE:
        return None
    try:
        if not i18n_build.ts_path(language).is_file():
            shipped = i18n_build.qm_path(language)
            return shipped if shipped.is_file() else None
        if not i18n_build.is_stale(language):
            return i18n_build.qm_path(language)
        cache = _cache_dir()
        if not i18n_build.is_stale(language, cache):
            return i18n_build.qm_path(language, cache)
        return i18n_build.build([language], out_dir=cache)[0]
    except (BmsFlasherError, OSError) as exc:
        _log.warning("the %s translation is unavailable: %s", language, exc)
        return None


class LanguageSwitcher:
    """Owns the installed translators of one application."""

    def __init__(self, app: QCoreApplication) -> None:
        self._app = app
        self._installed: list[QTranslator] = []
        self.language = DEFAULT_LANGUAGE

    def set_language(self, language: str) -> bool:
        """Install ``language``; False (and English) when it is unknown or its catalogue is missing."""
        if language not in LANGUAGE_NAMES:
            raise BmsFlasherError(
                f"'{language}' is not a supported language; choose one of {', '.join(LANGUAGE_NAMES)}"
            )
        for translator in self._installed:
            self._app.removeTranslator(translator)
        self._installed = []
        self.language = language
        QLocale.setDefault(QLocale(language))
        engine_text.set_language(DEFAULT_LANGUAGE)
        if language == DEFAULT_LANGUAGE:
            return True
        qt_catalogue = QTranslator(self._app)
        qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if qt_catalogue.load(f"qtbase_{language}", qt_dir):
            self._app.installTranslator(qt_catalogue)
            self._installed.append(qt_catalogue)
        ours = QTranslator(self._app)
        compiled = ensure_compiled(language)
        if compiled is None or not ours.load(str(compiled)):
            return False
        engine_text.set_language(language)  # before the LanguageChange events: widgets re-render in it
        self._app.installTranslator(ours)
        self._installed.append(ours)
        return True

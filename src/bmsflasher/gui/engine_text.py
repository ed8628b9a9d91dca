"""What the GUI shows that it did not write itself, in the technician's language and as plain text.

Three kinds of text reach the widgets:

* **engine sentences** (measured values, limits, "why it matters", log lines, results, errors,
  advice): the engine marks them with ``core.i18n.t`` and hands over a ``Text``; :func:`shown`
  renders it with :func:`bmsflasher.core.i18n.localise` in the GUI's language *at the moment it is
  displayed*, so a widget that keeps the original value shows it again in the new language after a
  switch. Plain ``str`` values pass through unchanged.
* **the GUI's own sentences** kept for later (a banner, a status line): :class:`GuiText` is such a
  sentence translated now that can be translated again after a language switch.
* **device and package text** (serial, model, revisions, DTC texts, release notes, file and member
  names): shown as given, never as rich text (:func:`plain_label`, :data:`DEVICE_TEXT_ROLE`).

Sentences shown as messages go through :func:`sentence`: a capital first letter, and a command of
the command-line tool (``'bmsflasher rollback'``) replaced by where the same thing is in this window.
"""

from __future__ import annotations

import re
from typing import Final

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PySide6.QtWidgets import QLabel, QTableWidgetItem

from bmsflasher.core.i18n import Text, localise

CONTEXT: Final = "EngineText"

DEVICE_TEXT_ROLE: Final = Qt.ItemDataRole.UserRole + 40
"""Set (True) on a table or list item that shows device or package text: the same in every language."""

DEVICE_TEXT_PROPERTY: Final = "deviceText"
"""Dynamic property (True) of a label that shows device or package text only."""

_language = "en"


def set_language(language: str) -> None:
    """The language engine sentences are shown in (set with the Qt translators, see ``gui.i18n``)."""
    global _language  # noqa: PLW0603 - one GUI, one language; set where the Qt translators are
    _language = language


def language() -> str:
    """The language engine sentences are shown in now."""
    return _language


def _fill(template: str, args: tuple[object, ...]) -> str:
    result = template
    for index in range(len(args), 0, -1):  # %10 before %1
        result = result.replace(f"%{index}", shown(args[index - 1]))
    return result


class GuiText(str):
    """A GUI sentence translated now that remembers how to translate itself again.

    Widgets that keep a sentence for later (the error banner, a status line) hold a ``GuiText`` so
    a language switch shows it in the new language instead of the one it was first written in.
    It is a ``str`` (the translation at creation), so it can be compared and searched like one.
    """

    context: str
    source: str
    args: tuple[object, ...]

    def __new__(cls, context: str, source: str, args: tuple[object, ...] = ()) -> GuiText:
        text = super().__new__(cls, _fill(QCoreApplication.translate(context, source), args))
        text.context = context
        text.source = source
        text.args = args
        return text

    def again(self) -> str:
        """The sentence in the language installed now."""
        return _fill(QCoreApplication.translate(self.context, self.source), self.args)


def later(context: str, source: object, *args: object) -> GuiText:
    """``source`` (marked with ``QT_TRANSLATE_NOOP(context, ...)``) with ``%1``… filled, kept translatable."""
    return GuiText(context, str(source), args)


def shown(value: object) -> str:
    """Any value as the GUI shows it now: engine and GUI sentences translated, anything else as is."""
    if value is None:
        return ""
    if isinstance(value, GuiText):
        return value.again()
    return localise(value, _language)


_NEGATIVE_ZERO: Final = re.compile(r"(?<![\w.,])-(0(?:[.,]0+)?)(?![.,]?\d)")
"""A minus before a zero that rounding left: "-0.00", "-0" (not "-0.01", not "VB-0")."""


def measured(value: object) -> str:
    """A measured value or limit: translated, and a rounded-away minus gone ("-0.00 %" → "0.00 %")."""
    return _NEGATIVE_ZERO.sub(r"\1", shown(value))


# --- commands of the command-line tool, said the GUI's way ------------------------------------------
_KNOWN_COMMANDS: Final = "history verify|flash|rollback|recover|scan|history|restore|backup|config"
_CLI_COMMAND: Final = re.compile(
    rf"'bmsflasher ([a-z]+(?: verify)?)[^']*'|`bmsflasher ([a-z]+(?: verify)?)[^`]*`"
    rf"|\bbmsflasher ({_KNOWN_COMMANDS})\b"
)
"""A command quoted ('bmsflasher flash PKG'), or a known one named bare ("run bmsflasher scan")."""

_IN_THIS_WINDOW: Final = {
    "flash": QT_TRANSLATE_NOOP("EngineText", "the update wizard (Update page)"),
    "rollback": QT_TRANSLATE_NOOP("EngineText", "Roll back on the Update page"),
    "recover": QT_TRANSLATE_NOOP("EngineText", "Recover… on the Devices page"),
    "scan": QT_TRANSLATE_NOOP("EngineText", "Scan on the Devices page"),
    "history verify": QT_TRANSLATE_NOOP("EngineText", "the History page"),
    "history": QT_TRANSLATE_NOOP("EngineText", "the History page"),
    "restore": QT_TRANSLATE_NOOP("EngineText", "Restore selected on the Configuration page"),
    "backup": QT_TRANSLATE_NOOP("EngineText", "Back up on the Configuration page"),
    "config": QT_TRANSLATE_NOOP("EngineText", "the Configuration page"),
}
"""Where the GUI does what a command does; a command not listed reads "the matching page"."""

_GUI_SENTENCES: Final = {
    "Update it with 'bmsflasher flash' or the update wizard: both check the battery first.": (
        QT_TRANSLATE_NOOP(
            "EngineText", "Update it with the update wizard (Update page): it checks the battery first."
        )
    ),
    "To install a newer release, run 'bmsflasher flash PKG': it is verified, self-tested and rolled back "
    "automatically if it fails.": QT_TRANSLATE_NOOP(
        "EngineText",
        "To install a newer release, open the update wizard (Update page): the package is verified, "
        "self-tested and rolled back automatically if it fails.",
    ),
    "Run the update again with that package to finish it, or run 'bmsflasher rollback'.": (
        QT_TRANSLATE_NOOP(
            "EngineText",
            "Run the update again with that package to finish it, or press Roll back on the Update page.",
        )
    ),
    "Run 'bmsflasher history verify' to see what else was changed.": QT_TRANSLATE_NOOP(
        "EngineText",
        "The service history was changed outside this application: keep the file for inspection and "
        "tell whoever looks after this computer.",
    ),
    "The device is in recovery mode with no bootable firmware, so the battery cannot be measured; bring "
    "it back with 'bmsflasher recover PKG' first.": QT_TRANSLATE_NOOP(
        "EngineText",
        "The device is in recovery mode with no bootable firmware, so the battery cannot be measured; "
        "bring it back with Recover… on the Devices page first.",
    ),
}
"""Engine sentences (English template) that name a command, as the GUI says them."""


def _without_commands(value: object) -> str:
    key = value.template if isinstance(value, Text) else str(value)
    gui = _GUI_SENTENCES.get(key)
    if gui is not None:
        return QCoreApplication.translate(CONTEXT, str(gui))
    text = shown(value)
    if "bmsflasher " not in text:
        return text

    def in_this_window(match: re.Match[str]) -> str:
        where = _IN_THIS_WINDOW.get(match.group(1) or match.group(2) or match.group(3))
        if where is None:
            return QCoreApplication.translate("EngineText", "the matching page of this window")
        return QCoreApplication.translate(CONTEXT, str(where))

    return _CLI_COMMAND.sub(in_this_window, text)


_FIRST_WORD: Final = re.compile(r"[^\W\d_]+(?=[\s,;:]|$)")
"""A leading plain word: "the device…" is capitalised, "notes.txt is…" or "vbms_16 …" is not."""


def capitalised(text: str) -> str:
    """``text`` with a capital first letter (messages are sentences; engine ones may start lower-case).

    Only a plain word is capitalised: a sentence that starts with a file name, a path or an
    identifier keeps it exactly as written.
    """
    stripped = text.lstrip()
    if stripped[:1].islower() and _FIRST_WORD.match(stripped):
        return stripped[0].upper() + stripped[1:]
    return stripped


def sentence(value: object) -> str:
    """A message or hint as the GUI shows it: translated, capitalised, and GUI actions for CLI commands.

    The GUI's own sentences (:class:`GuiText`) are written as sentences already and shown as they are.
    """
    if value is None:
        return ""
    if isinstance(value, GuiText):
        return value.again()
    return capitalised(_without_commands(value))


# --- device and package text ------------------------------------------------------------------------
def plain_label(label: QLabel, *, device: bool = True) -> QLabel:
    """Show ``label``'s text literally: a serial or file name like ``<font size=6>`` is not markup.

    ``device`` also marks it as device or package text (the same in every language).
    """
    label.setTextFormat(Qt.TextFormat.PlainText)
    if device:
        label.setProperty(DEVICE_TEXT_PROPERTY, True)
    return label


def device_item(text: str) -> QTableWidgetItem:
    """A table cell that shows device or package text (always plain in a table)."""
    item = QTableWidgetItem(text)
    item.setData(DEVICE_TEXT_ROLE, True)
    return item

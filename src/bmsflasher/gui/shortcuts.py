"""Keyboard shortcuts for buttons that also have a mnemonic.

``QAbstractButton.setShortcut`` and a "&" mnemonic in the button text share one slot: every
``setText`` (and so every language switch) would silently replace the shortcut with the mnemonic.
A separate ``QShortcut`` keeps both: Alt+letter from the translated text, and the fixed key here.
The shortcut is scoped to the page that owns it, so the same key can mean one thing per page.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QWidget


def bind_shortcut(button: QAbstractButton, keys: str, scope: QWidget) -> QShortcut:
    """Make ``keys`` click ``button`` (only while it is enabled) whenever ``scope`` has focus inside."""
    shortcut = QShortcut(QKeySequence(keys), scope)
    shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def activate() -> None:
        if button.isEnabled() and button.isVisible():
            button.animateClick()

    shortcut.activated.connect(activate)
    return shortcut

"""One place that turns Qt's language-change event into a call to ``retranslate()``.

Every page, wizard page and widget sets its visible text in ``retranslate()`` so a language switch
takes effect without a restart; this mixin is the single hook that calls it, instead of each class
repeating the same ``changeEvent`` override.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    _Base = QWidget
else:
    _Base = object


class RetranslateOnLanguageChange(_Base):
    """Mixin for QWidget subclasses; list it before the Qt base class.

    Example: ``class HistoryPage(RetranslateOnLanguageChange, QWidget)``.
    """

    def retranslate(self) -> None:
        """Set every visible text; subclasses override this."""

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

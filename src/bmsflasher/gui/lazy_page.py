"""A page slot in the main window's stack that builds its page the first time it is needed.

The live and pack pages pull in pyqtgraph and numpy and build a dozen plot items: about a third of
a second before the first window could be painted, spent on pages a technician may never open.
The slot stands in the stack from the start (navigation indexes do not move) and builds its page on
the first of: being shown, the page being asked for (``page``), or an event that needs it (the main
window asks when a device connects, so no sample or alarm reaches a page that does not exist yet).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget


class LazyPage(QWidget):
    """Holds ``build(parent)``'s page once built; ``on_built`` callbacks run right after the build."""

    def __init__(self, build: Callable[[QWidget], QWidget], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._build = build
        self._page: QWidget | None = None
        self.on_built: list[Callable[[QWidget], None]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> QWidget | None:
        """The page if it exists (None: nobody needed it yet); never builds."""
        return self._page

    @property
    def page(self) -> QWidget:
        """The page, built now if it was not yet."""
        if self._page is None:
            page = self._build(self)
            self._page = page
            layout = self.layout()
            if layout is not None:
                layout.addWidget(page)
            for callback in self.on_built:
                callback(page)
        return self._page

    def showEvent(self, event: QShowEvent) -> None:
        self.page.setVisible(True)
        super().showEvent(event)

"""Window sizes that fit the screen they open on.

The main window prefers 1280×820 and the update wizard 1080×720, but a 1366×768 laptop has about
1366×728 free once its taskbar is drawn: a window taller than that hides its status bar and its
bottom buttons below the screen edge. Every top-level window asks here for a size shrunk to the
free area of its screen.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QRect, QSize

SCREEN_SHARE: Final = 0.92
"""At most this share of the screen's free area, so the title bar and edges stay in reach."""


def fitted_size(available: QRect, preferred: QSize) -> QSize:
    """``preferred``, shrunk to fit ``available`` (a screen's free area, taskbar excluded)."""
    width = min(preferred.width(), int(available.width() * SCREEN_SHARE))
    height = min(preferred.height(), int(available.height() * SCREEN_SHARE))
    return QSize(width, height)

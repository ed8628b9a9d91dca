"""Screenshot checks shared by the GUI's screenshot tests (tests/screenshots/ is ignored by git).

Each grab is checked to be a real picture (right size, more than one colour) with no button drawn
over a table, and :func:`clipped_texts` lists one-line labels and buttons too narrow for their text.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"


def save_shot(widget: QWidget, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    assert widget.grab().save(str(path))
    image = QImage(str(path))
    assert image.width() >= 400
    assert image.height() >= 300
    colours = {image.pixel(x, y) for x in range(0, image.width(), 37) for y in range(0, image.height(), 29)}
    assert len(colours) > 8, f"{name} looks blank"
    assert_no_button_over_a_table(widget, name)
    return path


def assert_no_button_over_a_table(widget: QWidget, name: str) -> None:
    """A layout squeezed below its widgets' minimum sizes draws them over each other (it happened to the
    result page's buttons and its checks table in a small wizard)."""
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QAbstractScrollArea

    def box(child: QWidget) -> QRect:
        return QRect(child.mapTo(widget, child.rect().topLeft()), child.size())

    buttons = [b for b in widget.findChildren(QPushButton) if b.isVisible()]
    areas = [a for a in widget.findChildren(QAbstractScrollArea) if a.isVisible()]
    overlaps = [
        (b.text(), type(a).__name__)
        for b in buttons
        for a in areas
        if not a.isAncestorOf(b) and box(b).intersects(box(a))
    ]
    assert not overlaps, f"{name}: buttons drawn over a table or list: {overlaps}"


def shown_text(text: str) -> str:
    """The text as drawn: a single ``&`` marks a mnemonic, ``&&`` is a literal ampersand."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def clipped_texts(root: QWidget) -> list[str]:
    """Visible one-line labels and buttons whose text is wider than the room they were given."""
    clipped: list[str] = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisibleTo(root) or widget.width() <= 0:
            continue
        metrics = widget.fontMetrics()
        if (
            isinstance(widget, QLabel)
            and not widget.wordWrap()
            and widget.textFormat() != Qt.TextFormat.RichText
        ):
            text = shown_text(widget.text())
            if (
                text
                and "<" not in text
                and metrics.horizontalAdvance(text) > widget.contentsRect().width() + 1
            ):
                clipped.append(f"label {text!r}")
        elif isinstance(widget, QPushButton):
            text = shown_text(widget.text())
            room = widget.width() - (widget.iconSize().width() + 4 if not widget.icon().isNull() else 0)
            if text and metrics.horizontalAdvance(text) > room:
                clipped.append(f"button {text!r}")
    return clipped

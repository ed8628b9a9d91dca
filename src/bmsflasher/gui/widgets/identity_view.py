"""Who the connected battery is: model, serial, revisions, versions, mode and both image slots."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from bmsflasher.core.types import DeviceIdentity, SlotState
from bmsflasher.gui.engine_text import plain_label
from bmsflasher.gui.retranslate import RetranslateOnLanguageChange
from bmsflasher.gui.texts import mode_text

_EMPTY = "—"
_DEVICE_ROWS = 3
"""Model, serial number and hardware revision: the device's own words."""


def slot_text(slot: SlotState) -> str:
    """One slot as a short line: version and its MCUboot flags."""
    flags = [
        QCoreApplication.translate("IdentityView", str(name))
        for name, on in (
            (QT_TRANSLATE_NOOP("IdentityView", "active"), slot.active),
            (QT_TRANSLATE_NOOP("IdentityView", "confirmed"), slot.confirmed),
            (QT_TRANSLATE_NOOP("IdentityView", "pending"), slot.pending),
            (QT_TRANSLATE_NOOP("IdentityView", "permanent"), slot.permanent),
            (QT_TRANSLATE_NOOP("IdentityView", "bootable"), slot.bootable),
        )
        if on
    ]
    if slot.version is None:
        return QCoreApplication.translate("IdentityView", "empty")
    return f"{slot.version}  ({', '.join(flags)})" if flags else str(slot.version)


class IdentityView(RetranslateOnLanguageChange, QWidget):
    """A read-only form of a :class:`DeviceIdentity`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._form = QFormLayout(self)
        self._captions = [QLabel(self) for _ in range(9)]
        self.values = [QLabel(_EMPTY, self) for _ in range(9)]
        for index, (caption, value) in enumerate(zip(self._captions, self.values, strict=True)):
            plain_label(value, device=index < _DEVICE_ROWS)  # a serial like "<b>…" is not markup
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)  # French slot flags ("confirmée, amorçable") wrap, not clip
            self._form.addRow(caption, value)
        self._identity: DeviceIdentity | None = None
        self.retranslate()

    def retranslate(self) -> None:
        captions = [
            self.tr("Model:"),
            self.tr("Serial number:"),
            self.tr("Hardware revision:"),
            self.tr("Firmware:"),
            self.tr("Bootloader:"),
            self.tr("Mode:"),
            self.tr("Security counter:"),
            self.tr("Slot 0 (primary):"),
            self.tr("Slot 1 (secondary):"),
        ]
        for caption, text in zip(self._captions, captions, strict=True):
            caption.setText(text)
        self.show_identity(self._identity)

    def show_identity(self, identity: DeviceIdentity | None) -> None:
        """Fill the form (dashes when nothing is connected)."""
        self._identity = identity
        if identity is None:
            for value in self.values:
                value.setText(_EMPTY)
            return
        slots = {slot.slot: slot for slot in identity.slots}
        texts = [
            identity.model,
            identity.serial_number,
            identity.hardware_revision,
            str(identity.firmware_version) if identity.firmware_version else _EMPTY,
            str(identity.bootloader_version) if identity.bootloader_version else _EMPTY,
            mode_text(identity.mode),
            str(identity.security_counter),
            slot_text(slots[0]) if 0 in slots else _EMPTY,
            slot_text(slots[1]) if 1 in slots else _EMPTY,
        ]
        for value, text in zip(self.values, texts, strict=True):
            value.setText(text)

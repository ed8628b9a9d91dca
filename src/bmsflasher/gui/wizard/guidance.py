"""Troubleshooting guidance for the wizard's failure pages, in the technician's language.

The guidance itself lives in ``resources/troubleshooting.json`` (read through the procedure's
troubleshooting module) so the CLI, the GUI and the service report quote the same advice. The GUI
translates each sentence with the catalogue; the markers below let ``pyside6-lupdate`` extract the
current English sentences (a test keeps them in step with the JSON). A sentence that changed and has
no translation yet is shown in English rather than not at all.
"""

# ruff: noqa: E501 - the sentences must match the JSON exactly, so they are not wrapped
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication

from bmsflasher.gui.engine import troubleshooting_advice

CONTEXT = "Troubleshooting"

SOURCE_SENTENCES = (
    QT_TRANSLATE_NOOP("Troubleshooting", "Authentication rejection"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Verify the digital certificate chain: the package must be signed by a key in the trusted keyring and the device must accept the tool's security key.",
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "Re-download the firmware from a trusted source."),
    QT_TRANSLATE_NOOP("Troubleshooting", "Boot loop after the update"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Check the hardware compatibility matrix: the firmware must be released for this model and hardware revision.",
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "Roll back to the last stable version."),
    QT_TRANSLATE_NOOP("Troubleshooting", "Data transfer timeout"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Test the baud rate alignment between the tool and the device (or the CAN bitrate), and look for worn RS485/CAN cables or loose USB plugs.",
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Replace the communication cables, then run the update again: it resumes where it stopped.",
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "Self-test failed after the update"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Read which check failed (calibration, temperature sensors, balancing, communication, new fault codes) and compare with the release notes.",
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "The tool rolled back to the previous firmware; report the failed check to the manufacturer before trying this release again.",
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "Device stays in recovery mode"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "No bootable firmware is left on the device; check the supply voltage and the cable to the recovery port.",
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Flash the last stable version locally in recovery mode before attempting another update.",
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "Update refused by a precondition"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Read the failed gate, its measured value and its limit: charge 20–80 %, temperature 0–45 °C, no load, stable supply.",
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Bring the battery into range (charge or discharge, let it cool or warm, disconnect loads), then start again.",
    ),
)
"""The English sentences of the troubleshooting table, marked for translation."""


@dataclass(frozen=True, slots=True)
class Guidance:
    """One troubleshooting row, translated."""

    pattern: str
    diagnostic: str
    resolution: str


def guidance_for(kind_value: str | None) -> Guidance | None:
    """The translated row for a failure kind (a ``FailureKind`` or its value); None if none or unknown."""
    row = troubleshooting_advice(kind_value) if kind_value else None
    if row is None:
        return None
    return Guidance(
        QCoreApplication.translate(CONTEXT, row.pattern),
        QCoreApplication.translate(CONTEXT, row.diagnostic),
        QCoreApplication.translate(CONTEXT, row.resolution),
    )

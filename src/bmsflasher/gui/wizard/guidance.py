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
    QT_TRANSLATE_NOOP("Troubleshooting", "Technician not authenticated"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "The device accepts writes only from an authenticated technician: check that your technician certificate and key are in your credentials folder (or named with --technician), issued by the vendor CA this device trusts, valid today and not revoked.",
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Install a valid technician certificate from your vendor, then run the update again; nothing was written to the battery without it.",
    ),
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
    QT_TRANSLATE_NOOP("Troubleshooting", "Port or adapter not found"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "The named port or adapter does not exist: check its name against the adapters the scan lists, and that the adapter is plugged in and powered.",
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Plug the adapter in or correct the port name, then start again; nothing was written to the battery.",
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "Port in use by another program"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Another program (a terminal, a second copy of this tool, a vendor tool) holds the port or adapter.",
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Close the other program or choose another adapter, then start again; nothing was written to the battery.",
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "No permission to open the port"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "The operating system refused access to the port: on Linux the user must be in the dialout group or the udev rules shipped with the tool must be installed.",
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Grant access (log out and in again after joining the group), then start again; nothing was written to the battery.",
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "The port is not a usable adapter"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "The named port or CAN interface cannot be driven as a serial adapter or CAN interface (for example a file such as /dev/null, or an interface name the CAN library does not know).",
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Choose the port of the USB, RS485 or CAN adapter the battery is connected to, then start again.",
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "An option or file is not valid"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting", "An option, file or value given to the tool is not valid; the message names it."
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Correct the named option or file, then start again; nothing was written to the battery.",
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "Connection lost during the operation"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "The cable or adapter disconnected while the tool was talking to the battery: a pulled USB plug, a loose RS485 or CAN connector, or a laptop going to sleep.",
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting", "Reconnect the cable and run the update again: it resumes where it stopped."
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "Package damaged or altered"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "The package failed an integrity check (format, size, hash or expiry) before anything was written to the battery.",
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Download the package again from the manufacturer; never use a copy that fails this check.",
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "Package not made for this battery"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "The package's model, hardware revisions or minimum bootloader do not match the device; the failed check names which.",
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Use the release built for this model and hardware revision; nothing was written to the battery.",
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "Downgrade blocked by anti-rollback"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "The package's security counter is below the device's: the battery has accepted a newer security fix and refuses older firmware.",
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Install the current release or a newer one; older releases can no longer be installed on this battery.",
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "The device refused or answered garbage"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "The device rejected a request or gave an answer its protocol does not allow: firmware that does not support this operation, or noise on the line.",
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Check that the device's firmware supports this tool and look at the cabling, then try again.",
    ),
    QT_TRANSLATE_NOOP("Troubleshooting", "Cannot write the service record or journal"),
    QT_TRANSLATE_NOOP(
        "Troubleshooting", "The disk is full, or the history database or the journal folder is not writable."
    ),
    QT_TRANSLATE_NOOP(
        "Troubleshooting",
        "Free disk space or fix the folder's permissions, then run the same operation again.",
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

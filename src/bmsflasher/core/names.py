"""The words a technician reads for a check or a step: "state of charge", not ``state_of_charge``.

A :class:`~bmsflasher.core.events.Measurement` and a step keep their names as stable keys (JSON,
records, ``--override GATE=REASON``, the journal); what a person reads is looked up here, once, so
the CLI's lines, the refusal sentence and the GUI's tables name them the same way in every
language. The English words are the key with spaces, as they have always been printed. A key this
table does not know is shown with spaces and is not translated; the device's own self-test checks
are marked as the device's, and the ones the GUI also knows (:data:`DEVICE_CHECK_NAMES`) translated.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from bmsflasher.core.i18n import t

CHECK_NAMES: Final = MappingProxyType(
    {
        # precondition gates
        "model": t("model"),
        "hardware_revision": t("hardware revision"),
        "device_mode": t("device mode"),
        "bootloader_version": t("bootloader version"),
        "anti_rollback": t("anti rollback"),
        "state_of_charge": t("state of charge"),
        "temperature": t("temperature"),
        "load_current": t("load current"),
        "critical_dtcs": t("critical dtcs"),
        "cell_voltage_stability": t("cell voltage stability"),
        "supply_stability": t("supply stability"),
        "link_quality": t("link quality"),
        "signing_key": t("signing key"),
        # self-test checks
        "voltage_calibration": t("voltage calibration"),
        "reference_voltage": t("reference voltage"),
        "temperature_sensors": t("temperature sensors"),
        "communication_speed": t("communication speed"),
        "balancing": t("balancing"),
        "new_dtcs": t("new dtcs"),
        # package checks (verify)
        "signature": t("signature"),
        "image_hash": t("image hash"),
        "expiry": t("expiry"),
        # a pack campaign's own checks
        "node_fault": t("no node in fault"),
        "pack_nodes_answer": t("every node answers"),
        "pack_versions": t("every node runs the set"),
        "pack_voltage_sum": t("pack voltage = sum of modules"),
        "pack_communication": t("communication between nodes"),
    }
)
"""Check key → the words for it (English: the key with spaces)."""


STEP_NAMES: Final = MappingProxyType(
    {
        "verify_package": t("verify package"),
        "identify": t("identify"),
        "preconditions": t("preconditions"),
        "backup": t("backup"),
        "transfer": t("transfer"),
        "reboot": t("reboot"),
        "self_test": t("self test"),
        "prepare": t("prepare"),
        "test_boot": t("test boot"),
        "revert": t("revert"),
        "confirm": t("confirm"),
        "config_check": t("config check"),
        "rollback": t("rollback"),
        "config_restore": t("config restore"),
        "report": t("report"),
        "recovery": t("recovery"),
        "security_access": t("security access"),
    }
)
"""Step key (a :class:`~bmsflasher.procedure.states.State` value or a flow's step) → its short name."""


DEVICE_CHECK_PREFIX: Final = "device_"
"""Prefix of the checks the device's own self-test reports (the rest of the name is the device's)."""

DEVICE_CHECK_NAMES: Final = MappingProxyType(
    {
        "voltage_calibration": t("voltage calibration"),
        "temperature_sensors": t("temperature sensors"),
        "balancing_circuit": t("balancing circuit"),
        "firmware_integrity": t("firmware integrity"),
        "reference_voltage": t("reference voltage"),
        "communication": t("communication"),
    }
)
"""The device self-test checks the GUI also names (``gui/parameter_texts``): the same words in the CLI
and in a campaign's sentences; any other check the device reports keeps its own name."""


def check_name(name: str) -> str:
    """The words for a check's key; a device's own check is marked as such (its name kept if unknown)."""
    if name in CHECK_NAMES:
        return CHECK_NAMES[name]
    if name.startswith(DEVICE_CHECK_PREFIX):
        key = name[len(DEVICE_CHECK_PREFIX) :]
        return t("device {check}", check=DEVICE_CHECK_NAMES.get(key) or key.replace("_", " "))
    return name.replace("_", " ")


OUTCOME_NAMES: Final = MappingProxyType(
    {
        "updated": t("updated"),
        "refused": t("refused"),
        "rolled_back": t("rolled back"),
        "failed": t("failed"),
        "cancelled": t("cancelled"),
        "recovered": t("recovered"),
        "backed_up": t("backed up"),
        "restored": t("restored"),
        "config_written": t("configuration written"),
        "untouched": t("untouched"),
    }
)
"""A node's or session's outcome key (JSON and records keep the key) → its word."""

SESSION_KIND_NAMES: Final = MappingProxyType(
    {
        "update": t("update"),
        "rollback": t("rollback"),
        "recovery": t("recovery"),
        "backup": t("backup"),
        "restore": t("restore"),
        "config_write": t("configuration change"),
        "campaign": t("pack campaign"),
        "pack_rollback": t("pack rollback"),
    }
)
"""A service session's kind (a stable key in the records) → its word."""


def session_kind_name(kind: str) -> str:
    """The word for a session's kind; an unknown kind with spaces."""
    return SESSION_KIND_NAMES.get(kind) or kind.replace("_", " ")


def outcome_name(outcome: str) -> str:
    """The word for an outcome key; an unknown key with spaces."""
    return OUTCOME_NAMES.get(outcome) or outcome.replace("_", " ")


def step_name(step: str) -> str:
    """The short name of a step's key (``self_test`` → "self test"); unknown keys with spaces."""
    return STEP_NAMES.get(step) or step.replace("_", " ")


FIELD_NAMES: Final = MappingProxyType(
    {
        "model": t("model"),
        "serial_number": t("serial number"),
        "hardware_revision": t("hardware revision"),
        "firmware_version": t("firmware version"),
        "bootloader_version": t("bootloader version"),
        "mode": t("mode"),
        "security_counter": t("security counter"),
        "link": t("link"),
    }
)
"""A device identity's field (``info``'s JSON keys) → its words."""

MODE_NAMES: Final = MappingProxyType(
    {"application": t("application"), "bootloader": t("bootloader"), "recovery": t("recovery")}
)
"""A device mode (:class:`~bmsflasher.core.types.DeviceMode` value) → its word."""


def field_name(key: str) -> str:
    """The words for an identity field's key (``serial_number`` → "serial number")."""
    return FIELD_NAMES.get(key) or key.replace("_", " ")


def mode_name(mode: str) -> str:
    """The word for a device mode's value (``recovery``, translated); an unknown mode as is."""
    return MODE_NAMES.get(mode) or mode


SEVERITY_NAMES: Final = MappingProxyType(
    {"info": t("info"), "warning": t("warning"), "critical": t("critical")}
)
"""A trouble code's severity (:class:`~bmsflasher.core.types.DtcSeverity` value) → its word."""


def severity_name(severity: str) -> str:
    """The word for a trouble code's severity value; an unknown one as is."""
    return SEVERITY_NAMES.get(severity) or severity

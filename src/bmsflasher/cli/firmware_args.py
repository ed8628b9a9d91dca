"""Argument types of the firmware commands (``package`` and ``verify``): one clear sentence per bad value.

argparse turns an ``ArgumentTypeError`` into a usage error (exit 8) that quotes the sentence, so a
typo in a version or a counter is named before any file is read.
"""

from __future__ import annotations

import argparse

from bmsflasher.cli.console import say
from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.behaviour import parse_sim_behaviour
from bmsflasher.firmware.errors import FirmwareInputError


def version_arg(text: str) -> FirmwareVersion:
    """``X.Y.Z`` or ``X.Y.Z+BUILD``."""
    try:
        return FirmwareVersion.parse(text)
    except BmsFlasherError as exc:
        raise argparse.ArgumentTypeError(
            say(t("'{text}' is not a version of the form X.Y.Z or X.Y.Z+BUILD", text=text))
        ) from exc


def counter_arg(text: str) -> int:
    """An anti-rollback security counter: a decimal whole number that fits MCUboot's 32 bits."""
    try:
        value = int(text, 10)
    except ValueError:
        value = -1
    if not 0 <= value <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(
            say(t("'{text}' is not a security counter (a whole number 0..4294967295)", text=text))
        )
    return value


def revisions_arg(text: str) -> tuple[str, ...]:
    """Hardware revisions separated by commas (``B`` or ``B,C``)."""
    revisions = tuple(part.strip() for part in text.split(",") if part.strip())
    if not revisions:
        raise argparse.ArgumentTypeError(say(t("give at least one hardware revision, e.g. B or B,C")))
    return revisions


def behaviour_arg(text: str) -> str:
    """A virtual-BMS behaviour a demo package carries (see ``BEHAVIOUR_HELP``)."""
    try:
        return parse_sim_behaviour(text)
    except FirmwareInputError as exc:
        raise argparse.ArgumentTypeError(say(exc.message).rstrip(".")) from exc


def header_size_arg(text: str) -> int:
    """An MCUboot header size in bytes, decimal or 0x-prefixed (as imgtool takes it)."""
    try:
        value = int(text, 0)
    except ValueError:
        value = -1
    if not 32 <= value <= 0xFFFF:
        raise argparse.ArgumentTypeError(
            say(t("'{text}' is not a header size between 32 and 0xffff", text=text))
        )
    return value

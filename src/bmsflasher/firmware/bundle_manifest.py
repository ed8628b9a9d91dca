"""``bundle.json``: what a manufacturer states about a set of firmware released together for a pack.

Strict like the package manifest (:mod:`bmsflasher.firmware.package`): no duplicate keys, no
unknown fields, typed and range-checked, and the bytes are verified as stored, never re-serialised.
The rules that make a bundle usable by a campaign are checked here too, so a bundle that parses is
one a campaign can run: exactly one package for every (model, hardware revision), an update order
naming each tier that has packages exactly once, and a minimum node count only for tiers that
have packages. See docs/bundle-format.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.bundle_errors import (
    BundleManifestError,
    DuplicateBundleEntryError,
    MissingBundlePackageError,
)
from bmsflasher.firmware.demo_pack_models import Tier
from bmsflasher.firmware.errors import ManifestSchemaError
from bmsflasher.firmware.package import (
    MAX_HW_REV_CHARS,
    MAX_HW_REVISIONS,
    MAX_MODEL_CHARS,
    MAX_PACKAGE_BYTES,
    MAX_RELEASE_NOTES_CHARS,
    PACKAGE_SUFFIX,
    format_timestamp,
    is_safe_member_name,
    parse_timestamp,
)

BUNDLE_SUFFIX: Final = ".bmsbundle"
BUNDLE_FORMAT_NAME: Final = "bmsflasher-bundle"
BUNDLE_FORMAT_VERSION: Final = 1
BUNDLE_MANIFEST_NAME: Final = "bundle.json"
BUNDLE_SIGNATURE_NAME: Final = "bundle.sig"
MAX_BUNDLE_MANIFEST_BYTES: Final = 256 * 1024
MAX_ENTRIES: Final = 16
"""Node types in one bundle; a pack has a handful (one or two models per tier)."""
MAX_MINIMUM_NODES: Final = 4096
MAX_RELEASE_CHARS: Final = 64

_LABEL_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+/-]*$")
_SHA256_RE: Final = re.compile(r"^[0-9a-f]{64}$")
_FIELDS: Final = frozenset(
    {
        "format",
        "format_version",
        "release",
        "release_notes",
        "created",
        "expires",
        "signing_key_id",
        "order",
        "minimum_nodes",
        "packages",
    }
)
_ENTRY_FIELDS: Final = frozenset(
    {"tier", "model", "hardware_revisions", "version", "security_counter", "file", "sha256", "size"}
)


@dataclass(frozen=True, slots=True)
class BundleManifestEntry:
    """One node type and the package that serves it, as the signed bundle manifest states them."""

    tier: Tier
    model: str
    hardware_revisions: tuple[str, ...]
    version: FirmwareVersion
    security_counter: int
    file: str
    sha256: bytes
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier.value,
            "model": self.model,
            "hardware_revisions": list(self.hardware_revisions),
            "version": str(self.version),
            "security_counter": self.security_counter,
            "file": self.file,
            "sha256": self.sha256.hex(),
            "size": self.size,
        }


@dataclass(frozen=True, slots=True)
class BundleManifest:
    """The signed statement of a release bundle (``bundle.json``)."""

    release: str
    release_notes: str
    created: datetime
    expires: datetime | None
    signing_key_id: str
    order: tuple[Tier, ...]
    minimum_nodes: Mapping[Tier, int]
    entries: tuple[BundleManifestEntry, ...]
    format_version: int = BUNDLE_FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (``verify --json``, and what :meth:`to_json_bytes` signs)."""
        return {
            "format": BUNDLE_FORMAT_NAME,
            "format_version": self.format_version,
            "release": self.release,
            "release_notes": self.release_notes,
            "created": format_timestamp(self.created),
            "expires": None if self.expires is None else format_timestamp(self.expires),
            "signing_key_id": self.signing_key_id,
            "order": [tier.value for tier in self.order],
            "minimum_nodes": {tier.value: count for tier, count in self.minimum_nodes.items()},
            "packages": [entry.to_dict() for entry in self.entries],
        }

    def to_json_bytes(self) -> bytes:
        """Canonical UTF-8 JSON (sorted keys, 2-space indent, trailing newline): what gets signed."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        return text.encode("utf-8")


# --- reading -----------------------------------------------------------------------------------------
def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise BundleManifestError(t("The bundle manifest defines '{name}' more than once.", name=name))
        result[name] = value
    return result


def _reject_constant(name: str) -> Any:
    raise BundleManifestError(t("The bundle manifest contains the non-JSON number {name}.", name=name))


def _schema_error(name: str) -> BundleManifestError:
    return BundleManifestError(t("Bundle manifest field '{name}' is missing or invalid.", name=name))


def _int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BundleManifestError(
            t(
                "Bundle manifest field '{name}' must be an integer from {low} to {high}.",
                name=name,
                low=low,
                high=high,
            )
        )
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise BundleManifestError(t("Bundle manifest field '{name}' must be a string.", name=name))
    return value


def _label(value: Any, name: str, max_chars: int) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= max_chars or not _LABEL_RE.match(value):
        raise BundleManifestError(
            t(
                "Bundle manifest field '{name}' must be 1 to {max_chars} letters, digits or . _ + / - "
                "characters.",
                name=name,
                max_chars=max_chars,
            )
        )
    return value


def _version(value: Any, name: str) -> FirmwareVersion:
    try:
        return FirmwareVersion.parse(_text(value, name))
    except BmsFlasherError as exc:
        if isinstance(exc, BundleManifestError):
            raise
        raise BundleManifestError(
            t("Bundle manifest field '{name}' is not a version of the form X.Y.Z[+BUILD].", name=name)
        ) from exc


def _timestamp(value: Any, name: str) -> datetime:
    try:
        return parse_timestamp(_text(value, name), name)
    except ManifestSchemaError as exc:
        raise BundleManifestError(
            t("Bundle manifest field '{name}' must be a UTC time like 2025-01-31T12:00:00Z.", name=name)
        ) from exc


def parse_tier(value: Any, name: str) -> Tier:
    """A tier name (``bmu``, ``bmc``, ``bcu``); raises BundleManifestError naming the field."""
    try:
        return Tier(value)
    except ValueError as exc:
        raise BundleManifestError(
            t(
                "Bundle manifest field '{name}' names tier '{value}'; the tiers are bmu, bmc and bcu.",
                name=name,
                value=value,
            )
        ) from exc


def _entry(raw: Any, index: int) -> BundleManifestEntry:
    where = f"packages[{index}]"
    if not isinstance(raw, dict) or set(raw) != _ENTRY_FIELDS:
        raise BundleManifestError(
            t(
                "Bundle manifest entry {where} must hold exactly tier, model, hardware_revisions, version, "
                "security_counter, file, sha256 and size.",
                where=where,
            )
        )
    revisions_raw = raw["hardware_revisions"]
    if not isinstance(revisions_raw, list) or not 0 < len(revisions_raw) <= MAX_HW_REVISIONS:
        raise _schema_error(f"{where}.hardware_revisions")
    revisions = tuple(_label(rev, f"{where}.hardware_revisions", MAX_HW_REV_CHARS) for rev in revisions_raw)
    if len(set(revisions)) != len(revisions):
        raise BundleManifestError(
            t("Bundle manifest entry {where} lists a hardware revision twice.", where=where)
        )
    file_name = _text(raw["file"], f"{where}.file")
    if (
        not is_safe_member_name(file_name)
        or not file_name.endswith(PACKAGE_SUFFIX)
        or file_name in (BUNDLE_MANIFEST_NAME, BUNDLE_SIGNATURE_NAME)
    ):
        raise BundleManifestError(
            t(
                "Bundle manifest field '{name}' must be a plain file name ending in {suffix}.",
                name=f"{where}.file",
                suffix=PACKAGE_SUFFIX,
            )
        )
    digest = _text(raw["sha256"], f"{where}.sha256")
    if not _SHA256_RE.match(digest):
        raise _schema_error(f"{where}.sha256")
    return BundleManifestEntry(
        tier=parse_tier(raw["tier"], f"{where}.tier"),
        model=_label(raw["model"], f"{where}.model", MAX_MODEL_CHARS),
        hardware_revisions=revisions,
        version=_version(raw["version"], f"{where}.version"),
        security_counter=_int(raw["security_counter"], f"{where}.security_counter", 0, 0xFFFFFFFF),
        file=file_name,
        sha256=bytes.fromhex(digest),
        size=_int(raw["size"], f"{where}.size", 1, MAX_PACKAGE_BYTES),
    )


def parse_bundle_manifest(data: bytes) -> BundleManifest:
    """Parse and validate ``bundle.json`` bytes.

    Raises:
        BundleManifestError: not JSON, a field missing, unknown, of the wrong type or out of range.
        DuplicateBundleEntryError: two entries share a file or a (model, hardware revision).
        MissingBundlePackageError: the order or the minimum names a tier no entry serves.
    """
    if len(data) > MAX_BUNDLE_MANIFEST_BYTES:
        raise BundleManifestError(
            t("The bundle manifest is larger than {limit} bytes.", limit=MAX_BUNDLE_MANIFEST_BYTES)
        )
    try:
        doc = json.loads(
            data.decode("utf-8"), object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except UnicodeDecodeError as exc:
        raise BundleManifestError(t("The bundle manifest is not UTF-8 text.")) from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        raise BundleManifestError(t("The bundle manifest is not valid JSON.")) from exc
    if not isinstance(doc, dict):
        raise BundleManifestError(t("The bundle manifest must be a JSON object."))
    if doc.get("format") != BUNDLE_FORMAT_NAME:
        raise BundleManifestError(
            t("The bundle manifest's 'format' must be '{name}'.", name=BUNDLE_FORMAT_NAME)
        )
    if _int(doc.get("format_version"), "format_version", 0, 0xFFFF) != BUNDLE_FORMAT_VERSION:
        raise BundleManifestError(
            t(
                "Bundle format version {version} is not supported (this tool reads {supported}).",
                version=doc["format_version"],
                supported=BUNDLE_FORMAT_VERSION,
            )
        )
    unknown = sorted(set(doc) - _FIELDS)
    if unknown:
        raise BundleManifestError(t("The bundle manifest has unknown field '{field}'.", field=unknown[0]))
    missing = sorted(_FIELDS - set(doc))
    if missing:
        raise BundleManifestError(t("The bundle manifest lacks required field '{field}'.", field=missing[0]))

    packages = doc["packages"]
    if not isinstance(packages, list) or not 0 < len(packages) <= MAX_ENTRIES:
        raise BundleManifestError(
            t("Bundle manifest field 'packages' must list 1 to {limit} packages.", limit=MAX_ENTRIES)
        )
    entries = tuple(_entry(raw, index) for index, raw in enumerate(packages))
    check_entries_unique(entries)
    order = _order(doc["order"])
    minimum = _minimum(doc["minimum_nodes"])
    check_tiers_served(entries, order, minimum)

    notes = _text(doc["release_notes"], "release_notes")
    if len(notes) > MAX_RELEASE_NOTES_CHARS:
        raise BundleManifestError(
            t("The bundle's release notes are longer than {limit} characters.", limit=MAX_RELEASE_NOTES_CHARS)
        )
    created = _timestamp(doc["created"], "created")
    expires = None if doc["expires"] is None else _timestamp(doc["expires"], "expires")
    if expires is not None and expires <= created:
        raise BundleManifestError(t("The bundle manifest expires before it was created."))
    signer = _text(doc["signing_key_id"], "signing_key_id")
    if not _SHA256_RE.match(signer):
        raise _schema_error("signing_key_id")
    return BundleManifest(
        release=_label(doc["release"], "release", MAX_RELEASE_CHARS),
        release_notes=notes,
        created=created,
        expires=expires,
        signing_key_id=signer,
        order=order,
        minimum_nodes=minimum,
        entries=entries,
    )


def _order(raw: Any) -> tuple[Tier, ...]:
    if not isinstance(raw, list) or not raw:
        raise BundleManifestError(t("Bundle manifest field 'order' must list the tiers to update, in order."))
    order = tuple(parse_tier(value, "order") for value in raw)
    if len(set(order)) != len(order):
        raise BundleManifestError(t("Bundle manifest field 'order' names a tier twice."))
    return order


def _minimum(raw: Any) -> dict[Tier, int]:
    if not isinstance(raw, dict):
        raise BundleManifestError(t("Bundle manifest field 'minimum_nodes' must map tiers to node counts."))
    return {
        parse_tier(name, "minimum_nodes"): _int(count, f"minimum_nodes.{name}", 0, MAX_MINIMUM_NODES)
        for name, count in raw.items()
    }


def check_entries_unique(entries: Sequence[BundleManifestEntry]) -> None:
    """Exactly one entry per package file and per (model, hardware revision).

    Raises:
        DuplicateBundleEntryError: naming the file, or the model and revision, served twice.
    """
    files: set[str] = set()
    served: dict[tuple[str, str], BundleManifestEntry] = {}
    for entry in entries:
        if entry.file in files:
            raise DuplicateBundleEntryError(
                t("The bundle lists the package {file} twice.", file=entry.file),
                hint=t("List each package once."),
            )
        files.add(entry.file)
        for revision in entry.hardware_revisions:
            other = served.get((entry.model, revision))
            if other is not None:
                raise DuplicateBundleEntryError(
                    t(
                        "The bundle has two packages for {model} hardware revision {revision}: {first} and "
                        "{second}.",
                        model=entry.model,
                        revision=revision,
                        first=other.file,
                        second=entry.file,
                    ),
                    hint=t("Keep one package per model and hardware revision."),
                )
            served[(entry.model, revision)] = entry


def check_tiers_served(
    entries: Sequence[BundleManifestEntry], order: Sequence[Tier], minimum: Mapping[Tier, int]
) -> None:
    """The order and the minimum name every tier that has packages, and no other tier.

    Raises:
        MissingBundlePackageError: the order or minimum declares a tier without a package.
        BundleManifestError: a tier with packages is missing from the order or the minimum.
    """
    served = {entry.tier for entry in entries}
    for tier in [*order, *minimum]:
        if tier not in served:
            raise MissingBundlePackageError(
                t("The bundle declares {tier} nodes but holds no {tier} package.", tier=tier.value),
                hint=t(
                    "Add the {tier} package, or leave the tier out of the order and the minimum.",
                    tier=tier.value,
                ),
            )
    for tier in sorted(served - set(order)):
        raise BundleManifestError(
            t("The bundle's update order leaves out tier {tier}, which has packages.", tier=tier.value)
        )
    for tier in sorted(served - set(minimum)):
        raise BundleManifestError(
            t("The bundle's minimum_nodes leaves out tier {tier}, which has packages.", tier=tier.value)
        )

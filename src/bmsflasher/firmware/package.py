"""The ``.bmspkg`` release package: a ZIP with ``manifest.json``, ``manifest.sig`` and one image.

Reading is defensive because packages arrive from e-mail, USB sticks and download portals: the
whole package is handled in memory (nothing is ever extracted or written), every size is capped
before and while decompressing, member names are checked for path traversal and duplicates, and
only the three defined members are accepted. The manifest is strict JSON (no duplicate keys, no
unknown fields, typed and range-checked). Signature and policy checks live in
:mod:`bmsflasher.firmware.policy`; this module only reads and writes the container.

See docs/package-format.md for the format description given to third parties.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.behaviour import parse_sim_behaviour
from bmsflasher.firmware.errors import (
    DuplicateMemberError,
    FirmwareInputError,
    ManifestSchemaError,
    MissingMemberError,
    NotAZipError,
    PackageFormatError,
    PackageTooLargeError,
    UnexpectedMemberError,
    UnsafeMemberNameError,
    UnsupportedZipFeatureError,
    ZipBombError,
)
from bmsflasher.firmware.keys import PrivateKey, key_id, sign_message

PACKAGE_SUFFIX: Final = ".bmspkg"
FORMAT_NAME: Final = "bmsflasher-package"
FORMAT_VERSION: Final = 1
MANIFEST_NAME: Final = "manifest.json"
SIGNATURE_NAME: Final = "manifest.sig"
# --- signer certificates (trust chains; docs/trust-model.md "Certificate chains") ---
CERTIFICATES_NAME: Final = "signers.pem"
"""Optional member: the signers' certificates (PEM; manifest and image signer leaves, intermediates)."""
MAX_CERTIFICATES_BYTES: Final = 64 * 1024
# --- end signer certificates ---

MAX_PACKAGE_BYTES: Final = 48 * 1024 * 1024
MAX_IMAGE_BYTES: Final = 32 * 1024 * 1024
MAX_MANIFEST_BYTES: Final = 64 * 1024
MAX_SIGNATURE_BYTES: Final = 512
MAX_TOTAL_UNCOMPRESSED_BYTES: Final = MAX_IMAGE_BYTES + MAX_MANIFEST_BYTES + MAX_SIGNATURE_BYTES + 64 * 1024
MAX_COMPRESSION_RATIO: Final = 100
RATIO_CHECK_MIN_BYTES: Final = 64 * 1024
MAX_RELEASE_NOTES_CHARS: Final = 16 * 1024
MEMBER_READ_BLOCK_BYTES: Final = 64 * 1024
"""Members are decompressed in blocks of this size, then joined once.

``ZipExtFile.read(n)`` in one call lets zlib grow its output in blocks of 32 KiB, 64 KiB, 256 KiB,
1 MiB... and copies them into one result: 3.3x a 256 KiB image and 4.6x a 500 KiB one at once
(tracemalloc). Bounded blocks plus one join keep the peak at 2x the member.
"""
MAX_MODEL_CHARS: Final = 64
MAX_HW_REV_CHARS: Final = 32
MAX_HW_REVISIONS: Final = 64

MAX_MEMBERS_EXAMINED: Final = 16
_MEMBER_LIMITS: Final = {
    MANIFEST_NAME: MAX_MANIFEST_BYTES,
    SIGNATURE_NAME: MAX_SIGNATURE_BYTES,
    CERTIFICATES_NAME: MAX_CERTIFICATES_BYTES,
}

_SAFE_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_LABEL_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+/-]*$")
_SHA256_RE: Final = re.compile(r"^[0-9a-f]{64}$")
_TIMESTAMP_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_ZIP_DATE: Final = (2020, 1, 1, 0, 0, 0)
_ALLOWED_COMPRESSION: Final = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_MANIFEST_FIELDS: Final = frozenset(
    {
        "format",
        "format_version",
        "model",
        "hardware_revisions",
        "version",
        "security_counter",
        "min_bootloader_version",
        "image",
        "release_notes",
        "created",
        "expires",
        "sim_behaviour",
        "signing_key_id",
    }
)
_OPTIONAL_FIELDS: Final = frozenset({"sim_behaviour"})
_IMAGE_FIELDS: Final = frozenset({"file", "sha256", "size"})


# --- the manifest ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ImageEntry:
    """The manifest's description of the image member."""

    file: str
    sha256: bytes
    size: int


@dataclass(frozen=True, slots=True)
class Manifest:
    """What the manufacturer states about a release; signed as exact bytes."""

    model: str
    hardware_revisions: tuple[str, ...]
    version: FirmwareVersion
    security_counter: int
    min_bootloader_version: FirmwareVersion
    image: ImageEntry
    release_notes: str
    created: datetime
    expires: datetime | None
    signing_key_id: str
    sim_behaviour: str | None = None
    format_version: int = FORMAT_VERSION

    def to_json_bytes(self) -> bytes:
        """Canonical UTF-8 JSON (sorted keys, 2-space indent, trailing newline)."""
        document: dict[str, Any] = {
            "format": FORMAT_NAME,
            "format_version": self.format_version,
            "model": self.model,
            "hardware_revisions": list(self.hardware_revisions),
            "version": str(self.version),
            "security_counter": self.security_counter,
            "min_bootloader_version": str(self.min_bootloader_version),
            "image": {"file": self.image.file, "sha256": self.image.sha256.hex(), "size": self.image.size},
            "release_notes": self.release_notes,
            "created": format_timestamp(self.created),
            "expires": None if self.expires is None else format_timestamp(self.expires),
            "signing_key_id": self.signing_key_id,
        }
        if self.sim_behaviour is not None:
            document["sim_behaviour"] = self.sim_behaviour
        return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        """The manifest as plain JSON-ready values (for ``verify --json`` and reports)."""
        loaded: dict[str, Any] = json.loads(self.to_json_bytes())
        return loaded


def format_timestamp(moment: datetime) -> str:
    """UTC ISO-8601 with a ``Z`` suffix and whole seconds, the manifest's only timestamp form."""
    if moment.tzinfo is None:
        raise FirmwareInputError(t("Timestamps must carry a time zone."))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str, field_name: str) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SSZ``; raises ManifestSchemaError naming the field."""
    if not _TIMESTAMP_RE.match(text):
        raise ManifestSchemaError(
            t(
                "Manifest field '{name}' must be a UTC time like 2025-01-31T12:00:00Z.",
                name=field_name,
            )
        )
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise ManifestSchemaError(
            t(
                "Manifest field '{name}' is not a real date and time.",
                name=field_name,
            )
        ) from exc


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ManifestSchemaError(t("The manifest defines '{name}' more than once.", name=name))
        result[name] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ManifestSchemaError(t("The manifest contains the non-JSON number {name}.", name=name))


def _field(doc: dict[str, Any], name: str, kind: type) -> Any:
    value = doc.get(name)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ManifestSchemaError(t("Manifest field '{name}' must be an integer.", name=name))
    if not isinstance(value, kind):
        raise ManifestSchemaError(
            t(
                "Manifest field '{name}' must be a {type_name}.",
                name=name,
                type_name=kind.__name__ if kind is not str else "string",
            )
        )
    return value


def _label(value: Any, name: str, max_chars: int) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= max_chars or not _LABEL_RE.match(value):
        raise ManifestSchemaError(
            t(
                "Manifest field '{name}' must be 1 to {max_chars} letters, digits or . _ + / - characters.",
                name=name,
                max_chars=max_chars,
            )
        )
    return value


def _version(value: Any, name: str) -> FirmwareVersion:
    if not isinstance(value, str):
        raise ManifestSchemaError(
            t("Manifest field '{name}' must be a version string like 1.2.3.", name=name)
        )
    try:
        return FirmwareVersion.parse(value)
    except BmsFlasherError as exc:
        raise ManifestSchemaError(
            t("Manifest field '{name}' is not a version of the form X.Y.Z[+BUILD].", name=name)
        ) from exc


def parse_manifest(data: bytes) -> Manifest:
    """Parse and validate ``manifest.json`` bytes; raises ManifestSchemaError naming the field."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise PackageTooLargeError(
            t(
                "The manifest is larger than {limit} bytes.",
                limit=MAX_MANIFEST_BYTES,
            )
        )
    try:
        text = data.decode("utf-8")
        doc = json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise ManifestSchemaError(t("The manifest is not UTF-8 text.")) from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ManifestSchemaError(t("The manifest is not valid JSON.")) from exc
    if not isinstance(doc, dict):
        raise ManifestSchemaError(t("The manifest must be a JSON object."))
    if doc.get("format") != FORMAT_NAME:
        raise ManifestSchemaError(t("The manifest's 'format' must be '{name}'.", name=FORMAT_NAME))
    if _field(doc, "format_version", int) != FORMAT_VERSION:
        raise ManifestSchemaError(
            t(
                "Manifest format version {version} is not supported (this tool reads {supported}).",
                version=doc["format_version"],
                supported=FORMAT_VERSION,
            )
        )
    unknown = sorted(set(doc) - _MANIFEST_FIELDS)
    if unknown:
        raise ManifestSchemaError(t("The manifest has unknown field '{field}'.", field=unknown[0]))
    missing = sorted(_MANIFEST_FIELDS - _OPTIONAL_FIELDS - set(doc))
    if missing:
        raise ManifestSchemaError(t("The manifest lacks required field '{field}'.", field=missing[0]))

    model = _label(doc["model"], "model", MAX_MODEL_CHARS)
    revisions_raw = _field(doc, "hardware_revisions", list)
    if not 0 < len(revisions_raw) <= MAX_HW_REVISIONS:
        raise ManifestSchemaError(
            t(
                "Manifest field 'hardware_revisions' must list 1 to {limit} revisions.",
                limit=MAX_HW_REVISIONS,
            )
        )
    revisions = tuple(_label(rev, "hardware_revisions", MAX_HW_REV_CHARS) for rev in revisions_raw)
    if len(set(revisions)) != len(revisions):
        raise ManifestSchemaError(t("Manifest field 'hardware_revisions' lists a revision twice."))
    counter = _field(doc, "security_counter", int)
    if not 0 <= counter <= 0xFFFFFFFF:
        raise ManifestSchemaError(t("Manifest field 'security_counter' must be between 0 and 4294967295."))

    image_doc = _field(doc, "image", dict)
    if set(image_doc) != _IMAGE_FIELDS:
        raise ManifestSchemaError(t("Manifest field 'image' must hold exactly 'file', 'sha256' and 'size'."))
    file_name = _field(image_doc, "file", str)
    if not is_safe_member_name(file_name) or file_name in (MANIFEST_NAME, SIGNATURE_NAME):
        raise ManifestSchemaError(t("Manifest field 'image.file' is not a plain, safe file name."))
    digest = _field(image_doc, "sha256", str)
    if not _SHA256_RE.match(digest):
        raise ManifestSchemaError(t("Manifest field 'image.sha256' must be 64 lowercase hex digits."))
    size = _field(image_doc, "size", int)
    if not 0 < size <= MAX_IMAGE_BYTES:
        raise PackageTooLargeError(
            t(
                "The manifest declares a {size}-byte image; the limit is 1 to {limit} bytes.",
                size=size,
                limit=MAX_IMAGE_BYTES,
            )
        )
    notes = _field(doc, "release_notes", str)
    if len(notes) > MAX_RELEASE_NOTES_CHARS:
        raise ManifestSchemaError(
            t(
                "The release notes are longer than {limit} characters.",
                limit=MAX_RELEASE_NOTES_CHARS,
            )
        )
    created = parse_timestamp(_field(doc, "created", str), "created")
    expires_raw = doc["expires"]
    if expires_raw is not None and not isinstance(expires_raw, str):
        raise ManifestSchemaError(t("Manifest field 'expires' must be a UTC time or null."))
    expires = None if expires_raw is None else parse_timestamp(expires_raw, "expires")
    if expires is not None and expires <= created:
        raise ManifestSchemaError(t("The manifest expires before it was created."))
    signer = _field(doc, "signing_key_id", str)
    if not _SHA256_RE.match(signer):
        raise ManifestSchemaError(t("Manifest field 'signing_key_id' must be 64 lowercase hex digits."))
    behaviour: str | None = None
    if "sim_behaviour" in doc:
        try:
            behaviour = parse_sim_behaviour(_field(doc, "sim_behaviour", str))
        except FirmwareInputError as exc:
            raise ManifestSchemaError(
                t("Manifest field 'sim_behaviour' is invalid: {error}", error=exc.message)
            ) from exc
    return Manifest(
        model=model,
        hardware_revisions=revisions,
        version=_version(doc["version"], "version"),
        security_counter=counter,
        min_bootloader_version=_version(doc["min_bootloader_version"], "min_bootloader_version"),
        image=ImageEntry(file_name, bytes.fromhex(digest), size),
        release_notes=notes,
        created=created,
        expires=expires,
        signing_key_id=signer,
        sim_behaviour=behaviour,
    )


def peek_signing_key_id(data: bytes) -> str | None:
    """Best-effort read of ``signing_key_id`` from unverified manifest bytes, for error messages."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    value = doc.get("signing_key_id") if isinstance(doc, dict) else None
    return value if isinstance(value, str) and _SHA256_RE.match(value) else None


# --- the container -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PackageContents:
    """The three members of a package, read but not yet trusted."""

    manifest_bytes: bytes
    signature: bytes
    image_name: str
    image_bytes: bytes
    certificates: bytes = b""
    """The optional ``signers.pem`` member (empty when the package relies on plain keys)."""


def is_safe_member_name(name: str) -> bool:
    """True for a plain file name: no folders, no traversal, no drive letters, no odd characters."""
    return bool(_SAFE_NAME_RE.match(name)) and ".." not in name


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read one member, never producing more than ``limit`` bytes, and check its declared size."""
    blocks: list[bytes] = []
    held = 0
    try:
        with archive.open(info) as stream:
            while held <= limit:  # one byte past the limit proves a ZIP bomb; nothing more is inflated
                block = stream.read(min(MEMBER_READ_BLOCK_BYTES, limit + 1 - held))
                if not block:
                    break
                blocks.append(block)
                held += len(block)
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):
            raise NotAZipError(
                t(
                    "The package member '{filename}' is corrupted (CRC mismatch).",
                    filename=info.filename,
                )
            ) from exc
        raise NotAZipError(
            t(
                "The package member '{filename}' cannot be read: the ZIP is corrupted.",
                filename=info.filename,
            )
        ) from exc
    except (zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise NotAZipError(
            t(
                "The package member '{filename}' cannot be decompressed: the ZIP is corrupted.",
                filename=info.filename,
            )
        ) from exc
    if held > limit:
        raise ZipBombError(
            t(
                "The package member '{filename}' expands beyond {limit} bytes.",
                filename=info.filename,
                limit=limit,
            )
        )
    if held != info.file_size:
        raise NotAZipError(
            t(
                "The package member '{filename}' is shorter than its declared size.",
                filename=info.filename,
            )
        )
    return b"".join(blocks)


def _check_entries(infos: Sequence[zipfile.ZipInfo]) -> None:
    names: list[str] = []
    total = 0
    for info in infos:
        name = info.filename
        if not is_safe_member_name(name) or name != info.orig_filename:
            shown = name if len(name) <= 40 else name[:40] + "..."
            raise UnsafeMemberNameError(
                t(
                    "The package member name {shown!r} is not a plain file name (path traversal?).",
                    shown=shown,
                )
            )
        if name in names:
            raise DuplicateMemberError(t("The package holds '{name}' more than once.", name=name))
        names.append(name)
        if info.flag_bits & 0x1:
            raise UnsupportedZipFeatureError(
                t(
                    "The package member '{name}' is encrypted, which the format does not allow.",
                    name=name,
                )
            )
        if info.compress_type not in _ALLOWED_COMPRESSION:
            raise UnsupportedZipFeatureError(
                t(
                    "The package member '{name}' uses compression method {compress_type}; only stored and "
                    "deflated are allowed.",
                    name=name,
                    compress_type=info.compress_type,
                )
            )
        limit = _MEMBER_LIMITS.get(name, MAX_IMAGE_BYTES)
        if info.file_size > limit:
            what = {MANIFEST_NAME: t("The manifest"), SIGNATURE_NAME: t("The manifest signature")}.get(
                name, t("The package member '{name}'", name=name)
            )
            raise PackageTooLargeError(
                t(
                    "{what} declares {file_size} bytes, over the {limit}-byte limit.",
                    what=what,
                    file_size=info.file_size,
                    limit=limit,
                )
            )
        if info.file_size > RATIO_CHECK_MIN_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            raise ZipBombError(
                t(
                    "The package member '{name}' claims a {ratio}:1 compression ratio (ZIP bomb?).",
                    name=name,
                    ratio=info.file_size // max(info.compress_size, 1),
                )
            )
        total += info.file_size
    if total > MAX_TOTAL_UNCOMPRESSED_BYTES:
        raise ZipBombError(
            t(
                "The package would expand to {total} bytes, over the {limit}-byte limit.",
                total=total,
                limit=MAX_TOTAL_UNCOMPRESSED_BYTES,
            )
        )


def read_package(data: bytes) -> PackageContents:
    """Read a package's members in memory with every safety check; nothing is trusted yet.

    Raises:
        PackageFormatError: (or a subclass) for any container problem: not a ZIP, truncated,
            too large, ZIP bomb, unsafe or duplicate names, unexpected or missing members.
    """
    if len(data) > MAX_PACKAGE_BYTES:
        raise PackageTooLargeError(
            t(
                "The package is {size} bytes, over the {limit}-byte limit.",
                size=len(data),
                limit=MAX_PACKAGE_BYTES,
            )
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
    ) as exc:
        raise NotAZipError(
            t("The package is not a complete ZIP archive (truncated, corrupted or not a package).")
        ) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS_EXAMINED:
            _check_entries(infos[:MAX_MEMBERS_EXAMINED])  # a traversal or duplicate name says more
            raise UnexpectedMemberError(
                t(
                    "The package holds {count} members; the format defines exactly 3.",
                    count=len(infos),
                )
            )
        _check_entries(infos)
        by_name = {info.filename: info for info in infos}
        if MANIFEST_NAME not in by_name:
            raise MissingMemberError(t("The package has no {member}.", member=MANIFEST_NAME))
        if SIGNATURE_NAME not in by_name:
            raise MissingMemberError(
                t(
                    "The package has no {member}; it is unsigned.",
                    member=SIGNATURE_NAME,
                )
            )
        manifest_info = by_name[MANIFEST_NAME]
        manifest_bytes = _read_member(archive, manifest_info, MAX_MANIFEST_BYTES)
        image_name = _image_name_hint(manifest_bytes, by_name)
        extra = sorted(set(by_name) - {MANIFEST_NAME, SIGNATURE_NAME, CERTIFICATES_NAME, image_name})
        if extra:
            raise UnexpectedMemberError(
                t("The package holds an unexpected member '{member}'.", member=extra[0])
            )
        if image_name not in by_name:
            raise MissingMemberError(
                t(
                    "The package lacks the image file '{image_name}' its manifest names.",
                    image_name=image_name,
                )
            )
        signature = _read_member(archive, by_name[SIGNATURE_NAME], MAX_SIGNATURE_BYTES)
        image_bytes = _read_member(archive, by_name[image_name], MAX_IMAGE_BYTES)
        certificates = (
            _read_member(archive, by_name[CERTIFICATES_NAME], MAX_CERTIFICATES_BYTES)
            if CERTIFICATES_NAME in by_name
            else b""
        )
    return PackageContents(manifest_bytes, signature, image_name, image_bytes, certificates)


def _image_name_hint(manifest_bytes: bytes, by_name: dict[str, zipfile.ZipInfo]) -> str:
    """The image member's name: from the manifest when readable, else the one remaining member."""
    try:
        doc = json.loads(manifest_bytes.decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError, ManifestSchemaError):
        doc = None  # judged later, after the signature: unsigned garbage gets a signature error
    image = doc.get("image") if isinstance(doc, dict) else None
    name = image.get("file") if isinstance(image, dict) else None
    if (
        isinstance(name, str)
        and is_safe_member_name(name)
        and name not in (MANIFEST_NAME, SIGNATURE_NAME, CERTIFICATES_NAME)
    ):
        return name
    others = sorted(set(by_name) - {MANIFEST_NAME, SIGNATURE_NAME, CERTIFICATES_NAME})
    if not others:
        raise MissingMemberError(t("The package holds no image file."))
    if len(others) > 1:
        raise UnexpectedMemberError(t("The package holds an unexpected member '{member}'.", member=others[1]))
    return others[0]


# --- writing -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PackageSpec:
    """What the manufacturer states about a release (everything but the image and the key)."""

    model: str
    hardware_revisions: tuple[str, ...]
    version: FirmwareVersion
    security_counter: int
    min_bootloader_version: FirmwareVersion = field(default_factory=lambda: FirmwareVersion(0, 0, 0))
    release_notes: str = ""
    created: datetime | None = None
    expires: datetime | None = None
    sim_behaviour: str | None = None
    image_file: str | None = None


def build_manifest(spec: PackageSpec, image: bytes, key: PrivateKey) -> Manifest:
    """The manifest for ``image`` per ``spec``, validated exactly as a reader will validate it."""
    image_file = spec.image_file or f"{spec.model}-{spec.version}.img"
    created = spec.created or datetime.now(UTC).replace(microsecond=0)
    manifest = Manifest(
        model=spec.model,
        hardware_revisions=tuple(spec.hardware_revisions),
        version=spec.version,
        security_counter=spec.security_counter,
        min_bootloader_version=spec.min_bootloader_version,
        image=ImageEntry(image_file, hashlib.sha256(image).digest(), len(image)),
        release_notes=spec.release_notes,
        created=created,
        expires=spec.expires,
        signing_key_id=key_id(key),
        sim_behaviour=None if spec.sim_behaviour is None else parse_sim_behaviour(spec.sim_behaviour),
    )
    try:
        parse_manifest(manifest.to_json_bytes())
    except PackageFormatError as exc:
        raise FirmwareInputError(exc.message.replace("Manifest field", "The package field")) from exc
    return manifest


def _compression_for(payload: bytes) -> int:
    """Deflate, unless the result would trip our own ZIP-bomb ratio check on the reading side.

    Firmware with long erased (0xFF) gaps — an Intel HEX file with sections far apart — deflates
    far better than 100:1; such a member is stored instead, so every package we build reads back.
    """
    if len(payload) <= RATIO_CHECK_MIN_BYTES:
        return zipfile.ZIP_DEFLATED
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = len(packer.compress(payload)) + len(packer.flush())
    return zipfile.ZIP_DEFLATED if len(payload) <= MAX_COMPRESSION_RATIO * deflated else zipfile.ZIP_STORED


def build_package(spec: PackageSpec, image: bytes, key: PrivateKey, *, certificates: bytes = b"") -> bytes:
    """Assemble a signed package in memory (deterministic for a fixed ``created`` time).

    ``certificates``: the signers' certificate chains (PEM) for the optional ``signers.pem`` member.
    """
    manifest = build_manifest(spec, image, key)
    manifest_bytes = manifest.to_json_bytes()
    signature = sign_message(key, manifest_bytes)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, payload in (
            (MANIFEST_NAME, manifest_bytes),
            (SIGNATURE_NAME, signature),
            (manifest.image.file, image),
            *(((CERTIFICATES_NAME, certificates),) if certificates else ()),  # signer certificates
        ):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = _compression_for(payload)
            info.external_attr = 0o644 << 16
            archive.writestr(info, payload, compresslevel=9)
    return buffer.getvalue()

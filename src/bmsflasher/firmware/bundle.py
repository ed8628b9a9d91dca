"""Release bundles (``.bmsbundle``): the firmware of every node type of a pack, released as one set.

A pack (1 BCU, a few BMCs, many BMUs) must run versions that were released together; a bundle is
that release. It is a ZIP holding a signed ``bundle.json`` (:mod:`~bmsflasher.firmware.bundle_manifest`)
and one ordinary ``.bmspkg`` per node type, each of which keeps its own manifest signature and
image signature. See docs/bundle-format.md.

The contract the campaign procedure codes against::

    bundle = load_bundle(Path("pack-1.1.0.bmsbundle"), keyring)  # every check, or a BundleError...
    bundle.order            # [Tier.BMU, Tier.BMC, Tier.BCU]: update order by tier
    bundle.minimum_nodes    # {Tier.BCU: 1, Tier.BMC: 2, Tier.BMU: 12}: refuse a pack with fewer
    bundle.version_set      # {"VBCU-1": FirmwareVersion(1, 1, 0), ...}: what every node must run
    entry = bundle.entry_for("VBMU-16", "A")   # NodeNotInBundleError when no package serves it
    entry.tier, entry.model, entry.hardware_revisions, entry.version, entry.security_counter
    entry.package           # the VerifiedPackage (policy.verify_package), as a single-node update uses
    entry.package_bytes     # the package file's bytes (procedure.package_loading.load_package_bytes)
    entry.package_sha256    # hex SHA-256 of those bytes (procedure.package_loading.facts_of)

Nothing is trusted before it is checked, and the checks run in this order, the first failure
raising: container (size, members), bundle manifest signature (against the keyring, or through the
signer's certificate chain in the optional ``signers.pem`` member to a keyring root: the package
rules of :func:`~bmsflasher.firmware.signers.release_signer`: roles, declared signer, revocation,
expiry policy), bundle
manifest schema and rules (one package per model and revision, tiers served), the package member
set, then each package: its bytes against the signed entry (size, SHA-256), the package's own
checks (:func:`~bmsflasher.firmware.policy.verify_package`), its manifest against the entry; and
last the bundle's expiry. Reading is in memory, nothing is extracted.

Errors (all PackageError subclasses, exit code 3, in :mod:`~bmsflasher.firmware.bundle_errors`):
``BundleFormatError`` (malformed; ``BundleManifestError`` for the JSON), ``BundleSignatureError``,
``BundleUntrustedKeyError``, ``BundlePackageError`` (a package inside is refused; ``.member``,
``.cause``), ``BundleMismatchError``, ``MissingBundlePackageError``, ``DuplicateBundleEntryError``,
``BundleExpiredError``, ``NodeNotInBundleError``; and ``BundleSpecError`` when building. A refused
certificate chain raises the package's own ``CertificateError`` subclass (same sentences), and a
signer without the release role or other than declared ``SignerRoleError`` / ``SignerMismatchError``.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from bmsflasher.core.errors import PackageError
from bmsflasher.core.i18n import t
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.firmware.bundle_errors import (
    BundleExpiredError,
    BundleFormatError,
    BundleMismatchError,
    BundlePackageError,
    BundleSignatureError,
    BundleSpecError,
    BundleUntrustedKeyError,
    MissingBundlePackageError,
    NodeNotInBundleError,
)
from bmsflasher.firmware.bundle_manifest import (
    BUNDLE_MANIFEST_NAME,
    BUNDLE_SIGNATURE_NAME,
    BUNDLE_SUFFIX,
    MAX_BUNDLE_MANIFEST_BYTES,
    MAX_ENTRIES,
    BundleManifest,
    BundleManifestEntry,
    parse_bundle_manifest,
)
from bmsflasher.firmware.demo_pack_models import DEFAULT_TIER_ORDER, Tier
from bmsflasher.firmware.files import read_capped
from bmsflasher.firmware.keys import Keyring, PrivateKey, TrustedKey, key_id, sign_message
from bmsflasher.firmware.package import (
    CERTIFICATES_NAME,
    MAX_CERTIFICATES_BYTES,
    MAX_COMPRESSION_RATIO,
    MAX_PACKAGE_BYTES,
    MAX_SIGNATURE_BYTES,
    RATIO_CHECK_MIN_BYTES,
    is_safe_member_name,
    parse_manifest,
    peek_signing_key_id,
    read_package,
)
from bmsflasher.firmware.policy import VerifiedPackage, verify_package
from bmsflasher.firmware.signers import release_signer

__all__ = [
    "BUNDLE_SUFFIX",
    "MAX_BUNDLE_BYTES",
    "Bundle",
    "BundleEntry",
    "BundleProgress",
    "BundleSpec",
    "PackageInput",
    "build_bundle",
    "is_bundle",
    "is_bundle_file",
    "load_bundle",
    "read_bundle_file",
    "verify_bundle",
]

MAX_BUNDLE_BYTES: Final = 4 * MAX_PACKAGE_BYTES
"""A bundle is read in memory: 192 MiB, room for a pack's worth of real packages."""
_ALLOWED_COMPRESSION: Final = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_ZIP_DATE: Final = (2020, 1, 1, 0, 0, 0)
_READ_BLOCK: Final = 64 * 1024

BundleProgress = Callable[[int, int, str], None]
"""Called as ``progress(done, total, member)`` while the packages inside are checked."""


# --- the loaded bundle ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BundleEntry:
    """One node type of the pack and its verified package.

    ``package`` passed :func:`~bmsflasher.firmware.policy.verify_package` (its own signatures,
    image, expiry) and agrees with the signed bundle entry; device checks (model, revision,
    anti-rollback, bootloader) are left to the campaign, node by node.
    """

    tier: Tier
    model: str
    hardware_revisions: tuple[str, ...]
    version: FirmwareVersion
    security_counter: int
    file: str
    package_bytes: bytes = field(repr=False)
    package: VerifiedPackage = field(repr=False)

    @property
    def package_sha256(self) -> str:
        """Hex SHA-256 of the package file (what a single-node update records as the package's hash)."""
        return hashlib.sha256(self.package_bytes).hexdigest()

    def serves(self, model: str, hardware_revision: str) -> bool:
        """True when this entry's package is for a node of ``model`` and ``hardware_revision``."""
        return model == self.model and hardware_revision in self.hardware_revisions

    def describe(self) -> str:
        """``bmu VBMU-16 1.1.0 (rev A)``, for logs and reports."""
        return f"{self.tier.value} {self.model} {self.version} ({', '.join(self.hardware_revisions)})"


@dataclass(frozen=True, slots=True)
class Bundle:
    """A release bundle that passed every check of :func:`verify_bundle`."""

    manifest: BundleManifest
    manifest_bytes: bytes = field(repr=False)
    signer: TrustedKey
    entries: tuple[BundleEntry, ...]
    source: str
    sha256: str
    """Hex SHA-256 of the whole bundle file (for records and reports)."""

    @property
    def release(self) -> str:
        """The release's name (``pack-1.1.0``)."""
        return self.manifest.release

    @property
    def order(self) -> list[Tier]:
        """Tiers in update order: every tier with packages, each once."""
        return list(self.manifest.order)

    @property
    def minimum_nodes(self) -> dict[Tier, int]:
        """The fewest nodes of each tier that must be present before a campaign may write anything."""
        return dict(self.manifest.minimum_nodes)

    @property
    def version_set(self) -> dict[str, FirmwareVersion]:
        """Model → the version every node of that model runs once the bundle is installed."""
        return {entry.model: entry.version for entry in self.entries}

    def entries_of(self, tier: Tier) -> tuple[BundleEntry, ...]:
        """The entries of one tier (a tier may hold several models)."""
        return tuple(entry for entry in self.entries if entry.tier is tier)

    def find_entry(self, model: str, hardware_revision: str) -> BundleEntry | None:
        """The entry serving a node, or None (at most one can: duplicates are refused at load)."""
        return next((entry for entry in self.entries if entry.serves(model, hardware_revision)), None)

    def entry_for(self, model: str, hardware_revision: str) -> BundleEntry:
        """The entry serving a node of ``model`` and ``hardware_revision``.

        Raises:
            NodeNotInBundleError: no package in the bundle is for that node.
        """
        entry = self.find_entry(model, hardware_revision)
        if entry is None:
            raise NodeNotInBundleError(
                t(
                    "The bundle {release} has no package for {model} hardware revision {revision}.",
                    release=self.release,
                    model=model,
                    revision=hardware_revision,
                ),
                hint=t("Use the bundle released for this pack, or ask the manufacturer for one."),
            )
        return entry


# --- reading the container --------------------------------------------------------------------------
def _member_limit(name: str) -> int:
    limits = {
        BUNDLE_MANIFEST_NAME: MAX_BUNDLE_MANIFEST_BYTES,
        BUNDLE_SIGNATURE_NAME: MAX_SIGNATURE_BYTES,
        CERTIFICATES_NAME: MAX_CERTIFICATES_BYTES,
    }
    return limits.get(name, MAX_PACKAGE_BYTES)


def _malformed(message: str) -> BundleFormatError:
    return BundleFormatError(
        message, hint=t("Get the bundle again from the manufacturer; this copy is damaged.")
    )


def _check_members(infos: Sequence[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    """Names, features and declared sizes of every member, before one byte is inflated."""
    if len(infos) > MAX_ENTRIES + 3:  # + manifest, signature, signers.pem
        raise _malformed(t("The bundle holds {count} members, more than a bundle may.", count=len(infos)))
    by_name: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        if not is_safe_member_name(name) or name != info.orig_filename:
            raise _malformed(t("The bundle member name {name!r} is not a plain file name.", name=name[:40]))
        if name in by_name:
            raise _malformed(t("The bundle holds '{name}' more than once.", name=name))
        if info.flag_bits & 0x1 or info.compress_type not in _ALLOWED_COMPRESSION:
            raise _malformed(
                t("The bundle member '{name}' is encrypted or uses an unsupported compression.", name=name)
            )
        if info.file_size > _member_limit(name):
            raise _malformed(
                t(
                    "The bundle member '{name}' declares {size} bytes, over its {limit}-byte limit.",
                    name=name,
                    size=info.file_size,
                    limit=_member_limit(name),
                )
            )
        if info.file_size > RATIO_CHECK_MIN_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            raise _malformed(
                t("The bundle member '{name}' claims an implausible compression ratio.", name=name)
            )
        total += info.file_size
        by_name[name] = info
    if total > MAX_BUNDLE_BYTES:
        raise _malformed(t("The bundle would expand past the {limit}-byte limit.", limit=MAX_BUNDLE_BYTES))
    return by_name


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """One member, never inflating more than its declared size (plus one byte to prove a lie)."""
    blocks: list[bytes] = []
    held = 0
    try:
        with archive.open(info) as stream:
            while held <= info.file_size:
                block = stream.read(min(_READ_BLOCK, info.file_size + 1 - held))
                if not block:
                    break
                blocks.append(block)
                held += len(block)
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        raise _malformed(
            t("The bundle member '{name}' cannot be read: the file is corrupted.", name=info.filename)
        ) from exc
    if held != info.file_size:
        raise _malformed(t("The bundle member '{name}' is not the size it declares.", name=info.filename))
    return b"".join(blocks)


def _open(data: bytes) -> zipfile.ZipFile:
    if len(data) > MAX_BUNDLE_BYTES:
        raise _malformed(
            t(
                "The bundle is {size} bytes, over the {limit}-byte limit.",
                size=len(data),
                limit=MAX_BUNDLE_BYTES,
            )
        )
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
    ) as exc:
        raise _malformed(
            t("The bundle is not a complete ZIP archive (truncated, corrupted or not a bundle).")
        ) from exc


def is_bundle(data: bytes) -> bool:
    """True when ``data`` is a ZIP holding a ``bundle.json`` (a bundle, valid or not; not a package)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return BUNDLE_MANIFEST_NAME in archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError):
        return False


def is_bundle_file(path: Path) -> bool:
    """True for a ``.bmsbundle`` file name, or a ZIP file holding a ``bundle.json`` whatever its name.

    Only the ZIP's directory is read; an unreadable file is "not a bundle" and left to the
    package reader to name the problem.
    """
    if path.suffix == BUNDLE_SUFFIX:
        return True
    try:
        with zipfile.ZipFile(path) as archive:
            return BUNDLE_MANIFEST_NAME in archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError):
        return False


def _signer(
    signature: bytes,
    manifest_bytes: bytes,
    keyring: Keyring,
    *,
    certificates: bytes = b"",
    now: datetime | None = None,
) -> TrustedKey:
    """The trusted key whose signature over the exact manifest bytes verifies, with the package rules.

    A plain keyring key, or the key of a certificate in ``certificates`` (the ``signers.pem``
    member) whose chain leads to a keyring root: :func:`~bmsflasher.firmware.signers.release_signer`,
    so a bundle and a package are judged alike (release role, declared signer, revocation, the
    chain validated at the manifest's ``created`` bounded by now).
    """
    if not signature:
        raise BundleSignatureError(
            t("The bundle's manifest signature is empty."),
            hint=t("Get the bundle again from the manufacturer; this copy is damaged."),
        )
    claimed = peek_signing_key_id(manifest_bytes)
    # --- signers: plain keys, certificate chains, roles, declared signer (firmware/signers.py) ---
    trusted = release_signer(
        manifest_bytes,
        signature,
        keyring,
        certificates=certificates,
        declared=claimed,  # None when unreadable: the schema check that follows says so
        signed_at=lambda: parse_bundle_manifest(manifest_bytes).created,
        now=now,
    )
    if trusted is not None:
        return trusted
    # --- end signers ---
    if claimed is not None and claimed in keyring:
        raise BundleSignatureError(
            t(
                "The bundle manifest's signature does not verify with trusted key {claimed}: the bundle "
                "was altered.",
                claimed=claimed[:16],
            ),
            hint=t("Do not use this bundle; get it again from the manufacturer."),
        )
    raise BundleUntrustedKeyError(
        t(
            "The bundle is signed by key {claimed}, which is not a trusted key.",
            claimed=(claimed or "?")[:16],
        ),
        hint=t(
            "Trust the manufacturer's public key with --trust PUB.pem, or put it into your keyring folder."
        ),
    )


# --- verifying --------------------------------------------------------------------------------------
def _check_package(
    entry: BundleManifestEntry, data: bytes, keyring: Keyring, now: datetime | None
) -> BundleEntry:
    """One package member: bound to the signed entry, verified as a package, and agreeing with it."""
    if len(data) != entry.size or hashlib.sha256(data).digest() != entry.sha256:
        raise BundleMismatchError(
            t(
                "The package {file} in the bundle differs from the one the bundle manifest signs: it was "
                "altered or swapped.",
                file=entry.file,
            ),
            hint=t("Do not use this bundle; get it again from the manufacturer."),
        )
    try:
        verified = verify_package(data, keyring, now=now)
    except PackageError as exc:
        raise BundlePackageError(
            t("The package {file} in the bundle is refused: {reason}", file=entry.file, reason=exc.message),
            member=entry.file,
            cause=exc,
            hint=exc.hint or t("Check the package on its own with: bmsflasher verify PACKAGE.bmspkg"),
        ) from exc
    manifest = verified.manifest
    stated = (entry.model, entry.hardware_revisions, entry.version, entry.security_counter)
    actual = (manifest.model, manifest.hardware_revisions, manifest.version, manifest.security_counter)
    if stated != actual:
        raise BundleMismatchError(
            t(
                "The package {file} is {model} {version} but the bundle manifest lists {entry_model} "
                "{entry_version} (or other revisions or counter).",
                file=entry.file,
                model=manifest.model,
                version=manifest.version,
                entry_model=entry.model,
                entry_version=entry.version,
            ),
            hint=t("Rebuild the bundle from its packages with bmsflasher bundle."),
        )
    return BundleEntry(
        tier=entry.tier,
        model=entry.model,
        hardware_revisions=entry.hardware_revisions,
        version=entry.version,
        security_counter=entry.security_counter,
        file=entry.file,
        package_bytes=data,
        package=verified,
    )


def verify_bundle(
    data: bytes,
    keyring: Keyring,
    *,
    source: str = "<memory>",
    now: datetime | None = None,
    progress: BundleProgress | None = None,
) -> Bundle:
    """Run every check on bundle bytes and every package inside; returns the bundle or raises.

    Args:
        data: the ``.bmsbundle`` file's bytes.
        keyring: trusted public keys; the bundle manifest's signer and every package's manifest and
            image signers must all be in it.
        source: where the bytes came from (kept on the result for messages and records).
        now: the current time (tests pin it); defaults to the system clock (expiry checks).
        progress: told ``(done, total, member)`` after each package is checked.

    Raises:
        PackageError: a bundle error (see the module docstring) naming the first reason to refuse.
    """
    with _open(data) as archive:
        by_name = _check_members(archive.infolist())
        if BUNDLE_MANIFEST_NAME not in by_name:
            raise _malformed(t("The file has no {member}; it is not a bundle.", member=BUNDLE_MANIFEST_NAME))
        if BUNDLE_SIGNATURE_NAME not in by_name:
            raise BundleSignatureError(
                t("The bundle has no {member}; it is unsigned.", member=BUNDLE_SIGNATURE_NAME),
                hint=t("Only a bundle signed with bmsflasher bundle --key can be used."),
            )
        manifest_bytes = _read_member(archive, by_name[BUNDLE_MANIFEST_NAME])
        certificates = (
            _read_member(archive, by_name[CERTIFICATES_NAME]) if CERTIFICATES_NAME in by_name else b""
        )
        signer = _signer(
            _read_member(archive, by_name[BUNDLE_SIGNATURE_NAME]),
            manifest_bytes,
            keyring,
            certificates=certificates,
            now=now,
        )
        manifest = parse_bundle_manifest(manifest_bytes)
        declared = {entry.file for entry in manifest.entries}
        extra = sorted(
            set(by_name) - declared - {BUNDLE_MANIFEST_NAME, BUNDLE_SIGNATURE_NAME, CERTIFICATES_NAME}
        )
        if extra:
            raise _malformed(
                t("The bundle holds '{member}', which its manifest does not list.", member=extra[0])
            )
        entries: list[BundleEntry] = []
        for entry in manifest.entries:
            if entry.file not in by_name:
                raise MissingBundlePackageError(
                    t(
                        "The bundle lists {file} for {tier} {model} but does not hold it.",
                        file=entry.file,
                        tier=entry.tier.value,
                        model=entry.model,
                    ),
                    hint=t("Get the bundle again from the manufacturer; this copy is incomplete."),
                )
            entries.append(_check_package(entry, _read_member(archive, by_name[entry.file]), keyring, now))
            if progress is not None:
                progress(len(entries), len(manifest.entries), entry.file)
    moment = now or datetime.now(UTC)
    if manifest.expires is not None and moment >= manifest.expires:
        raise BundleExpiredError(
            t(
                "The bundle expired on {expires:%Y-%m-%d %H:%M} UTC and may no longer be installed.",
                expires=manifest.expires,
            ),
            hint=t("Ask the manufacturer for the current bundle."),
        )
    return Bundle(manifest, manifest_bytes, signer, tuple(entries), source, hashlib.sha256(data).hexdigest())


def bundle_file_missing(path: Path) -> BundleFormatError:
    """The error for a bundle path that does not exist (the reader's and the command line's one wording)."""
    return BundleFormatError(t("The bundle file {path} does not exist.", path=path))


def read_bundle_file(path: Path) -> bytes:
    """Read a bundle file with the size cap applied while reading (thin I/O helper)."""
    try:
        data = read_capped(path, MAX_BUNDLE_BYTES)
    except FileNotFoundError as exc:
        raise bundle_file_missing(path) from exc
    except IsADirectoryError as exc:
        raise BundleFormatError(t("{path} is a folder, not a bundle file.", path=path)) from exc
    except OSError as exc:
        raise BundleFormatError(
            t("The bundle file {path} cannot be read: {reason}.", path=path, reason=exc.strerror or exc)
        ) from exc
    if data is None:
        raise _malformed(
            t("{path} is over the {limit}-byte bundle limit.", path=path, limit=MAX_BUNDLE_BYTES)
        )
    return data


def load_bundle(
    path: Path,
    keyring: Keyring,
    *,
    now: datetime | None = None,
    progress: BundleProgress | None = None,
) -> Bundle:
    """Read and verify a ``.bmsbundle`` file: :func:`read_bundle_file` then :func:`verify_bundle`."""
    return verify_bundle(read_bundle_file(path), keyring, source=str(path), now=now, progress=progress)


# --- building ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PackageInput:
    """A package given to :func:`build_bundle` and the tier its node type belongs to."""

    tier: Tier
    data: bytes
    source: str


@dataclass(frozen=True, slots=True)
class BundleSpec:
    """What the manufacturer states about the release besides its packages.

    ``order`` None: :data:`~bmsflasher.firmware.demo_pack_models.DEFAULT_TIER_ORDER` (BMU, BMC,
    BCU) restricted to the tiers given; ``minimum_nodes`` None: one node of each tier given.
    """

    release: str
    order: tuple[Tier, ...] | None = None
    minimum_nodes: Mapping[Tier, int] | None = None
    release_notes: str = ""
    created: datetime | None = None
    expires: datetime | None = None


def _entry_of(package: PackageInput, file_names: set[str]) -> BundleManifestEntry:
    """The bundle entry for one package, read (not yet trusted) from its own manifest."""
    try:
        manifest = parse_manifest(read_package(package.data).manifest_bytes)
    except PackageError as exc:
        raise BundleSpecError(
            t("{source} is not a usable package: {reason}", source=package.source, reason=exc.message)
        ) from exc
    name = f"{manifest.model}-{manifest.version}.bmspkg".replace("/", "-").replace("+", "-")
    if name in file_names:
        raise BundleSpecError(
            t(
                "Two packages are {model} {version}; give each node type once.",
                model=manifest.model,
                version=manifest.version,
            )
        )
    file_names.add(name)
    return BundleManifestEntry(
        tier=package.tier,
        model=manifest.model,
        hardware_revisions=manifest.hardware_revisions,
        version=manifest.version,
        security_counter=manifest.security_counter,
        file=name,
        sha256=hashlib.sha256(package.data).digest(),
        size=len(package.data),
    )


def build_bundle(
    spec: BundleSpec, packages: Sequence[PackageInput], key: PrivateKey, *, certificates: bytes = b""
) -> bytes:
    """Assemble a signed bundle in memory (byte-identical for the same inputs and ``created``).

    ``certificates``: the signer's certificate chain (PEM, :func:`~bmsflasher.firmware.signers.
    signing_certificates`) for the optional ``signers.pem`` member, as ``package --cert`` does.

    The manifest is validated exactly as a reader validates it, so a bundle with duplicate node
    types, a tier in the order or minimum without a package, or bad values is never written.
    Verifying the packages' signatures is the caller's self-check (:func:`verify_bundle`).

    Raises:
        BundleSpecError: a package that cannot be read, or two packages of one model and version.
        BundleFormatError: (a subclass) the manifest the inputs make would be refused.
    """
    if not packages:
        raise BundleSpecError(t("A bundle needs at least one package."))
    names: set[str] = set()
    pairs = [(_entry_of(package, names), package.data) for package in packages]
    entries = [entry for entry, _ in pairs]
    served = {entry.tier for entry in entries}
    order = spec.order or tuple(tier for tier in DEFAULT_TIER_ORDER if tier in served)
    minimum = dict(spec.minimum_nodes) if spec.minimum_nodes is not None else dict.fromkeys(order, 1)
    for tier in order:
        minimum.setdefault(tier, 0 if spec.minimum_nodes is not None else 1)
    position = {tier: index for index, tier in enumerate(order)}
    pairs.sort(key=lambda pair: (position.get(pair[0].tier, len(position)), pair[0].model, pair[0].file))
    entries = [entry for entry, _ in pairs]
    manifest = BundleManifest(
        release=spec.release,
        release_notes=spec.release_notes,
        created=spec.created or datetime.now(UTC).replace(microsecond=0),
        expires=spec.expires,
        signing_key_id=key_id(key),
        order=tuple(order),
        minimum_nodes=minimum,
        entries=tuple(entries),
    )
    manifest_bytes = manifest.to_json_bytes()
    parse_bundle_manifest(manifest_bytes)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        members = [
            (BUNDLE_MANIFEST_NAME, manifest_bytes),
            (BUNDLE_SIGNATURE_NAME, sign_message(key, manifest_bytes)),
            *(((CERTIFICATES_NAME, certificates),) if certificates else ()),  # the signer's chain
        ]
        members += [(entry.file, payload) for entry, payload in pairs]
        for name, payload in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            # Packages are ZIPs of deflated members already: storing them costs nothing.
            info.compress_type = zipfile.ZIP_DEFLATED if name == BUNDLE_MANIFEST_NAME else zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, payload, compresslevel=9)
    return buffer.getvalue()

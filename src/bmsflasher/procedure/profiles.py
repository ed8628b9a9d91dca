"""Device profiles: the data-driven limits of the update procedure.

The seeds' figures (SOC 20–80 %, 0–45 °C, calibration ±0.5 %) are defaults, not constants in code:
a manufacturer with a wider-temperature cell chemistry ships its own profile file, and a workshop
can drop one into the user's configuration folder. Profiles live in ``resources/profiles/*.json``
(shipped) and ``<user config dir>/profiles/*.json`` (local, takes precedence); a profile applies to
the models it lists, and ``default.json`` applies to every other model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import platformdirs

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.core.i18n import t
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import DtcSeverity, FirmwareVersion

PROFILE_FORMAT: Final = 1
DEFAULT_PROFILE: Final = "default"


class ProfileError(ConfigValidationError):
    """A device profile file is missing, malformed or holds an impossible limit."""


@dataclass(frozen=True, slots=True)
class Range:
    """An inclusive range ``[min, max]``."""

    min: float
    max: float

    def contains(self, value: float) -> bool:
        return self.min <= value <= self.max

    def __str__(self) -> str:
        return f"{self.min:g}..{self.max:g}"


@dataclass(frozen=True, slots=True)
class StabilityLimits:
    """How steady cell and pack voltage must be over the sampling window before an update."""

    samples: int
    interval_s: float
    max_cell_drift_mv: int
    max_pack_drift_mv: int


@dataclass(frozen=True, slots=True)
class LinkLimits:
    """Round trips the link must survive, and how slow they may be."""

    round_trips: int
    max_failures: int
    max_round_trip_ms: float


@dataclass(frozen=True, slots=True)
class PreconditionLimits:
    """Limits the device must meet before anything is written to it."""

    soc_pct: Range
    temperature_c: Range
    max_abs_current_ma: int
    stability: StabilityLimits
    link: LinkLimits
    min_bootloader_version: FirmwareVersion | None
    critical_dtc_severity: DtcSeverity


@dataclass(frozen=True, slots=True)
class SelfTestLimits:
    """Limits of the post-update self-test."""

    calibration_tolerance_pct: float
    temperature_plausible_c: Range
    temperature_max_spread_c: float
    round_trips: int
    max_round_trip_ms: float
    balancing_cell: int
    balancing_observe_timeout_s: float


@dataclass(frozen=True, slots=True)
class RebootLimits:
    """Bounds on waiting for a device to come back after a reset."""

    reconnect_timeout_s: float
    max_boot_attempts: int
    settle_timeout_s: float


@dataclass(frozen=True, slots=True)
class TransferLimits:
    """How often a broken transfer is resumed within one run before giving up."""

    max_resume_attempts: int
    reconnect_timeout_s: float


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """Everything the procedure needs to know about one family of devices."""

    name: str
    description: str
    models: tuple[str, ...]
    preconditions: PreconditionLimits
    self_test: SelfTestLimits
    reboot: RebootLimits
    transfer: TransferLimits
    source: str = ""


def _section(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise ProfileError(t("profile {where} lacks the '{key}' section", where=where, key=key))
    return value


def _number(data: Mapping[str, Any], key: str, where: str, *, minimum: float | None = None) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProfileError(t("profile {where}: '{key}' must be a number", where=where, key=key))
    if minimum is not None and value < minimum:
        raise ProfileError(
            t(
                "profile {where}: '{key}' must be at least {minimum:g}, not {value:g}",
                where=where,
                key=key,
                minimum=minimum,
                value=value,
            )
        )
    return float(value)


def _integer(data: Mapping[str, Any], key: str, where: str, *, minimum: int = 0) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileError(t("profile {where}: '{key}' must be a whole number", where=where, key=key))
    if value < minimum:
        raise ProfileError(
            t(
                "profile {where}: '{key}' must be at least {minimum}, not {value}",
                where=where,
                key=key,
                minimum=minimum,
                value=value,
            )
        )
    return value


def _range(data: Mapping[str, Any], key: str, where: str) -> Range:
    section = _section(data, key, where)
    low = _number(section, "min", f"{where}.{key}")
    high = _number(section, "max", f"{where}.{key}")
    if low > high:
        raise ProfileError(
            t(
                "profile {where}: '{key}' has min {low:g} above max {high:g}",
                where=where,
                key=key,
                low=low,
                high=high,
            )
        )
    return Range(low, high)


def _preconditions(data: Mapping[str, Any], where: str) -> PreconditionLimits:
    stability = _section(data, "stability", where)
    link = _section(data, "link", where)
    bootloader_text = data.get("min_bootloader_version")
    bootloader = FirmwareVersion.parse(str(bootloader_text)) if bootloader_text else None
    severity_text = str(data.get("critical_dtc_severity", DtcSeverity.CRITICAL.value))
    try:
        severity = DtcSeverity(severity_text)
    except ValueError:
        raise ProfileError(
            t(
                "profile {where}: unknown DTC severity '{severity}'",
                where=where,
                severity=severity_text,
            )
        ) from None
    return PreconditionLimits(
        soc_pct=_range(data, "soc_pct", where),
        temperature_c=_range(data, "temperature_c", where),
        max_abs_current_ma=_integer(_section(data, "current_ma", where), "max_abs", where),
        stability=StabilityLimits(
            samples=_integer(stability, "samples", f"{where}.stability", minimum=2),
            interval_s=_number(stability, "interval_s", f"{where}.stability", minimum=0.0),
            max_cell_drift_mv=_integer(stability, "max_cell_drift_mv", f"{where}.stability"),
            max_pack_drift_mv=_integer(stability, "max_pack_drift_mv", f"{where}.stability"),
        ),
        link=LinkLimits(
            round_trips=_integer(link, "round_trips", f"{where}.link", minimum=1),
            max_failures=_integer(link, "max_failures", f"{where}.link"),
            max_round_trip_ms=_number(link, "max_round_trip_ms", f"{where}.link", minimum=0.0),
        ),
        min_bootloader_version=bootloader,
        critical_dtc_severity=severity,
    )


def _self_test(data: Mapping[str, Any], where: str) -> SelfTestLimits:
    return SelfTestLimits(
        calibration_tolerance_pct=_number(data, "calibration_tolerance_pct", where, minimum=0.0),
        temperature_plausible_c=_range(data, "temperature_plausible_c", where),
        temperature_max_spread_c=_number(data, "temperature_max_spread_c", where, minimum=0.0),
        round_trips=_integer(data, "round_trips", where, minimum=1),
        max_round_trip_ms=_number(data, "max_round_trip_ms", where, minimum=0.0),
        balancing_cell=_integer(data, "balancing_cell", where),
        balancing_observe_timeout_s=_number(data, "balancing_observe_timeout_s", where, minimum=0.0),
    )


def parse_profile(data: Mapping[str, Any], source: str = "<memory>") -> DeviceProfile:
    """Build a profile from decoded JSON, naming the file and field of any mistake."""
    if data.get("format") != PROFILE_FORMAT:
        raise ProfileError(
            t(
                "profile {source} has format {found!r}; expected {expected}",
                source=source,
                found=data.get("format"),
                expected=PROFILE_FORMAT,
            )
        )
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ProfileError(t("profile {source} has no name", source=source))
    models = data.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise ProfileError(t("profile {source}: 'models' must be a list of model names", source=source))
    reboot = _section(data, "reboot", source)
    transfer = _section(data, "transfer", source)
    return DeviceProfile(
        name=name,
        description=str(data.get("description", "")),
        models=tuple(models),
        preconditions=_preconditions(_section(data, "preconditions", source), f"{source}.preconditions"),
        self_test=_self_test(_section(data, "self_test", source), f"{source}.self_test"),
        reboot=RebootLimits(
            reconnect_timeout_s=_number(reboot, "reconnect_timeout_s", source, minimum=0.1),
            max_boot_attempts=_integer(reboot, "max_boot_attempts", source, minimum=1),
            settle_timeout_s=_number(reboot, "settle_timeout_s", source, minimum=0.0),
        ),
        transfer=TransferLimits(
            max_resume_attempts=_integer(transfer, "max_resume_attempts", source),
            reconnect_timeout_s=_number(transfer, "reconnect_timeout_s", source, minimum=0.1),
        ),
        source=source,
    )


def load_profile_file(path: Path) -> DeviceProfile:
    """Read and validate one profile file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(
            t("cannot read profile {path}: {reason}", path=path, reason=exc.strerror or exc)
        ) from exc
    except json.JSONDecodeError as exc:
        raise ProfileError(
            t("profile {path} is not valid JSON (line {lineno})", path=path, lineno=exc.lineno)
        ) from exc
    if not isinstance(data, dict):
        raise ProfileError(t("profile {path} must hold a JSON object", path=path))
    return parse_profile(data, str(path))


def profile_dirs() -> list[Path]:
    """Folders searched for profiles, most specific first (user's own, then shipped)."""
    return [Path(platformdirs.user_config_dir("bmsflasher")) / "profiles", resource_path("profiles")]


def load_profiles(dirs: list[Path] | None = None) -> list[DeviceProfile]:
    """Every profile in the search folders; an earlier folder's profile hides a later one's name."""
    found: dict[str, DeviceProfile] = {}
    for folder in dirs if dirs is not None else profile_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            profile = load_profile_file(path)
            found.setdefault(profile.name, profile)
    return list(found.values())


def profile_for_model(model: str, dirs: list[Path] | None = None) -> DeviceProfile:
    """The profile that names ``model``, else the default profile."""
    profiles = load_profiles(dirs)
    for profile in profiles:
        if model in profile.models:
            return profile
    for profile in profiles:
        if profile.name == DEFAULT_PROFILE:
            return profile
    raise ProfileError(
        t(
            "no device profile matches model '{model}' and no default profile is installed",
            model=model,
        )
    )

"""Seed/key computation for UDS SecurityAccess (0x27), behind an injectable provider.

The key algorithm is the one ``docs/design/sim-api.md`` specifies for this BMS family:
``key = HMAC-SHA256(device_secret, seed)[:16]`` with
``device_secret = HMAC-SHA256(master_secret, serial_number)``. Per-device secrets mean a key
leaked from one pack unlocks only that pack. Callers inject a :class:`SecurityKeyProvider` so an
OEM algorithm or a hardware security module can replace it without touching the client.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Protocol, runtime_checkable

from bmsflasher.core.errors import KeyFileError
from bmsflasher.core.i18n import t
from bmsflasher.core.resources import resource_path

KEY_LENGTH = 16


@runtime_checkable
class SecurityKeyProvider(Protocol):
    """Computes the key a device expects for a seed."""

    def key_for(self, seed: bytes, serial_number: str, level: int) -> bytes:
        """Return the key for ``seed`` sent by the device with ``serial_number`` at ``level``."""
        ...


class HmacKeyProvider:
    """The BMS family's HMAC-SHA256 seed/key with a per-device secret derived from the serial."""

    def __init__(self, master_secret: bytes) -> None:
        if len(master_secret) < 16:
            raise KeyFileError(t("The security master secret is shorter than 16 bytes."))
        self._master = master_secret

    def device_secret(self, serial_number: str) -> bytes:
        return hmac.new(self._master, serial_number.encode(), hashlib.sha256).digest()

    def key_for(self, seed: bytes, serial_number: str, level: int) -> bytes:
        del level  # one level: the same derivation unlocks configuration and programming
        return hmac.new(self.device_secret(serial_number), seed, hashlib.sha256).digest()[:KEY_LENGTH]


def load_master_secret(path: Path) -> bytes:
    """Read a master secret file (hex text); raises :class:`KeyFileError` with a clear sentence."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(t("The security key file {path} cannot be read.", path=path)) from exc
    try:
        secret = bytes.fromhex(text)
    except ValueError as exc:
        raise KeyFileError(
            t("The security key file {path} does not hold hexadecimal text.", path=path)
        ) from exc
    if len(secret) < 16:
        raise KeyFileError(t("The security key in {path} is shorter than 16 bytes.", path=path))
    return secret


def provider_from_file(path: Path) -> HmacKeyProvider:
    """A provider using the master secret stored in ``path``."""
    return HmacKeyProvider(load_master_secret(path))


def demo_key_provider() -> HmacKeyProvider:
    """The DEMO master secret shipped in resources/demo (public: for the virtual BMS only)."""
    return provider_from_file(resource_path("demo", "security-master.key"))

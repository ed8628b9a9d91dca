"""Remember the last good link setting per adapter, so the next scan starts with a single handshake.

The cache is a small JSON file in the user cache directory (platformdirs). It is advisory: a
missing, unreadable or corrupt file means a cold scan, never an error, and writes are atomic
(temporary file + ``os.replace``) so two scans running at once cannot leave half a file.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import platformdirs

from bmsflasher.discovery.candidates import parse_port_argument

_log = logging.getLogger(__name__)

CACHE_FILE_NAME: Final = "scan-cache.json"
CACHE_SCHEMA: Final = 1
MAX_ENTRIES: Final = 256  # oldest entries are dropped beyond this: a workshop PC sees many adapters


@dataclass(frozen=True, slots=True)
class CachedSetting:
    """What worked last time on one adapter."""

    protocol: str
    baud: int = 0
    bitrate: int = 0
    node_count: int = 0
    saved_at_s: float = 0.0
    parity: str = ""
    """A Modbus RTU line's parity (N, E, O); empty for every other protocol."""
    stopbits: int = 0
    addresses: tuple[int, ...] = ()
    """The Modbus units that answered: a warm scan asks these first."""

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "protocol": self.protocol,
            "baud": self.baud,
            "bitrate": self.bitrate,
            "node_count": self.node_count,
            "saved_at_s": self.saved_at_s,
        }
        if self.protocol == "modbus":
            document.update(parity=self.parity, stopbits=self.stopbits, addresses=list(self.addresses))
        return document

    @staticmethod
    def from_json(value: object) -> CachedSetting | None:
        """Parse one entry; None for anything malformed (a hand-edited or foreign file)."""
        if not isinstance(value, dict):
            return None
        protocol = value.get("protocol")
        numbers = [value.get(name, 0) for name in ("baud", "bitrate", "node_count")]
        if not isinstance(protocol, str) or not all(isinstance(n, int) and n >= 0 for n in numbers):
            return None
        saved = value.get("saved_at_s", 0.0)
        parity = value.get("parity", "")
        stopbits = value.get("stopbits", 0)
        addresses = value.get("addresses", [])
        if (
            parity not in ("", "N", "E", "O")
            or stopbits not in (0, 1, 2)
            or not isinstance(addresses, list)
            or not all(isinstance(a, int) and 0 < a < 248 for a in addresses)
        ):
            return None
        return CachedSetting(
            protocol=protocol,
            baud=numbers[0],
            bitrate=numbers[1],
            node_count=numbers[2],
            saved_at_s=float(saved) if isinstance(saved, int | float) else 0.0,
            parity=parity,
            stopbits=stopbits,
            addresses=tuple(addresses),
        )


def default_cache_path() -> Path:
    """``<user cache dir>/bmsflasher/scan-cache.json`` on every OS."""
    return Path(platformdirs.user_cache_dir("bmsflasher", appauthor=False)) / CACHE_FILE_NAME


class ScanCache:
    """Thread-safe map from adapter cache key to :class:`CachedSetting`, persisted as JSON."""

    def __init__(self, path: Path | None = None, *, enabled: bool = True) -> None:
        self._path = path if path is not None else default_cache_path()
        self._enabled = enabled
        self._lock = threading.Lock()
        self._entries: dict[str, CachedSetting] = self._load() if enabled else {}

    @property
    def path(self) -> Path:
        return self._path

    def _load(self) -> dict[str, CachedSetting]:
        try:
            document = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            _log.warning("ignoring the unreadable scan cache %s: %s", self._path, exc)
            return {}
        if not isinstance(document, dict) or document.get("schema") != CACHE_SCHEMA:
            return {}
        raw = document.get("entries")
        if not isinstance(raw, dict):
            return {}
        entries: dict[str, CachedSetting] = {}
        for key, value in raw.items():
            setting = CachedSetting.from_json(value)
            if isinstance(key, str) and setting is not None:
                entries[key] = setting
        return entries

    def get(self, key: str) -> CachedSetting | None:
        """The remembered setting for an adapter, or None (always None when the cache is disabled)."""
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, setting: CachedSetting) -> None:
        """Remember a setting (in memory; :meth:`save` writes the file)."""
        if not self._enabled:
            return
        stamped = setting if setting.saved_at_s else replace(setting, saved_at_s=time.time())
        with self._lock:
            self._entries[key] = stamped

    def forget(self, key: str) -> None:
        """Drop an adapter's entry (its device stopped answering at the remembered setting)."""
        with self._lock:
            self._entries.pop(key, None)

    def save(self) -> None:
        """Write the file atomically; a failure is logged, not raised (the cache is only a speed-up)."""
        if not self._enabled:
            return
        with self._lock:
            newest = sorted(self._entries.items(), key=lambda item: item[1].saved_at_s, reverse=True)
            document = {
                "schema": CACHE_SCHEMA,
                "entries": {key: setting.to_json() for key, setting in newest[:MAX_ENTRIES]},
            }
        temporary: Path | None = None
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=".scan-cache-", dir=self._path.parent)
            temporary = Path(name)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(document, stream, indent=1, sort_keys=True)
            temporary.replace(self._path)
        except OSError as exc:
            _log.warning("could not save the scan cache %s: %s", self._path, exc)
            if temporary is not None:
                temporary.unlink(missing_ok=True)


RATE_PROTOCOL: Final = "smp-rate"
"""The entry kind of a negotiated line rate (``CachedSetting.protocol``), beside the scan's entries."""
RATE_MEMORY_S: Final = 30 * 24 * 3600.0
"""A remembered rate older than this is tried afresh from the fastest: cables and adapters change."""


def _adapter_key(port: str) -> str:
    """The scan's key of the adapter behind ``port`` (USB serial number or socket), else its path."""
    from bmsflasher.discovery.enumerate import enumerate_serial_ports  # lazy: pyserial's list_ports

    wanted = os.path.realpath(port) if not port.startswith(("socket://", "rfc2217://", "loop://")) else port
    try:
        for candidate in enumerate_serial_ports():
            if candidate.port in (port, wanted):
                return candidate.cache_key
    except Exception:  # noqa: BLE001 - enumeration is a nicety here: fall back to the path
        _log.debug("cannot enumerate serial ports for the rate memory", exc_info=True)
    return f"serial:{wanted}"


def remembered_modbus_line(port: str, cache: ScanCache | None = None) -> CachedSetting | None:
    """What the last scan found on the RS485 line behind ``port`` (baud, parity, stop bits), or None.

    A technician who ran ``scan`` and then ``monitor --port P --address 3`` without repeating the
    line settings gets the default 115200 8E1 and silence; this lets the error name what the scan
    found instead of a generic "check the baud".
    """
    store = cache if cache is not None else ScanCache()
    # ``scan --port P`` files the line under P as typed; a scan that enumerated it, under the adapter
    for key in dict.fromkeys((parse_port_argument(port).cache_key, _adapter_key(port))):
        setting = store.get(key)
        if setting is not None and setting.protocol == "modbus" and setting.baud > 0:
            return setting
    return None


class AdapterRateMemory:
    """The fastest line rate a negotiated switch held, per adapter (``protocols/smp/link_rate.RateMemory``).

    Stored in the scan cache under ``rate:<adapter key>``, so ``scan --no-cache``-style users and a
    disabled cache get no memory. The next connection through the same adapter tries that rate
    first; a rate that then fails still falls back, and the lower rate that held is remembered.
    """

    def __init__(self, cache: ScanCache | None = None) -> None:
        self._cache = cache if cache is not None else ScanCache()

    def held_rate(self, port: str) -> int | None:
        setting = self._cache.get(self._key(port))
        if setting is None or setting.protocol != RATE_PROTOCOL or setting.baud <= 0:
            return None
        if time.time() - setting.saved_at_s > RATE_MEMORY_S:
            return None
        return setting.baud

    def remember_rate(self, port: str, baud: int) -> None:
        self._cache.put(self._key(port), CachedSetting(protocol=RATE_PROTOCOL, baud=baud))
        self._cache.save()

    @staticmethod
    def _key(port: str) -> str:
        return f"rate:{_adapter_key(port)}"

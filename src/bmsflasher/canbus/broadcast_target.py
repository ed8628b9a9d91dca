"""A battery watched only through its CAN broadcasts: a read-only :class:`~bmsflasher.core.target.Target`.

The GUI's "CAN broadcast (DBC)" connection opens one of these: a thread receives frames (nothing is
ever sent) and feeds the DBC decoder, and :meth:`BroadcastTarget.read_telemetry` returns the pack as
last heard, so the live view works for any CAN BMS with a DBC. Everything that needs a device that
answers — identity beyond the DBC's name, configuration, trouble codes, updates — raises
:class:`ReadOnlyTargetError`, whose sentence the pages show as the reason they are unavailable.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Final, NoReturn

from bmsflasher.canbus.dbc_telemetry import DbcTelemetryDecoder, load_decoder
from bmsflasher.core.config_schema import ConfigSchema
from bmsflasher.core.errors import LinkError, NoResponseError, UnsupportedOperationError
from bmsflasher.core.i18n import Text, t
from bmsflasher.core.target import LinkStats, ProgressCallback, ResumePolicy, UnlockListener
from bmsflasher.core.types import (
    ConfigSnapshot,
    DeviceIdentity,
    DeviceSelfTest,
    Dtc,
    LinkSettings,
    PackTelemetry,
)
from bmsflasher.links.can import CanLink, CanLinkConfig

PROTOCOL: Final = "can-dbc"
#: How long the first telemetry read waits for a complete multiplex cycle (temperatures: 1 s).
FIRST_SAMPLE_TIMEOUT_S: Final = 3.0
_RECEIVE_SLICE_S: Final = 0.05


def read_only_reason() -> Text:
    """Why a page that writes (or asks the device) is unavailable in this mode."""
    return t(
        "This battery is watched through its CAN broadcasts (DBC): read-only, nothing is sent to it. "
        "Connect over UDS, SMP or Modbus to update, configure or read trouble codes."
    )


class ReadOnlyTargetError(UnsupportedOperationError):
    """An operation that needs a device that answers, asked of a broadcast-only connection."""


class BroadcastTarget:
    """Listens on ``link`` and decodes with ``decoder``; see the module docstring."""

    def __init__(
        self, link: CanLink, decoder: DbcTelemetryDecoder, settings: LinkSettings, dbc: Path
    ) -> None:
        self._link = link
        self._decoder = decoder
        self._settings = settings
        self._dbc = dbc
        self._lock = threading.Lock()
        self._latest: PackTelemetry | None = None
        self._error: LinkError | None = None
        self._frames = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="can-dbc-listener", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, settings: LinkSettings, dbc: Path, signal_map: Path) -> BroadcastTarget:
        """Check the DBC and the map, then open the adapter (DbcFileError, SignalMapError, LinkError)."""
        decoder = load_decoder(dbc, signal_map)
        link = CanLink.open(CanLinkConfig.from_settings(settings))
        return cls(link, decoder, settings, dbc)

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                frame = self._link.recv(_RECEIVE_SLICE_S)
            except LinkError as exc:
                with self._lock:
                    self._error = exc
                return
            if frame is None:
                continue
            with self._lock:
                self._frames += 1
                if self._decoder.feed(frame):
                    self._latest = self._decoder.snapshot() or self._latest

    @property
    def protocol(self) -> str:
        return PROTOCOL

    @property
    def link(self) -> LinkSettings:
        return self._settings

    def identify(self) -> DeviceIdentity:
        """The DBC's name stands for the model; a broadcast carries no serial number."""
        return DeviceIdentity(
            model=f"CAN broadcast ({self._dbc.stem})"[:64],
            serial_number=f"DBC-{self._dbc.stem}"[:64],
            hardware_revision="",
            firmware_version=None,
            bootloader_version=None,
        )

    def read_telemetry(self) -> PackTelemetry:
        """The pack as last heard; waits up to :data:`FIRST_SAMPLE_TIMEOUT_S` for the first one."""
        deadline = time.monotonic() + FIRST_SAMPLE_TIMEOUT_S
        while True:
            with self._lock:
                if self._error is not None:
                    raise self._error
                if self._latest is not None:
                    return self._latest
                frames = self._frames
            if time.monotonic() >= deadline:
                raise NoResponseError(
                    t(
                        "no complete pack was heard in {seconds:g} s ({frames} frames received)",
                        seconds=FIRST_SAMPLE_TIMEOUT_S,
                        frames=frames,
                    ),
                    hint=t("Check the bit rate, the DBC and the map (docs/can-tools.md)."),
                )
            time.sleep(_RECEIVE_SLICE_S)

    def _refuse(self, operation: Text) -> NoReturn:
        raise ReadOnlyTargetError(
            t("{operation} is not available: {reason}", operation=operation, reason=read_only_reason())
        )

    def read_config(self) -> ConfigSnapshot:
        self._refuse(t("Reading the configuration"))

    def read_config_schema(self) -> ConfigSchema:
        self._refuse(t("Reading the configuration"))

    def write_config(self, snapshot: ConfigSnapshot) -> None:
        self._refuse(t("Changing the configuration"))

    def read_dtcs(self) -> list[Dtc]:
        self._refuse(t("Reading trouble codes"))

    def clear_dtcs(self) -> None:
        self._refuse(t("Clearing trouble codes"))

    def ping(self) -> float:
        self._refuse(t("A round trip to the device"))

    def upload_image(
        self, image: bytes, on_progress: ProgressCallback | None = None, *, resume: ResumePolicy | None = None
    ) -> None:
        self._refuse(t("A firmware update"))

    def mark_for_test(self) -> None:
        self._refuse(t("A firmware update"))

    def reset(self) -> None:
        self._refuse(t("A reset"))

    def reconnect(self, timeout_s: float) -> DeviceIdentity:
        self._refuse(t("A reconnect"))

    def run_self_test(self) -> DeviceSelfTest:
        self._refuse(t("A self-test"))

    def set_balancing(self, cell_index: int, enabled: bool) -> None:
        self._refuse(t("Balancing"))

    def confirm(self) -> None:
        self._refuse(t("A firmware update"))

    def rollback(self) -> None:
        self._refuse(t("A rollback"))

    def link_stats(self) -> LinkStats:
        with self._lock:
            return LinkStats(requests=0, bytes_received=8 * self._frames)

    def trusted_key_hashes(self) -> tuple[bytes, ...] | None:
        return None

    def add_unlock_listener(self, listener: UnlockListener) -> None:
        """Nothing is ever unlocked: nothing is sent."""

    def remove_unlock_listener(self, listener: UnlockListener) -> None:
        """Nothing is ever unlocked: nothing is sent."""

    def close(self) -> None:
        """Stop listening and release the adapter. Safe to call twice."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._link.close()

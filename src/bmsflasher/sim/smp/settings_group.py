"""SMP group 3 (settings management) of the virtual BMS: the configuration as ``bms/<parameter>``.

Read, write, delete, commit, load and save, with Zephyr's settings_mgmt limits; ``val`` is the
CBOR encoding of the value, so its type survives the round trip. Writes stage values (checked by
the device), ``save`` persists them, ``load`` brings the saved ones back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import cbor2

from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.smp.error_codes import MgmtErr, SettingsErr, SmpRequestError
from bmsflasher.sim.smp.messages import GROUP_SETTINGS, OP_READ, OP_WRITE, HandlerTable, Request, is_uint

SETTINGS_PREFIX: Final = "bms/"
SETTINGS_NAME_MAX: Final = 64  # CONFIG_MCUMGR_GRP_SETTINGS_NAME_LEN: longer names are KEY_TOO_LONG
SETTINGS_VALUE_MAX: Final = 256  # CONFIG_MCUMGR_GRP_SETTINGS_VALUE_LEN: the largest 'val' returned


class SettingsGroup:
    """The settings group's handlers for one device."""

    def __init__(self, device: VirtualBms) -> None:
        self._device = device

    def handlers(self) -> HandlerTable:
        """This group's commands by (group, command, op)."""
        return {
            (GROUP_SETTINGS, 0, OP_READ): self._setting_read,
            (GROUP_SETTINGS, 0, OP_WRITE): self._setting_write,
            (GROUP_SETTINGS, 1, OP_WRITE): self._setting_delete,
            (GROUP_SETTINGS, 2, OP_WRITE): self._settings_commit,
            (GROUP_SETTINGS, 3, OP_READ): self._settings_load,
            (GROUP_SETTINGS, 3, OP_WRITE): self._settings_save,
        }

    def _parameter_name(self, request: Request) -> str:
        name = request.body.get("name")
        if not isinstance(name, str) or not name:
            raise SmpRequestError(MgmtErr.EINVAL, reason="a settings request needs a 'name'")
        if len(name.encode()) >= SETTINGS_NAME_MAX:
            raise SmpRequestError(SettingsErr.KEY_TOO_LONG, group=GROUP_SETTINGS)
        if not name.startswith(SETTINGS_PREFIX):
            raise SmpRequestError(SettingsErr.ROOT_KEY_NOT_FOUND, group=GROUP_SETTINGS)
        parameter = name[len(SETTINGS_PREFIX) :]
        if parameter not in self._device.config_schema():
            raise SmpRequestError(SettingsErr.KEY_NOT_FOUND, group=GROUP_SETTINGS)
        return parameter

    def _setting_read(self, request: Request) -> Mapping[str, Any]:
        """``val`` (at most ``max_size`` bytes); ``max_size`` comes back when the device's limit is lower."""
        max_size = request.body.get("max_size", SETTINGS_VALUE_MAX)
        if not is_uint(max_size):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'max_size' is an unsigned integer")
        parameter = self._parameter_name(request)
        value = cbor2.dumps(self._device.config().parameters[parameter])
        if max_size > SETTINGS_VALUE_MAX:
            return {"val": value[:SETTINGS_VALUE_MAX], "max_size": SETTINGS_VALUE_MAX}
        return {"val": value[:max_size]}

    def _setting_write(self, request: Request) -> Mapping[str, Any]:
        parameter = self._parameter_name(request)
        raw = request.body.get("val")
        if not isinstance(raw, bytes):
            raise SmpRequestError(MgmtErr.EINVAL, reason="a settings write needs 'val' bytes")
        if not self._device.config_schema()[parameter].writable:
            raise SmpRequestError(SettingsErr.WRITE_NOT_SUPPORTED, group=GROUP_SETTINGS)
        try:
            value = cbor2.loads(raw)
        except (cbor2.CBORDecodeError, ValueError) as exc:
            raise SmpRequestError(MgmtErr.EINVAL, reason="'val' is not CBOR") from exc
        if not isinstance(value, int | float | str | bool):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'val' must hold a number, text or a boolean")
        self._device.set_parameters({parameter: value})
        return {}

    def _setting_delete(self, request: Request) -> Mapping[str, Any]:
        self._parameter_name(request)
        raise SmpRequestError(SettingsErr.DELETE_NOT_SUPPORTED, group=GROUP_SETTINGS)

    def _settings_commit(self, _request: Request) -> Mapping[str, Any]:
        self._device.config()  # staged values are already in effect; this checks the mode
        return {}

    def _settings_load(self, _request: Request) -> Mapping[str, Any]:
        saved = self._device.saved_config().parameters
        schema = self._device.config_schema()
        self._device.set_parameters({k: v for k, v in saved.items() if k in schema and schema[k].writable})
        return {}

    def _settings_save(self, _request: Request) -> Mapping[str, Any]:
        self._device.save_config()
        return {}

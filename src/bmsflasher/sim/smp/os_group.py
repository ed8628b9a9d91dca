"""SMP group 0 (OS management) of the virtual BMS: echo, reset, MCUmgr parameters, info.

Echo (read or write), reset (the front-end reboots the device once the answer has left the
wire), MCUmgr parameters (buffer size and count), OS/application info with Zephyr's ``format``
letters, and bootloader info (``"MCUboot"``, query ``mode``, and the vendor query ``key_hashes``:
the SHA-256 of each key the bootloader trusts, as a Zephyr bootloader-info hook would add it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.smp.error_codes import MgmtErr, OsErr, SmpRequestError
from bmsflasher.sim.smp.messages import GROUP_OS, OP_READ, OP_WRITE, HandlerTable, Request, version_text

BOOTLOADER_NAME: Final = "MCUboot"
MCUBOOT_MODE_SWAP_USING_MOVE: Final = 3  # smp.os_management.MCUbootMode.SWAP_WITHOUT_SCRATCH
KEY_HASHES_QUERY: Final = "key_hashes"
_INFO_ORDER: Final = "snrvmpio"  # OS info fields in Zephyr's output order (no build date 'b')
RESET_COMMAND: Final = (GROUP_OS, 5, OP_WRITE)
"""The one command after whose answer the device reboots."""


class OsGroup:
    """The OS group's handlers for one device.

    Args:
        device: the virtual BMS.
        buf_size: frame buffer size reported by the MCUmgr-parameters command.
        buf_count: frame buffer count reported by the MCUmgr-parameters command.
    """

    def __init__(self, device: VirtualBms, buf_size: int, buf_count: int) -> None:
        self._device = device
        self._buf_size = buf_size
        self._buf_count = buf_count

    def handlers(self) -> HandlerTable:
        """This group's commands by (group, command, op)."""
        return {
            (GROUP_OS, 0, OP_READ): self._echo,  # the specification allows echo as read or write
            (GROUP_OS, 0, OP_WRITE): self._echo,
            RESET_COMMAND: self._reset,
            (GROUP_OS, 6, OP_READ): self._params,
            (GROUP_OS, 7, OP_READ): self._app_info,
            (GROUP_OS, 8, OP_READ): self._bootloader_info,
        }

    def _echo(self, request: Request) -> Mapping[str, Any]:
        text = request.body.get("d", "")  # Zephyr echoes an empty string when 'd' is absent
        if not isinstance(text, str):
            raise SmpRequestError(MgmtErr.EINVAL, reason="echo's 'd' must be a text string")
        return {"r": text}

    def _reset(self, _request: Request) -> Mapping[str, Any]:
        return {}  # the front-end reboots the device once this answer has been sent

    def _params(self, _request: Request) -> Mapping[str, Any]:
        return {"buf_size": self._buf_size, "buf_count": self._buf_count}

    def _app_info(self, request: Request) -> Mapping[str, Any]:
        """Zephyr's uname-like OS/application info: ``format`` letters pick fields, in a fixed order."""
        text = request.body.get("format", "")
        if not isinstance(text, str):
            raise SmpRequestError(MgmtErr.EINVAL, reason="'format' must be a text string")
        if any(letter not in _INFO_ORDER + "a" for letter in text):
            raise SmpRequestError(OsErr.INVALID_FORMAT, group=GROUP_OS)
        wanted = set(_INFO_ORDER) if "a" in text else set(text) or {"s"}
        identity = self._device.identity()
        fields = {
            "s": "Zephyr",
            "n": identity.serial_number or "unknown",
            "r": version_text(identity.firmware_version) or "unknown",
            "v": "bmsflasher-vbms",
            "m": "arm",
            "p": "cortex-m4",
            "i": f"{identity.model}@{identity.hardware_revision}"
            if identity.hardware_revision
            else identity.model,
            "o": "Zephyr",
        }
        return {"output": " ".join(fields[letter] for letter in _INFO_ORDER if letter in wanted)}

    def _bootloader_info(self, request: Request) -> Mapping[str, Any]:
        query = request.body.get("query")
        if query is None:
            return {"bootloader": BOOTLOADER_NAME}
        if query == "mode":
            return {"mode": MCUBOOT_MODE_SWAP_USING_MOVE, "no-downgrade": True}
        if query == KEY_HASHES_QUERY:
            hashes = self._device.trusted_key_hashes()
            if hashes is not None:
                return {KEY_HASHES_QUERY: list(hashes)}
        raise SmpRequestError(OsErr.QUERY_YIELDS_NO_ANSWER, group=GROUP_OS)

"""SMP group 72 (vendor range) of the virtual BMS: what a BMS offers beyond MCUmgr's groups.

Identity, telemetry, DTCs (read and clear), the post-update self-test, forced balancing, manual
rollback, the configuration schema (whole, or one page at a time for noisy lines) and, on a device
started with ``--auth certificate``, the technician's signed challenge (commands 7 and 8). The
commands and their error codes are specified in docs/protocols/smp.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimDowngradeError, SimImageRejectedError, SimParameterError
from bmsflasher.sim.smp.bms_auth import CMD_PRESENT_CERTIFICATE, CMD_PROVE, BmsAuth
from bmsflasher.sim.smp.error_codes import BmsErr, MgmtErr, SmpRequestError
from bmsflasher.sim.smp.messages import GROUP_BMS, OP_READ, OP_WRITE, HandlerTable, Request, is_uint


class BmsGroup:
    """The BMS group's handlers for one device."""

    def __init__(self, device: VirtualBms, auth: BmsAuth | None = None) -> None:
        self._device = device
        self._auth = auth

    def handlers(self) -> HandlerTable:
        """This group's commands by (group, command, op)."""
        return {
            (GROUP_BMS, 0, OP_READ): self._bms_identity,
            (GROUP_BMS, 1, OP_READ): self._bms_telemetry,
            (GROUP_BMS, 2, OP_READ): self._bms_dtcs,
            (GROUP_BMS, 2, OP_WRITE): self._bms_clear_dtcs,
            (GROUP_BMS, 3, OP_WRITE): self._bms_self_test,
            (GROUP_BMS, 4, OP_WRITE): self._bms_balancing,
            (GROUP_BMS, 5, OP_WRITE): self._bms_rollback,
            (GROUP_BMS, 6, OP_READ): self._bms_schema,
            # Technician authentication (sim/smp/bms_auth.py), offered by --auth certificate devices.
            **(
                {
                    (GROUP_BMS, CMD_PRESENT_CERTIFICATE, OP_WRITE): self._auth.present_certificate,
                    (GROUP_BMS, CMD_PROVE, OP_WRITE): self._auth.prove,
                }
                if self._auth is not None
                else {}
            ),
        }

    def _bms_identity(self, _request: Request) -> Mapping[str, Any]:
        identity = self._device.identity()
        body: dict[str, Any] = {
            "model": identity.model,
            "serial": identity.serial_number,
            "hw_rev": identity.hardware_revision,
            "bl_version": str(identity.bootloader_version) if identity.bootloader_version else "",
            "mode": identity.mode.value,
            "security_counter": identity.security_counter,
        }
        if identity.firmware_version is not None:
            body["fw_version"] = str(identity.firmware_version)
        return body

    def _bms_telemetry(self, _request: Request) -> Mapping[str, Any]:
        t = self._device.telemetry()
        return {
            "t_s": t.timestamp_s,
            "cells_mv": list(t.cell_voltages_mv),
            "balancing": list(t.balancing),
            "temps_c": list(t.temperatures_c),
            "pack_mv": t.pack_voltage_mv,
            "current_ma": t.current_ma,
            "soc_pct": t.soc_pct,
            "soh_pct": t.soh_pct,
            "alarms": sorted(a.value for a in t.alarms),
        }

    def _bms_dtcs(self, _request: Request) -> Mapping[str, Any]:
        return {
            "dtcs": [
                {
                    "code": d.code,
                    "status": d.status,
                    "severity": d.severity.value,
                    "description": d.description,
                }
                for d in self._device.dtcs()
            ]
        }

    def _bms_clear_dtcs(self, _request: Request) -> Mapping[str, Any]:
        self._device.clear_dtcs()
        return {}

    def _bms_self_test(self, _request: Request) -> Mapping[str, Any]:
        result = self._device.self_test()
        return {
            "passed": result.passed,
            "checks": [
                {
                    "name": c.name,
                    "passed": c.passed,
                    "measured": c.measured,
                    "limit": c.limit,
                    "detail": c.detail,
                }
                for c in result.checks
            ],
        }

    def _bms_balancing(self, request: Request) -> Mapping[str, Any]:
        cell, on = request.body.get("cell"), request.body.get("on")
        if not is_uint(cell) or not isinstance(on, bool):
            raise SmpRequestError(
                BmsErr.INVALID_CELL, group=GROUP_BMS, reason="balancing needs 'cell' and 'on'"
            )
        try:
            self._device.set_balancing(cell, on)
        except SimParameterError as exc:
            raise SmpRequestError(BmsErr.INVALID_CELL, group=GROUP_BMS, reason=str(exc)) from exc
        return {}

    def _bms_rollback(self, _request: Request) -> Mapping[str, Any]:
        try:
            self._device.rollback()
        except (SimImageRejectedError, SimDowngradeError) as exc:
            raise SmpRequestError(BmsErr.ROLLBACK_UNAVAILABLE, group=GROUP_BMS, reason=str(exc)) from exc
        return {}

    def _bms_schema(self, request: Request) -> Mapping[str, Any]:
        """The configuration schema, whole or (with ``start``/``count``) one page of it.

        The whole schema is a frame of over a kilobyte, which a noisy line (bit error rate 1e-4)
        loses most of the time however often it is asked for; a page of a few entries is short
        enough to get through. A paged answer carries ``total`` so the client knows when to stop.
        """
        params = []
        for spec in self._device.config_schema().values():
            entry: dict[str, Any] = {
                "name": spec.name,
                "type": spec.kind.__name__,
                "unit": spec.unit,
                "writable": spec.writable,
                "description": spec.description,
            }
            if spec.minimum is not None:
                entry["min"] = spec.minimum
            if spec.maximum is not None:
                entry["max"] = spec.maximum
            if spec.choices:
                entry["choices"] = list(spec.choices)
            params.append(entry)
        version = self._device.config().schema_version
        start, count = request.body.get("start"), request.body.get("count", 1)
        if start is None:
            return {"schema_version": version, "params": params}
        if not (is_uint(start) and is_uint(count) and count >= 1):
            raise SmpRequestError(MgmtErr.EINVAL, reason="start and count must be unsigned integers")
        return {"schema_version": version, "total": len(params), "params": params[start : start + count]}

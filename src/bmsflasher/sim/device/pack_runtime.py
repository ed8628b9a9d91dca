"""The pack over time as the running firmware sees it: the simulated clock, measurement, balancing.

:class:`~bmsflasher.sim.device.pack.PackModel` is physics only; this is the firmware's loop around
it. Each call first brings the pack to "now" (real time since the last call times the device's
time scale), measures it through the configuration and the running firmware's behaviour, and
decides which cells bleed. What the firmware is (configuration in effect, behaviour, running or
not) is handed in as a :class:`Firmware` on every call, because a reset can change all three.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from bmsflasher.core.types import Alarm, PackTelemetry, ParameterValue
from bmsflasher.sim.device import monitor
from bmsflasher.sim.device.behaviours import Behaviour
from bmsflasher.sim.device.pack import PackModel, PackReading
from bmsflasher.sim.errors import SimError, SimParameterError


@dataclass(frozen=True, slots=True)
class Firmware:
    """What runs on the device at the moment of a call.

    Attributes:
        config: the configuration in effect (limits, calibration gains, balancing settings).
        behaviour: the running image's sim behaviour (healthy in the bootloader).
        running: True when the application runs (and so measures and balances).
    """

    config: Mapping[str, ParameterValue]
    behaviour: Behaviour
    running: bool


class PackRuntime:
    """One pack model driven by the device's clock.

    The model is installed once the device knows its cell count (:meth:`install`), which it reads
    from the configuration in flash after factory programming.

    Args:
        time_scale: simulated seconds per real second (0: time moves only by :meth:`advance`).
    """

    def __init__(self, time_scale: float) -> None:
        self._model: PackModel | None = None
        self._time_scale = time_scale
        self._clock_real_s = time.monotonic()
        self._forced: set[int] = set()
        self._balancing: tuple[bool, ...] = ()

    def install(self, model: PackModel) -> None:
        """Give the runtime the pack it measures."""
        self._model = model

    @property
    def model(self) -> PackModel:
        """The pack's physics (load and ambient are set on it directly)."""
        if self._model is None:
            raise SimError("the pack model is not built")
        return self._model

    def restart_clock(self) -> None:
        """A boot finished: simulated time counts from now (the boot itself is not pack time)."""
        self._clock_real_s = time.monotonic()

    def release_forced_balancing(self) -> None:
        """A reset ends every service-forced balancing."""
        self._forced.clear()

    def advance(self, seconds: float, firmware: Firmware) -> None:
        """Move the pack ``seconds`` forward, then re-decide balancing as the firmware would."""
        pack = self.model
        pack.advance(seconds)
        reading = pack.read()
        cells = monitor.measure_cells(reading, firmware.config, firmware.behaviour)
        self._balancing = (
            monitor.balancing_decision(cells, firmware.config, self._forced)
            if firmware.running
            else (False,) * len(cells)
        )
        pack.bleeding = list(self._balancing)

    def sync(self, firmware: Firmware) -> None:
        """Bring the pack to now: the real time since the last call, scaled."""
        now = time.monotonic()
        elapsed = (now - self._clock_real_s) * self._time_scale
        self._clock_real_s = now
        self.advance(elapsed, firmware)

    def reading(self, firmware: Firmware) -> PackReading:
        """The pack's true values now (the self-test compares against them)."""
        self.sync(firmware)
        return self.model.read()

    def telemetry(self, firmware: Firmware) -> PackTelemetry:
        """A telemetry sample as the firmware reports it (calibrated, behaviour applied)."""
        reading = self.reading(firmware)
        return monitor.telemetry(reading, firmware.config, firmware.behaviour, self._balancing)

    def alarms(self, firmware: Firmware) -> frozenset[Alarm]:
        """The protection alarms active now (what DTCs latch)."""
        reading = self.reading(firmware)
        cells = monitor.measure_cells(reading, firmware.config, firmware.behaviour)
        return monitor.alarms(cells, reading.temperatures_c, reading.current_a, firmware.config)

    def force_balancing(self, cell: int, on: bool, firmware: Firmware) -> None:
        """Force one cell's bleed on or off (a service check), effective at once."""
        cells = self.model.cells
        if not 0 <= cell < cells:
            raise SimParameterError("cell", f"cell {cell} does not exist (cells 0..{cells - 1})")
        self.sync(firmware)
        if on:
            self._forced.add(cell)
        else:
            self._forced.discard(cell)
        self.advance(0.0, firmware)

"""The battery pack the virtual BMS measures: physics only, no BMS logic.

Series cells follow an open-circuit-voltage curve of their chemistry (LFP flat, NMC sloped) plus
an ohmic drop; state of charge moves with the pack current and the balancing bleed; temperature
sensors follow ambient plus resistive heating with a first-order lag. Every random choice comes
from one seeded generator, so a seed reproduces a run exactly when time is advanced manually.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from typing import Final

from bmsflasher.sim.options import Chemistry

_OCV_MV: Final[dict[Chemistry, tuple[tuple[float, float], ...]]] = {
    Chemistry.LFP: (
        (0, 2500), (3, 2900), (8, 3150), (15, 3220), (25, 3260), (40, 3290), (50, 3300),
        (60, 3310), (70, 3325), (80, 3335), (90, 3345), (95, 3370), (98, 3450), (100, 3600),
    ),
    Chemistry.NMC: (
        (0, 3000), (5, 3300), (10, 3450), (20, 3550), (30, 3620), (40, 3680), (50, 3740),
        (60, 3820), (70, 3900), (80, 3980), (90, 4080), (100, 4200),
    ),
}  # fmt: skip
CELL_RESISTANCE_MOHM: Final = 1.0
BALANCE_BLEED_A: Final = 0.1
THERMAL_TIME_CONSTANT_S: Final = 600.0
HEATING_C_PER_W: Final = 0.05
MAX_STEP_S: Final = 1.0
MAX_STEPS_PER_ADVANCE: Final = 200
CELLS_PER_SENSOR: Final = 4


def ocv_mv(chemistry: Chemistry, soc_pct: float) -> float:
    """Open-circuit voltage of one cell at a state of charge (linear between table points)."""
    table = _OCV_MV[chemistry]
    soc = min(100.0, max(0.0, soc_pct))
    socs = [point[0] for point in table]
    index = bisect.bisect_right(socs, soc)
    if index >= len(table):
        return table[-1][1]
    (s0, v0), (s1, v1) = table[index - 1], table[index]
    return v0 + (v1 - v0) * (soc - s0) / (s1 - s0)


def sensor_count(cells: int) -> int:
    """Temperature sensors fitted to a pack of ``cells`` (one per 4 cells, 2..16)."""
    return max(2, min(16, math.ceil(cells / CELLS_PER_SENSOR)))


@dataclass(frozen=True, slots=True)
class PackScenario:
    """The physical situation of the pack (see SimOptions for the meaning of each field)."""

    cells: int
    chemistry: Chemistry
    soc_pct: float
    soh_pct: float
    ambient_c: float
    load_a: float
    noise_mv: float
    failed_sensor: int | None
    weak_cell: int | None
    seed: int
    capacity_ah: float = 100.0


@dataclass(frozen=True, slots=True)
class PackReading:
    """True (unmeasured) values at one moment; the BMS firmware measures and reports them."""

    time_s: float
    cell_mv: tuple[float, ...]
    temperatures_c: tuple[float | None, ...]
    current_a: float
    pack_mv: float
    counted_soc_pct: float
    soh_pct: float


class PackModel:
    """A series pack evolving in simulated time."""

    def __init__(self, scenario: PackScenario) -> None:
        if not 1 <= scenario.cells <= 512:
            raise ValueError(f"the cell count must be 1..512, not {scenario.cells}")
        sensors = sensor_count(scenario.cells)
        if scenario.failed_sensor is not None and not 0 <= scenario.failed_sensor < sensors:
            raise ValueError(
                f"failed sensor {scenario.failed_sensor} does not exist (sensors 0..{sensors - 1})"
            )
        if scenario.weak_cell is not None and not 0 <= scenario.weak_cell < scenario.cells:
            raise ValueError(f"weak cell {scenario.weak_cell} does not exist (cells 0..{scenario.cells - 1})")
        if not 0 <= scenario.soc_pct <= 100 or not 0 < scenario.soh_pct <= 100:
            raise ValueError("SOC must be 0..100 % and SOH 1..100 %")
        self.scenario = scenario
        self._rng = random.Random(scenario.seed)
        rng = self._rng
        nominal = scenario.capacity_ah * scenario.soh_pct / 100.0
        self._capacity_ah = [nominal * (1 + rng.gauss(0, 0.01)) for _ in range(scenario.cells)]
        self._resistance_mohm = [
            CELL_RESISTANCE_MOHM * (1 + rng.gauss(0, 0.05)) for _ in range(scenario.cells)
        ]
        self._soc = [
            min(1.0, max(0.0, scenario.soc_pct / 100 + rng.gauss(0, 0.003))) for _ in range(scenario.cells)
        ]
        if scenario.weak_cell is not None:
            self._capacity_ah[scenario.weak_cell] *= 0.8
            self._resistance_mohm[scenario.weak_cell] *= 2.5
            self._soc[scenario.weak_cell] = max(0.0, self._soc[scenario.weak_cell] - 0.03)
        self._temps_c = [scenario.ambient_c] * sensors
        self.current_a = -scenario.load_a
        self.ambient_c = scenario.ambient_c
        self.bleeding = [False] * scenario.cells
        self._counted_soc = scenario.soc_pct
        self.time_s = 0.0

    @property
    def cells(self) -> int:
        return self.scenario.cells

    def set_load(self, load_a: float) -> None:
        """Change the discharge load (negative charges)."""
        self.current_a = -load_a

    def advance(self, seconds: float) -> None:
        """Move simulated time forward (in bounded steps so long gaps cost bounded work)."""
        if seconds <= 0:
            return
        steps = min(MAX_STEPS_PER_ADVANCE, max(1, math.ceil(seconds / MAX_STEP_S)))
        dt = seconds / steps
        for _ in range(steps):
            self._step(dt)
        self.time_s += seconds

    def _step(self, dt: float) -> None:
        current = self.current_a
        for i in range(self.cells):
            amps = current - (BALANCE_BLEED_A if self.bleeding[i] else 0.0)
            self._soc[i] = min(1.0, max(0.0, self._soc[i] + amps * dt / 3600.0 / self._capacity_ah[i]))
        nominal = self.scenario.capacity_ah * self.scenario.soh_pct / 100.0
        self._counted_soc = min(100.0, max(0.0, self._counted_soc + 100.0 * current * dt / 3600.0 / nominal))
        heat_w_per_sensor = current * current * sum(self._resistance_mohm) / 1000.0 / len(self._temps_c)
        target = self.ambient_c + heat_w_per_sensor * HEATING_C_PER_W
        blend = 1.0 - math.exp(-dt / THERMAL_TIME_CONSTANT_S)
        self._temps_c = [t + (target - t) * blend for t in self._temps_c]

    def read(self) -> PackReading:
        """True values now, with measurement noise on each cell voltage."""
        scenario = self.scenario
        cells = tuple(
            ocv_mv(scenario.chemistry, 100 * soc) + self.current_a * r + self._rng.gauss(0, scenario.noise_mv)
            for soc, r in zip(self._soc, self._resistance_mohm, strict=True)
        )
        temps: tuple[float | None, ...] = tuple(
            None if index == scenario.failed_sensor else round(t + self._rng.gauss(0, 0.05), 2)
            for index, t in enumerate(self._temps_c)
        )
        return PackReading(
            time_s=self.time_s,
            cell_mv=cells,
            temperatures_c=temps,
            current_a=self.current_a,
            pack_mv=sum(cells),
            counted_soc_pct=self._counted_soc,
            soh_pct=scenario.soh_pct,
        )

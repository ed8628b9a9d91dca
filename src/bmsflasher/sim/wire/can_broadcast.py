"""The virtual BMS's cyclic CAN broadcasts, described by the DBC it ships (``resources/dbc``).

A BMS on a vehicle bus does not wait to be asked: it sends its pack values every 100 ms, its cell
voltages a few per frame in a multiplexed message, temperatures and alarms every second, whether or
not a tester runs a UDS session. This node does the same on the emulated bus, so the tool's
DBC monitor, bus logs and replay have a realistic bus to work on, and the UDS throughput is measured
with that load beside it.

Schedule (``vbms.dbc``, 11-bit identifiers 0x351..0x354, below the UDS range 0x7DF..0x7EF and
outside the 29-bit space, so they never collide with diagnostics):

======  ===================  ======================================================
0x351   VBMS_Pack            pack voltage, current, SoC, SoH — every 100 ms
0x352   VBMS_CellVoltages    4 cells per frame, multiplexed by CellGroup — every 200 ms
0x353   VBMS_Temperatures    3 sensors per frame, multiplexed by SensorGroup — 1 s
0x354   VBMS_Alarms          alarm flags, cell and sensor counts — every 1 s
======  ===================  ======================================================

A 16-cell pack puts 32 frames/s on the bus (about 0.8 % of 500 kbit/s); 512 cells about 16 %.
Only the first node broadcasts. The frames are encoded with cantools from the same DBC file that
``bmsflasher dbc export`` writes, so the file a third-party tool reads is the one the device obeys.
Broadcasts keep running through UDS sessions: in the programming session the device runs its
bootloader, which (like the bootloaders of packs that must keep a vehicle's contactor logic fed)
keeps the cyclic frames alive with the last values the application measured. Without power the
node is silent; it resumes when the device is powered again.
"""

from __future__ import annotations

import threading
import time
from functools import cache
from typing import Final, Protocol

import can
import cantools
import cantools.database

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import Alarm, PackTelemetry
from bmsflasher.sim.errors import SimError, SimPoweredOffError
from bmsflasher.sim.wire.can_bus import BusPort, CanBusTimeline

DBC_RESOURCE: Final = ("dbc", "vbms.dbc")
MAP_RESOURCE: Final = ("dbc", "vbms.map.json")
TICK_S: Final = 0.1
CELL_EVERY_TICKS: Final = 2
SLOW_EVERY_TICKS: Final = 10
CELLS_PER_FRAME: Final = 4
SENSORS_PER_FRAME: Final = 3
#: The raw value a failed sensor sends (the lowest the signal holds, -3276.8 degC).
FAILED_SENSOR_C: Final = -3276.8
_ALARM_SIGNALS: Final = {
    Alarm.CELL_OVERVOLTAGE: "AlarmCellOvervoltage",
    Alarm.CELL_UNDERVOLTAGE: "AlarmCellUndervoltage",
    Alarm.OVERTEMPERATURE: "AlarmOvertemperature",
    Alarm.UNDERTEMPERATURE: "AlarmUndertemperature",
    Alarm.OVERCURRENT: "AlarmOvercurrent",
    Alarm.SENSOR_FAULT: "AlarmSensorFault",
}


class TelemetrySource(Protocol):
    """What the broadcaster needs from a device: its telemetry as the firmware measures it."""

    def telemetry(self) -> PackTelemetry: ...


@cache
def broadcast_database() -> cantools.database.can.Database:
    """The shipped DBC, parsed once per process."""
    database = cantools.database.load_file(str(resource_path(*DBC_RESOURCE)), database_format="dbc")
    assert isinstance(database, cantools.database.can.Database)
    return database


def _frame(message: cantools.database.can.Message, values: dict[str, float]) -> can.Message:
    return can.Message(
        arbitration_id=message.frame_id,
        is_extended_id=False,
        data=message.encode(values, strict=False),
    )


def pack_frames(sample: PackTelemetry) -> list[can.Message]:
    """The 100 ms frame."""
    message = broadcast_database().get_message_by_name("VBMS_Pack")
    return [
        _frame(
            message,
            {
                "PackVoltage": sample.pack_voltage_mv / 1000,
                "PackCurrent": sample.current_ma / 1000,
                "StateOfCharge": round(sample.soc_pct * 2) / 2,
                "StateOfHealth": round(sample.soh_pct * 2) / 2,
            },
        )
    ]


def cell_frames(sample: PackTelemetry) -> list[can.Message]:
    """The cell voltages, 4 per frame, one frame per CellGroup."""
    message = broadcast_database().get_message_by_name("VBMS_CellVoltages")
    cells = sample.cell_voltages_mv
    frames = []
    for group in range((len(cells) + CELLS_PER_FRAME - 1) // CELLS_PER_FRAME):
        values: dict[str, float] = {"CellGroup": group}
        for slot in range(CELLS_PER_FRAME):
            index = group * CELLS_PER_FRAME + slot
            values[f"CellVoltage_{index}"] = cells[index] if index < len(cells) else 0
        frames.append(_frame(message, values))
    return frames


def slow_frames(sample: PackTelemetry) -> list[can.Message]:
    """The 1 s frames: temperatures (3 per frame) and the alarm flags with the pack's size."""
    database = broadcast_database()
    temps_message = database.get_message_by_name("VBMS_Temperatures")
    temps = sample.temperatures_c
    frames = []
    for group in range((len(temps) + SENSORS_PER_FRAME - 1) // SENSORS_PER_FRAME):
        values: dict[str, float] = {"SensorGroup": group}
        for slot in range(SENSORS_PER_FRAME):
            index = group * SENSORS_PER_FRAME + slot
            reading = temps[index] if index < len(temps) else None
            values[f"Temperature_{index}"] = FAILED_SENSOR_C if reading is None else reading
        frames.append(_frame(temps_message, values))
    alarms: dict[str, float] = {name: alarm in sample.alarms for alarm, name in _ALARM_SIGNALS.items()}
    alarms |= {"CellCount": len(sample.cell_voltages_mv), "SensorCount": len(temps)}
    frames.append(_frame(database.get_message_by_name("VBMS_Alarms"), alarms))
    return frames


class BroadcastNode:
    """Sends ``device``'s cyclic frames on ``bus`` from its own thread until :meth:`close`."""

    def __init__(self, bus: CanBusTimeline, device: TelemetrySource, *, name: str = "vbms-broadcast") -> None:
        broadcast_database()  # parse the DBC before the first tick, not inside the schedule
        self._device = device
        self._port: BusPort = bus.attach(name, self._ignore, tx_depth=512)
        self._stop = threading.Event()
        self.frames_sent = 0
        self._thread = threading.Thread(target=self._run, name="sim-can-broadcast", daemon=True)
        self._thread.start()

    @staticmethod
    def _ignore(_message: can.Message) -> None:
        """The broadcaster listens to nothing (the device's UDS server has its own port)."""

    def _run(self) -> None:
        tick = 0
        next_at = time.monotonic()
        sample: PackTelemetry | None = None
        while not self._stop.is_set():
            try:
                sample = self._device.telemetry()
            except SimPoweredOffError:
                sample = None  # no power, no frames
            except SimError:
                pass  # the bootloader repeats the application's last values (see the module docstring)
            if sample is not None:
                frames = pack_frames(sample)
                if tick % CELL_EVERY_TICKS == 0:
                    frames += cell_frames(sample)
                if tick % SLOW_EVERY_TICKS == 0:
                    frames += slow_frames(sample)
                self.frames_sent += self._port.send_many(frames, timeout_s=TICK_S)
            tick += 1
            next_at += TICK_S
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def close(self) -> None:
        """Stop broadcasting and leave the bus. Safe to call twice."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self._port.detach()

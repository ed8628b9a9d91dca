"""The virtual BMS's cyclic broadcasts: schedule, identifiers, and the shipped DBC + map round trip."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import can
import pytest

from bmsflasher.canbus.dbc_telemetry import load_decoder
from bmsflasher.cli.main import main
from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import Alarm, PackTelemetry
from bmsflasher.sim.wire.can_broadcast import BroadcastNode, cell_frames, pack_frames, slow_frames
from bmsflasher.sim.wire.can_bus import CanBusTimeline

SAMPLE = PackTelemetry(
    timestamp_s=0.0,
    cell_voltages_mv=tuple(3200 + 3 * index for index in range(18)),  # the last frame half full
    balancing=(False,) * 18,
    temperatures_c=(24.5, None, -12.3, 41.0, 25.0),
    pack_voltage_mv=58_000,
    current_ma=-12_345,
    soc_pct=61.5,
    soh_pct=96.0,
    alarms=frozenset({Alarm.SENSOR_FAULT}),
)


class _Device:
    def telemetry(self) -> PackTelemetry:
        return SAMPLE


def test_shipped_dbc_and_map_decode_the_frames_the_device_sends() -> None:
    decoder = load_decoder(resource_path("dbc", "vbms.dbc"), resource_path("dbc", "vbms.map.json"))
    for frame in pack_frames(SAMPLE) + cell_frames(SAMPLE) + slow_frames(SAMPLE):
        assert decoder.feed(frame)
    decoded = decoder.snapshot()
    assert decoded is not None
    assert decoded.cell_voltages_mv == SAMPLE.cell_voltages_mv  # the count signal cuts the padding
    assert decoded.temperatures_c == SAMPLE.temperatures_c  # None: the failed sensor's marker
    assert (decoded.pack_voltage_mv, decoded.current_ma) == (58_000, -12_345)
    assert (decoded.soc_pct, decoded.soh_pct, decoded.alarms) == (61.5, 96.0, SAMPLE.alarms)


def test_the_schedule_and_identifiers_of_a_running_broadcast() -> None:
    heard: list[can.Message] = []
    lock = threading.Lock()

    def on_frame(message: can.Message) -> None:
        with lock:
            heard.append(message)

    with CanBusTimeline(500_000) as bus:
        bus.attach("listener", on_frame)
        node = BroadcastNode(bus, _Device())
        time.sleep(1.05)
        node.close()
    counts = Counter(message.arbitration_id for message in heard)
    assert 10 <= counts[0x351] <= 12  # pack values every 100 ms
    assert 5 * 5 <= counts[0x352] <= 6 * 5  # 5 cell frames every 200 ms
    assert 2 * 2 <= counts[0x353] <= 2 * 2  # 2 temperature frames, and alarms, every second
    assert 2 <= counts[0x354] <= 2
    for message in heard:  # never in the UDS range (0x7DF..0x7EF) nor 29-bit
        assert not message.is_extended_id
        assert message.arbitration_id < 0x700


def test_dbc_export_writes_the_file_the_device_uses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, signal_map = tmp_path / "vbms.dbc", tmp_path / "vbms.map.json"
    assert main(["dbc", "export", "--out", str(out), "--map", str(signal_map)]) == 0
    assert out.read_bytes() == resource_path("dbc", "vbms.dbc").read_bytes()
    assert signal_map.read_bytes() == resource_path("dbc", "vbms.map.json").read_bytes()
    assert str(out) in capsys.readouterr().out

import pytest

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.events import ThroughputMeter
from bmsflasher.core.types import ConfigSnapshot, FirmwareVersion, PackTelemetry


def test_version_parse_orders_and_round_trips() -> None:
    assert FirmwareVersion.parse("1.2.3") < FirmwareVersion.parse("1.10.0")
    assert str(FirmwareVersion.parse("2.0.1+7")) == "2.0.1+7"
    assert FirmwareVersion.parse(" 3.4.5 ") == FirmwareVersion(3, 4, 5)


@pytest.mark.parametrize("text", ["", "1.2", "1.2.3.4", "a.b.c", "256.0.0", "1.2.70000", "-1.0.0"])
def test_version_parse_rejects_with_project_error(text: str) -> None:
    with pytest.raises(BmsFlasherError):
        FirmwareVersion.parse(text)


def test_config_diff_names_changed_added_and_removed() -> None:
    a = ConfigSnapshot(1, {"x": 1, "y": 2, "z": 3})
    b = ConfigSnapshot(1, {"x": 1, "y": 5, "w": 0})
    assert a.diff(b) == {"y": (2, 5), "z": (3, None), "w": (None, 0)}
    assert a.diff(a) == {}


def test_telemetry_statistics() -> None:
    t = PackTelemetry(0.0, (3300, 3310, 3290), (False, True, False), (25.0, None), 9900, 0, 50.0, 100.0)
    assert (t.cell_sum_mv, t.min_cell_mv, t.max_cell_mv, t.delta_cell_mv) == (9900, 3290, 3310, 20)


def test_throughput_meter_uses_recent_window() -> None:
    now = [0.0]
    meter = ThroughputMeter(window_s=2.0, clock=lambda: now[0])
    meter.update(0, 1000)
    now[0] = 1.0
    rate, eta = meter.update(100, 1000)
    assert rate == pytest.approx(100.0)
    assert eta == pytest.approx(9.0)

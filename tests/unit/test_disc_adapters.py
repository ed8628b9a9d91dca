"""The adapter table: shipped data is valid and classification picks the right row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.discovery.adapters import (
    UNKNOWN_ADAPTER,
    AdapterKind,
    classify_usb,
    load_adapter_table,
    shipped_adapter_table,
)


def test_shipped_table_loads_and_covers_the_required_families() -> None:
    table = shipped_adapter_table()
    vendors = {row.vid for row in table}
    for vid in (0x0403, 0x1A86, 0x10C4, 0x067B, 0x16D0, 0x1D50, 0x0C72, 0x0BFD, 0x1248):
        assert vid in vendors, f"{vid:04x} missing from the adapter table"
    keys = [(row.vid, row.pid) for row in table]
    assert len(keys) == len(set(keys)), "duplicate vid:pid rows make classification ambiguous"


@pytest.mark.parametrize(
    ("vid", "pid", "kind", "fragment"),
    [
        (0x1A86, 0x7523, AdapterKind.SERIAL, "CH340"),
        (0x0403, 0x6001, AdapterKind.SERIAL, "FT232R"),
        (0x10C4, 0xEA60, AdapterKind.SERIAL, "CP210x"),
        (0x067B, 0x2303, AdapterKind.SERIAL, "PL2303"),
        (0x16D0, 0x117E, AdapterKind.SLCAN, "CANable"),
        (0x0403, 0xFFA8, AdapterKind.SLCAN, "CANUSB"),
        (0x1D50, 0x606F, AdapterKind.NATIVE_CAN, "candleLight"),
        (0x0C72, 0x000C, AdapterKind.NATIVE_CAN, "PCAN-USB"),
        (0x0BFD, 0x0108, AdapterKind.NATIVE_CAN, "Kvaser"),
        (0x1248, 0x1073, AdapterKind.NATIVE_CAN, "Vector"),
        (0x2FE3, 0x0100, AdapterKind.USB_CDC, "Zephyr"),
    ],
)
def test_known_adapters_are_classified(vid: int, pid: int, kind: AdapterKind, fragment: str) -> None:
    adapter = classify_usb(vid, pid)
    assert adapter.kind is kind
    assert fragment in adapter.name


def test_exact_product_wins_over_vendor_wide_row() -> None:
    assert classify_usb(0x0403, 0xFFA8).kind is AdapterKind.SLCAN  # Lawicel CANUSB, an FTDI PID
    other = classify_usb(0x0403, 0x1234)  # an FTDI product nobody listed
    assert other.kind is AdapterKind.SERIAL
    assert other.pid is None


def test_vendor_drivers_are_flagged_for_peak_kvaser_vector_not_gs_usb() -> None:
    assert classify_usb(0x0C72, 0x0012).needs_vendor_driver
    assert classify_usb(0x0BFD, 0x0001).needs_vendor_driver
    assert classify_usb(0x1248, 0x0001).needs_vendor_driver
    assert not classify_usb(0x1D50, 0x606F).needs_vendor_driver
    assert classify_usb(0x1D50, 0x606F).python_can_interface == "gs_usb"
    assert classify_usb(0x0C72, 0x000C).python_can_interface == "pcan"


def test_unknown_and_missing_ids_are_unknown() -> None:
    assert classify_usb(0xDEAD, 0xBEEF) is UNKNOWN_ADAPTER
    assert classify_usb(None, None) is UNKNOWN_ADAPTER
    assert classify_usb(0x1A86, None) is UNKNOWN_ADAPTER


def _write(tmp_path: Path, rows: object) -> Path:
    path = tmp_path / "adapters.json"
    path.write_text(json.dumps({"adapters": rows}), encoding="utf-8")
    return path


def test_a_custom_table_is_used(tmp_path: Path) -> None:
    table = load_adapter_table(
        _write(
            tmp_path,
            [{"vid": "abcd", "pid": "0001", "vendor": "Acme", "name": "RS485 stick", "kind": "serial"}],
        )
    )
    assert classify_usb(0xABCD, 0x0001, table).vendor == "Acme"
    assert classify_usb(0x1A86, 0x7523, table) is UNKNOWN_ADAPTER


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        ([{"vid": "zz", "pid": None, "vendor": "x", "name": "y", "kind": "serial"}], "not hexadecimal"),
        ([{"vid": "12345", "pid": None, "vendor": "x", "name": "y", "kind": "serial"}], "16-bit"),
        ([{"vid": "1234", "pid": None, "vendor": "x", "name": "y", "kind": "teleport"}], "valid kind"),
        ([{"pid": "1234", "vendor": "x", "name": "y", "kind": "serial"}], "no vendor ID"),
        ([{"vid": 1234, "pid": None, "vendor": "x", "name": "y", "kind": "serial"}], "hex string"),
        ("nope", "no 'adapters' list"),
    ],
)
def test_bad_tables_are_refused_with_a_sentence(tmp_path: Path, rows: object, fragment: str) -> None:
    with pytest.raises(ConfigValidationError, match=fragment):
        load_adapter_table(_write(tmp_path, rows))


def test_unreadable_or_non_json_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigValidationError, match="cannot be read"):
        load_adapter_table(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigValidationError, match="not valid JSON"):
        load_adapter_table(broken)

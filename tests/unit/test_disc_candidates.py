"""Candidates: parsing what users type, stable cache keys, enrichment from enumeration."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.discovery.adapters import AdapterKind, classify_usb
from bmsflasher.discovery.candidates import (
    CanCandidate,
    SerialCandidate,
    UsbInfo,
    classify_serial,
    enrich,
    parse_can_argument,
    parse_port_argument,
    same_device_path,
    serial_as_can,
)


def test_port_argument_accepts_paths_and_urls() -> None:
    assert parse_port_argument(" /dev/ttyUSB0 ").port == "/dev/ttyUSB0"
    url = parse_port_argument("socket://10.0.0.5:4000")
    assert url.port == "socket://10.0.0.5:4000"
    assert url.user_added
    assert url.cache_key == "serial:socket://10.0.0.5:4000"
    with pytest.raises(ConfigValidationError, match="--port needs"):
        parse_port_argument("  ")


def test_can_argument_splits_interface_and_channel() -> None:
    slcan = parse_can_argument("SLCAN:/dev/ttyACM0")
    assert (slcan.interface, slcan.channel) == ("slcan", "/dev/ttyACM0")
    assert slcan.adapter.kind is AdapterKind.SLCAN
    assert slcan.supports_listen_only
    assert slcan.can_set_bitrate
    windows = parse_can_argument("slcan:COM5@115200")
    assert windows.channel == "COM5@115200"
    socketcan = parse_can_argument("socketcan:can0")
    assert not socketcan.can_set_bitrate
    assert not socketcan.supports_listen_only
    assert socketcan.cache_key == "can:socketcan:can0"
    for bad in ("slcan", ":can0", "socketcan:", ""):
        with pytest.raises(ConfigValidationError, match="INTERFACE:CHANNEL"):
            parse_can_argument(bad)


def test_cache_key_prefers_usb_serial_then_socket_then_path() -> None:
    with_serial = SerialCandidate(port="/dev/ttyUSB3", usb=UsbInfo(0x0403, 0x6001, "A50285BI", "1-1.4"))
    assert with_serial.cache_key == "usb:0403:6001:sn=A50285BI"
    moved = SerialCandidate(port="/dev/ttyUSB0", usb=UsbInfo(0x0403, 0x6001, "A50285BI", "1-2"))
    assert moved.cache_key == with_serial.cache_key, "the key must follow the adapter, not the port"
    ch340 = SerialCandidate(port="/dev/ttyUSB1", usb=UsbInfo(0x1A86, 0x7523, None, "1-1.2"))
    assert ch340.cache_key == "usb:1a86:7523@1-1.2"
    assert SerialCandidate(port="/dev/pts/4").cache_key == "serial:/dev/pts/4"
    can = CanCandidate(interface="slcan", channel="/dev/ttyACM0", usb=UsbInfo(0x16D0, 0x117E, "0032001C"))
    assert can.cache_key == "usb:16d0:117e:sn=0032001C"


def test_usb_cdc_ports_ignore_baud() -> None:
    zephyr = classify_serial("/dev/ttyACM0", UsbInfo(0x2FE3, 0x0100), "Zephyr")
    assert not zephyr.baud_matters
    assert classify_serial("/dev/ttyUSB0", UsbInfo(0x1A86, 0x7523), "CH340").baud_matters


def test_enrich_matches_symlinks_to_enumerated_ports(tmp_path: Path) -> None:
    real = tmp_path / "ttyUSB7"
    real.write_text("")
    link = tmp_path / "usb-FTDI_FT232R-if00-port0"
    os.symlink(real, link)
    known = [classify_serial(str(real), UsbInfo(0x0403, 0x6001, "A1"), "FT232R")]
    enriched = enrich(parse_port_argument(str(link)), known)
    assert enriched.port == str(link)
    assert enriched.usb.serial_number == "A1"
    assert enriched.adapter.name.startswith("FT232R")
    assert enriched.user_added
    untouched = enrich(parse_port_argument("/dev/pts/99"), known)
    assert untouched.usb.vid is None
    assert same_device_path(str(link), str(real))
    assert not same_device_path("socket://a:1", str(real))


def test_slcan_serial_port_becomes_a_can_candidate() -> None:
    canable = classify_serial("/dev/ttyACM0", UsbInfo(0x16D0, 0x117E, "X1"), "CANable")
    assert canable.adapter is classify_usb(0x16D0, 0x117E)
    as_can = serial_as_can(canable)
    assert (as_can.interface, as_can.channel) == ("slcan", "/dev/ttyACM0")
    assert as_can.cache_key == canable.cache_key

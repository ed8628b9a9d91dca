"""Driver guidance from drivers/guidance.json: the lookup rule, the shipped file, graceful absence."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bmsflasher.core.resources import install_root
from bmsflasher.discovery import (
    AdapterReport,
    AdapterStatus,
    ScanCache,
    ScanInventory,
    Scanner,
    ScanRequest,
    UnusableAdapter,
    UsbInfo,
    classify_usb,
)
from bmsflasher.discovery.driver_guidance import (
    AdapterFacts,
    GuidanceTable,
    guidance_for,
    guidance_path,
    load_guidance,
    running_os,
)

CH340 = AdapterFacts(vid=0x1A86, pid=0x7523, kind="serial")
FTDI = AdapterFacts(vid=0x0403, pid=0x6001, kind="serial")
CANDLELIGHT = AdapterFacts(vid=0x1D50, pid=0x606F, python_can_interface="gs_usb", kind="native_can")
KVASER = AdapterFacts(vid=0x0BFD, pid=0x0004, python_can_interface="kvaser", kind="native_can")
PTY = AdapterFacts(kind="unknown")


@pytest.fixture(scope="module")
def shipped() -> GuidanceTable:
    table = load_guidance()
    assert table.entries, "drivers/guidance.json was not found in the installation root"
    return table


def test_the_file_is_found_in_the_installation_root() -> None:
    path = guidance_path()
    root = install_root()
    assert root is not None  # the tests run from a source checkout
    assert path == root / "drivers" / "guidance.json"
    assert path.is_file()


@pytest.mark.parametrize(
    ("status", "facts", "os_name", "expected"),
    [
        ("no_driver", CH340, "windows", "windows-wch"),
        ("no_driver", FTDI, "windows", "windows-ftdi"),
        ("no_driver", CANDLELIGHT, "windows", "windows-gs-usb"),
        ("no_driver", KVASER, "windows", "windows-kvaser"),
        ("no_driver", CH340, "linux", "linux-ch34x-brltty"),
        ("no_driver", CANDLELIGHT, "linux", "linux-socketcan-down"),
        ("no_driver", KVASER, "macos", "macos-unsupported-can"),  # no kvaser entry on macOS: the kind one
        ("no_driver", FTDI, "linux", "any-no-driver"),  # nothing specific: the generic entry comes last
        ("permission", PTY, "linux", "linux-permission"),
        ("permission", CH340, "windows", "windows-permission"),
        ("busy", PTY, "macos", "macos-busy"),
        ("busy", CH340, "linux", "linux-busy"),
    ],
)
def test_first_entry_matching_status_system_and_adapter_wins(
    shipped: GuidanceTable, status: str, facts: AdapterFacts, os_name: str, expected: str
) -> None:
    guidance = guidance_for(status, facts, shipped, os_name)
    assert guidance is not None
    assert guidance.id == expected
    assert guidance.title
    assert all(step.endswith((".", ")")) for step in guidance.steps), guidance.steps


def test_statuses_without_guidance_get_none(shipped: GuidanceTable) -> None:
    for status in ("found", "no_device", "garbage", "not_found", "timed_out", "error"):
        assert guidance_for(status, CH340, shipped, "linux") is None
    assert guidance_for("busy", CH340, shipped, "plan9") is None  # no entry for that system


def test_doc_resolves_to_the_installed_guide_and_its_section(shipped: GuidanceTable) -> None:
    guidance = guidance_for("permission", PTY, shipped, "linux")
    assert guidance is not None
    assert guidance.doc == "drivers/linux/README.md#permission-denied"
    root = install_root()
    assert root is not None
    assert guidance.doc_path == root / "drivers" / "linux" / "README.md"
    assert guidance.anchor == "permission-denied"
    assert guidance.doc_location.endswith("README.md#permission-denied")
    assert guidance.doc_url.startswith("file://")
    assert guidance.doc_url.endswith("/drivers/linux/README.md#permission-denied")


def test_an_empty_doc_means_the_systems_guide_from_documents(shipped: GuidanceTable) -> None:
    guidance = guidance_for("no_driver", FTDI, shipped, "macos")  # no macOS FTDI entry: generic
    assert guidance is not None
    assert guidance.id == "any-no-driver"
    assert guidance.doc == "drivers/macos/README.md"
    assert guidance.doc_path is not None
    assert guidance.doc_path.is_file()
    assert guidance.anchor == ""


def test_vendor_links_and_json_form(shipped: GuidanceTable) -> None:
    guidance = guidance_for("no_driver", CH340, shipped, "windows")
    assert guidance is not None
    assert any("wch-ic.com" in link for link in guidance.links)
    document = guidance.to_json()
    assert document["id"] == "windows-wch"
    assert document["links"] == list(guidance.links)
    assert document["doc_path"] == str(guidance.doc_path)
    json.dumps(document)


def _write(folder: Path, document: object) -> Path:
    path = folder / "drivers" / "guidance.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_match_keys_must_all_equal_and_unknown_keys_never_match(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "documents": {"linux": "drivers/linux/README.md"},
            "entries": [
                {"id": "future", "status": "busy", "os": ["linux"], "match": {"usb_class": "02"}},
                {"id": "exact", "status": "busy", "os": ["linux"], "match": {"vid": "1A86", "pid": "7523"}},
                {"id": "vendor", "status": "busy", "os": ["linux"], "match": {"vid": "1a86"}},
                {"id": "any", "status": "busy", "os": ["linux"], "match": {}},
            ],
        },
    )
    table = load_guidance(path)
    assert table.base_dir == tmp_path
    found = table.lookup("busy", CH340, "linux")
    assert found is not None
    assert found.id == "exact"  # hex IDs compare as numbers, whatever their case
    other = table.lookup("busy", AdapterFacts(vid=0x1A86, pid=0x55D4), "linux")
    assert other is not None
    assert other.id == "vendor"
    generic = table.lookup("busy", PTY, "linux")
    assert generic is not None
    assert generic.id == "any"
    assert generic.doc == "drivers/linux/README.md"
    assert generic.doc_path is None  # that guide is not installed in tmp_path
    assert generic.doc_location == "drivers/linux/README.md"
    assert generic.doc_url == ""


@pytest.mark.parametrize("content", [None, "{not json", json.dumps({"entries": "nope"}), json.dumps([1, 2])])
def test_a_missing_or_damaged_file_means_no_guidance(
    tmp_path: Path, content: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "drivers" / "guidance.json"
    if content is not None:
        path.parent.mkdir(parents=True)
        path.write_text(content, encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        table = load_guidance(path)
    assert table.entries == ()
    assert table.lookup("busy", PTY, "linux") is None
    assert (content is None) == (not caplog.records)  # only a damaged file is worth a warning


def test_resources_without_a_drivers_folder_give_no_guidance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = tmp_path / "install" / "resources"
    resources.mkdir(parents=True)
    monkeypatch.setenv("BMSFLASHER_RESOURCES", str(resources))
    assert guidance_path() == tmp_path / "install" / "drivers" / "guidance.json"
    assert load_guidance().entries == ()


@pytest.mark.parametrize(
    ("platform", "name"),
    [("linux", "linux"), ("win32", "windows"), ("darwin", "macos"), ("freebsd14", "freebsd14")],
)
def test_running_os_uses_the_files_names(platform: str, name: str) -> None:
    assert running_os(platform) == name


def test_scanner_attaches_guidance_to_an_adapter_without_driver(
    shipped: GuidanceTable, data_home: Path
) -> None:
    usb = UsbInfo(vid=0x1D50, pid=0x606F, location="1-2")
    adapter = classify_usb(usb.vid, usb.pid)
    unusable = UnusableAdapter("candleLight (1d50:606f)", adapter, usb, "no WinUSB driver", "run Zadig")
    scanner = Scanner(ScanCache(enabled=False), guidance=shipped, os_name="windows")
    result = scanner.scan(
        ScanRequest(use_cache=False, timeout_s=2.0), inventory=ScanInventory((), (unusable,))
    )
    (report,) = result.reports
    assert isinstance(report, AdapterReport)
    assert report.status is AdapterStatus.NO_DRIVER
    assert report.guidance is not None
    assert report.guidance.id == "windows-gs-usb"
    assert result.to_json()["adapters"][0]["guidance"]["id"] == "windows-gs-usb"

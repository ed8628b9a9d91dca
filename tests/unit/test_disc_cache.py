"""The scan cache: survives restarts, shrugs off corruption, writes atomically, thread-safe."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from bmsflasher.discovery.cache import CACHE_SCHEMA, MAX_ENTRIES, CachedSetting, ScanCache, default_cache_path


def test_round_trip_between_instances(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    first = ScanCache(path)
    first.put("usb:1a86:7523@1-1.2", CachedSetting(protocol="smp", baud=57600, node_count=1))
    first.put("can:slcan:/dev/pts/9", CachedSetting(protocol="uds", bitrate=250000, node_count=3))
    first.save()
    second = ScanCache(path)
    smp = second.get("usb:1a86:7523@1-1.2")
    uds = second.get("can:slcan:/dev/pts/9")
    assert smp is not None
    assert smp.baud == 57600
    assert smp.protocol == "smp"
    assert uds is not None
    assert uds.bitrate == 250000
    assert uds.node_count == 3
    assert smp.saved_at_s > 0
    assert second.get("nope") is None


def test_default_path_is_under_the_user_cache_dir(data_home: Path) -> None:
    path = default_cache_path()
    assert path.name == "scan-cache.json"
    assert str(path).startswith(str(data_home))


def test_corrupt_or_foreign_files_mean_a_cold_cache(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    for content in ("{not json", json.dumps([1, 2]), json.dumps({"schema": 999, "entries": {}}), "\xff\xfe"):
        path.write_text(content, encoding="latin-1")
        assert ScanCache(path).get("anything") is None
    path.write_text(
        json.dumps(
            {
                "schema": CACHE_SCHEMA,
                "entries": {
                    "good": {"protocol": "smp", "baud": 9600},
                    "bad-baud": {"protocol": "smp", "baud": "fast"},
                    "bad-proto": {"protocol": 7},
                    "not-a-map": 3,
                },
            }
        ),
        encoding="utf-8",
    )
    cache = ScanCache(path)
    good = cache.get("good")
    assert good is not None
    assert good.baud == 9600
    assert cache.get("bad-baud") is None
    assert cache.get("bad-proto") is None
    assert cache.get("not-a-map") is None


def test_disabled_cache_neither_reads_nor_writes(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    enabled = ScanCache(path)
    enabled.put("k", CachedSetting(protocol="smp", baud=9600))
    enabled.save()
    disabled = ScanCache(path, enabled=False)
    assert disabled.get("k") is None
    disabled.put("k2", CachedSetting(protocol="smp", baud=19200))
    disabled.save()
    assert "k2" not in path.read_text(encoding="utf-8")


def test_save_leaves_no_temporary_files_and_creates_folders(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "cache.json"
    cache = ScanCache(path)
    cache.put("k", CachedSetting(protocol="uds", bitrate=500000))
    cache.save()
    assert [p.name for p in path.parent.iterdir()] == ["cache.json"]


def test_unwritable_location_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    cache = ScanCache(blocker / "cache.json")  # parent is a file: mkdir fails
    cache.put("k", CachedSetting(protocol="smp", baud=9600))
    cache.save()  # logged, not raised
    assert cache.get("k") is not None


def test_forget_and_pruning(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    cache = ScanCache(path)
    for index in range(MAX_ENTRIES + 10):
        cache.put(f"k{index}", CachedSetting(protocol="smp", baud=9600, saved_at_s=1000.0 + index))
    cache.forget("k5")
    assert cache.get("k5") is None
    cache.save()
    reloaded = ScanCache(path)
    assert reloaded.get(f"k{MAX_ENTRIES + 9}") is not None  # newest kept
    assert reloaded.get("k0") is None  # oldest dropped
    assert len(json.loads(path.read_text(encoding="utf-8"))["entries"]) == MAX_ENTRIES


def test_parallel_puts_are_all_kept(tmp_path: Path) -> None:
    cache = ScanCache(tmp_path / "cache.json")

    def writer(offset: int) -> None:
        for index in range(50):  # 200 entries in all: below MAX_ENTRIES, so nothing is pruned
            cache.put(f"t{offset}-{index}", CachedSetting(protocol="smp", baud=9600 + index))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cache.save()
    reloaded = ScanCache(tmp_path / "cache.json")
    assert all(reloaded.get(f"t{n}-{i}") is not None for n in range(4) for i in range(50))

"""A device's claims about itself are checked where they are parsed (issue 14).

A node that sends ANSI escapes in its serial repainted the technician's terminal and the history
replayed them; a 300-character serial crashed ``flash`` with a traceback; a negative security
counter passed the anti-rollback gate and a missing one became 0. Real virtual devices on real
links (pty for SMP, emulated slcan for UDS) make the claims; the tool must refuse them in one
sentence, write nothing and record nothing.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from proc_support import DEMO_PUB, HEALTHY, package, smp_bench, uds_bench

from bmsflasher.core.errors import MalformedResponseError
from bmsflasher.core.identity_checks import validate_identity
from bmsflasher.core.types import DeviceIdentity
from bmsflasher.procedure import open_target

EVIL = "\x1b[2J\x1b[31mVB-EVIL\x1b[0m"


def link_args(bench) -> list[str]:  # type: ignore[no-untyped-def]
    link = bench.link
    if link.kind == "serial":
        return ["--port", link.port, "--baud", str(link.baud)]
    return ["--interface", link.interface, "--channel", link.channel, "--bitrate", str(link.bitrate)]


@pytest.mark.parametrize("bench_factory", [smp_bench, uds_bench], ids=["smp", "uds"])
def test_escape_sequences_in_a_serial_are_refused_on_both_protocols(tmp_path: Path, bench_factory) -> None:  # type: ignore[no-untyped-def]
    with bench_factory(tmp_path, serial_number=EVIL) as bench:
        target = open_target(bench.link, timeout_s=10.0)
        try:
            with pytest.raises(MalformedResponseError, match="control characters"):
                target.identify()
        finally:
            target.close()


def test_flash_to_a_device_with_a_300_character_serial_is_one_sentence_and_writes_nothing(
    tmp_path: Path,
) -> None:
    with smp_bench(tmp_path, serial_number="S" * 300) as bench:
        before = bench.device.image_bytes(1)
        db = tmp_path / "h.sqlite3"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "bmsflasher.cli.main",
                "flash",
                str(package(HEALTHY)),
                *link_args(bench),
                "--trust",
                str(DEMO_PUB),
                "--db",
                str(db),
                "--yes",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={"BMSFLASHER_LANG": "en", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
        assert result.returncode == MalformedResponseError.exit_code, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert "300 characters" in result.stdout + result.stderr
        assert bench.device.image_bytes(1) == before


def test_info_never_prints_the_escape_sequence(tmp_path: Path) -> None:
    with smp_bench(tmp_path, serial_number=EVIL) as bench:
        result = subprocess.run(
            [sys.executable, "-m", "bmsflasher.cli.main", "info", *link_args(bench)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"BMSFLASHER_LANG": "en", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )
    assert result.returncode == MalformedResponseError.exit_code
    assert "\x1b" not in result.stdout + result.stderr
    assert "control characters" in result.stderr


BASE = DeviceIdentity("VBMS-16", "VB1", "C", None, None, security_counter=1)


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"security_counter": -1}, "security counter -1"),
        ({"security_counter": 2**32}, "security counter 4294967296"),
        ({"security_counter": True}, "security counter True"),
        ({"model": "M" * 65}, "model of 65 characters"),
        ({"hardware_revision": "C\n"}, "hardware revision containing control characters"),
        ({"serial_number": "VB\x001"}, "serial number containing control characters"),
    ],
)
def test_implausible_claims_are_refused(changes: dict[str, object], words: str) -> None:
    with pytest.raises(MalformedResponseError, match=words):
        validate_identity(dataclasses.replace(BASE, **changes))  # type: ignore[arg-type]


def test_plausible_claims_pass_unchanged() -> None:
    assert validate_identity(BASE) is BASE
    unicode = dataclasses.replace(BASE, serial_number="Zürich-01", security_counter=2**32 - 1)
    assert validate_identity(unicode) is unicode

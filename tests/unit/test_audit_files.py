"""Audit regressions: files the user names are read bounded and written without collateral damage.

Found by pointing every file option at odd paths: ``/dev/zero`` as a package, key, firmware or UDS
secret was read until the kernel killed the process; ``sim --state /dev/zero`` replaced the device
node with a regular file; ``--db /dev/null`` left ``/dev/null-journal``; ``report --out`` could be
renamed over a device; read-only commands created missing histories (and ``history verify`` then
called a mistyped path "intact"); keygen/package created whole folder trees from a typo; a sparse
Intel HEX firmware built a package our own ZIP-bomb check refused.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from rec_support import populated_db

from bmsflasher.cli.main import main
from bmsflasher.core.errors import ConfigValidationError, PackageError, StorageError
from bmsflasher.core.resources import resource_path
from bmsflasher.firmware.files import read_capped
from bmsflasher.firmware.keys import load_private_key_file, load_public_key_file
from bmsflasher.firmware.package import PackageSpec, build_package
from bmsflasher.firmware.policy import read_package_file
from bmsflasher.procedure.connect import load_security_key
from bmsflasher.records import RecordsDb
from bmsflasher.records.reports import render_report
from bmsflasher.sim.device.scenarios import small_geometry
from bmsflasher.sim.errors import SimStateFileError
from bmsflasher.sim.flash.memory import Flash

DEMO_KEY = resource_path("demo", "demo-key.pem")


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A named pipe with a writer that sends 64 KiB, like ``<(command)``."""
    path = tmp_path / "pipe"
    os.mkfifo(path)

    def write() -> None:
        with path.open("wb") as stream:
            stream.write(b"x" * 65536)

    writer = threading.Thread(target=write, name="fifo-writer")
    writer.start()
    yield path
    writer.join(timeout=5)


def test_read_capped_stops_at_the_limit_even_on_a_pipe(fifo: Path) -> None:
    assert read_capped(fifo, 1000) is None


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_device_nodes_are_refused_before_reading(device: str) -> None:
    with pytest.raises(OSError, match="a device, not a file"):
        read_capped(Path(device), 10)
    with pytest.raises(PackageError, match="a device, not a file"):
        read_package_file(Path("/dev/null"))
    with pytest.raises(PackageError, match="a device, not a file"):
        load_public_key_file(Path("/dev/null"))
    with pytest.raises(ConfigValidationError, match="a device, not a file"):
        load_security_key(Path("/dev/null"))


def test_a_state_file_is_never_created_over_a_device_or_folder(tmp_path: Path) -> None:
    for path in (Path("/dev/null"), tmp_path):
        with pytest.raises(SimStateFileError, match="not a regular file"):
            Flash(small_geometry(), state_file=path)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_the_history_refuses_a_path_that_is_not_a_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(StorageError, match="not a regular file"):
        RecordsDb.open(tmp_path / "pipe")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]  # no "-journal" left behind


def test_read_only_history_commands_never_create_a_history(
    tmp_path: Path, data_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "nowhere" / "history.sqlite3"
    assert main(["history", "verify", "--db", str(typo)]) == StorageError.exit_code
    assert main(["history", "--db", str(typo)]) == StorageError.exit_code
    assert main(["report", "1", "--out", str(tmp_path / "r.html"), "--db", str(typo)]) == 7
    assert "does not exist" in capsys.readouterr().err
    assert main(["history"]) == 0  # the default history does not exist yet: say so, create nothing
    assert main(["history", "verify"]) == 0
    assert "No service sessions" in capsys.readouterr().out
    assert not typo.parent.exists()
    assert not (data_home / "xdg_data_home" / "bmsflasher").exists()


def test_reports_are_shareable_and_never_renamed_over_a_non_file(tmp_path: Path) -> None:
    db, session = populated_db(tmp_path / "h.db")
    os.mkfifo(tmp_path / "pipe")
    with db:
        with pytest.raises(StorageError, match="not a regular file"):
            render_report(db, session, "html", tmp_path / "pipe")
        with pytest.raises(StorageError, match="is a folder"):
            render_report(db, session, "html", tmp_path)
        written = render_report(db, session, "html", tmp_path / "r.html")
    assert stat.S_ISFIFO(os.stat(tmp_path / "pipe").st_mode)
    assert stat.S_IMODE(written.stat().st_mode) == 0o644


def test_history_lists_without_loading_the_pdf_renderer(tmp_path: Path) -> None:
    code = (
        "import sys; from bmsflasher.cli.main import main; "
        f"main(['history', '--db', {str(tmp_path / 'h.db')!r}]); print('fpdf' in sys.modules)"
    )
    populated_db(tmp_path / "h.db")[0].close()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("False")


def test_the_cli_report_choices_match_the_renderer() -> None:
    from bmsflasher.cli import cmd_history
    from bmsflasher.records import reports
    from bmsflasher.records.reports.labels import LANGUAGES

    assert tuple(cmd_history.FORMATS) == tuple(reports.FORMATS)
    assert sorted(cmd_history.LANGUAGES) == sorted(LANGUAGES)


def test_keygen_creates_one_missing_folder_but_not_a_typo_tree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keygen", "--out", str(tmp_path / "keys" / "acme")]) == 0
    assert load_private_key_file(tmp_path / "keys" / "acme.pem") is not None
    assert main(["keygen", "--out", str(tmp_path / "hom" / "me" / "acme")]) == 3
    assert main(["keygen", "--out", str(tmp_path / "keys")]) == 3  # a folder, not a key name
    err = capsys.readouterr().err
    assert "does not exist" in err
    assert "is a folder" in err
    assert not (tmp_path / "hom").exists()
    assert not (tmp_path / "keys.pem").exists()


def test_a_sparse_firmware_builds_a_package_that_reads_back(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from bmsflasher.core.types import FirmwareVersion
    from bmsflasher.firmware.keys import Keyring
    from bmsflasher.firmware.mcuboot import build_image
    from bmsflasher.firmware.policy import verify_package

    key = load_private_key_file(DEMO_KEY)
    sparse = b"\x01" * 100 + b"\xff" * 200_000 + b"\x02" * 100  # two HEX sections far apart
    version = FirmwareVersion(1, 1, 1)
    image = build_image(sparse, version=version, security_counter=2, key=key)
    now = datetime.now(UTC).replace(microsecond=0)
    spec = PackageSpec(
        model="VBMS-16",
        hardware_revisions=("B",),
        version=version,
        security_counter=2,
        min_bootloader_version=FirmwareVersion(0, 0, 0),
        release_notes="",
        created=now,
        expires=now + timedelta(days=1),
        sim_behaviour=None,
    )
    keyring = Keyring()
    keyring.add(key, "demo")
    verified = verify_package(build_package(spec, image, key), keyring, now=now)
    assert verified.image_bytes == image

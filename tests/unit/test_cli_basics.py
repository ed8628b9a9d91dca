import subprocess
import sys

from bmsflasher import __version__


def test_version_flag_prints_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bmsflasher.cli.main", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"bmsflasher {__version__}"

"""Test modules that draw a random ``SEED`` get it in every failure report (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

SEEDED_MODULE = """
import pytest

SEED = 424242


@pytest.fixture(scope="module")
def broken_bench():
    raise RuntimeError("the bench did not start")


def test_a_plain_assert_without_the_seed_in_its_message():
    assert 1 == 2


def test_a_setup_error(broken_bench):
    pass
"""


def test_every_failure_of_a_seeded_module_names_its_seed(tmp_path: Path) -> None:
    (tmp_path / "test_seeded.py").write_text(SEEDED_MODULE, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "conftest", "test_seeded.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "1 failed, 1 error" in done.stdout, done.stdout + done.stderr
    assert done.stdout.count("BMSFLASHER_TEST_SEED=424242") == 2, done.stdout

"""Coverage-guided fuzzing with atheris (libFuzzer), where atheris installs (Linux x86-64 wheels).

Each target in ``rel_atheris_target.py`` runs in its own process (libFuzzer owns it); a crash —
any exception that is not a project error — makes libFuzzer exit non-zero and print the input.
Skipped cleanly when atheris is not installed.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rel_figures import record

pytest.importorskip("atheris")

HARNESS = Path(__file__).with_name("rel_atheris_target.py")
TARGETS = ("smp-client", "uds-client", "smp-server", "package")


def fuzz(target: str, runs: int, seconds: int, workdir: Path) -> tuple[int, int, str]:
    """(exit code, executions done, output tail) of one libFuzzer run."""
    done = subprocess.run(
        [sys.executable, str(HARNESS), target, f"-runs={runs}", f"-max_total_time={seconds}", "-seed=1"],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        cwd=workdir,  # crash files land here, not in the tree
        check=False,
    )
    output = done.stdout + done.stderr
    match = re.search(r"Done (\d+) runs", output)
    return done.returncode, int(match.group(1)) if match else 0, output[-1500:]


def test_atheris_fast(tmp_path: Path) -> None:
    code, runs, tail = fuzz("smp-client", 2000, 20, tmp_path)
    assert code == 0, tail
    assert runs >= 2000


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_atheris_full(tmp_path: Path) -> None:
    started = time.monotonic()
    results = {target: fuzz(target, 10_000_000, 120, tmp_path) for target in TARGETS}
    crashed = [t for t, (code, _, _) in results.items() if code != 0]
    record(
        "Coverage-guided fuzzing (atheris/libFuzzer): SMP and UDS client decoders, SMP server, "
        "package verifier",
        cases=sum(runs for _, runs, _ in results.values()),
        failures=len(crashed),
        claim="0 crashes (only project errors escape), 0 hangs (libFuzzer's per-input timeout)",
        detail=", ".join(f"{t}: {runs} inputs" for t, (_, runs, _) in results.items()) + "; 120 s per target",
        elapsed_s=time.monotonic() - started,
    )
    assert not crashed, {t: results[t][2] for t in crashed}

"""Audit regressions: a manual rollback never boots (and confirms) the image a failed update left.

After an update fails its self-test and is rolled back, the secondary slot holds the rejected,
*newer* image. ``bmsflasher rollback`` used to "roll back" to it: it booted and confirmed the
failed firmware and raised the security counter, so the good firmware could never return.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from proc_support import fast_profile, smp_bench

from bmsflasher.core.errors import RollbackError
from bmsflasher.core.types import FirmwareVersion
from bmsflasher.procedure.rollback import manual_rollback
from bmsflasher.sim.device.scenarios import make_image, upload


def test_rollback_refuses_the_newer_image_a_failed_update_left(tmp_path: Path) -> None:
    with smp_bench(tmp_path) as bench:
        upload(bench.device, make_image("1.3.0", security_counter=3))  # as after a reverted update
        held = [s for s in bench.device.identity().slots if not s.active]
        assert held
        assert held[0].version == FirmwareVersion(1, 3, 0)
        assert held[0].bootable
        target = bench.connect()
        with pytest.raises(RollbackError, match=r"newer than the running 1\.0\.0") as refused:
            manual_rollback(target, fast_profile().reboot)
        identity = bench.device.identity()
    assert refused.value.hint is not None
    assert "bmsflasher flash" in refused.value.hint
    assert identity.firmware_version == FirmwareVersion(1, 0, 0)
    assert identity.security_counter == 1
    assert not any(s.pending for s in identity.slots)

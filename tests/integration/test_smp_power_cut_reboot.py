"""A power cut during the swap at a reboot requested over SMP: the device goes silent, then serves again.

Real hardware that loses its supply mid-swap simply stops talking; when power returns the bootloader
finishes (or reverts) the swap and the firmware answers SMP again. The virtual BMS's SMP thread must
behave the same: survive the outage instead of dying with the device's power-off error.
"""

from __future__ import annotations

import time
from pathlib import Path

from test_smp_pty import FAST_BAUD, Bench, signed_image

from bmsflasher.core.errors import LinkLostError, NoResponseError
from bmsflasher.protocols.smp.target import SmpTarget
from wait_support import wait_until


def test_power_cut_during_the_swap_at_an_smp_reset_leaves_the_server_alive(tmp_path: Path) -> None:
    bench = Bench(tmp_path)
    try:
        image = signed_image("1.1.0", size=4_000)
        with SmpTarget.connect(bench.port, FAST_BAUD) as client:
            client.upload(image)
            client.mark_for_test()
            bench.device.flash.faults.cut_before_op = bench.device.flash.ops_done + 1  # first swap op
            client.reset()
            deadline = time.monotonic() + 5.0
            while bench.device.powered and time.monotonic() < deadline:
                time.sleep(0.01)
            assert not bench.device.powered  # the cut hit the swap
            # the cut came from inside the front end's reboot handler: wait until it has returned
            front = bench.front
            wait_until(lambda: not front._rebooting.is_set(), 10.0, "the reboot handler ran into the outage")
            worker = bench.front._worker
            assert worker is not None
            assert worker.is_alive()
            bench.device.flash.faults.clear()
            bench.device.power_on()
            client.reconnect(10.0)  # the SMP thread that survived the outage answers again
            assert client.ping() < 1.0
    except (LinkLostError, NoResponseError) as exc:  # pragma: no cover - diagnostics for a failure
        raise AssertionError(f"the device did not serve SMP after power returned: {exc}") from exc
    finally:
        bench.close()

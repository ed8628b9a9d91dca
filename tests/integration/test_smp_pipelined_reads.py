"""Configuration reads a few at a time in the device's buffers: faster, and nothing lost on a bad line.

The virtual BMS on a pty answers in order; with several reads in its buffers the wire carries the
next request while the device answers the previous one. At 9600 baud the wire time dominates, so
the gain is plain to see; on a line that drops bytes, every read the pipelined pass lost is asked
again alone and the configuration still comes back whole.
"""

from __future__ import annotations

import time
from functools import partial

from bmsflasher.protocols.smp import messages as msg
from bmsflasher.protocols.smp.target import SmpTarget, SpeedOptions
from bmsflasher.protocols.smp.upload import window_for
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.options import SimOptions
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialFrontEnd

SIM_OPTIONS = SimOptions(erase_time_s_per_sector=0.0, boot_time_s=0.0)
STAY = SpeedOptions(switch_rate=False)


def test_pipelined_setting_reads_beat_one_by_one_and_agree() -> None:
    baud = 9600
    with (
        VirtualBms.create(SIM_OPTIONS) as device,
        SerialFrontEnd(device, FrontEndOptions(baud=baud)) as sim,
        SmpTarget.connect(sim.port, baud, speed=STAY) as target,
    ):
        names = list(device.config().parameters)[:10]
        reads = [(partial(msg.setting_read, msg.SETTINGS_PREFIX + n), f"read of {n}") for n in names]
        session = target.session
        started = time.monotonic()
        one_by_one = [session.transact(build, what) for build, what in reads]
        alone_s = time.monotonic() - started
        started = time.monotonic()
        together = session.transact_reads(reads, window=window_for(target.params().buf_count))
        together_s = time.monotonic() - started
    assert [a.body for a in together] == [a.body for a in one_by_one]
    # Wire-bound at 9600 baud: one by one waits request + answer per read, pipelined about the answer.
    assert together_s < 0.8 * alone_s, f"pipelined {together_s:.2f} s vs one by one {alone_s:.2f} s"


def test_reads_lost_on_a_dropping_line_are_asked_again_and_the_config_comes_back_whole() -> None:
    with VirtualBms.create(SIM_OPTIONS) as device:
        expected = device.config()
        front = FrontEndOptions(baud=115_200, drop_rate=0.001, seed=3)
        with SerialFrontEnd(device, front) as sim, SmpTarget.connect(sim.port, 115_200, speed=STAY) as target:
            for _ in range(4):
                assert target.read_config() == expected
            assert target.session.counters.timeouts > 0, "nothing was lost: the fallback went untested"

"""A device that answers for a while after its reset answer is not mistaken for one that reverted.

Zephyr answers the SMP reset at once and reboots 250 ms later (``CONFIG_MCUMGR_GRP_OS_RESET_MS``),
its SMP thread serving meanwhile. The tool reconnects at once (the port is still there, or never
goes away behind a UART adapter), so the first identity it reads can be the old firmware's, with
the new image still marked for its test boot: that is "not reset yet", never "reverted". The
virtual BMS serves through its reset delay with ``serves_during_reset_delay``. It has no line-rate
switch here (an older firmware, or ``--no-rate-switch``): a device left at a negotiated rate
would not understand the tool back at the connect rate until its reset, which hides the hazard.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from proc_support import HEALTHY, Bench, sim_options

from bmsflasher.core.types import LinkSettings
from bmsflasher.procedure.states import State
from bmsflasher.records import RecordsDb
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.wire.frontend_options import FrontEndOptions
from bmsflasher.sim.wire.serial_frontend import SerialDeviceSettings, SerialFrontEnd

BAUD = 921_600  # the boot rate: the transfer at line speed keeps the test short


@contextlib.contextmanager
def zephyr_bench(workdir: Path, *, reenumerate: bool) -> Iterator[Bench]:
    settings = SerialDeviceSettings(
        serves_during_reset_delay=True, reenumerate_on_reset=reenumerate, rate_switch=False
    )
    with (
        VirtualBms.create(sim_options(workdir)) as device,
        SerialFrontEnd(device, FrontEndOptions(baud=BAUD), settings) as front_end,
        RecordsDb.open(workdir / "history.sqlite3") as db,
    ):
        bench = Bench(
            device, LinkSettings(kind="serial", port=front_end.port, baud=BAUD), workdir, db, front_end
        )
        try:
            yield bench
        finally:
            bench.close_targets()


@pytest.mark.parametrize("reenumerate", [True, False], ids=["usb-cdc", "uart-adapter"])
def test_an_answer_from_before_the_reboot_is_waited_out_and_the_update_completes(
    tmp_path: Path, reenumerate: bool
) -> None:
    with zephyr_bench(tmp_path, reenumerate=reenumerate) as bench:
        result = bench.flash(HEALTHY)
        assert result.outcome is State.UPDATED, result.reason
        assert result.boot is not None
        assert str(result.boot.identity.firmware_version) == "1.1.0"
        assert str(bench.device.identity().firmware_version) == "1.1.0"
        assert bench.device.slots()[0].confirmed

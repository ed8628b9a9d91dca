"""Random power cuts in random update sequences (hypothesis stateful test, issue 3).

Uploads of good, boot-looping, downgrade and wrongly signed images, test and permanent requests,
confirms, resets, rollbacks, configuration saves and power cycles run in random order, with power
cuts and torn operations at random flash operations. After every step: a powered device runs a
known good image byte-exact, in application mode; the security counter never went down and never
exceeds the running image's; the configuration is one that was saved whole.

The unmarked run is a small smoke test; ``-m slow`` runs at least 10,000 steps.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from bmsflasher.core.resources import resource_path
from bmsflasher.core.types import DeviceMode
from bmsflasher.sim.device.scenarios import fast_options, make_image, small_geometry, upload
from bmsflasher.sim.device.virtual_bms import VirtualBms
from bmsflasher.sim.errors import SimImageRejectedError, SimModeError, SimPoweredOffError, SimStateError
from bmsflasher.sim.flash.images import parse_image

_FOLDER = Path(tempfile.mkdtemp(prefix="vbms-hypothesis-"))
GOOD = {
    "A": make_image("1.0.0", security_counter=1, code_size=4000),
    "B": make_image("1.1.0", security_counter=2, code_size=6500),
    "C": make_image("2.0.0", security_counter=3, code_size=5200),
}
BAD = {
    "loop": make_image("1.2.0", security_counter=2, code_size=4800, behaviour="boot-loop"),
    "downgrade": make_image("0.9.0", security_counter=0, code_size=4100),
    "foreign": make_image(
        "3.0.0", security_counter=9, code_size=4300, signing_key=resource_path("demo", "demo-key-ed25519.pem")
    ),
}
ALL = {**GOOD, **BAD}
FACTORY = _FOLDER / "factory.img"
FACTORY.write_bytes(GOOD["A"])
COUNTERS = {image: parse_image(image).security_counter for image in GOOD.values()}


class RandomCuts(RuleBasedStateMachine):
    """The device under random operations and random power cuts."""

    steps = 0  # invariant checks run (one per step), for the report
    cuts = 0  # power cuts that hit a flash operation

    def __init__(self) -> None:
        super().__init__()
        self.device = VirtualBms.create(fast_options(FACTORY, small_geometry()))
        self.max_counter = self.device.identity().security_counter
        self.configs = [dict(self.device.saved_config().parameters)]
        self.delta = 10

    def teardown(self) -> None:
        self.device.close()

    # --- faults ---------------------------------------------------------------------------------
    @precondition(lambda self: self.device.powered)
    @rule(k=st.integers(1, 12), tear=st.booleans(), keep=st.none() | st.integers(0, 1024))
    def arm_fault(self, k: int, tear: bool, keep: int | None) -> None:
        faults = self.device.flash.faults
        faults.clear()
        if tear:
            faults.tear_op = self.device.flash.ops_done + k
            faults.tear_keep_bytes = keep
        else:
            faults.cut_before_op = self.device.flash.ops_done + k

    @precondition(lambda self: not self.device.powered)
    @rule(clear=st.booleans())
    def power_on(self, clear: bool) -> None:
        if clear:
            self.device.flash.faults.clear()
        try:
            self.device.power_on()
        except SimPoweredOffError:
            self.device.flash.faults.clear()
            self.device.power_on()
        self._settle_config()

    @precondition(lambda self: self.device.powered)
    @rule()
    def power_cycle(self) -> None:
        self._guarded(self.device.power_cycle)

    # --- update operations ---------------------------------------------------------------------
    @precondition(lambda self: self.device.powered)
    @rule(name=st.sampled_from(sorted(ALL)), chunk=st.sampled_from([128, 512, 1000]))
    def upload(self, name: str, chunk: int) -> None:
        self._guarded(lambda: upload(self.device, ALL[name], chunk_bytes=chunk))

    @precondition(lambda self: self.device.powered)
    @rule(permanent=st.booleans())
    def mark_pending(self, permanent: bool) -> None:
        self._guarded(lambda: self.device.mark_pending(permanent=permanent))

    @precondition(lambda self: self.device.powered)
    @rule()
    def confirm(self) -> None:
        self._guarded(self.device.confirm)

    @precondition(lambda self: self.device.powered)
    @rule()
    def reset(self) -> None:
        self._guarded(self.device.reset)

    @precondition(lambda self: self.device.powered)
    @rule()
    def rollback(self) -> None:
        self._guarded(self.device.rollback)

    @precondition(lambda self: self.device.powered)
    @rule()
    def save_config(self) -> None:
        self.delta = self.delta % 400 + 7
        self.device.set_parameters({"balance_delta_mv": self.delta})
        wanted = dict(self.device.config().parameters)
        self.configs.append(wanted)
        self._guarded(self.device.save_config)

    def _guarded(self, action: object) -> None:
        try:
            action()  # type: ignore[operator]
        except (SimImageRejectedError, SimStateError, SimModeError):
            pass  # refusals a real device gives too; invariants still hold
        except SimPoweredOffError:
            assert not self.device.powered
            RandomCuts.cuts += 1
            return
        self._settle_config()

    def _settle_config(self) -> None:
        if not self.device.powered:
            return
        saved = dict(self.device.saved_config().parameters)
        assert saved in self.configs[-2:], "the configuration is neither the old nor the new one"
        self.configs = [saved]

    # --- invariants ----------------------------------------------------------------------------
    @invariant()
    def runs_a_good_image(self) -> None:
        RandomCuts.steps += 1
        if not self.device.powered:
            return
        assert self.device.mode is DeviceMode.APPLICATION, self.device.recovery_reason
        running = self.device.image_bytes(0)
        assert running in GOOD.values()
        counter = self.device.identity().security_counter
        assert counter >= self.max_counter, "the security counter went down"
        assert counter <= COUNTERS[running]
        self.max_counter = counter


def _settings(examples: int, steps: int, *, derandomize: bool) -> settings:
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        derandomize=derandomize,
        database=None,
    )


def test_random_cuts_smoke() -> None:
    RandomCuts.steps = 0
    run_state_machine_as_test(RandomCuts, settings=_settings(8, 25, derandomize=True))
    assert RandomCuts.steps >= 50


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_random_cuts_long(capsys: pytest.CaptureFixture[str]) -> None:
    RandomCuts.steps = 0
    RandomCuts.cuts = 0
    run_state_machine_as_test(RandomCuts, settings=_settings(400, 50, derandomize=False))
    with capsys.disabled():
        print(f"\n[sim random cuts] steps={RandomCuts.steps} power_cuts={RandomCuts.cuts} failures=0")
    assert RandomCuts.steps >= 10_000

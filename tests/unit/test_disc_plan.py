"""The probe table: order by likelihood, remembered setting first, validation of user lists."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bmsflasher.core.errors import ConfigValidationError
from bmsflasher.discovery.plan import (
    DEFAULT_BAUDS,
    DEFAULT_BITRATES,
    NORMAL_FIXED_29BIT,
    OBD_11BIT,
    check_bauds,
    check_bitrates,
    plan_can,
    plan_serial,
)


def test_default_serial_plan_starts_with_zephyr_default() -> None:
    steps = plan_serial(DEFAULT_BAUDS, None)
    assert [step.baud for step in steps] == list(DEFAULT_BAUDS)
    assert steps[0].baud == 115200
    assert len(steps) == 8
    assert not any(step.from_cache for step in steps)


def test_cached_baud_goes_first_and_is_not_repeated() -> None:
    steps = plan_serial(DEFAULT_BAUDS, 19200)
    assert steps[0].baud == 19200
    assert steps[0].from_cache
    assert [step.baud for step in steps].count(19200) == 1
    assert len(steps) == len(DEFAULT_BAUDS)


def test_cached_baud_outside_the_list_is_still_tried_first() -> None:
    steps = plan_serial((115200, 9600), 250000)
    assert [step.baud for step in steps] == [250000, 115200, 9600]


def test_usb_cdc_needs_one_attempt_only() -> None:
    assert len(plan_serial(DEFAULT_BAUDS, None, baud_matters=False)) == 1


@given(
    st.lists(st.sampled_from(DEFAULT_BAUDS), min_size=1), st.one_of(st.none(), st.sampled_from(DEFAULT_BAUDS))
)
def test_serial_plan_tries_every_rate_exactly_once(bauds: list[int], cached: int | None) -> None:
    steps = plan_serial(bauds, cached)
    rates = [step.baud for step in steps]
    assert len(rates) == len(set(rates))
    assert set(rates) == set(bauds) | ({cached} if cached else set())


@pytest.mark.parametrize("bauds", [[], [0], [20_000_000], [-9600]])
def test_bad_baud_lists_are_refused(bauds: list[int]) -> None:
    with pytest.raises(ConfigValidationError):
        check_bauds(bauds)


def test_can_plan_listens_before_transmitting() -> None:
    steps = plan_can(DEFAULT_BITRATES, None, supports_listen_only=True)
    listen = [step for step in steps if step.listen_only]
    active = [step for step in steps if not step.listen_only]
    assert [step.bitrate for step in listen] == list(DEFAULT_BITRATES)
    assert [step.bitrate for step in active] == list(DEFAULT_BITRATES)
    assert steps.index(listen[-1]) < steps.index(active[0])


def test_can_plan_without_listen_only_is_active_only() -> None:
    steps = plan_can(DEFAULT_BITRATES, None, supports_listen_only=False)
    assert not any(step.listen_only for step in steps)
    assert len(steps) == len(DEFAULT_BITRATES)


def test_can_plan_tries_the_remembered_bitrate_actively_first() -> None:
    steps = plan_can(DEFAULT_BITRATES, 125000, supports_listen_only=True)
    assert steps[0].bitrate == 125000
    assert steps[0].from_cache
    assert not steps[0].listen_only
    assert [s.bitrate for s in steps if not s.listen_only].count(125000) == 1


def test_os_configured_bitrate_gives_a_single_step() -> None:
    steps = plan_can(DEFAULT_BITRATES, None, can_set_bitrate=False, fixed_bitrate=250000)
    assert [(s.bitrate, s.listen_only) for s in steps] == [(250000, False)]


def test_slcan_only_accepts_its_command_rates() -> None:
    assert check_bitrates([500000, 83300], slcan=True) == (500000, 83300)
    with pytest.raises(ConfigValidationError, match="slcan adapters cannot run at 800000"):
        check_bitrates([800000], slcan=True)
    assert check_bitrates([800000]) == (800000,)
    with pytest.raises(ConfigValidationError):
        check_bitrates([])
    with pytest.raises(ConfigValidationError):
        check_bitrates([2_000_000])


def test_physical_request_ids_pair_with_response_ids() -> None:
    assert OBD_11BIT.request_id_for(0x7E8) == 0x7E0
    assert OBD_11BIT.request_id_for(0x7EF) == 0x7E7
    assert NORMAL_FIXED_29BIT.request_id_for(0x18DAF117) == 0x18DA17F1
    assert OBD_11BIT.functional_id == 0x7DF
    assert NORMAL_FIXED_29BIT.functional_id == 0x18DB33F1
    assert len(NORMAL_FIXED_29BIT.response_ids) == 256


def test_steps_describe_themselves() -> None:
    assert plan_serial([9600], 115200)[0].describe() == "SMP at 115200 baud (last good setting)"
    listen = plan_can([500000], None, supports_listen_only=True)[0]
    assert listen.describe() == "listen for traffic at 500000 bit/s"

"""The contract suite's fast subset: the Modbus variants of the long transfer cases run with ``-m slow``.

A Modbus module sits behind the bit-level RS485 bus simulation, so a demo-size transfer takes
~10 s there against ~2 s over SMP or UDS. Every contract case still runs against the Modbus target
in CI except these transfer-heavy ones, which `make reliability`-style runs (``-m slow``) cover.
"""

from __future__ import annotations

from typing import Final

import pytest

HEAVY_ON_MODBUS: Final = frozenset(
    {
        "test_an_interrupted_transfer_resumes_where_it_stopped",
        "test_the_resume_policy_rides_out_a_pulled_cable",
        "test_a_break_beyond_the_policy_is_raised_not_retried_by_another_layer",
        "test_a_profile_that_allows_no_resume_fails_on_the_first_pull",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", item.name)
        if name in HEAVY_ON_MODBUS and item.name.endswith("[modbus]"):
            item.add_marker(pytest.mark.slow)

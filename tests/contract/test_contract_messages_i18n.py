"""Issue 14, i18n: what the protocol clients tell a technician reads in Dutch and French over both wires.

The refusals and timeouts raised in ``protocols/`` were English whatever the language; now they are
``t()`` sentences whose parts (the operation tried, the record read, the device's own reason) are
translated with them. Each case provokes a real failure from the virtual BMS over CAN and over
serial and renders the error as the CLI and the GUI do (``core.i18n.localise``): the sentence must
read in the technician's language and keep no English words, while the English rendering stays
what scripts and records have always seen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from contract_benches import PROTOCOLS, ContractBench, contract_bench

from bmsflasher.core.errors import BmsFlasherError, ConfigValidationError, ReconnectTimeoutError
from bmsflasher.core.i18n import localise
from bmsflasher.core.target import Target
from bmsflasher.core.types import ConfigSnapshot

ENGLISH_WORDS: Final = frozenset(
    {
        "the", "and", "with", "from", "this", "that", "which", "has", "have", "its", "while", "trying",
        "device", "refused", "rejected", "answer", "answered", "failed", "did", "come", "back", "within",
        "attempts", "value", "nothing", "written", "named", "out", "range", "wrong",
    }
)  # fmt: skip
"""Words that are English and neither Dutch nor French (paths and numbers carry none of them)."""

OPENINGS: Final = {
    ("nl", "reconnect"): "Het apparaat kwam niet terug op ",
    ("fr", "reconnect"): "L'appareil n'est pas revenu sur ",
    ("nl", "unknown"): (
        "Het apparaat heeft geen parameter met de naam 'no_such_parameter'; er is niets geschreven."
    ),
    ("fr", "unknown"): "L'appareil n'a aucun paramètre nommé 'no_such_parameter' ; rien n'a été écrit.",
    ("nl", "range"): "Het apparaat weigerde ",
    ("fr", "range"): "L'appareil a refusé ",
}


@pytest.fixture(params=PROTOCOLS)
def bench(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ContractBench]:
    with contract_bench(request.param, tmp_path) as rig:
        yield rig


@pytest.fixture
def target(bench: ContractBench) -> Target:
    return bench.open()


def english_words(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z]+", text.lower()) if word in ENGLISH_WORDS}


def _assert_spoken(error: BmsFlasherError, case: str) -> None:
    english = error.message
    assert english_words(english), "the English rendering is still English"
    for language in ("nl", "fr"):
        shown = localise(english, language)
        assert shown.startswith(OPENINGS[(language, case)]), shown
        assert not english_words(shown), f"English left in {language}: {shown!r}"
        if error.hint:
            hint = localise(error.hint, language)
            assert not english_words(hint), f"English left in the {language} hint: {hint!r}"


def test_a_device_that_stays_off_is_reported_in_the_technicians_language(
    bench: ContractBench, target: Target
) -> None:
    target.identify()
    bench.device.power_off()
    target.reset()
    with pytest.raises(ReconnectTimeoutError) as failure:
        target.reconnect(1.0)
    assert failure.value.message.startswith("The device did not come back on ")
    _assert_spoken(failure.value, "reconnect")


def test_an_unknown_parameter_is_refused_in_the_technicians_language(target: Target) -> None:
    before = target.read_config()
    with pytest.raises(ConfigValidationError) as refused:
        target.write_config(ConfigSnapshot(before.schema_version, {"no_such_parameter": 1}))
    assert refused.value.message == (
        "The device has no parameter named 'no_such_parameter'; nothing was written."
    )  # the English rendering is unchanged
    _assert_spoken(refused.value, "unknown")


def test_a_value_the_device_refuses_is_reported_in_the_technicians_language(target: Target) -> None:
    before = target.read_config()
    with pytest.raises(ConfigValidationError) as refused:
        target.write_config(ConfigSnapshot(before.schema_version, {"balance_delta_mv": 10_000_000}))
    assert "10000000" in refused.value.message
    _assert_spoken(refused.value, "range")

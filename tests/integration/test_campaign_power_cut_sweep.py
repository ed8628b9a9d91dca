"""The power-cut sweep: cut the whole pack (and the tool with it) at many points of a campaign.

After each cut the pack restarts from its flash (``kill -9`` of the virtual pack, ``--state``) and
the campaign is run again; whatever the cut, the pack must end on one set: every node on the new
set, confirmed, or every node on the old one, confirmed. Cut points: the end of every node step of
a reference run, plus points inside transfers. Long (``-m slow``).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from pathlib import Path

import pytest
from campaign_slcan_support import BITRATE, DEMO_PUB, bundle, home_env, start_pack, versions

from bmsflasher.core.events import Event, Progress, StepFinished
from bmsflasher.core.types import LinkSettings
from bmsflasher.procedure import build_keyring, open_target
from bmsflasher.procedure.campaign import Campaign, CampaignOptions
from bmsflasher.procedure.campaign_bundle import pack_links, release_loader
from bmsflasher.procedure.campaign_result import CampaignResult
from bmsflasher.records import RecordsDb

SEED = int(os.environ.get("BMSFLASHER_TEST_SEED") or random.randrange(1 << 30))


class PowerCut(BaseException):
    """The pack and the tool lose power together here."""


def _campaign(home: Path, channel: str, cut_at: int | None, on_cut: object) -> CampaignResult:
    seen = 0

    def sink_for(_serial: str) -> object:
        def sink(event: Event) -> None:
            nonlocal seen
            counted = isinstance(event, StepFinished) or (isinstance(event, Progress) and event.done > 0)
            if counted:
                seen += 1
                if cut_at is not None and seen == cut_at:
                    on_cut()  # type: ignore[operator]
                    raise PowerCut

        return sink

    bus = LinkSettings(kind="can", interface="slcan", channel=channel, bitrate=BITRATE)
    keyring = build_keyring([DEMO_PUB], folder=home / "no-user-keys")
    with RecordsDb.open(home / "history.sqlite3") as db:
        return Campaign(
            release_loader(bundle(home, "pack-1.1.0"), keyring),
            pack_links(bus),
            lambda link: open_target(link, timeout_s=10.0),
            db,
            sink_for=sink_for,  # type: ignore[arg-type]
            options=CampaignOptions(operator="sweep"),
        ).run()


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_no_power_cut_leaves_a_mixed_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(SEED)
    end_states: Counter[str] = Counter()
    cut_points = sorted({*range(2, 60, 5), *(rng.randrange(1, 60) for _ in range(3))})
    for index, cut_at in enumerate(cut_points):
        home = home_env(tmp_path / f"cut{index}", monkeypatch)
        state = home / "pack"
        pack = start_pack(state)
        try:
            _campaign(home, str(pack.info["channel"]), cut_at, pack.kill)
        except PowerCut:
            pass
        finally:
            pack.stop()
        with start_pack(state) as pack:
            result = _campaign(home, str(pack.info["channel"]), None, None)
            found = set(versions(pack).values())
        assert len(found) == 1, f"cut {cut_at}: mixed set {found} ({result.reason}) seed {SEED}"
        ((version, confirmed),) = found
        assert confirmed, f"cut {cut_at}: {version} unconfirmed"
        end_states[f"{version} {result.outcome.value}"] += 1
        print(
            f"cut at event {cut_at}: {version} confirmed ({result.outcome.value}: {result.reason})",
            flush=True,
        )
    assert sum(end_states.values()) == len(cut_points)
    print(f"power-cut sweep: {dict(end_states)} over {len(cut_points)} cuts (seed {SEED})")

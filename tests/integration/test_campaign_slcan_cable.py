"""Proof over the slcan link: one adapter for the whole campaign, reopened only when a cable pull needs it.

A campaign opens the pack's CAN adapter once and gives every node step a target on it
(``procedure.campaign_bus``). Here the emulated adapter's USB cable is pulled twice during one
campaign of the small virtual pack: between two node steps (the next step finds the kept adapter
gone and opens it again through the campaign's opener) and in the middle of a node's transfer
(the node's target reopens the adapter itself and resumes the upload; the campaign keeps that
adapter). The pack must end on the new set, confirmed, with exactly one extra adapter open.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from campaign_slcan_support import BITRATE, DEMO_PUB, bundle, home_env, start_pack, versions
from pack_support import PackProcess

from bmsflasher.core.events import Event, Progress, StepFinished
from bmsflasher.core.target import Target
from bmsflasher.core.types import LinkSettings
from bmsflasher.procedure import build_keyring, open_target
from bmsflasher.procedure.campaign import Campaign, CampaignOptions
from bmsflasher.procedure.campaign_bundle import pack_links, release_loader
from bmsflasher.procedure.states import State
from bmsflasher.records import RecordsDb


def _wait_for(condition: object, what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def _pull_and_replug(pack: PackProcess) -> None:
    """A cable pull between two steps: out and back in before the next step starts."""
    channel = str(pack.info["channel"])
    pack.unplug()
    _wait_for(lambda: not os.path.exists(channel), "the adapter did not go away")
    pack.replug()
    _wait_for(lambda: os.path.exists(channel), "the adapter did not come back")


def test_the_campaign_keeps_one_adapter_and_reopens_it_only_after_a_cable_pull(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = home_env(tmp_path, monkeypatch)
    opens: list[int] = []
    pulls: list[str] = []

    def opener(link: LinkSettings) -> Target:
        opens.append(link.node)
        return open_target(link, timeout_s=10.0)

    with start_pack() as pack:
        bmu1, bmc = (str(pack.node(name)["serial"]) for name in ("bmu1", "bmc1"))

        def sink_for(serial: str) -> object:
            def sink(event: Event) -> None:
                if serial == bmu1 and isinstance(event, StepFinished) and event.step == "backup":
                    pulls.append("between steps")
                    _pull_and_replug(pack)
                if (
                    serial == bmc
                    and isinstance(event, Progress)
                    and event.done > event.total // 3
                    and "mid-transfer" not in pulls
                ):
                    pulls.append("mid-transfer")
                    pack.unplug()
                    threading.Timer(0.4, pack.replug).start()

            return sink

        bus = LinkSettings(kind="can", interface="slcan", channel=str(pack.info["channel"]), bitrate=BITRATE)
        keyring = build_keyring([DEMO_PUB], folder=home / "no-user-keys")
        with RecordsDb.open(home / "history.sqlite3") as db:
            campaign = Campaign(
                release_loader(bundle(home, "pack-1.1.0"), keyring),
                pack_links(bus),
                opener,
                db,
                sink_for=sink_for,  # type: ignore[arg-type]
                options=CampaignOptions(operator="pytest"),
            )
            result = campaign.run()
        assert result.outcome is State.UPDATED, result.reason
        assert pulls == ["between steps", "mid-transfer"]
        assert set(versions(pack).values()) == {("1.1.0", True)}
    # once at the start, once for the step after the pull between steps; the mid-transfer pull
    # was ridden out by the node's own target, whose new adapter the campaign kept
    assert len(opens) == 2, opens
    assert campaign.adapter_opens == 2

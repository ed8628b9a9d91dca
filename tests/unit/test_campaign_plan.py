"""Matching a pack to a release set: every node needs an entry, every tier its minimum, order by tier."""

from __future__ import annotations

import pytest

from bmsflasher.core.types import DeviceIdentity, FirmwareVersion, LinkSettings
from bmsflasher.procedure.campaign_journal import RESUME_ACTIONS, Phase, ResumeAction, pack_id
from bmsflasher.procedure.campaign_plan import (
    CampaignRefusedError,
    FoundNode,
    NodeRelease,
    ReleaseSet,
    plan_campaign,
)
from bmsflasher.procedure.package_facts import PackageFacts
from bmsflasher.procedure.package_loading import UpdatePackage


def _package(model: str) -> UpdatePackage:
    facts = PackageFacts(model, ("A",), FirmwareVersion(1, 1, 0), 1, None, model * 4, "", 0)
    return UpdatePackage(facts, b"", model)


def _set(**minimum: int) -> ReleaseSet:
    entries = tuple(
        NodeRelease(tier, model, ("A",), _package(model))
        for tier, model in (("bcu", "VBCU-1"), ("bmc", "VBMC-4"), ("bmu", "VBMU-16"))
    )
    return ReleaseSet("pack-1.1.0", "ab" * 32, entries, ("bmu", "bmc", "bcu"), minimum)


def _node(model: str, serial: str, revision: str = "A") -> FoundNode:
    identity = DeviceIdentity(model, serial, revision, FirmwareVersion(1, 0, 0), None)
    return FoundNode(LinkSettings(kind="can", interface="virtual", channel="x", node=len(serial)), identity)


PACK = [
    _node("VBCU-1", "BCU1"),
    _node("VBMC-4", "BMC1"),
    _node("VBMU-16", "BMU1"),
    _node("VBMC-4", "BMC2"),
    _node("VBMU-16", "BMU2"),
]


def test_nodes_are_ordered_by_the_sets_tier_order_keeping_bus_order_within_a_tier() -> None:
    plan = plan_campaign(_set(bcu=1, bmc=2, bmu=2), PACK)
    assert plan.serials == ("BMU1", "BMU2", "BMC1", "BMC2", "BCU1")
    assert [n.release.model for n in plan.nodes] == ["VBMU-16", "VBMU-16", "VBMC-4", "VBMC-4", "VBCU-1"]


def test_a_node_without_an_entry_refuses_the_pack_and_names_it() -> None:
    with pytest.raises(CampaignRefusedError) as refused:
        plan_campaign(_set(), [*PACK, _node("VBMU-16", "BMU9", revision="B")])
    assert "BMU9" in refused.value.message
    assert refused.value.exit_code == 2


def test_fewer_nodes_than_a_tiers_minimum_refuses_the_pack() -> None:
    with pytest.raises(CampaignRefusedError) as refused:
        plan_campaign(_set(bcu=1, bmc=2, bmu=3), PACK)
    assert "BMU: 2 of at least 3" in refused.value.message
    plan_campaign(_set(bcu=1, bmc=2, bmu=2), PACK)


def test_an_empty_bus_and_a_serial_seen_twice_are_refused() -> None:
    with pytest.raises(CampaignRefusedError):
        plan_campaign(_set(), [])
    with pytest.raises(CampaignRefusedError):
        plan_campaign(_set(), [*PACK, _node("VBMU-16", "BMU1")])


def test_the_pack_name_does_not_depend_on_discovery_order() -> None:
    assert pack_id(["A", "B", "C"]) == pack_id(["C", "A", "B"]) != pack_id(["A", "B"])


def test_only_the_phases_before_any_test_boot_and_the_confirm_go_forward() -> None:
    forward = {phase for phase, action in RESUME_ACTIONS.items() if action is ResumeAction.RESUME}
    assert forward == {Phase.TRANSFER, Phase.CONFIRM}
    assert RESUME_ACTIONS[Phase.SELF_TEST] is ResumeAction.REVERT
    assert RESUME_ACTIONS[Phase.PREPARE] is ResumeAction.START_OVER
